/*
 * config_number.c - numeric literals of a configuration file, read from
 * the source text (see config_number.h for why libconfig's value is not
 * used).
 */
#include "config_number.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The start of line `line` (1-based) in text, or NULL. */
static const char *line_start(const char *text, int line) {
  const char *p = text;
  int at = 1;
  while (at < line) {
    p = strchr(p, '\n');
    if (p == NULL) return NULL;
    p++;
    at++;
  }
  return p;
}

/* Skip blanks, line breaks and the three comment forms of libconfig. */
static const char *skip_space(const char *p) {
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (p[0] == '/' && p[1] == '*') {
      const char *end = strstr(p + 2, "*/");
      if (end == NULL) return p + strlen(p);
      p = end + 2;
    } else if ((p[0] == '/' && p[1] == '/') || p[0] == '#') {
      while (*p != '\0' && *p != '\n') p++;
    } else {
      return p;
    }
  }
}

static bool is_name_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '*';
}

bool nbh_config_find_literal(const char *text, int line, const char *name, char *out,
                             size_t cap) {
  const char *p = line_start(text, line), *end_of_line;
  size_t n = strlen(name);
  if (p == NULL || n == 0) return false;
  end_of_line = strchr(p, '\n');
  if (end_of_line == NULL) end_of_line = p + strlen(p);
  /* The first whole-word occurrence of name followed by '=' or ':'. */
  for (; p < end_of_line; p++) {
    const char *v;
    size_t len = 0;
    if (strncmp(p, name, n) != 0 || (p > text && is_name_char(p[-1])) || is_name_char(p[n]))
      continue;
    v = skip_space(p + n);
    if (*v != '=' && *v != ':') continue;
    v = skip_space(v + 1);
    while (v[len] != '\0' && (isalnum((unsigned char)v[len]) || v[len] == '.' ||
                              v[len] == '+' || v[len] == '-'))
      len++;
    if (len == 0 || len >= cap) return false;
    memcpy(out, v, len);
    out[len] = '\0';
    return true;
  }
  return false;
}

/* Strip an L or LL suffix (libconfig's 64-bit marker) into buf. */
static bool without_suffix(const char *literal, char *buf, size_t cap) {
  size_t len = strlen(literal);
  if (len >= cap) return false;
  memcpy(buf, literal, len + 1);
  while (len > 0 && (buf[len - 1] == 'L' || buf[len - 1] == 'l')) buf[--len] = '\0';
  return len > 0;
}

int nbh_config_integer_text(const char *literal, char *out, size_t cap) {
  char buf[128], *end;
  const char *digits;
  bool negative = false, hex;
  if (!without_suffix(literal, buf, sizeof buf)) return -1;
  digits = buf;
  if (*digits == '+' || *digits == '-') negative = *digits++ == '-';
  hex = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X');
  if (!isxdigit((unsigned char)digits[hex ? 2 : 0])) return -1;
  errno = 0;
  if (hex) {
    unsigned long long u = strtoull(digits + 2, &end, 16);
    if (errno != 0 || *end != '\0' || u > (unsigned long long)INT64_MAX) return -1;
    snprintf(out, cap, "%s%llu", negative && u != 0 ? "-" : "", u);
    return 0;
  } else {
    /* long long is 64 bits on every platform the host builds on. */
    long long v = strtoll(buf, &end, 10);
    if (errno != 0 || *end != '\0') return -1;
    snprintf(out, cap, "%lld", v);
    return 0;
  }
}

int nbh_config_float_check(const char *literal, double *value) {
  char *end;
  const char *p;
  bool nonzero = false;
  double d;
  errno = 0;
  d = strtod(literal, &end);
  if (end == literal || *end != '\0' || !isfinite(d)) return -1;
  /* A literal with a non-zero digit before its exponent that reads as 0
   * lost everything (1e-999); subnormals keep a value and are fine. */
  for (p = literal; *p != '\0' && *p != 'e' && *p != 'E'; p++)
    if (*p >= '1' && *p <= '9') nonzero = true;
  if (nonzero && d == 0) return -1;
  if (value != NULL) *value = d;
  return 0;
}

int nbh_config_integer_overflows(const char *text) {
  char *end;
  const char *p = text;
  if (*p == '+' || *p == '-') p++;
  if (!isdigit((unsigned char)*p)) return 0;
  while (isdigit((unsigned char)*p)) p++;
  if (*p != '\0') return 0;
  errno = 0;
  (void)strtoll(text, &end, 10);
  return errno == ERANGE ? 1 : 0;
}
