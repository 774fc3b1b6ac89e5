/*
 * test_pg_copybin.c - the postgresql connector's reader of the binary COPY
 * format, on memory: the header, tuples, NULLs and the trailer; every
 * lying length (a field longer than the message, a cut-off length, a
 * header extension past the end, a wrong field count, bytes after a tuple
 * or the trailer) refused with the column at fault; and the binary
 * values at their limits: integers, float8 NaN payloads, booleans other
 * than 0 and 1, dates and timestamps of infinity or BC refused with their
 * text (as the text format refuses them), time, bytea and uuid as the
 * server prints them.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pg_copybin.h"

static const char HEADER[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0',
                                0, 0, 0, 0, 0, 0, 0, 0};

typedef struct Msg {
  char data[256];
  size_t len;
} Msg;

static void put(Msg *m, const void *p, size_t n) {
  assert_true(m->len + n <= sizeof m->data);
  memcpy(m->data + m->len, p, n);
  m->len += n;
}

static void put16(Msg *m, int v) {
  unsigned char b[2] = {(unsigned char)((unsigned)v >> 8), (unsigned char)v};
  put(m, b, 2);
}

static void put32(Msg *m, uint32_t v) {
  unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                        (unsigned char)v};
  put(m, b, 4);
}

static void field(Msg *m, const char *p, uint32_t n) {
  put32(m, n);
  if (n != UINT32_MAX) put(m, p, n);
}

static int decode(const Msg *m, bool *header_seen, NbStringRef *f, size_t n, PgBinError *e) {
  return pg_bin_decode_message(m->data, m->len, header_seen, f, n, e);
}

static void test_header_tuple_trailer(void **state) {
  Msg m = {{0}, 0}, t = {{0}, 0};
  NbStringRef f[3];
  PgBinError e;
  bool seen = false;
  (void)state;
  put(&m, HEADER, sizeof HEADER);
  put16(&m, 3);
  field(&m, "ab", 2);
  field(&m, NULL, UINT32_MAX);
  field(&m, "", 0);
  assert_int_equal(decode(&m, &seen, f, 3, &e), PG_BIN_ROW);
  assert_true(seen);
  assert_int_equal(f[0].len, 2);
  assert_memory_equal(f[0].data, "ab", 2);
  assert_null(f[1].data);
  assert_non_null(f[2].data); /* empty, not NULL */
  assert_int_equal(f[2].len, 0);
  /* The next message has no header; the trailer ends the stream. */
  put16(&t, -1);
  assert_int_equal(decode(&t, &seen, f, 3, &e), PG_BIN_END);
  /* A header alone, and a header with the trailer (an empty table). */
  seen = false;
  memset(&m, 0, sizeof m);
  put(&m, HEADER, sizeof HEADER);
  assert_int_equal(decode(&m, &seen, f, 3, &e), PG_BIN_HEADER);
  seen = false;
  put16(&m, -1);
  assert_int_equal(decode(&m, &seen, f, 3, &e), PG_BIN_END);
}

static void test_lying_lengths(void **state) {
  Msg m;
  NbStringRef f[2];
  PgBinError e;
  bool seen;
  (void)state;
  /* A field longer than what is left. */
  memset(&m, 0, sizeof m);
  seen = true;
  put16(&m, 2);
  field(&m, "x", 1);
  put32(&m, 1000);
  put(&m, "abc", 3);
  assert_int_equal(decode(&m, &seen, f, 2, &e), PG_BIN_BAD);
  assert_int_equal(e.column, 2);
  assert_non_null(strstr(e.why, "field length 1000 exceeds the 3 bytes left"));
  /* A negative length other than -1 (NULL). */
  memset(&m, 0, sizeof m);
  put16(&m, 1);
  put32(&m, 0xfffffffe);
  assert_int_equal(decode(&m, &seen, f, 1, &e), PG_BIN_BAD);
  assert_int_equal(e.column, 1);
  assert_non_null(strstr(e.why, "a negative field length (-2)"));
  /* A length cut off. */
  memset(&m, 0, sizeof m);
  put16(&m, 1);
  put(&m, "\0\0", 2);
  assert_int_equal(decode(&m, &seen, f, 1, &e), PG_BIN_BAD);
  assert_int_equal(e.column, 1);
  /* A wrong field count, a negative one, none at all. */
  memset(&m, 0, sizeof m);
  put16(&m, 3);
  assert_int_equal(decode(&m, &seen, f, 2, &e), PG_BIN_BAD);
  memset(&m, 0, sizeof m);
  put16(&m, -2);
  assert_int_equal(decode(&m, &seen, f, 2, &e), PG_BIN_BAD);
  memset(&m, 0, sizeof m);
  put(&m, "\0", 1);
  assert_int_equal(decode(&m, &seen, f, 2, &e), PG_BIN_BAD);
  /* Bytes after a tuple, after the trailer. */
  memset(&m, 0, sizeof m);
  put16(&m, 1);
  field(&m, "x", 1);
  put(&m, "z", 1);
  assert_int_equal(decode(&m, &seen, f, 1, &e), PG_BIN_BAD);
  memset(&m, 0, sizeof m);
  put16(&m, -1);
  put(&m, "z", 1);
  assert_int_equal(decode(&m, &seen, f, 1, &e), PG_BIN_BAD);
}

