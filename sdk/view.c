/*
 * view.c - reading a batch a destination received: views of its columns
 * and the exact text of each value.
 *
 * Text forms are exact and stable: integers in decimal, floats in the
 * shortest form that reads back to the same bits, decimals with exactly
 * `scale` fraction digits, dates and timestamps in ISO 8601.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits.h"
#include "sdk_internal.h"

int nb_batch_views(const struct ArrowSchema *schema,
                   const struct ArrowArray *batch, NbColumnView **views,
                   size_t *n, NbError *err) {
  NbField *fields;
  NbColumnView *out;
  size_t count;
  int rc;
  if (views != NULL) *views = NULL;
  if (n != NULL) *n = 0;
  if (schema == NULL || batch == NULL || views == NULL || n == NULL)
    return nb_error_set(err, NB_INVALID, "nb_batch_views: missing argument");
  rc = nb_schema_fields(schema, &fields, &count, err);
  if (rc != NB_OK) return rc;
  if (batch->release == NULL || batch->n_children != (int64_t)count ||
      (count > 0 && batch->children == NULL)) {
    free(fields);
    return nb_error_set(err, NB_INVALID,
                        "batch has %" PRId64 " columns, its schema %zu",
                        batch->n_children, count);
  }
  out = calloc(count > 0 ? count : 1, sizeof *out);
  if (out == NULL) {
    free(fields);
    return nb_error_set(err, NB_NOMEM, "out of memory reading a batch");
  }
  for (size_t i = 0; i < count; i++) {
    const struct ArrowArray *a = batch->children[i];
    bool strings = fields[i].type == NB_TYPE_UTF8 ||
                   fields[i].type == NB_TYPE_LARGE_UTF8 ||
                   fields[i].type == NB_TYPE_NUMBER ||
                   fields[i].type == NB_TYPE_JSON;
    int64_t want = strings ? 3 : 2;
    if (a == NULL || a->n_buffers != want || a->buffers == NULL ||
        a->length < batch->length + batch->offset) {
      nb_error_set(err, NB_INVALID, "column \"%s\" of the batch is malformed",
                   fields[i].name);
      free(fields);
      free(out);
      return NB_INVALID;
    }
    out[i].field = fields[i];
    out[i].array = a;
    out[i].validity = a->null_count != 0 ? a->buffers[0] : NULL;
    out[i].offsets = strings ? a->buffers[1] : NULL;
    out[i].data = strings ? a->buffers[2] : a->buffers[1];
    /* Rows of the struct start at its own offset within each child. */
    out[i].offset = a->offset + batch->offset;
  }
  free(fields);
  *views = out;
  *n = count;
  return NB_OK;
}

/* Decimal digits of an unsigned 128-bit value, at the end of buf (which
 * holds at least 40 bytes); returns the first digit.  Values that fit 64
 * bits (nearly all) take the 64-bit divisions. */
static char *u128_digits(unsigned __int128 v, char *end) {
  char *p = end;
  while (v > UINT64_MAX) {
    *--p = (char)('0' + (int)(v % 10));
    v /= 10;
  }
  return nbsdk_u64_digits((uint64_t)v, p);
}

/* A little-endian 64-bit word of an Arrow buffer. */
static uint64_t load_le64(const uint8_t *bytes) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | bytes[i];
  return v;
}

static size_t format_decimal(const uint8_t *bytes, int32_t scale,
                             char *scratch) {
  unsigned __int128 v;
  bool negative;
  char digits[48];
  char *first, *end = digits + sizeof digits, *q = scratch;
  size_t nd;
  v = (unsigned __int128)load_le64(bytes + 8) << 64 | load_le64(bytes);
  negative = (bytes[15] & 0x80) != 0;
  if (negative) v = (unsigned __int128)0 - v;
  first = u128_digits(v, end);
  nd = (size_t)(end - first);
  if (negative) *q++ = '-';
  if ((int32_t)nd <= scale) {
    *q++ = '0';
    *q++ = '.';
    for (int32_t k = 0; k < scale - (int32_t)nd; k++) *q++ = '0';
    memcpy(q, first, nd);
    q += nd;
  } else {
    size_t int_digits = nd - (size_t)scale;
    memcpy(q, first, int_digits);
    q += int_digits;
    if (scale > 0) {
      *q++ = '.';
      memcpy(q, first + int_digits, (size_t)scale);
      q += scale;
    }
  }
  *q = '\0';
  return (size_t)(q - scratch);
}

