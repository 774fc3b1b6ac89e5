/*
 * pg_values.c - exact parsing of PostgreSQL's text output.  Floats are
 * printed by the server in their shortest round-trip form
 * (extra_float_digits = 1), so strtod gives back the very same double.
 */
#include "pg_values.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool digits(const char *s, size_t n, int64_t *v) {
  size_t i;
  int64_t x = 0;
  if (n == 0) return false;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    if (x > (INT64_MAX - 9) / 10) return false;
    x = x * 10 + (s[i] - '0');
  }
  *v = x;
  return true;
}

bool pg_parse_int64(const char *s, size_t len, int64_t *out) {
  bool neg = len > 0 && s[0] == '-';
  uint64_t x = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  size_t i = neg ? 1 : 0;
  if (i >= len) return false;
  for (; i < len; i++) {
    unsigned d;
    if (s[i] < '0' || s[i] > '9') return false;
    d = (unsigned)(s[i] - '0');
    if (x > (limit - d) / 10) return false;
    x = x * 10 + d;
  }
  *out = neg ? (int64_t)(0 - x) : (int64_t)x;
  return true;
}

bool pg_parse_double(const char *s, size_t len, double *out) {
  char buf[64], *end;
  if (len == 3 && memcmp(s, "NaN", 3) == 0) { *out = NAN; return true; }
  if (len == 8 && memcmp(s, "Infinity", 8) == 0) { *out = INFINITY; return true; }
  if (len == 9 && memcmp(s, "-Infinity", 9) == 0) { *out = -INFINITY; return true; }
  if (len == 0 || len >= sizeof buf) return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  errno = 0;
  *out = strtod(buf, &end);
  /* ERANGE on a subnormal is fine: the value is exact as printed. */
  return end == buf + len && !(errno == ERANGE && isinf(*out));
}

bool pg_parse_bool(const char *s, size_t len, bool *out) {
  if (len != 1 || (s[0] != 't' && s[0] != 'f')) return false;
  *out = s[0] == 't';
  return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (the era-based method: 400-year cycles of 146097 days). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static bool valid_day(int64_t y, int64_t m, int64_t d) {
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= mdays[m - 1] + (m == 2 && leap);
}

/* YYYY-MM-DD at s; *used is its length. */
static bool parse_ymd(const char *s, size_t len, int64_t *days, size_t *used) {
  size_t ylen = 0;
  int64_t y, m, d;
  while (ylen < len && s[ylen] >= '0' && s[ylen] <= '9') ylen++;
  if (ylen < 4 || ylen > 6 || len < ylen + 6 || s[ylen] != '-' || s[ylen + 3] != '-')
    return false;
  if (!digits(s, ylen, &y) || !digits(s + ylen + 1, 2, &m) || !digits(s + ylen + 4, 2, &d) ||
      !valid_day(y, m, d))
    return false;
  *days = days_from_civil(y, m, d);
  *used = ylen + 6;
  return true;
}

bool pg_parse_date(const char *s, size_t len, int32_t *days) {
  int64_t d;
  size_t used;
  /* " BC" and 'infinity' do not parse: refused, never shifted. */
  if (!parse_ymd(s, len, &d, &used) || used != len || d < INT32_MIN || d > INT32_MAX)
    return false;
  *days = (int32_t)d;
  return true;
}

bool pg_parse_timestamp(const char *s, size_t len, int64_t *micros) {
  int64_t days, hh, mi, ss, frac = 0, off = 0;
  size_t i, used;
  if (!parse_ymd(s, len, &days, &used) || len < used + 9 || s[used] != ' ' ||
      s[used + 3] != ':' || s[used + 6] != ':')
    return false;
  i = used + 1;
  if (!digits(s + i, 2, &hh) || !digits(s + i + 3, 2, &mi) || !digits(s + i + 6, 2, &ss) ||
      hh > 24 || mi > 59 || ss > 60)
    return false;
  i += 8;
  if (i < len && s[i] == '.') {
    size_t k = 0;
    int64_t scale = 100000;
    i++;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      if (k++ >= 6) return false;
      frac += (s[i++] - '0') * scale;
      scale /= 10;
    }
    if (k == 0) return false;
  }
  if (i < len) {
    int64_t oh = 0, om = 0, os = 0;
    int sign = s[i] == '-' ? -1 : 1;
    if (s[i] != '+' && s[i] != '-') return false;
    if (len < i + 3 || !digits(s + i + 1, 2, &oh)) return false;
    i += 3;
    if (i < len) {
      if (len < i + 3 || s[i] != ':' || !digits(s + i + 1, 2, &om)) return false;
      i += 3;
    }
    if (i < len) {
      if (len < i + 3 || s[i] != ':' || !digits(s + i + 1, 2, &os)) return false;
      i += 3;
    }
    if (i != len) return false;
    off = sign * (oh * 3600 + om * 60 + os);
  }
  /* PostgreSQL counts from 2000, Arrow from 1970: the last ~30 years of
   * PostgreSQL's range do not fit int64 microseconds since 1970. */
  if (days > 106751990 || days < -106751990) return false;
  *micros = ((days * 86400 + hh * 3600 + mi * 60 + ss) - off) * 1000000 + frac;
  return true;
}

/* A numeric(p,s)'s text output as decimal128(p,s), digit for digit: NaN,
 * Infinity and a value with more digits than the type allows do not fit
 * (the caller makes them a bad record naming the row and column); nothing
 * is rounded and nothing passes through a double. */
static bool append_decimal_text(NbColumnBuilder *b, const char *s, size_t len, int *rc) {
  NbError e;
  int status;
  nb_error_init(&e);
  status = nb_column_append_text(b, s, len, &e);
  nb_error_release(&e);
  if (status == NB_DATA) return false;
  *rc = status;
  return true;
}

bool pg_append_text_value(NbColumnBuilder *b, NbType type, const char *s, size_t len, int *rc) {
  int64_t i64;
  double d;
  bool flag;
  int32_t days;
  switch (type) {
    case NB_TYPE_INT64:
      if (!pg_parse_int64(s, len, &i64)) return false;
      *rc = nb_column_append_int64(b, i64);
      return true;
    case NB_TYPE_FLOAT64:
      if (!pg_parse_double(s, len, &d)) return false;
      *rc = nb_column_append_double(b, d);
      return true;
    case NB_TYPE_BOOL:
      if (!pg_parse_bool(s, len, &flag)) return false;
      *rc = nb_column_append_bool(b, flag);
      return true;
    case NB_TYPE_DATE32:
      if (!pg_parse_date(s, len, &days)) return false;
      *rc = nb_column_append_date32(b, days);
      return true;
    case NB_TYPE_TIMESTAMP:
      if (!pg_parse_timestamp(s, len, &i64)) return false;
      *rc = nb_column_append_timestamp(b, i64);
      return true;
    case NB_TYPE_DECIMAL128:
      return append_decimal_text(b, s, len, rc);
    default:
      *rc = nb_column_append_utf8(b, s, len);
      return true;
  }
}