static void test_bad_headers(void **state) {
  Msg m;
  NbStringRef f[1];
  PgBinError e;
  bool seen;
  (void)state;
  /* No header where one must be: a text COPY row. */
  memset(&m, 0, sizeof m);
  put(&m, "1\tabc", 5);
  seen = false;
  assert_int_equal(decode(&m, &seen, f, 1, &e), PG_BIN_BAD);
  assert_false(seen);
  /* The OID flag. */
  memset(&m, 0, sizeof m);
  put(&m, HEADER, 11);
  put32(&m, 1u << 16);
  put32(&m, 0);
  assert_int_equal(decode(&m, &seen, f, 1, &e), PG_BIN_BAD);
  /* An extension longer than the message; one that fits is skipped. */
  memset(&m, 0, sizeof m);
  put(&m, HEADER, 11);
  put32(&m, 0);
  put32(&m, 0x7fffffff);
  assert_int_equal(decode(&m, &seen, f, 1, &e), PG_BIN_BAD);
  memset(&m, 0, sizeof m);
  put(&m, HEADER, 11);
  put32(&m, 0);
  put32(&m, 3);
  put(&m, "ext", 3);
  put16(&m, 1);
  field(&m, "v", 1);
  assert_int_equal(decode(&m, &seen, f, 1, &e), PG_BIN_ROW);
  assert_memory_equal(f[0].data, "v", 1);
}

/* Append raw (n bytes) of wire w to a one-column batch of type t; the
 * outcome, and in *out the finished array (release it) when it is OK. */
static int append1(NbType t, PgWire w, const char *raw, size_t n, struct ArrowArray *out, char *text) {
  NbField fd = {"c", t, true, 0, 0, t == NB_TYPE_TIMESTAMP ? "UTC" : NULL};
  NbBatchBuilder *b = NULL;
  NbStringRef v = {raw, n};
  PgBuf scratch = {0};
  int rc;
  assert_int_equal(nb_batch_builder_new(&fd, 1, 4, &b, NULL), NB_OK);
  text[0] = '\0';
  rc = pg_bin_append(nb_batch_builder_column(b, 0), t, w, &v, &scratch, text, 160);
  memset(out, 0, sizeof *out);
  if (rc == PG_APPEND_OK) assert_int_equal(nb_batch_builder_finish(b, out, NULL), NB_OK);
  nb_batch_builder_free(b);
  pg_buf_free(&scratch);
  return rc;
}

static int64_t int64_of(PgWire w, const char *raw, size_t n) {
  struct ArrowArray a;
  char text[160];
  int64_t v;
  assert_int_equal(append1(NB_TYPE_INT64, w, raw, n, &a, text), PG_APPEND_OK);
  v = ((const int64_t *)a.children[0]->buffers[1])[0];
  a.release(&a);
  return v;
}

static void expect_text(NbType t, PgWire w, const char *raw, size_t n, const char *want) {
  struct ArrowArray a;
  char text[160];
  const int32_t *off;
  assert_int_equal(append1(t, w, raw, n, &a, text), PG_APPEND_OK);
  off = a.children[0]->buffers[1];
  assert_int_equal(off[1] - off[0], strlen(want));
  assert_memory_equal((const char *)a.children[0]->buffers[2] + off[0], want, strlen(want));
  a.release(&a);
}

static void expect_refused(NbType t, PgWire w, const char *raw, size_t n, int outcome,
                           const char *text_has) {
  struct ArrowArray a;
  char text[160];
  assert_int_equal(append1(t, w, raw, n, &a, text), outcome);
  assert_non_null(strstr(text, text_has));
}

