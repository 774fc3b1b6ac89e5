/*
 * supervise.c - the calling thread while the stages run: stop signals, the
 * watchdog, the progress line and metrics gauges, the run's summary.
 */
#include "engine_internal.h"

/* ------------------------------------------------------------------------
 * Supervisor
 * ------------------------------------------------------------------------ */

void eng_declare_metrics(NbhMetrics *m) {
  nbh_metrics_declare(m, "nebula_records_total", "Records read from the source and written to the destination.", NBH_METRIC_COUNTER);
  nbh_metrics_declare(m, "nebula_bytes_total", "Bytes of Arrow batches read and written.", NBH_METRIC_COUNTER);
  nbh_metrics_declare(m, "nebula_records_rejected_total", "Bad records skipped or sent to the dead-letter file.", NBH_METRIC_COUNTER);
  nbh_metrics_declare(m, "nebula_retries_total", "Connector calls retried after a transient failure.", NBH_METRIC_COUNTER);
  nbh_metrics_declare(m, "nebula_commits_total", "Destination commits followed by a state save.", NBH_METRIC_COUNTER);
  nbh_metrics_declare(m, "nebula_batch_latency_seconds", "Time from a batch leaving the source to its write returning.", NBH_METRIC_HISTOGRAM);
  nbh_metrics_declare(m, "nebula_queue_depth", "Batches waiting between the source and the destination.", NBH_METRIC_GAUGE);
  nbh_metrics_declare(m, "nebula_queue_bytes", "Bytes waiting between the source and the destination.", NBH_METRIC_GAUGE);
  nbh_metrics_declare(m, "nebula_last_commit_timestamp_seconds", "Unix time of the last durable commit.", NBH_METRIC_GAUGE);
}

static uint64_t peak_rss_kib(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return ru.ru_maxrss > 0 ? (uint64_t)ru.ru_maxrss : 0;
}

void eng_fill_summary(Engine *e, NbhRunSummary *s, uint64_t start_ns) {
  s->records_read = atomic_load(&e->records_read);
  s->records_written = atomic_load(&e->records_written);
  s->records_rejected = atomic_load(&e->rejected);
  s->bytes_read = atomic_load(&e->bytes_read);
  s->bytes_written = atomic_load(&e->bytes_written);
  s->batches = atomic_load(&e->batches);
  s->commits = atomic_load(&e->commits);
  s->retries = atomic_load(&e->retries);
  s->seconds = nbh_ns_to_seconds(nbh_monotonic_ns() - start_ns);
  s->peak_rss_kib = peak_rss_kib();
}

void eng_log_summary(NbhLogger *logger, const NbhRunSummary *s, int code) {
  const char *status = code == NBH_EXIT_OK ? "ok"
                       : code == NBH_EXIT_SIGINT || code == NBH_EXIT_SIGTERM
                           ? "interrupted"
                           : "failed";
  double rate = s->seconds > 0 ? (double)s->records_written / s->seconds : 0;
  nbh_log(logger, NB_LOG_INFO, "engine",
          "summary: status=%s records_read=%" PRIu64 " records_written=%" PRIu64
          " records_rejected=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f"
          " rate=%.0f retries=%" PRIu64 " commits=%" PRIu64 " peak_rss_kib=%" PRIu64,
          status, s->records_read, s->records_written, s->records_rejected,
          s->bytes_read, s->seconds, rate, s->retries, s->commits, s->peak_rss_kib);
}

static void update_gauges(Engine *e, NbhProgress *progress, uint64_t now) {
  size_t items;
  uint64_t bytes;
  NbhProgressSample sample;

  nbh_queue_depth(&e->queue, &items, &bytes);
  nbh_metrics_set(e->metrics, "nebula_queue_depth", "", (double)items);
  nbh_metrics_set(e->metrics, "nebula_queue_bytes", "", (double)bytes);
  sample.records = atomic_load(&e->records_written);
  sample.rejected = atomic_load(&e->rejected);
  sample.bytes = atomic_load(&e->bytes_written);
  sample.input_done = atomic_load(&e->input_done);
  sample.input_total = atomic_load(&e->streams_listed) ? e->input_total : -1;
  nbh_progress_update(progress, &sample, now);
}

static void notice_signal(Engine *e) {
  int signo = (int)*e->stop_signal;
  if (signo == 0 || atomic_load(&e->stop_reading)) return;
  e->stop_signo = signo;
  atomic_store(&e->stop_reading, 1);
  nbh_log(e->logger, NB_LOG_INFO, "engine",
          "received %s: eng_stopping; records already read are written and committed",
          signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "a signal");
}

/* The watchdog: a connector call lasting longer than stall_timeout.  The
 * call's start is read before the clock, so that a call starting meanwhile
 * looks just begun (nbh_call_stalled also says so if it does not). */
