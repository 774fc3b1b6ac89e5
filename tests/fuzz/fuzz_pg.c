/*
 * fuzz_pg.c - the postgresql connector's parsers of server text
 * (plugins/postgresql/pg_copytext.c, pg_values.c) on arbitrary input: a
 * server is trusted to speak the protocol, not to send sane values.
 *
 * Input: byte 0 is the number of fields (1..16); the rest is one COPY row.
 * Invariants: decoding never writes past the row and gives exactly n
 * fields inside it or fails with a message; every field goes through every
 * value parser (each accepts or refuses, no crash); escaping a decoded
 * field and decoding it again gives the field back.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  NbStringRef fields[16];
  size_t n, i;
  char *row;
  NbError err;
  if (size < 1) return 0;
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