static void test_integers_floats_bools(void **state) {
  struct ArrowArray a;
  char text[160];
  double d;
  (void)state;
  assert_true(int64_of(PG_WIRE_INT2, "\x80\x00", 2) == -32768);
  assert_true(int64_of(PG_WIRE_INT4, "\xff\xff\xff\xfe", 4) == -2);
  assert_true(int64_of(PG_WIRE_INT8, "\x80\0\0\0\0\0\0\0", 8) == INT64_MIN);
  assert_true(int64_of(PG_WIRE_INT8, "\x7f\xff\xff\xff\xff\xff\xff\xff", 8) == INT64_MAX);
  /* A length that is not the type's: malformed, never read past. */
  expect_refused(NB_TYPE_INT64, PG_WIRE_INT4, "\0\0\0", 3, PG_APPEND_MALFORMED, "3 bytes where 4");
  expect_refused(NB_TYPE_INT64, PG_WIRE_INT8, "\0\0\0\0\0\0\0\0\0", 9, PG_APPEND_MALFORMED, "9 bytes");
  /* float8: a NaN with a payload and its sign is the one NaN. */
  assert_int_equal(append1(NB_TYPE_FLOAT64, PG_WIRE_FLOAT8, "\xff\xf8\0\0\0\0\0\x01", 8, &a, text), PG_APPEND_OK);
  memcpy(&d, (const double *)a.children[0]->buffers[1], 8);
  assert_true(isnan(d) && !signbit(d));
  a.release(&a);
  assert_int_equal(append1(NB_TYPE_FLOAT64, PG_WIRE_FLOAT8, "\x3f\xb9\x99\x99\x99\x99\x99\x9a", 8, &a, text), PG_APPEND_OK);
  memcpy(&d, (const double *)a.children[0]->buffers[1], 8);
  assert_true(d == 0.1);
  a.release(&a);
  assert_int_equal(append1(NB_TYPE_BOOL, PG_WIRE_BOOL, "\x01", 1, &a, text), PG_APPEND_OK);
  a.release(&a);
  expect_refused(NB_TYPE_BOOL, PG_WIRE_BOOL, "\x02", 1, PG_APPEND_MALFORMED, "byte value 2");
  expect_refused(NB_TYPE_BOOL, PG_WIRE_BOOL, "", 0, PG_APPEND_MALFORMED, "0 bytes");
}

static void test_dates_timestamps(void **state) {
  struct ArrowArray a;
  char text[160];
  (void)state;
  /* 2000-01-01 is day 10957 of Arrow's epoch. */
  assert_int_equal(append1(NB_TYPE_DATE32, PG_WIRE_DATE, "\0\0\0\0", 4, &a, text), PG_APPEND_OK);
  assert_int_equal(((const int32_t *)a.children[0]->buffers[1])[0], 10957);
  a.release(&a);
  expect_refused(NB_TYPE_DATE32, PG_WIRE_DATE, "\x7f\xff\xff\xff", 4, PG_APPEND_NOFIT, "infinity");
  expect_refused(NB_TYPE_DATE32, PG_WIRE_DATE, "\x80\0\0\0", 4, PG_APPEND_NOFIT, "-infinity");
  /* 0001-12-31 BC (-730120 days from 2000) is refused as the text " BC" is. */
  expect_refused(NB_TYPE_DATE32, PG_WIRE_DATE, "\xff\xf4\xdb\xf8", 4, PG_APPEND_NOFIT, "0001-12-31 BC");
  /* 0001-01-01 (-730119) is the first date taken. */
  assert_int_equal(append1(NB_TYPE_DATE32, PG_WIRE_DATE, "\xff\xf4\xdb\xf9", 4, &a, text), PG_APPEND_OK);
  assert_int_equal(((const int32_t *)a.children[0]->buffers[1])[0], -719162);
  a.release(&a);
  /* 999999-12-31 is the last date taken, year 1000000 is refused. */
  assert_int_equal(append1(NB_TYPE_DATE32, PG_WIRE_DATE, "\x15\xba\x03\x0e", 4, &a, text), PG_APPEND_OK);
  assert_int_equal(((const int32_t *)a.children[0]->buffers[1])[0], 364522971);
  a.release(&a);
  expect_refused(NB_TYPE_DATE32, PG_WIRE_DATE, "\x15\xba\x03\x0f", 4, PG_APPEND_NOFIT, "1000000-01-01");
  /* Timestamps: 0 is 2000-01-01T00:00:00Z. */
  assert_int_equal(append1(NB_TYPE_TIMESTAMP, PG_WIRE_TIMESTAMP, "\0\0\0\0\0\0\0\0", 8, &a, text), PG_APPEND_OK);
  assert_true(((const int64_t *)a.children[0]->buffers[1])[0] == INT64_C(946684800000000));
  a.release(&a);
  expect_refused(NB_TYPE_TIMESTAMP, PG_WIRE_TIMESTAMP, "\x7f\xff\xff\xff\xff\xff\xff\xff", 8, PG_APPEND_NOFIT, "infinity");
  expect_refused(NB_TYPE_TIMESTAMP, PG_WIRE_TIMESTAMP, "\x80\0\0\0\0\0\0\0", 8, PG_APPEND_NOFIT, "-infinity");
  /* Past int64 microseconds from 1970: refused with its date, no overflow. */
  expect_refused(NB_TYPE_TIMESTAMP, PG_WIRE_TIMESTAMP, "\x7f\xff\xff\xff\xff\xff\xff\xfe", 8, PG_APPEND_NOFIT, "-");
  expect_refused(NB_TYPE_TIMESTAMP, PG_WIRE_TIMESTAMP, "\x80\0\0\0\0\0\0\x01", 8, PG_APPEND_NOFIT, " BC");
  expect_refused(NB_TYPE_TIMESTAMP, PG_WIRE_TIMESTAMP, "\0\0\0", 3, PG_APPEND_MALFORMED, "3 bytes");
}