static int stalled(Engine *e, Side *side) {
  uint64_t started = atomic_load(&side->conn.call_started_ns);
  uint64_t now = nbh_monotonic_ns();
  double limit = e->opt->stall_timeout_seconds;
  uint64_t elapsed;
  char hint[256];

  if (limit <= 0 || atomic_load(&side->done)) return 0;
  if (!nbh_call_stalled(started, now, (uint64_t)(limit * 1e9), &elapsed)) return 0;
  snprintf(hint, sizeof hint,
           "Raise the engine's stall_timeout (now %g s) if the %s is only slow.",
           limit, side->role);
  eng_fail_with(e, NBH_EXIT_FAILED, FATAL, NB_UNAVAILABLE, NULL, hint,
            "%s connector \"%s\" made no progress for %.0f seconds in %s",
            side->role, side->conn.name, nbh_ns_to_seconds(elapsed),
            atomic_load(&side->conn.call_name));
  return 1;
}

static int both_done(Engine *e) {
  return atomic_load(&e->source.done) && atomic_load(&e->dest.done);
}

static void wait_a_moment(Engine *e, uint64_t ns) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(ns / 1000000000ull);
  ts.tv_nsec += (long)(ns % 1000000000ull);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&e->lock);
  if (!both_done(e)) pthread_cond_timedwait(&e->wake, &e->lock, &ts);
  pthread_mutex_unlock(&e->lock);
}

/* A stage stuck in a connector call after cancellation.  Closing the
 * connector or freeing what the call uses would be unsafe, and so would
 * returning to main(), which frees the logger the call may still use:
 * end the process here, leaving the state file at its last commit. */
static void abandon_stuck_run(Engine *e, NbhRunSummary *summary, uint64_t start_ns) {
  Side *stuck = !atomic_load(&e->source.done) ? &e->source : &e->dest;
  nbh_log(e->logger, NB_LOG_ERROR, "engine",
          "%s connector \"%s\" did not return from %s after cancellation; "
          "exiting without closing it (the state file keeps the last commit)",
          stuck->role, stuck->conn.name, atomic_load(&stuck->conn.call_name));
  eng_fill_summary(e, summary, start_ns);
  eng_log_summary(e->logger, summary, NBH_EXIT_FAILED);
  fflush(stderr);
  _exit(NBH_EXIT_FAILED);
}

/* After a stop signal the source is still blocked in a call (typically a
 * read from a pipe whose writer is idle: `sleep 100 | nebula-host ...`).
 * Stopping must not wait for input that may never come: end the input for
 * the destination, which commits what it has and writes the state; then
 * leave without touching the blocked source (see abandon_stuck_run). */
static void abandon_blocked_source(Engine *e, NbhRunSummary *summary, uint64_t start_ns) {
  int code = e->stop_signo == SIGINT ? NBH_EXIT_SIGINT
             : e->stop_signo == SIGTERM ? NBH_EXIT_SIGTERM
                                        : 128 + e->stop_signo;
  nbh_log(e->logger, NB_LOG_INFO, "engine",
          "source connector \"%s\" is still blocked in %s; exiting without closing it "
          "(the state file keeps the last commit)",
          e->source.conn.name, atomic_load(&e->source.conn.call_name));
  eng_fill_summary(e, summary, start_ns);
  eng_log_summary(e->logger, summary, code);
  fflush(stderr);
  _exit(code);
}

/* Called by the supervisor while a stop signal waits for the source.
 * Returns 1 when the input was ended for the destination. */
static int end_input_for_blocked_source(Engine *e, NbhRunSummary *summary, uint64_t start_ns) {
  if (!atomic_load(&e->dest_started)) abandon_blocked_source(e, summary, start_ns);
  return eng_push_marker(e, NBH_ITEM_INPUT_END, 0);
}

void eng_supervise(Engine *e, NbhRunSummary *summary, uint64_t start_ns) {
  NbhProgress progress;
  uint64_t stall_seen_ns = 0, stop_seen_ns = 0;
  int input_ended = 0;

  nbh_progress_init(&progress, stderr, e->opt->progress, start_ns);
  while (!both_done(e)) {
    uint64_t now;
    wait_a_moment(e, (uint64_t)POLL_MS * 1000000ull);
    now = nbh_monotonic_ns();
    notice_signal(e);
    if (stall_seen_ns == 0 && (stalled(e, &e->source) || stalled(e, &e->dest)))
      stall_seen_ns = now;
    if (stall_seen_ns != 0 && !both_done(e) && now - stall_seen_ns > STALL_GRACE_NS) {
      nbh_progress_finish(&progress);
      abandon_stuck_run(e, summary, start_ns);
    }
    if (atomic_load(&e->stop_reading) && !atomic_load(&e->source.done)) {
      if (stop_seen_ns == 0) stop_seen_ns = now;
      if (!input_ended && now - stop_seen_ns > STOP_GRACE_NS &&
          atomic_load(&e->source.conn.call_started_ns) != 0) {
        nbh_progress_finish(&progress);
        input_ended = end_input_for_blocked_source(e, summary, start_ns);
      }
      if (input_ended && atomic_load(&e->dest.done)) abandon_blocked_source(e, summary, start_ns);
    }
    update_gauges(e, &progress, now);
  }
  nbh_progress_finish(&progress);
}
