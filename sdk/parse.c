/*
 * parse.c - nb_column_append_text: text to a column's type, exactly.
 *
 * Nothing is rounded or clamped: an integer that does not fit, a decimal
 * with more significant fraction digits than the column's scale, a
 * timestamp with sub-microsecond digits, or a date that does not exist is
 * NB_DATA with a message quoting the value and naming the column.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder_internal.h"

#define QUOTE_CAP 80

static int data_error(const NbColumnBuilder *c, NbError *err,
                      const char *text, size_t len, const char *what) {
  char quoted[QUOTE_CAP];
  char type[48];
  nb_error_set(err, NB_DATA, "invalid value for column \"%s\" of type %s: \"%s\"",
               c->field.name, nb_type_name(&c->field, type, sizeof type),
               nbsdk_quote(text, len, quoted, sizeof quoted));
  nb_error_detail(err, "%s", what);
  return NB_DATA;
}

/* A decimal value with more digits than the column's precision holds. */
static int precision_error(const NbColumnBuilder *c, NbError *err, const char *text, size_t len,
                           int32_t scale) {
  char msg[128];
  snprintf(msg, sizeof msg, "The value does not fit decimal precision %d with scale %d.",
           (int)c->field.precision, (int)scale);
  return data_error(c, err, text, len, msg);
}

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* ------------------------------------------------------------------------
 * Numbers
 * ------------------------------------------------------------------------ */

/* 0: ok; 1: syntax; 2: out of range. */
static int parse_int64(const char *s, size_t len, int64_t *out) {
  size_t i = 0;
  bool negative = false;
  uint64_t limit, value = 0;
  if (len > 0 && s[0] == '-') negative = true, i = 1;
  if (i == len) return 1;
  limit = negative ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
  for (; i < len; i++) {
    unsigned digit;
    if (!is_digit(s[i])) return 1;
    digit = (unsigned)(s[i] - '0');
    if (value > (limit - digit) / 10) {
      for (i++; i < len; i++)
        if (!is_digit(s[i])) return 1;
      return 2;
    }
    value = value * 10 + digit;
  }
  *out = negative ? (int64_t)(0u - value) : (int64_t)value;
  return 0;
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *s, size_t len) {
  size_t i = 0;
  if (i < len && s[i] == '-') i++;
  if (i >= len) return false;
  if (s[i] == '0') {
    i++;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < len && is_digit(s[i])) i++;
  } else {
    return false;
  }
  if (i < len && s[i] == '.') {
    size_t start = ++i;
    while (i < len && is_digit(s[i])) i++;
    if (i == start) return false;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    size_t start;
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) i++;
    start = i;
    while (i < len && is_digit(s[i])) i++;
    if (i == start) return false;
  }
  return i == len;
}

