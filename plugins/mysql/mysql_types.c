/*
 * mysql_types.c - the source's type mapping: which Arrow column each
 * MariaDB/MySQL result column becomes (from the result metadata), and the
 * exact conversion of one text-protocol value into it.  Values arrive as
 * the server's text; nothing goes through a double unless the column is a
 * FLOAT or DOUBLE.  docs/mysql-connector.md documents the mapping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_internal.h"

#define MY_BINARY_CHARSET 63

static bool is_json_field(const MYSQL_FIELD *f) {
  MARIADB_CONST_STRING attr;
#ifdef MYSQL_TYPE_JSON
  if (f->type == MYSQL_TYPE_JSON) return true;
#endif
  if (mariadb_field_attr(&attr, f, MARIADB_FIELD_ATTR_FORMAT_NAME) == 0 && attr.length == 4 &&
      memcmp(attr.str, "json", 4) == 0)
    return true;
  return false;
}

/* How one result column's text is converted. */
static MyConv conv_of(const MYSQL_FIELD *f) {
  bool is_unsigned = (f->flags & UNSIGNED_FLAG) != 0;
  switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_YEAR:
      return MY_CONV_INT64;
    case MYSQL_TYPE_LONGLONG:
      return is_unsigned ? MY_CONV_NUMBER : MY_CONV_INT64;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
      return MY_CONV_NUMBER;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
      return MY_CONV_DOUBLE;
    case MYSQL_TYPE_BIT:
      return MY_CONV_BIT;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
      return MY_CONV_DATE;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2:
      return MY_CONV_DATETIME;
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2:
      return MY_CONV_TIMESTAMP;
    case MYSQL_TYPE_GEOMETRY:
      return MY_CONV_HEX;
    default:
      break;
  }
  if (is_json_field(f)) return MY_CONV_JSON;
  if (f->charsetnr == MY_BINARY_CHARSET && (f->flags & (ENUM_FLAG | SET_FLAG)) == 0 &&
      f->type != MYSQL_TYPE_TIME && f->type != MYSQL_TYPE_TIME2 && f->type != MYSQL_TYPE_NULL)
    return MY_CONV_HEX;
  /* CHAR, VARCHAR, TEXT, ENUM, SET, TIME: the server converts character
   * data to the connection's utf8mb4. */
  return MY_CONV_TEXT;
}

/* The Arrow type each conversion produces. */
static const NbType conv_type[] = {
    [MY_CONV_INT64] = NB_TYPE_INT64,         [MY_CONV_NUMBER] = NB_TYPE_NUMBER,
    [MY_CONV_DOUBLE] = NB_TYPE_FLOAT64,      [MY_CONV_BIT] = NB_TYPE_INT64,
    [MY_CONV_TEXT] = NB_TYPE_UTF8,           [MY_CONV_HEX] = NB_TYPE_UTF8,
    [MY_CONV_JSON] = NB_TYPE_JSON,           [MY_CONV_DATE] = NB_TYPE_DATE32,
    [MY_CONV_DATETIME] = NB_TYPE_TIMESTAMP,  [MY_CONV_TIMESTAMP] = NB_TYPE_TIMESTAMP};

/* The conversion and Arrow type of one result column. */
static void map_field(const MYSQL_FIELD *f, MyColumn *c) {
  c->field.nullable = true;
  c->conv = conv_of(f);
  c->field.type = conv_type[c->conv];
  /* BIT(64) may exceed int64: kept as exact decimal text. */
  if (c->conv == MY_CONV_BIT && f->length >= 64) c->field.type = NB_TYPE_NUMBER;
  if (c->conv == MY_CONV_DATETIME) c->field.timezone = "";
  if (c->conv == MY_CONV_TIMESTAMP) c->field.timezone = "UTC";
}

int my_columns_from_result(MYSQL_RES *res, MyColumn **cols, size_t *n, NbError *err) {
  unsigned int count = mysql_num_fields(res), i;
  MYSQL_FIELD *fields = mysql_fetch_fields(res);
  MyColumn *c = calloc(count > 0 ? count : 1, sizeof *c);
  *cols = NULL;
  *n = 0;
  if (c == NULL || fields == NULL) {
    free(c);
    return nb_error_set(err, NB_NOMEM, "out of memory (result columns)");
  }
  for (i = 0; i < count; i++) {
    c[i].name = strndup(fields[i].name, fields[i].name_length);
    if (c[i].name == NULL) {
      my_columns_free(c, i);
      return nb_error_set(err, NB_NOMEM, "out of memory (column names)");
    }
    c[i].field.name = c[i].name;
    map_field(&fields[i], &c[i]);
  }
  *cols = c;
  *n = count;
  return NB_OK;
}

void my_columns_free(MyColumn *cols, size_t n) {
  size_t i;
  if (cols == NULL) return;
  for (i = 0; i < n; i++) free(cols[i].name);
  free(cols);
}

/* ---- Dates -------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil algorithm, restated). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static bool digits(const char *s, size_t n, int64_t *out) {
  size_t i;
  int64_t v = 0;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

static int days_in_month(int64_t y, int64_t m) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : dim[m - 1];
}

/* "YYYY-MM-DD": 1 on success, 0 for a zero date (a zero month or day), -1
 * when the text is not a date. */
