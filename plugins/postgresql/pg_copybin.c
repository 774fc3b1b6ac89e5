/*
 * pg_copybin.c - the binary COPY format read into Arrow values (see
 * pg_copybin.h).  Integers in the stream are big-endian; dates count days
 * and timestamps microseconds from 2000-01-01, with the extremes of their
 * integer types standing for -infinity and infinity.
 *
 * Values keep what the text format gives (pg_values.c): a date or
 * timestamp that the text parser refuses (infinity, a year BC, a year of
 * more than six digits) is refused here too, bytea is given as
 * bytea_output = hex prints it, float4 is not read binary (pg_wire_of).
 */
#include "pg_copybin.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_values.h"

/* Days and microseconds from 1970-01-01 to PostgreSQL's epoch 2000-01-01. */
#define PG_EPOCH_DAYS 10957
#define PG_EPOCH_MICROS INT64_C(946684800000000)
#define MICROS_PER_DAY INT64_C(86400000000)
/* The widest |days from 1970| the text parser takes for a timestamp. */
#define TIMESTAMP_MAX_DAYS INT64_C(106751990)

static const char SIGNATURE[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};

PgWire pg_wire_of(unsigned base_oid, NbType type) {
  switch (base_oid) {
    case 16: return type == NB_TYPE_BOOL ? PG_WIRE_BOOL : PG_WIRE_TEXT;
    case 21: return type == NB_TYPE_INT64 ? PG_WIRE_INT2 : PG_WIRE_TEXT;
    case 23: return type == NB_TYPE_INT64 ? PG_WIRE_INT4 : PG_WIRE_TEXT;
    case 20: return type == NB_TYPE_INT64 ? PG_WIRE_INT8 : PG_WIRE_TEXT;
    /* float4 (700) stays text: the double of the server's shortest text
     * of a float4 is not always the one of its binary value's shortest
     * decimal (ties: 100097104 is printed whole, not as 100097100). */
    case 701: return type == NB_TYPE_FLOAT64 ? PG_WIRE_FLOAT8 : PG_WIRE_TEXT;
    case 1082: return type == NB_TYPE_DATE32 ? PG_WIRE_DATE : PG_WIRE_TEXT;
    case 1114: case 1184: return type == NB_TYPE_TIMESTAMP ? PG_WIRE_TIMESTAMP : PG_WIRE_TEXT;
    case 1083: return type == NB_TYPE_UTF8 ? PG_WIRE_TIME : PG_WIRE_TEXT;
    case 25: case 1043: case 1042: case 19:  /* text varchar bpchar name */
      return type == NB_TYPE_UTF8 ? PG_WIRE_BYTES : PG_WIRE_TEXT;
    case 17: return type == NB_TYPE_UTF8 ? PG_WIRE_BYTEA : PG_WIRE_TEXT;
    case 2950: return type == NB_TYPE_UTF8 ? PG_WIRE_UUID : PG_WIRE_TEXT;
    default: return PG_WIRE_TEXT;
  }
}