/* The decimal digits of v, at least `width` of them (zero-padded), at
 * out; returns their number.  What snprintf("%0*" PRIu64) writes, without
 * its cost: destinations format every integer, date and timestamp of a
 * batch through here (the JSON writer's top cost before). */
static size_t put_digits(char *out, uint64_t v, size_t width) {
  size_t n = 1, i;
  /* Count first, then write in place: no copy (values are mostly short). */
  for (uint64_t p = 10; v >= p; p *= 10)
    if (++n == 20) break; /* before p would pass UINT64_MAX */
  for (i = 0; n + i < width; i++) out[i] = '0';
  nbsdk_u64_digits(v, out + i + n);
  return i + n;
}

/* "%" PRId64 (INT64_MIN included). */
static size_t put_int64(char *out, int64_t x) {
  if (x >= 0) return put_digits(out, (uint64_t)x, 1);
  out[0] = '-';
  return 1 + put_digits(out + 1, 0 - (uint64_t)x, 1);
}

static size_t format_date(int64_t days, char *scratch) {
  int64_t y;
  unsigned m, d;
  size_t n = 0;
  nbsdk_civil_from_days(days, &y, &m, &d);
  /* ISO 8601: years 0000..9999 as four digits; expanded years carry a
   * sign and at least four digits ("%+05" PRId64). */
  if (y < 0 || y > 9999) scratch[n++] = y < 0 ? '-' : '+';
  n += put_digits(scratch + n, y < 0 ? 0 - (uint64_t)y : (uint64_t)y, 4);
  scratch[n++] = '-';
  n += put_digits(scratch + n, m, 2);
  scratch[n++] = '-';
  n += put_digits(scratch + n, d, 2);
  scratch[n] = '\0';
  return n;
}