static int parse_date(const char *s, size_t len, int64_t *days) {
  int64_t y, m, d;
  if (len < 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &m) ||
      !digits(s + 8, 2, &d))
    return -1;
  if (m == 0 || d == 0) return 0;
  if (m > 12 || d > days_in_month(y, m)) return -1;
  *days = days_from_civil(y, m, d);
  return 1;
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff]" into microseconds since the epoch; same
 * results as parse_date. */
static int parse_datetime(const char *s, size_t len, int64_t *micros) {
  int64_t days, h, mi, sec, frac = 0;
  size_t i;
  int rc = parse_date(s, len, &days);
  if (rc <= 0) return rc;
  if (len < 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':' || !digits(s + 11, 2, &h) ||
      !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec) || h > 23 || mi > 59 || sec > 59)
    return -1;
  if (len > 19) {
    if (s[19] != '.' || len > 26 || len == 20) return -1;
    for (i = 20; i < 26; i++) {
      int64_t digit = 0;
      if (i < len && !digits(s + i, 1, &digit)) return -1;
      frac = frac * 10 + digit;
    }
  }
  *micros = ((days * 24 + h) * 60 + mi) * 60 * INT64_C(1000000) + sec * INT64_C(1000000) + frac;
  return 1;
}

/* ---- Values ------------------------------------------------------------- */

static int append_hex(NbColumnBuilder *col, const char *data, unsigned long len, NbError *err) {
  static const char hex[] = "0123456789ABCDEF";
  char small[512];
  char *buf = small;
  small[0] = '\0';
  unsigned long i;
  int rc;
  if (len == 0) return nb_column_append_utf8(col, "", 0);
  if (len > sizeof small / 2) {
    buf = malloc((size_t)len * 2);
    if (buf == NULL) return nb_error_set(err, NB_NOMEM, "out of memory (%lu-byte binary value)", len);
  }
  for (i = 0; i < len; i++) {
    buf[2 * i] = hex[(unsigned char)data[i] >> 4];
    buf[2 * i + 1] = hex[(unsigned char)data[i] & 15];
  }
  rc = nb_column_append_utf8(col, buf, (size_t)len * 2);
  if (buf != small) free(buf);
  return rc == NB_OK ? NB_OK : nb_error_set(err, rc, "could not append a binary value");
}

static int append_bit(NbColumnBuilder *col, const MyColumn *c, const char *data,
                      unsigned long len, NbError *err) {
  uint64_t v = 0;
  unsigned long i;
  char text[24];
  int n;
  if (len > 8) return nb_error_set(err, NB_DATA, "a BIT value of %lu bytes (at most 8)", len);
  for (i = 0; i < len; i++) v = (v << 8) | (unsigned char)data[i];
  if (c->field.type == NB_TYPE_INT64) return nb_column_append_int64(col, (int64_t)v);
  n = snprintf(text, sizeof text, "%llu", (unsigned long long)v);
  return nb_column_append_utf8(col, text, (size_t)n);
}

static int zero_date(NbColumnBuilder *col, const MyColumn *c, const char *data,
                     unsigned long len, int zero_dates, bool *zero_nulled, NbError *err) {
  if (zero_dates == MY_ZERO_NULL) {
    *zero_nulled = true;
    return nb_column_append_null(col);
  }
  nb_error_set(err, NB_DATA, "column \"%s\": zero date \"%.*s\"", c->name,
               (int)(len > 40 ? 40 : len), data);
  nb_error_hint(err, "Set zero_dates = \"null\" to read zero dates as nulls.");
  return NB_DATA;
}

static int bad_value(const MyColumn *c, const char *data, unsigned long len, const char *what,
                     NbError *err) {
  return nb_error_set(err, NB_DATA, "column \"%s\": \"%.*s\" is not %s", c->name,
                      (int)(len > 60 ? 60 : len), data, what);
}

int my_append_value(NbColumnBuilder *col, const MyColumn *c, const char *data,
                    unsigned long len, int zero_dates, bool *zero_nulled, NbError *err) {
  int64_t v = 0;
  int rc;
  if (data == NULL) return nb_column_append_null(col);
  switch (c->conv) {
    case MY_CONV_INT64:
    case MY_CONV_NUMBER:
    case MY_CONV_DOUBLE:
      rc = nb_column_append_text(col, data, len, err);
      if (rc == NB_DATA) nb_error_detail(err, "Column \"%s\".", c->name);
      return rc;
    case MY_CONV_BIT:
      return append_bit(col, c, data, len, err);
    case MY_CONV_TEXT:
    case MY_CONV_JSON:
      return nb_column_append_utf8(col, data, len);
    case MY_CONV_HEX:
      return append_hex(col, data, len, err);
    case MY_CONV_DATE:
      rc = parse_date(data, len, &v);
      if (rc == 0) return zero_date(col, c, data, len, zero_dates, zero_nulled, err);
      if (rc < 0 || len != 10) return bad_value(c, data, len, "a date", err);
      if (v < INT32_MIN || v > INT32_MAX) return bad_value(c, data, len, "a date in range", err);
      return nb_column_append_date32(col, (int32_t)v);
    case MY_CONV_DATETIME:
    case MY_CONV_TIMESTAMP:
      rc = parse_datetime(data, len, &v);
      if (rc == 0) return zero_date(col, c, data, len, zero_dates, zero_nulled, err);
      if (rc < 0) return bad_value(c, data, len, "a date and time", err);
      return nb_column_append_timestamp(col, v);
  }
  return nb_error_set(err, NB_INTERNAL, "column \"%s\": unknown conversion", c->name);
}
