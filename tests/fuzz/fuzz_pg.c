/*
 * fuzz_pg.c - the postgresql connector's parsers of server text
 * (plugins/postgresql/pg_copytext.c, pg_values.c) on arbitrary input: a
 * server is trusted to speak the protocol, not to send sane values.
 *
 * Input, text format (byte 0 < 0x80): byte 0 is the number of fields
 * (1..16); the rest is one COPY row.
 * Invariants: decoding never writes past the row and gives exactly n
 * fields inside it or fails with a message; every field goes through every
 * value parser (each accepts or refuses, no crash); escaping a decoded
 * field and decoding it again gives the field back.
 *
 * Text columns of a binary row may be decimal128(p,s) (numeric(p,s)):
 * NaN, Infinity and too many digits are refused, never rounded.
 *
 * Binary format (pg_copybin.c, byte 0 >= 0x80): n = (byte 0 & 15) + 1
 * fields; the next n bytes choose each column's wire and Arrow type; the
 * next byte's bit 0 says the header was seen, bit 1 puts a valid header
 * before the message; the rest is one CopyData message.
 * Invariants: a decoded field lies inside the message; a refusal names a
 * column in 0..n and a reason; every field of a row is appended (or
 * refused with a text) to a builder, and the finished batch has one row
 * when every value was taken.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "pg_copybin.h"
#include "pg_copytext.h"
#include "pg_values.h"

static void check_values(const NbStringRef *f) {
  int64_t i;
  double d;
  bool b;
  int32_t days;
  if (f->data == NULL) return;
  (void)pg_parse_int64(f->data, f->len, &i);
  (void)pg_parse_double(f->data, f->len, &d);
  (void)pg_parse_bool(f->data, f->len, &b);
  if (pg_parse_date(f->data, f->len, &days) && f->len < 10) fuzz_fail("a date of %zu bytes", f->len);
  (void)pg_parse_timestamp(f->data, f->len, &i);
}

static void check_round_trip(const NbStringRef *f) {
  PgBuf b = {0};
  NbStringRef back[1];
  if (f->data == NULL) return;
  /* A buffer that exists, so that an empty value decodes as "" too. */
  if (pg_buf_reserve(&b, 1) != NB_OK) return;
  if (pg_copy_escape(&b, f->data, f->len) != NB_OK) {
    pg_buf_free(&b);
    return;
  }
  if (b.len == 2 && memcmp(b.data, "\\N", 2) == 0) fuzz_fail("a value escaped as NULL");
  if (pg_copy_decode_row(b.data, b.len, back, 1, NULL) != NB_OK) fuzz_fail("escaped value does not decode");
  /* An escaped value's final "\n" would be taken for the row's end. */
  if (!(f->len > 0 && f->data[f->len - 1] == '\n') &&
      (back[0].data == NULL || back[0].len != f->len || memcmp(back[0].data, f->data, f->len) != 0))
    fuzz_fail("escape and decode do not round-trip");
  pg_buf_free(&b);
}

enum { N_WIRES = PG_WIRE_UUID + 1 };

/* The Arrow type a column of wire w has (pg_wire_of's pairs); for
 * PG_WIRE_TEXT, one of the types the text parser serves, by pick. */
static NbType type_of(PgWire w, unsigned pick) {
  static const NbType text_types[7] = {NB_TYPE_INT64, NB_TYPE_FLOAT64, NB_TYPE_BOOL,
                                       NB_TYPE_DATE32, NB_TYPE_TIMESTAMP, NB_TYPE_UTF8,
                                       NB_TYPE_DECIMAL128};
  switch (w) {
    case PG_WIRE_INT2: case PG_WIRE_INT4: case PG_WIRE_INT8: return NB_TYPE_INT64;
    case PG_WIRE_FLOAT8: return NB_TYPE_FLOAT64;
    case PG_WIRE_BOOL: return NB_TYPE_BOOL;
    case PG_WIRE_DATE: return NB_TYPE_DATE32;
    case PG_WIRE_TIMESTAMP: return NB_TYPE_TIMESTAMP;
    case PG_WIRE_TEXT: return text_types[pick % 7];
    default: return NB_TYPE_UTF8;
  }
}