/* Parse "+HH:MM" / "-HH:MM" into minutes; false for names like "UTC". */
static bool zone_offset(const char *tz, int *minutes) {
  int h, m;
  if (tz == NULL || (tz[0] != '+' && tz[0] != '-') || strlen(tz) != 6 ||
      tz[3] != ':')
    return false;
  if (sscanf(tz + 1, "%2d:%2d", &h, &m) != 2) return false;
  *minutes = (tz[0] == '-' ? -1 : 1) * (h * 60 + m);
  return true;
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static size_t format_timestamp(int64_t micros, const char *tz, char *scratch) {
  int offset = 0;
  const char *suffix;
  int64_t seconds, days, sod, frac;
  size_t n;
  if (tz != NULL && tz[0] == '\0') {
    suffix = ""; /* no zone: a wall-clock time */
  } else if (zone_offset(tz, &offset)) {
    suffix = tz;
  } else {
    /* "UTC", or a zone name we cannot resolve without a tz database: the
     * instant in UTC is exact either way. */
    suffix = "Z";
  }
  {
    int64_t local;
    if (__builtin_add_overflow(micros, (int64_t)offset * 60 * 1000000, &local))
      suffix = "Z"; /* hours from the int64 limits: show the instant in UTC */
    else
      micros = local;
  }
  seconds = floor_div(micros, 1000000);
  /* The remainder directly: seconds * 1000000 overflows near INT64_MIN. */
  frac = micros % 1000000;
  if (frac < 0) frac += 1000000;
  days = floor_div(seconds, 86400);
  sod = seconds - days * 86400;
  n = format_date(days, scratch);
  scratch[n++] = 'T';
  n += put_digits(scratch + n, (uint64_t)(sod / 3600), 2);
  scratch[n++] = ':';
  n += put_digits(scratch + n, (uint64_t)(sod / 60 % 60), 2);
  scratch[n++] = ':';
  n += put_digits(scratch + n, (uint64_t)(sod % 60), 2);
  if (frac != 0) {
    /* Six digits of microseconds, trailing zeros dropped. */
    scratch[n++] = '.';
    n += put_digits(scratch + n, (uint64_t)frac, 6);
    while (scratch[n - 1] == '0') n--;
  }
  /* suffix: "", "Z" or a "+HH:MM" zone (6 bytes): the longest text is
   * 13 year digits with sign, 20 more, 7 of fraction and 6 of zone. */
  {
    size_t len = strlen(suffix);
    memcpy(scratch + n, suffix, len);
    n += len;
  }
  scratch[n] = '\0';
  return n;
}

/* The text of a non-null row: borrowed bytes, a static word, or formatted
 * into scratch (NB_TEXT_SCRATCH bytes). */
static size_t view_text(const NbColumnView *v, int64_t row, char *scratch,
                        const char **text) {
  int64_t i = row + v->offset;
  size_t n;
  *text = scratch;
  switch (v->field.type) {
    case NB_TYPE_UTF8:
    case NB_TYPE_NUMBER:
    case NB_TYPE_JSON: {
      const int32_t *o = v->offsets;
      *text = (const char *)v->data + o[i];
      return (size_t)(o[i + 1] - o[i]);
    }
    case NB_TYPE_LARGE_UTF8: {
      const int64_t *o = v->offsets;
      *text = (const char *)v->data + o[i];
      return (size_t)(o[i + 1] - o[i]);
    }
    case NB_TYPE_INT64: {
      int64_t x;
      memcpy(&x, v->data + 8 * i, 8);
      n = put_int64(scratch, x);
      scratch[n] = '\0';
      return n;
    }
    case NB_TYPE_FLOAT64: {
      double x;
      memcpy(&x, v->data + 8 * i, 8);
      return nbsdk_format_double(x, scratch, NB_TEXT_SCRATCH);
    }
    case NB_TYPE_BOOL:
      *text = (v->data[i >> 3] >> (i & 7)) & 1 ? "true" : "false";
      return strlen(*text);
    case NB_TYPE_DECIMAL128:
      return format_decimal(v->data + 16 * i, v->field.scale, scratch);
    case NB_TYPE_DATE32: {
      int32_t days;
      memcpy(&days, v->data + 4 * i, 4);
      return format_date(days, scratch);
    }
    case NB_TYPE_TIMESTAMP: {
      int64_t micros;
      memcpy(&micros, v->data + 8 * i, 8);
      return format_timestamp(micros, v->field.timezone, scratch);
    }
  }
  /* Views come from nb_batch_views, which accepts only the types above. */
  (void)NB_NEVER(true);
  scratch[0] = '\0';
  return 0;
}

size_t nb_view_text(const NbColumnView *v, int64_t row, char *scratch,
                    const char **text) {
  return view_text(v, row, scratch, text);
}

size_t nb_view_text_n(const NbColumnView *v, int64_t row, char *buf, size_t cap,
                      const char **text) {
  char scratch[NB_TEXT_SCRATCH];
  const char *t;
  size_t len;
  if (text == NULL) return 0;
  *text = NULL;
  if (v == NULL || v->array == NULL || row < 0 || row >= v->array->length) return 0;
  len = view_text(v, row, scratch, &t);
  if (t != scratch) {
    *text = t; /* the batch's own bytes, or a static word */
    return len;
  }
  if (buf == NULL || len >= cap) return len; /* too small: *text stays NULL */
  memcpy(buf, scratch, len);
  buf[len] = '\0';
  *text = buf;
  return len;
}

const NbColumnView *nb_column_view_at(const NbColumnView *views, size_t i) {
  return views != NULL ? &views[i] : NULL;
}
