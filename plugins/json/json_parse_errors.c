/*
 * json_parse_errors.c - the parser's error messages: what was expected,
 * what was found (a character named by its code point, a byte by its
 * value), and exactly what is wrong with an invalid UTF-8 sequence.  Cold
 * code, out of json_parser.c's hot loops.
 */
#include <stdarg.h>
#include <stdio.h>

#include "json_parse_errors.h"
#include "json_utf8.h"

/* The code point of the valid UTF-8 sequence of n bytes at s. */
static uint32_t utf8_decode(const unsigned char *s, size_t n) {
  static const unsigned char lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  uint32_t cp = s[0] & lead_mask[n];
  for (size_t i = 1; i < n; i++) cp = (cp << 6) | (s[i] & 0x3F);
  return cp;
}

/* How the text at c is named in messages: "x" when printable ASCII, a
 * character's code point when it is valid UTF-8, else the byte's code. */
void json_describe_byte(const char *c, const char *end, char *buf,
                          size_t cap) {
  unsigned char ch = (unsigned char)*c;
  size_t bad, n;
  if (c >= end) snprintf(buf, cap, "the end of the data");
  else if (ch == '"') snprintf(buf, cap, "'\"'");
  else if (ch > 0x20 && ch < 0x7F) snprintf(buf, cap, "\"%c\"", ch);
  else if (ch < 0x20) snprintf(buf, cap, "control character U+%04X", ch);
  else if (ch == ' ') snprintf(buf, cap, "a space");
  else if (ch >= 0x80 &&
           (n = json_utf8_sequence((const unsigned char *)c, (size_t)(end - c), &bad)) > 0)
    snprintf(buf, cap, "character U+%04X", (unsigned)utf8_decode((const unsigned char *)c, n));
  else snprintf(buf, cap, "byte 0x%02X", ch);
}

JsonResult json_syntax(JsonParser *p, const char *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->error, sizeof p->error, fmt, ap);
  va_end(ap);
  p->error_at = at;
  return JSON_SYNTAX;
}

/* An unexpected byte at c: if it is the end of the data, more data may
 * fix it; otherwise report "<what> but found <byte>". */
JsonResult json_unexpected(JsonParser *p, const char *c, const char *end,
                             bool eof, const char *what) {
  char found[48];
  if (c == end && !eof) return JSON_NEED_MORE;
  json_describe_byte(c, end, found, sizeof found);
  return json_syntax(p, c, "%s but found %s", what, found);
}

/* An invalid UTF-8 sequence at s, whose byte s[bad] is wrong (see
 * json_utf8_sequence): say exactly what is wrong with it. */
JsonResult json_invalid_utf8(JsonParser *p, const char *at, size_t bad) {
  const unsigned char *s = (const unsigned char *)at;
  unsigned char lead = s[0], next = s[bad];
  if (bad == 0) {
    if (lead >= 0x80 && lead <= 0xBF)
      return json_syntax(p, at, "invalid UTF-8 in string: byte 0x%02X is a continuation byte without a leading byte",
                    lead);
    return json_syntax(p, at, "invalid UTF-8 in string: byte 0x%02X never appears in UTF-8", lead);
  }
  if ((next & 0xC0) != 0x80)
    return json_syntax(p, at, "invalid UTF-8 in string: byte 0x%02X starts a %d-byte sequence, but byte 0x%02X is not a continuation byte",
                  lead, lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2, next);
  /* A continuation byte out of the range allowed after this lead byte. */
  if (lead == 0xED)
    return json_syntax(p, at, "invalid UTF-8 in string: bytes 0x%02X 0x%02X start the encoding of a UTF-16 surrogate (U+D800 to U+DFFF)",
                  lead, next);
  if (lead == 0xF4)
    return json_syntax(p, at, "invalid UTF-8 in string: bytes 0x%02X 0x%02X start the encoding of a value above U+10FFFF",
                  lead, next);
  return json_syntax(p, at, "invalid UTF-8 in string: bytes 0x%02X 0x%02X start an overlong encoding", lead,
                next);
}