static void append_fields(const NbStringRef *f, size_t n, const PgWire *wires, const NbType *types) {
  NbField fd[16];
  NbBatchBuilder *b = NULL;
  PgBuf scratch = {0};
  struct ArrowArray out;
  size_t i;
  bool all = true;
  for (i = 0; i < n; i++) {
    fd[i].name = "c";
    fd[i].type = types[i];
    fd[i].nullable = true;
    fd[i].precision = fd[i].scale = 0;
    if (types[i] == NB_TYPE_DECIMAL128) { /* numeric(p,s): 38..1, scale up to p */
      fd[i].precision = (int32_t)(38 - (i * 5) % 38);
      fd[i].scale = (int32_t)(i % (size_t)(fd[i].precision + 1));
    }
    fd[i].timezone = types[i] == NB_TYPE_TIMESTAMP ? "UTC" : NULL;
  }
  if (nb_batch_builder_new(fd, n, 1, &b, NULL) != NB_OK) return;
  for (i = 0; i < n && all; i++) {
    char text[160];
    int outcome;
    text[0] = '\0';
    if (f[i].data == NULL) {
      if (nb_column_append_null(nb_batch_builder_column(b, i)) != NB_OK) all = false;
      continue;
    }
    outcome = pg_bin_append(nb_batch_builder_column(b, i), types[i], wires[i], &f[i], &scratch, text, sizeof text);
    if (outcome == PG_APPEND_NOFIT || outcome == PG_APPEND_MALFORMED) {
      /* A refused text value is quoted as text, up to a NUL byte. */
      if (text[0] == '\0' && (outcome == PG_APPEND_MALFORMED || wires[i] != PG_WIRE_TEXT))
        fuzz_fail("a refused value of wire %d without a text", (int)wires[i]);
      all = false;
    } else if (outcome != PG_APPEND_OK) {
      all = false;
    }
  }
  if (all) {
    if (nb_batch_builder_finish(b, &out, NULL) == NB_OK) {
      if (out.length != 1) fuzz_fail("a row of %zu fields gave %lld rows", n, (long long)out.length);
      out.release(&out);
    }
  }
  nb_batch_builder_free(b);
  pg_buf_free(&scratch);
}

static void fuzz_binary(const uint8_t *data, size_t size) {
  static const char header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0',
                                  0, 0, 0, 0, 0, 0, 0, 0};
  NbStringRef fields[16];
  PgWire wires[16];
  NbType types[16];
  size_t n = (size_t)(data[0] & 15) + 1, i, len, at;
  bool seen;
  char *msg;
  PgBinError e;
  int kind;
  if (size < n + 2) return;
  for (i = 0; i < n; i++) {
    wires[i] = (PgWire)(data[1 + i] % N_WIRES);
    types[i] = type_of(wires[i], data[1 + i] / N_WIRES);
  }
  seen = (data[n + 1] & 1) != 0;
  at = (data[n + 1] & 2) != 0 ? sizeof header : 0;
  len = at + size - (n + 2);
  /* An exact-size copy: ASan sees any read past the message. */
  msg = malloc(len > 0 ? len : 1);
  if (msg == NULL) return;
  memcpy(msg, header, at);
  memcpy(msg + at, data + n + 2, size - (n + 2));
  kind = pg_bin_decode_message(msg, len, &seen, fields, n, &e);
  if (kind == PG_BIN_BAD) {
    if (e.why[0] == '\0' || e.column > n) fuzz_fail("a refusal without a reason or with column %zu", e.column);
  } else if (kind == PG_BIN_ROW) {
    for (i = 0; i < n; i++)
      if (fields[i].data != NULL && (fields[i].data < msg || fields[i].len > len ||
                                     fields[i].data + fields[i].len > msg + len))
        fuzz_fail("binary field %zu outside the message", i);
    append_fields(fields, n, wires, types);
  }
  free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  NbStringRef fields[16];
  size_t n, i;
  char *row;
  NbError err;
  if (size < 1) return 0;
  if (data[0] >= 0x80) {
    fuzz_binary(data, size);
    return 0;
  }
  n = (size_t)(data[0] % 16) + 1;
  row = malloc(size);
  if (row == NULL) return 0;
  memcpy(row, data + 1, size - 1);
  nb_error_init(&err);
  if (pg_copy_decode_row(row, size - 1, fields, n, &err) == NB_OK) {
    for (i = 0; i < n; i++) {
      if (fields[i].data != NULL &&
          (fields[i].data < row || fields[i].data + fields[i].len > row + size - 1))
        fuzz_fail("field %zu outside the row", i);
      check_values(&fields[i]);
      check_round_trip(&fields[i]);
    }
  } else if (err.message == NULL) {
    fuzz_fail("a refused row without a message");
  }
  nb_error_release(&err);
  free(row);
  return 0;
}
