/*
 * utf8.c - UTF-8 decoding and validation, and printable copies of foreign
 * text (see utf8.h for why every printed string goes through here).
 */
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t nbh_utf8_sequence(const unsigned char *s, size_t n, uint32_t *cp_out) {
  uint32_t cp;
  size_t len, i;
  if (n == 0) return 0;
  if (s[0] < 0x80) {
    if (cp_out != NULL) *cp_out = s[0];
    return 1;
  }
  if (s[0] >= 0xC2 && s[0] <= 0xDF) {
    len = 2;
    cp = s[0] & 0x1F;
  } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
    len = 3;
    cp = s[0] & 0x0F;
  } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
    len = 4;
    cp = s[0] & 0x07;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  /* Overlong forms, surrogates and values beyond U+10FFFF. */
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    return 0;
  if (cp_out != NULL) *cp_out = cp;
  return len;
}

bool nbh_utf8_valid(const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < len) {
    size_t seq;
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    seq = nbh_utf8_sequence(s + i, len - i, NULL);
    if (seq == 0) return false;
    i += seq;
  }
  return true;
}

bool nbh_char_is_unsafe(uint32_t cp) {
  if (cp < 0x20 || cp == 0x7F) return true;
  if (cp >= 0x80 && cp <= 0x9F) return true;
  if (cp >= 0x202A && cp <= 0x202E) return true;
  if (cp >= 0x2066 && cp <= 0x2069) return true;
  return false;
}

static void put_escaped(NbhBuf *buf, const unsigned char *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) nbh_buf_printf(buf, "\\x%02X", s[i]);
}

void nbh_buf_put_printable(NbhBuf *buf, const char *text, size_t max_bytes) {
  const unsigned char *s = (const unsigned char *)(text != NULL ? text : "(null)");
  size_t len = strlen((const char *)s), limit = len < max_bytes ? len : max_bytes;
  size_t i = 0, run = 0;
  while (i < limit) {
    uint32_t cp = 0;
    size_t seq = nbh_utf8_sequence(s + i, limit - i, &cp);
    if (seq > 0 && !nbh_char_is_unsafe(cp)) {
      i += seq;
      run += seq;
      continue;
    }
    nbh_buf_append(buf, (const char *)s + i - run, run);
    run = 0;
    /* A sequence cut by the limit is dropped, not escaped: it is not
     * malformed, only shortened, and "..." says so. */
    if (seq == 0 && limit < len && nbh_utf8_sequence(s + i, len - i, NULL) > limit - i) break;
    if (seq == 0) seq = 1;
    put_escaped(buf, s + i, seq);
    i += seq;
  }
  nbh_buf_append(buf, (const char *)s + i - run, run);
  if (limit < len) nbh_buf_puts(buf, "...");
}

char *nbh_printable(const char *text, size_t max_bytes) {
  NbhBuf buf = NBH_BUF_INIT;
  nbh_buf_put_printable(&buf, text, max_bytes);
  if (buf.data == NULL && !buf.failed) return strdup("");
  return nbh_buf_take(&buf);
}

int nbh_fput_printable(const char *text, size_t max_bytes, FILE *out) {
  char *shown = nbh_printable(text, max_bytes);
  int rc = fputs(shown != NULL ? shown : "(out of memory)", out);
  free(shown);
  return rc;
}
