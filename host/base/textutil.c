/*
 * textutil.c - growable string buffer, JSON string escaping and the edit
 * distance used for "did you mean" hints (UTF-8 itself is in utf8.c).
 */
#include "textutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static bool reserve(NbhBuf *buf, size_t extra) {
  size_t need, cap;
  char *grown;
  if (buf->failed) return false;
  if (extra > SIZE_MAX - buf->len - 1) {
    buf->failed = true;
    return false;
  }
  need = buf->len + extra + 1;
  if (need <= buf->cap) return true;
  cap = buf->cap ? buf->cap : 64;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  grown = realloc(buf->data, cap);
  if (grown == NULL) {
    buf->failed = true;
    return false;
  }
  buf->data = grown;
  buf->cap = cap;
  return true;
}

void nbh_buf_append(NbhBuf *buf, const char *bytes, size_t len) {
  if (!reserve(buf, len)) return;
  if (len > 0) memcpy(buf->data + buf->len, bytes, len);
  buf->len += len;
  buf->data[buf->len] = '\0';
}

void nbh_buf_puts(NbhBuf *buf, const char *text) {
  nbh_buf_append(buf, text, strlen(text));
}

void nbh_buf_vprintf(NbhBuf *buf, const char *fmt, va_list ap) {
  va_list again;
  int n;
  char small[256];
  va_copy(again, ap);
  n = vsnprintf(small, sizeof small, fmt, ap);
  if (n < 0) {
    buf->failed = true;
  } else if ((size_t)n < sizeof small) {
    nbh_buf_append(buf, small, (size_t)n);
  } else if (reserve(buf, (size_t)n)) {
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, again);
    buf->len += (size_t)n;
  }
  va_end(again);
}

char *nbh_format(const char *fmt, ...) {
  NbhBuf buf = NBH_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  nbh_buf_vprintf(&buf, fmt, ap);
  va_end(ap);
  return nbh_buf_take(&buf);
}

void nbh_buf_printf(NbhBuf *buf, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nbh_buf_vprintf(buf, fmt, ap);
  va_end(ap);
}

const char *nbh_buf_text(NbhBuf *buf) {
  if (buf->failed) return NULL;
  return buf->data ? buf->data : "";
}

char *nbh_buf_take(NbhBuf *buf) {
  char *text;
  if (buf->failed) {
    nbh_buf_free(buf);
    return NULL;
  }
  text = buf->data ? buf->data : strdup("");
  buf->data = NULL;
  buf->len = buf->cap = 0;
  return text;
}

void nbh_buf_free(NbhBuf *buf) {
  free(buf->data);
  buf->data = NULL;
  buf->len = buf->cap = 0;
  buf->failed = false;
}

void nbh_buf_json_escape(NbhBuf *buf, const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0, run = 0;
  while (i < len) {
    unsigned char c = s[i];
    size_t seq;
    const char *esc = NULL;
    char uesc[8];
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      i++;
      run++;
      continue;
    }
    if (c >= 0x80) {
      uint32_t cp = 0;
      seq = nbh_utf8_sequence(s + i, len - i, &cp);
      /* C1 controls and bidi overrides are valid JSON raw, but a reader
       * that prints the string would send them to its terminal. */
      if (seq > 0 && nbh_char_is_unsafe(cp)) {
        nbh_buf_append(buf, (const char *)s + i - run, run);
        run = 0;
        nbh_buf_printf(buf, "\\u%04x", (unsigned)cp);
        i += seq;
        continue;
      }
      if (seq > 0) {
        i += seq;
        run += seq;
        continue;
      }
    }
    nbh_buf_append(buf, (const char *)s + i - run, run);
    run = 0;
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      default:
        if (c >= 0x80) {
          esc = "\\ufffd";
        } else {
          snprintf(uesc, sizeof uesc, "\\u%04x", c);
          esc = uesc;
        }
    }
    nbh_buf_puts(buf, esc);
    i++;
  }
  nbh_buf_append(buf, (const char *)s + i - run, run);
}

void nbh_json_write_string(FILE *out, const char *text) {
  NbhBuf buf = NBH_BUF_INIT;
  nbh_buf_json_escape(&buf, text, strlen(text));
  fputc('"', out);
  if (nbh_buf_text(&buf) != NULL) fputs(nbh_buf_text(&buf), out);
  fputc('"', out);
  nbh_buf_free(&buf);
}

static size_t min3(size_t a, size_t b, size_t c) {
  size_t m = a < b ? a : b;
  return m < c ? m : c;
}

size_t nbh_edit_distance(const char *a, const char *b, size_t limit) {
  size_t na = strlen(a), nb = strlen(b), i, j, result;
  size_t *prev2, *prev, *cur, *rows;
  if ((na > nb ? na - nb : nb - na) > limit) return limit + 1;
  rows = calloc(3 * (nb + 1), sizeof *rows);
  if (rows == NULL) return limit + 1;
  prev2 = rows;
  prev = rows + nb + 1;
  cur = rows + 2 * (nb + 1);
  for (j = 0; j <= nb; j++) prev[j] = j;
  for (i = 1; i <= na; i++) {
    size_t *tmp;
    cur[0] = i;
    for (j = 1; j <= nb; j++) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          prev2[j - 2] + 1 < cur[j])
        cur[j] = prev2[j - 2] + 1;
    }
    tmp = prev2;
    prev2 = prev;
    prev = cur;
    cur = tmp;
  }
  result = prev[nb];
  free(rows);
  return result > limit ? limit + 1 : result;
}

const char *nbh_did_you_mean(const char *name, const char *const *candidates,
                             size_t n_candidates) {
  const char *best = NULL;
  size_t best_distance = 3, i;
  for (i = 0; i < n_candidates; i++) {
    size_t d, longest;
    if (candidates[i] == NULL) continue;
    d = nbh_edit_distance(name, candidates[i], 2);
    longest = strlen(name) > strlen(candidates[i]) ? strlen(name)
                                                   : strlen(candidates[i]);
    /* One edit in "x" is not a typo of "y": demand that most of the
     * name survives. */
    if (d < best_distance && d * 3 <= longest + 1) {
      best = candidates[i];
      best_distance = d;
    }
  }
  return best;
}
