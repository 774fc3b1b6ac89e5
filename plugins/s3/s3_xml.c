/*
 * s3_xml.c - see s3_xml.h.  S3 replies are machine-written and flat enough
 * that matching start and end tags by name is sufficient; the scanner is
 * defensive rather than general (no DTDs, no CDATA, no namespaces beyond
 * ignoring an attribute list).
 */
#include "s3_xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Position of needle in hay[from..n), or n. */
static size_t find(const char *hay, size_t n, size_t from, const char *needle, size_t k) {
  size_t i;
  if (k == 0 || k > n) return n;
  for (i = from; i + k <= n; i++)
    if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0) return i;
  return n;
}

bool s3_xml_next(S3Slice in, size_t *pos, const char *tag, S3Slice *value) {
  size_t t = strlen(tag), i = *pos;
  if (t == 0 || t > 64) return false;
  while (i < in.n) {
    size_t at = find(in.p, in.n, i, "<", 1), after, close;
    char end_tag[80];
    if (at >= in.n) return false;
    after = at + 1 + t;
    if (after >= in.n || memcmp(in.p + at + 1, tag, t) != 0 ||
        !(in.p[after] == '>' || in.p[after] == ' ' || in.p[after] == '/')) {
      i = at + 1;
      continue;
    }
    close = find(in.p, in.n, after, ">", 1);
    if (close >= in.n) return false;
    if (in.p[close - 1] == '/') { /* <tag/> */
      value->p = in.p + close + 1;
      value->n = 0;
      *pos = close + 1;
      return true;
    }
    end_tag[0] = '<';
    end_tag[1] = '/';
    memcpy(end_tag + 2, tag, t);
    end_tag[t + 2] = '>';
    {
      size_t e = find(in.p, in.n, close + 1, end_tag, t + 3);
      if (e >= in.n) return false;
      value->p = in.p + close + 1;
      value->n = e - close - 1;
      *pos = e + t + 3;
    }
    return true;
  }
  return false;
}

/* UTF-8 of code point cp into out (4 bytes); its length, 0 if invalid. */
static size_t put_utf8(uint32_t cp, char *out) {
  if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | cp >> 6);
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | cp >> 12);
    out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | cp >> 18);
  out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* One entity at v.p[i] ('&'); its UTF-8 into out, *used the bytes read. */
static size_t entity(S3Slice v, size_t i, char *out, size_t *used) {
  static const struct {
    const char *name;
    char c;
  } named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
  size_t k, semi = find(v.p, v.n, i, ";", 1);
  if (semi >= v.n || semi - i > 12) return 0;
  for (k = 0; k < sizeof named / sizeof named[0]; k++) {
    size_t len = strlen(named[k].name);
    if (semi - i == len && memcmp(v.p + i + 1, named[k].name, len) == 0) {
      out[0] = named[k].c;
      *used = len + 1;
      return 1;
    }
  }
  if (v.p[i + 1] == '#') {
    uint32_t cp = 0;
    size_t j = i + 2;
    int base = 10;
    if (j < semi && (v.p[j] == 'x' || v.p[j] == 'X')) {
      base = 16;
      j++;
    }
    if (j == semi) return 0;
    for (; j < semi; j++) {
      char c = v.p[j];
      int d = c >= '0' && c <= '9'                 ? c - '0'
              : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
              : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                   : -1;
      if (d < 0 || cp > 0x10FFFF) return 0;
      cp = cp * (uint32_t)base + (uint32_t)d;
    }
    *used = semi - i + 1;
    return put_utf8(cp, out);
  }
  return 0;
}

char *s3_xml_unescape(S3Slice v, bool *bad) {
  char *out = malloc(v.n + 1);
  size_t i = 0, o = 0;
  *bad = false;
  if (out == NULL) return NULL;
  while (i < v.n) {
    if (v.p[i] == '\0') {
      *bad = true;
      free(out);
      return NULL;
    }
    if (v.p[i] != '&') {
      out[o++] = v.p[i++];
      continue;
    }
    {
      size_t used = 0, k = entity(v, i, out + o, &used);
      /* An entity is never shorter than its UTF-8 (&#x10FFFF; vs 4). */
      if (k == 0) {
        *bad = true;
        free(out);
        return NULL;
      }
      o += k;
      i += used;
    }
  }
  out[o] = '\0';
  return out;
}

char *s3_xml_text(S3Slice in, const char *tag, bool *nomem) {
  size_t pos = 0;
  S3Slice v;
  bool bad;
  char *s;
  *nomem = false;
  if (!s3_xml_next(in, &pos, tag, &v)) return NULL;
  s = s3_xml_unescape(v, &bad);
  if (s == NULL && !bad) *nomem = true;
  return s;
}