static void test_time_bytea_uuid(void **state) {
  (void)state;
  /* 13:14:15.5 = 47655500000 us = 0x0B187D38E0 */
  expect_text(NB_TYPE_UTF8, PG_WIRE_TIME, "\0\0\0\x0b\x18\x7d\x38\xe0", 8, "13:14:15.5");
  /* 24:00:00 = 86400000000 us = 0x141DD76000 */
  expect_text(NB_TYPE_UTF8, PG_WIRE_TIME, "\0\0\0\x14\x1d\xd7\x60\0", 8, "24:00:00");
  expect_text(NB_TYPE_UTF8, PG_WIRE_TIME, "\0\0\0\0\0\0\0\x01", 8, "00:00:00.000001");
  expect_refused(NB_TYPE_UTF8, PG_WIRE_TIME, "\0\0\0\x14\x1d\xd7\x60\x01", 8, PG_APPEND_MALFORMED, "out of range");
  expect_refused(NB_TYPE_UTF8, PG_WIRE_TIME, "\xff\0\0\0\0\0\0\0", 8, PG_APPEND_MALFORMED, "out of range");
  expect_text(NB_TYPE_UTF8, PG_WIRE_BYTEA, "\x00\xff\x10", 3, "\\x00ff10");
  expect_text(NB_TYPE_UTF8, PG_WIRE_BYTEA, "", 0, "\\x");
  expect_text(NB_TYPE_UTF8, PG_WIRE_UUID, "\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11", 16,
              "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  expect_refused(NB_TYPE_UTF8, PG_WIRE_UUID, "\0\0\0\0", 4, PG_APPEND_MALFORMED, "4 bytes where 16");
  expect_text(NB_TYPE_UTF8, PG_WIRE_BYTES, "h\xc3\xa9", 3, "h\xc3\xa9");
  /* A type without a binary wire: its text, parsed as the text format. */
  expect_text(NB_TYPE_UTF8, PG_WIRE_TEXT, "1.50", 4, "1.50");
  expect_refused(NB_TYPE_INT64, PG_WIRE_TEXT, "4294967296x", 11, PG_APPEND_NOFIT, "4294967296x");
}

static void test_wires(void **state) {
  (void)state;
  assert_int_equal(pg_wire_of(23, NB_TYPE_INT64), PG_WIRE_INT4);
  assert_int_equal(pg_wire_of(700, NB_TYPE_FLOAT64), PG_WIRE_TEXT); /* float4: text */
  assert_int_equal(pg_wire_of(1184, NB_TYPE_TIMESTAMP), PG_WIRE_TIMESTAMP);
  assert_int_equal(pg_wire_of(1700, NB_TYPE_UTF8), PG_WIRE_TEXT);   /* numeric */
  assert_int_equal(pg_wire_of(23, NB_TYPE_UTF8), PG_WIRE_TEXT);     /* a mismatch: text */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_header_tuple_trailer), cmocka_unit_test(test_lying_lengths),
      cmocka_unit_test(test_bad_headers),          cmocka_unit_test(test_integers_floats_bools),
      cmocka_unit_test(test_dates_timestamps),     cmocka_unit_test(test_time_bytea_uuid),
      cmocka_unit_test(test_wires),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