/* ---- the stream ------------------------------------------------------- */

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_u64(const unsigned char *p) {
  return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

__attribute__((format(printf, 3, 4)))
static int bad(PgBinError *e, size_t column, const char *why, ...) {
  va_list ap;
  e->column = column;
  va_start(ap, why);
  vsnprintf(e->why, sizeof e->why, why, ap);
  va_end(ap);
  return PG_BIN_BAD;
}

/* The header: signature, flags (no OIDs, no unknown critical bit), the
 * extension area skipped.  *used is its length. */
static int read_header(const unsigned char *p, size_t len, size_t *used, PgBinError *e) {
  uint32_t flags, ext;
  if (len < sizeof SIGNATURE + 8 || memcmp(p, SIGNATURE, sizeof SIGNATURE) != 0)
    return bad(e, 0, "the binary COPY header is missing or wrong (%zu bytes)", len);
  flags = get_u32(p + 11);
  ext = get_u32(p + 15);
  if ((flags >> 16) != 0)
    return bad(e, 0, "the binary COPY header has flags 0x%zx (OIDs or unknown critical bits)",
               (size_t)flags);
  if (ext > len - sizeof SIGNATURE - 8)
    return bad(e, 0, "the binary COPY header extension of %zu bytes exceeds the %zu bytes left", (size_t)ext,
               len - sizeof SIGNATURE - 8);
  *used = sizeof SIGNATURE + 8 + ext;
  return PG_BIN_ROW;
}

int pg_bin_decode_message(const char *msg, size_t len, bool *header_seen,
                          NbStringRef *fields, size_t n, PgBinError *e) {
  const unsigned char *p = (const unsigned char *)msg;
  size_t off = 0, i;
  int count;
  e->column = 0;
  e->why[0] = '\0';
  if (!*header_seen) {
    if (read_header(p, len, &off, e) != PG_BIN_ROW) return PG_BIN_BAD;
    *header_seen = true;
    if (off == len) return PG_BIN_HEADER;
  }
  if (len - off < 2) return bad(e, 0, "a tuple of %zu bytes has no field count", len - off);
  count = (int16_t)(uint16_t)((unsigned)p[off] << 8 | p[off + 1]);
  off += 2;
  if (count == -1) {
    if (off != len) return bad(e, 0, "%zu bytes after the end of the binary COPY", len - off);
    return PG_BIN_END;
  }
  if (count < 0 || (size_t)count != n)
    return bad(e, 0, "a tuple of %d fields where %zu were selected", count, n);
  for (i = 0; i < n; i++) {
    uint32_t flen;
    if (len - off < 4) return bad(e, i + 1, "the field's length is cut off (%zu bytes left)", len - off);
    flen = get_u32(p + off);
    off += 4;
    if (flen == UINT32_MAX) {
      fields[i].data = NULL;
      fields[i].len = 0;
      continue;
    }
    if (flen > INT32_MAX) return bad(e, i + 1, "a negative field length (%d)", (int)(int32_t)flen);
    if (flen > len - off)
      return bad(e, i + 1, "field length %zu exceeds the %zu bytes left", (size_t)flen, len - off);
    fields[i].data = msg + off;
    fields[i].len = flen;
    off += flen;
  }
  if (off != len) return bad(e, 0, "%zu bytes after the tuple's %zu fields", len - off, n);
  return PG_BIN_ROW;
}

/* ---- values ----------------------------------------------------------- */

/* The date's text as the server prints it (for messages): "infinity",
 * "2020-01-01", "0044-03-15 BC". */
static void date_text(int64_t unix_days, char *text, size_t cap) {
  int64_t y;
  unsigned m, d;
  nb_civil_from_days(unix_days, &y, &m, &d);
  if (y <= 0)
    snprintf(text, cap, "%04lld-%02u-%02u BC", (long long)(1 - y), m, d);
  else
    snprintf(text, cap, "%04lld-%02u-%02u", (long long)y, m, d);
}

/* The timestamp's text (for messages): "294277-01-01 00:00:00",
 * "0044-03-15 12:00:00.5 BC". */
static void timestamp_text(int64_t pg_micros, char *text, size_t cap) {
  int64_t days = pg_micros / MICROS_PER_DAY, tod = pg_micros % MICROS_PER_DAY, y;
  unsigned m, d;
  int n;
  if (tod < 0) {
    tod += MICROS_PER_DAY;
    days--;
  }
  nb_civil_from_days(days + PG_EPOCH_DAYS, &y, &m, &d);
  n = snprintf(text, cap, "%04lld-%02u-%02u %02d:%02d:%02d", (long long)(y <= 0 ? 1 - y : y), m, d,
               (int)(tod / 3600000000), (int)(tod / 60000000 % 60), (int)(tod / 1000000 % 60));
  if (n > 0 && (size_t)n < cap && tod % 1000000 != 0)
    n += snprintf(text + n, cap - (size_t)n, ".%06d", (int)(tod % 1000000));
  if (n > 0 && (size_t)n < cap && y <= 0) snprintf(text + n, cap - (size_t)n, " BC");
}

/* Days from 1970 of 0001-01-01 and of 1000000-01-01: the text format
 * gives the dates of years 1 to 999999 as values (pg_parse_date). */
#define FIRST_DAY INT64_C(-719162)
#define END_DAY INT64_C(364522972)

static bool date_fits(int64_t unix_days) { return unix_days >= FIRST_DAY && unix_days < END_DAY; }

static int append_date(NbColumnBuilder *b, const unsigned char *p, char *text, size_t cap) {
  int32_t pg = (int32_t)get_u32(p);
  int64_t days = (int64_t)pg + PG_EPOCH_DAYS;
  if (pg == INT32_MAX || pg == INT32_MIN) {
    snprintf(text, cap, "%s", pg == INT32_MAX ? "infinity" : "-infinity");
    return PG_APPEND_NOFIT;
  }
  if (!date_fits(days) || days > INT32_MAX || days < INT32_MIN) {
    date_text(days, text, cap);
    return PG_APPEND_NOFIT;
  }
  return nb_column_append_date32(b, (int32_t)days) == NB_OK ? PG_APPEND_OK : PG_APPEND_NOMEM;
}

static int append_timestamp(NbColumnBuilder *b, const unsigned char *p, char *text, size_t cap) {
  int64_t pg = (int64_t)get_u64(p), micros, days;
  if (pg == INT64_MAX || pg == INT64_MIN) {
    snprintf(text, cap, "%s", pg == INT64_MAX ? "infinity" : "-infinity");
    return PG_APPEND_NOFIT;
  }
  if (pg > INT64_MAX - PG_EPOCH_MICROS) {
    timestamp_text(pg, text, cap);
    return PG_APPEND_NOFIT;
  }
  micros = pg + PG_EPOCH_MICROS;
  days = micros / MICROS_PER_DAY - (micros % MICROS_PER_DAY < 0);
  if (days > TIMESTAMP_MAX_DAYS || days < -TIMESTAMP_MAX_DAYS || !date_fits(days)) {
    timestamp_text(pg, text, cap);
    return PG_APPEND_NOFIT;
  }
  return nb_column_append_timestamp(b, micros) == NB_OK ? PG_APPEND_OK : PG_APPEND_NOMEM;
}

static int append_float8(NbColumnBuilder *b, const unsigned char *p) {
  uint64_t bits = get_u64(p);
  double d;
  memcpy(&d, &bits, 8);
  if (isnan(d)) d = NAN; /* one NaN, whatever its payload or sign */
  return nb_column_append_double(b, d) == NB_OK ? PG_APPEND_OK : PG_APPEND_NOMEM;
}

/* time: HH:MM:SS[.ffffff], the fraction without trailing zeros. */
static int append_time(NbColumnBuilder *b, const unsigned char *p, char *text, size_t cap) {
  int64_t us = (int64_t)get_u64(p);
  char buf[32];
  int n;
  if (us < 0 || us > MICROS_PER_DAY) {
    snprintf(text, cap, "a time of %lld microseconds is out of range", (long long)us);
    return PG_APPEND_MALFORMED;
  }
  n = snprintf(buf, sizeof buf, "%02d:%02d:%02d", (int)(us / 3600000000), (int)(us / 60000000 % 60),
               (int)(us / 1000000 % 60));
  if (us % 1000000 != 0) {
    n += snprintf(buf + n, sizeof buf - (size_t)n, ".%06d", (int)(us % 1000000));
    while (buf[n - 1] == '0') n--;
  }
  return nb_column_append_utf8(b, buf, (size_t)n) == NB_OK ? PG_APPEND_OK : PG_APPEND_NOMEM;
}

static const char HEX[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                             '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

static int append_bytea(NbColumnBuilder *b, const NbStringRef *v, PgBuf *scratch) {
  size_t i;
  char *o;
  if (v->len > (SIZE_MAX - 2) / 2) return PG_APPEND_NOMEM;
  scratch->len = 0;
  if (pg_buf_reserve(scratch, 2 + 2 * v->len) != NB_OK) return PG_APPEND_NOMEM;
  o = scratch->data;
  *o++ = '\\';
  *o++ = 'x';
  for (i = 0; i < v->len; i++) {
    unsigned char c = (unsigned char)v->data[i];
    *o++ = HEX[c >> 4];
    *o++ = HEX[c & 15];
  }
  return nb_column_append_utf8(b, scratch->data, 2 + 2 * v->len) == NB_OK ? PG_APPEND_OK
                                                                           : PG_APPEND_NOMEM;
}

/* n bytes as 2n lowercase hex digits at out; returns the end. */
static char *hex_bytes(const unsigned char *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) {
    *out++ = HEX[p[i] >> 4];
    *out++ = HEX[p[i] & 15];
  }
  return out;
}

/* 8-4-4-4-12 hex digits, as uuid_out writes them. */
static int append_uuid(NbColumnBuilder *b, const unsigned char *p) {
  char buf[36], *o = buf;
  o = hex_bytes(p, 4, o);
  *o++ = '-';
  o = hex_bytes(p + 4, 2, o);
  *o++ = '-';
  o = hex_bytes(p + 6, 2, o);
  *o++ = '-';
  o = hex_bytes(p + 8, 2, o);
  *o++ = '-';
  hex_bytes(p + 10, 6, o);
  return nb_column_append_utf8(b, buf, sizeof buf) == NB_OK ? PG_APPEND_OK : PG_APPEND_NOMEM;
}

/* The size a fixed-size wire's value must have; 0 for variable sizes. */
static size_t wire_size(PgWire wire) {
  switch (wire) {
    case PG_WIRE_INT2: return 2;
    case PG_WIRE_INT4: case PG_WIRE_DATE: return 4;
    case PG_WIRE_INT8: case PG_WIRE_FLOAT8: case PG_WIRE_TIMESTAMP: case PG_WIRE_TIME: return 8;
    case PG_WIRE_BOOL: return 1;
    case PG_WIRE_UUID: return 16;
    default: return 0;
  }
}

static int append_text(NbColumnBuilder *b, NbType type, const NbStringRef *v, char *text, size_t cap) {
  int rc = NB_OK;
  if (!pg_append_text_value(b, type, v->data, v->len, &rc)) {
    size_t n = v->len < 40 ? v->len : 40;
    snprintf(text, cap, "%.*s", (int)n, v->data);
    return PG_APPEND_NOFIT;
  }
  return rc == NB_OK ? PG_APPEND_OK : PG_APPEND_NOMEM;
}

int pg_bin_append(NbColumnBuilder *b, NbType type, PgWire wire, const NbStringRef *v,
                  PgBuf *scratch, char *text, size_t cap) {
  const unsigned char *p = (const unsigned char *)v->data;
  size_t size = wire_size(wire);
  int rc;
  if (size != 0 && v->len != size) {
    snprintf(text, cap, "a binary value of %zu bytes where %zu were expected", v->len, size);
    return PG_APPEND_MALFORMED;
  }
  switch (wire) {
    case PG_WIRE_INT2:
      rc = nb_column_append_int64(b, (int16_t)(uint16_t)((unsigned)p[0] << 8 | p[1]));
      break;
    case PG_WIRE_INT4: rc = nb_column_append_int64(b, (int32_t)get_u32(p)); break;
    case PG_WIRE_INT8: rc = nb_column_append_int64(b, (int64_t)get_u64(p)); break;
    case PG_WIRE_FLOAT8: return append_float8(b, p);
    case PG_WIRE_BOOL:
      if (p[0] > 1) {
        snprintf(text, cap, "a boolean of byte value %u", p[0]);
        return PG_APPEND_MALFORMED;
      }
      rc = nb_column_append_bool(b, p[0] == 1);
      break;
    case PG_WIRE_DATE: return append_date(b, p, text, cap);
    case PG_WIRE_TIMESTAMP: return append_timestamp(b, p, text, cap);
    case PG_WIRE_TIME: return append_time(b, p, text, cap);
    case PG_WIRE_BYTES: rc = nb_column_append_utf8(b, v->data, v->len); break;
    case PG_WIRE_BYTEA: return append_bytea(b, v, scratch);
    case PG_WIRE_UUID: return append_uuid(b, p);
    default: return append_text(b, type, v, text, cap);
  }
  return rc == NB_OK ? PG_APPEND_OK : PG_APPEND_NOMEM;
}