static int append_float(NbColumnBuilder *c, const char *s, size_t len,
                        NbError *err) {
  char small[128];
  char *buf = small, *end;
  double v;
  int rc;
  if (len == 0 || s[0] == ' ' || s[0] == '\t' || s[0] == '\n' ||
      s[0] == '\r' || s[0] == '\f' || s[0] == '\v')
    return data_error(c, err, s, len, "The value is not a number.");
  if (len >= sizeof small) {
    buf = malloc(len + 1);
    if (buf == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  memcpy(buf, s, len);
  buf[len] = '\0';
  errno = 0;
  v = strtod(buf, &end);
  rc = NB_OK;
  if (end != buf + len || memchr(buf, '\0', len) != NULL)
    rc = data_error(c, err, s, len, "The value is not a number.");
  else if (errno == ERANGE && (v == 0 || isinf(v)))
    rc = data_error(c, err, s, len,
                    "The value is out of the range of a 64-bit float.");
  if (buf != small) free(buf);
  if (rc != NB_OK) return rc;
  rc = nb_column_append_double(c, v);
  return rc == NB_NOMEM ? nb_error_set(err, NB_NOMEM, "out of memory") : rc;
}

/* 10^precision for a decimal128 precision (1..38), without a loop of
 * 128-bit multiplications per value. */
static unsigned __int128 pow10_u128(int32_t precision) {
  static const uint64_t POW10[20] = {1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL,
                                     1000000ULL, 10000000ULL, 100000000ULL,
                                     1000000000ULL, 10000000000ULL, 100000000000ULL,
                                     1000000000000ULL, 10000000000000ULL,
                                     100000000000000ULL, 1000000000000000ULL,
                                     10000000000000000ULL, 100000000000000000ULL,
                                     1000000000000000000ULL, 10000000000000000000ULL};
  if (precision <= 0) return 1;
  if (precision <= 19) return POW10[precision];
  if (precision > 38) precision = 38; /* decimal128's most (schema.c checks) */
  return (unsigned __int128)POW10[19] * POW10[precision - 19];
}

static int append_decimal(NbColumnBuilder *c, const char *s, size_t len,
                          NbError *err) {
  unsigned __int128 value = 0, limit = pow10_u128(c->field.precision);
  /* 10^precision when it fits 64 bits with room to spare, else no limit
   * (18 digits are below any precision above 18). */
  uint64_t small = 0, small_limit = c->field.precision <= 18 ? (uint64_t)limit : UINT64_MAX;
  size_t counted = 0;
  size_t i = 0, int_digits = 0, frac_digits = 0, kept_frac = 0;
  int32_t scale = c->field.scale;
  bool negative = false, seen_dot = false;
  int rc;
  if (len > 0 && s[0] == '-') negative = true, i = 1;
  for (; i < len; i++) {
    char ch = s[i];
    if (ch == '.' && !seen_dot) {
      seen_dot = true;
      continue;
    }
    if (!is_digit(ch))
      return data_error(c, err, s, len, "The value is not a decimal number.");
    if (seen_dot) {
      frac_digits++;
      if ((int32_t)frac_digits > scale) {
        /* Digits beyond the scale are accepted only when they are zeros:
         * then the value is unchanged. */
        if (ch != '0') {
          char msg[128];
          snprintf(msg, sizeof msg,
                   "The value has more than %d fraction digits; it is not "
                   "rounded.",
                   (int)scale);
          return data_error(c, err, s, len, msg);
        }
        continue;
      }
      kept_frac++;
    } else {
      int_digits++;
    }
    /* The first 18 digits in 64-bit arithmetic (nearly every value),
     * the rest in 128-bit; the same limit check after every digit. */
    if (counted < 18) {
      small = small * 10 + (unsigned)(ch - '0');
      counted++;
      if (small >= small_limit) return precision_error(c, err, s, len, scale);
      continue;
    }
    if (counted++ == 18) value = small;
    value = value * 10 + (unsigned)(ch - '0');
    if (value >= limit) return precision_error(c, err, s, len, scale);
  }
  if (counted <= 18) value = small;
  if (int_digits + frac_digits == 0)
    return data_error(c, err, s, len, "The value is not a decimal number.");
  for (; (int32_t)kept_frac < scale; kept_frac++) {
    value *= 10;
    if (value >= limit) return precision_error(c, err, s, len, scale);
  }
  if (negative) value = (unsigned __int128)0 - value;
  rc = nb_column_append_decimal128(c, (uint64_t)value,
                                   (int64_t)(uint64_t)(value >> 64));
  return rc == NB_NOMEM ? nb_error_set(err, NB_NOMEM, "out of memory") : rc;
}

/* ------------------------------------------------------------------------
 * Dates and times
 * ------------------------------------------------------------------------ */

/* Exactly n digits at s[*i]. */
static bool digits(const char *s, size_t len, size_t *i, int n, int *out) {
  int v = 0;
  if (*i + (size_t)n > len) return false;
  for (int k = 0; k < n; k++) {
    char ch = s[*i + (size_t)k];
    if (!is_digit(ch)) return false;
    v = v * 10 + (ch - '0');
  }
  *i += (size_t)n;
  *out = v;
  return true;
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* YYYY-MM-DD at s[*i]; 0 ok, 1 syntax, 2 no such date. */
static int parse_date(const char *s, size_t len, size_t *i, int64_t *days) {
  int y, m, d;
  if (!digits(s, len, i, 4, &y) || *i >= len || s[*i] != '-') return 1;
  (*i)++;
  if (!digits(s, len, i, 2, &m) || *i >= len || s[*i] != '-') return 1;
  (*i)++;
  if (!digits(s, len, i, 2, &d)) return 1;
  if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return 2;
  *days = nbsdk_days_from_civil(y, (unsigned)m, (unsigned)d);
  return 0;
}

static int append_date(NbColumnBuilder *c, const char *s, size_t len,
                       NbError *err) {
  size_t i = 0;
  int64_t days;
  int rc = parse_date(s, len, &i, &days);
  if (rc == 1 || (rc == 0 && i != len))
    return data_error(c, err, s, len, "A date must be written YYYY-MM-DD.");
  if (rc == 2) return data_error(c, err, s, len, "The date does not exist.");
  rc = nb_column_append_date32(c, (int32_t)days);
  return rc == NB_NOMEM ? nb_error_set(err, NB_NOMEM, "out of memory") : rc;
}

/* ISO 8601: date, then optionally 'T' or ' ', HH:MM[:SS[.fraction]], then
 * optionally Z or an offset +HH:MM, +HHMM or +HH.  No zone means UTC. */
static int append_timestamp(NbColumnBuilder *c, const char *s, size_t len,
                            NbError *err) {
  static const char syntax[] =
      "A timestamp must be written in ISO 8601, e.g. 2024-01-31T12:00:00Z or "
      "2024-01-31 12:00:00.5+01:00.";
  size_t i = 0;
  int64_t days, micros = 0, offset_minutes = 0;
  int hh = 0, mi = 0, ss = 0, rc;
  rc = parse_date(s, len, &i, &days);
  if (rc == 1) return data_error(c, err, s, len, syntax);
  if (rc == 2) return data_error(c, err, s, len, "The date does not exist.");
  if (i < len && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    i++;
    if (!digits(s, len, &i, 2, &hh) || i >= len || s[i] != ':')
      return data_error(c, err, s, len, syntax);
    i++;
    if (!digits(s, len, &i, 2, &mi)) return data_error(c, err, s, len, syntax);
    if (i < len && s[i] == ':') {
      i++;
      if (!digits(s, len, &i, 2, &ss)) return data_error(c, err, s, len, syntax);
      if (i < len && (s[i] == '.' || s[i] == ',')) {
        int n = 0;
        i++;
        if (i >= len || !is_digit(s[i])) return data_error(c, err, s, len, syntax);
        for (; i < len && is_digit(s[i]); i++, n++) {
          if (n < 6) {
            micros = micros * 10 + (s[i] - '0');
          } else if (s[i] != '0') {
            return data_error(c, err, s, len,
                              "The value has more than 6 fraction digits "
                              "of a second; it is not rounded.");
          }
        }
        for (; n < 6; n++) micros *= 10;
      }
    }
    if (hh > 23 || mi > 59 || ss > 59)
      return data_error(c, err, s, len, "The time of day does not exist.");
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
      i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
      int sign = s[i] == '-' ? -1 : 1, oh, om = 0;
      i++;
      if (!digits(s, len, &i, 2, &oh)) return data_error(c, err, s, len, syntax);
      if (i < len && s[i] == ':') i++;
      if (i < len && !digits(s, len, &i, 2, &om))
        return data_error(c, err, s, len, syntax);
      if (oh > 23 || om > 59)
        return data_error(c, err, s, len, "The time zone offset does not exist.");
      offset_minutes = sign * (oh * 60 + om);
    }
  }
  if (i != len) return data_error(c, err, s, len, syntax);
  micros += ((days * 86400 + hh * 3600 + mi * 60 + ss) - offset_minutes * 60) *
            INT64_C(1000000);
  rc = nb_column_append_timestamp(c, micros);
  return rc == NB_NOMEM ? nb_error_set(err, NB_NOMEM, "out of memory") : rc;
}

/* ------------------------------------------------------------------------
 * Booleans
 * ------------------------------------------------------------------------ */

static bool word_is(const char *s, size_t len, const char *word) {
  size_t n = strlen(word);
  if (len != n) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
    if (ch != word[i]) return false;
  }
  return true;
}

static int append_bool_text(NbColumnBuilder *c, const char *s, size_t len,
                            NbError *err) {
  static const char *const yes[] = {"true", "1", "t", "yes"};
  static const char *const no[] = {"false", "0", "f", "no"};
  for (size_t k = 0; k < 4; k++) {
    bool is_yes = word_is(s, len, yes[k]);
    if (is_yes || word_is(s, len, no[k])) {
      if (nb_column_append_bool(c, is_yes) != NB_OK)
        return nb_error_set(err, NB_NOMEM, "out of memory");
      return NB_OK;
    }
  }
  return data_error(c, err, s, len,
                    "A boolean must be true or false (also 1/0, t/f, yes/no).");
}

/* ------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------ */

int nb_column_append_text(NbColumnBuilder *c, const char *text, size_t len,
                          NbError *err) {
  int64_t i64;
  int rc;
  if (c == NULL || (text == NULL && len > 0))
    return nb_error_set(err, NB_INVALID, "nb_column_append_text: missing argument");
  if (text == NULL) text = "";
  switch (c->field.type) {
    case NB_TYPE_NUMBER:
      if (!is_json_number(text, len))
        return data_error(c, err, text, len,
                          "A number must follow the JSON number grammar, "
                          "e.g. -12, 0.5 or 1e-3.");
      /* fall through */
    case NB_TYPE_UTF8:
    case NB_TYPE_LARGE_UTF8:
    case NB_TYPE_JSON:
      rc = nb_column_append_utf8(c, text, len);
      break;
    case NB_TYPE_INT64:
      switch (parse_int64(text, len, &i64)) {
        case 1:
          return data_error(c, err, text, len,
                            "An integer is written with decimal digits and "
                            "an optional leading minus sign.");
        case 2:
          return data_error(c, err, text, len,
                            "The value is out of the range of a 64-bit "
                            "integer.");
      }
      rc = nb_column_append_int64(c, i64);
      break;
    case NB_TYPE_FLOAT64: return append_float(c, text, len, err);
    case NB_TYPE_BOOL: return append_bool_text(c, text, len, err);
    case NB_TYPE_DECIMAL128: return append_decimal(c, text, len, err);
    case NB_TYPE_DATE32: return append_date(c, text, len, err);
    case NB_TYPE_TIMESTAMP: return append_timestamp(c, text, len, err);
    default:
      /* nb_batch_builder_new accepted only known types. */
      (void)NB_NEVER(true);
      return nb_error_set(err, NB_INTERNAL, "column \"%s\" has unrecognized type",
                          c->field.name);
  }
  if (rc == NB_NOMEM) return nb_error_set(err, NB_NOMEM, "out of memory");
  return rc;
}
