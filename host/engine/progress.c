/*
 * progress.c - the live progress line (see progress.h).
 */
#include <stdio.h>
#include <unistd.h>

#include "progress.h"

void nbh_progress_init(NbhProgress *p, FILE *out, bool want, uint64_t now_ns) {
  p->out = out;
  p->enabled = want && out != NULL && isatty(fileno(out));
  p->drawn = false;
  p->start_ns = now_ns;
  p->last_draw_ns = 0;
}

static void human_bytes(char *buf, size_t cap, double bytes) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  size_t u = 0;
  while (bytes >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
    bytes /= 1024.0;
    u++;
  }
  if (u == 0)
    snprintf(buf, cap, "%.0f %s", bytes, units[u]);
  else
    snprintf(buf, cap, "%.1f %s", bytes, units[u]);
}

size_t nbh_progress_format(char *buf, size_t cap, const NbhProgressSample *s,
                           double elapsed) {
  char bytes[32], rate_bytes[32], eta[48] = "";
  double rate = elapsed > 0 ? (double)s->records / elapsed : 0;
  double byte_rate = elapsed > 0 ? (double)s->bytes / elapsed : 0;
  int n;

  human_bytes(bytes, sizeof bytes, (double)s->bytes);
  human_bytes(rate_bytes, sizeof rate_bytes, byte_rate);
  if (s->input_total > 0 && elapsed > 0 && s->input_done > 0) {
    double fraction = (double)s->input_done / (double)s->input_total;
    double input_rate = (double)s->input_done / elapsed;
    double left = (double)s->input_total - (double)s->input_done;
    unsigned long secs = left > 0 ? (unsigned long)(left / input_rate + 0.5) : 0;
    if (fraction > 1) fraction = 1;
    snprintf(eta, sizeof eta, "  %.1f%%  ETA %lu:%02lu:%02lu", fraction * 100,
             secs / 3600, secs / 60 % 60, secs % 60);
  }
  n = snprintf(buf, cap, "%llu records  %s  %.0f rec/s  %s/s%s%s",
               (unsigned long long)s->records, bytes, rate, rate_bytes, eta,
               s->rejected ? "  (rejected: " : "");
  if (n >= 0 && (size_t)n < cap && s->rejected)
    n += snprintf(buf + n, cap - (size_t)n, "%llu)",
                  (unsigned long long)s->rejected);
  if (n < 0) return 0;
  return (size_t)n < cap ? (size_t)n : cap - 1;
}

void nbh_progress_update(NbhProgress *p, const NbhProgressSample *s,
                         uint64_t now_ns) {
  char line[256];
  if (!p->enabled) return;
  if (p->drawn && now_ns - p->last_draw_ns < NBH_PROGRESS_INTERVAL_NS) return;
  nbh_progress_format(line, sizeof line, s,
                      (double)(now_ns - p->start_ns) / 1e9);
  /* \033[K erases what a longer previous line left; the final \r puts
   * the cursor back at the start, so a log line written by another thread
   * starts at column 0; the logger erases the rest of the line first
   * (log.c, write_line) and this line is redrawn at the next tick. */
  fprintf(p->out, "\r%s\033[K\r", line);
  fflush(p->out);
  p->drawn = true;
  p->last_draw_ns = now_ns;
}

void nbh_progress_finish(NbhProgress *p) {
  if (!p->enabled || !p->drawn) return;
  fputs("\r\033[K", p->out);
  fflush(p->out);
  p->drawn = false;
}
