/*
 * test_csv_writer.c - unit tests of the CSV writer (plugins/csv/csv_writer.c):
 * exact output for quoting rules, nulls, line ends and buffer flushing, and
 * writer -> reader round trips on tricky and on pseudo-random values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv_reader.h"
#include "csv_writer.h"

typedef struct MemSink {
  char *data;
  size_t len, cap;
  int writes;
} MemSink;

static int mem_write(void *ctx, const void *buf, size_t len, NbError *err) {
  MemSink *m = ctx;
  (void)err;
  if (m->len + len + 1 > m->cap) {
    m->cap = (m->len + len + 1) * 2;
    m->data = realloc(m->data, m->cap);
    assert_non_null(m->data);
  }
  memcpy(m->data + m->len, buf, len);
  m->len += len;
  m->data[m->len] = '\0';
  m->writes++;
  return NB_OK;
}

static CsvWriter *new_writer(MemSink *sink, const CsvWriterOptions *options) {
  CsvSink s = {mem_write, sink};
  CsvWriter *w = NULL;
  memset(sink, 0, sizeof *sink);
  assert_int_equal(csv_writer_new(options, &s, &w, NULL), NB_OK);
  return w;
}

static CsvWriterOptions default_options(void) {
  CsvWriterOptions o;
  memset(&o, 0, sizeof o);
  o.delimiter = ',';
  o.quote = '"';
  return o;
}

static void put(CsvWriter *w, const char *value) {
  if (value == NULL)
    assert_int_equal(csv_writer_null(w, NULL), NB_OK);
  else
    assert_int_equal(csv_writer_value(w, value, strlen(value), NULL), NB_OK);
}

static void end(CsvWriter *w) { assert_int_equal(csv_writer_end_record(w, NULL), NB_OK); }

static void finish(CsvWriter *w, MemSink *sink, const char *expect) {
  assert_int_equal(csv_writer_flush(w, NULL), NB_OK);
  assert_int_equal(csv_writer_bytes(w), strlen(expect));
  assert_non_null(sink->data);
  assert_string_equal(sink->data, expect);
  csv_writer_free(w);
  free(sink->data);
}

static void test_minimal_quoting(void **state) {
  CsvWriterOptions o = default_options();
  MemSink sink;
  CsvWriter *w = new_writer(&sink, &o);
  (void)state;
  put(w, "plain");
  put(w, "a,b");
  put(w, "he\"llo");
  put(w, "line\nbreak");
  put(w, "cr\r");
  put(w, "");
  put(w, NULL);
  put(w, " spaced ");
  end(w);
  put(w, "0123456789abcdef0123456789,");
  end(w);
  finish(w, &sink,
         "plain,\"a,b\",\"he\"\"llo\",\"line\nbreak\",\"cr\r\",\"\",, spaced \n"
         "\"0123456789abcdef0123456789,\"\n");
}

static void test_null_string_and_styles(void **state) {
  CsvWriterOptions o = default_options();
  MemSink sink;
  CsvWriter *w;
  (void)state;
  o.null_string = "NULL";
  w = new_writer(&sink, &o);
  put(w, NULL);
  put(w, "NULL");
  put(w, "NULLS");
  end(w);
  finish(w, &sink, "NULL,\"NULL\",NULLS\n");

  o = default_options();
  o.quote_all = true;
  o.crlf = true;
  w = new_writer(&sink, &o);
  put(w, "a");
  put(w, NULL);
  put(w, "");
  end(w);
  put(w, "\"");
  end(w);
  finish(w, &sink, "\"a\",,\"\"\r\n\"\"\"\"\r\n");

  o = default_options();
  o.delimiter = ';';
  o.quote = '\'';
  w = new_writer(&sink, &o);
  put(w, "a,b");
  put(w, "c;d");
  put(w, "it's");
  put(w, "\"");
  end(w);
  finish(w, &sink, "a,b;'c;d';'it''s';\"\n");

  o = default_options();
  o.null_string = "";
  w = new_writer(&sink, &o);
  put(w, NULL);
  end(w);
  put(w, "");
  end(w);
  finish(w, &sink, "\n\"\"\n");
}

/* A buffer smaller than the values: output is the same, written in pieces. */
static void test_small_buffer(void **state) {
  CsvWriterOptions o = default_options();
  MemSink sink;
  CsvWriter *w;
  char big[300];
  char expect[700];
  size_t i;
  (void)state;
  o.buffer_size = 8;
  w = new_writer(&sink, &o);
  for (i = 0; i < sizeof big - 1; i++) big[i] = (i % 10 == 0) ? '"' : 'x';
  big[sizeof big - 1] = '\0';
  put(w, "ab");
  put(w, big);
  end(w);
  put(w, "tail");
  end(w);
  {
    size_t n = 0;
    n += (size_t)sprintf(expect, "ab,\"");
    for (i = 0; big[i] != '\0'; i++) {
      expect[n++] = big[i];
      if (big[i] == '"') expect[n++] = '"';
    }
    n += (size_t)sprintf(expect + n, "\"\ntail\n");
  }
  assert_int_equal(csv_writer_flush(w, NULL), NB_OK);
  assert_true(sink.writes >= 2);
  finish(w, &sink, expect);
}

/* ------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------ */

typedef struct ChunkInput {
  const char *data;
  size_t len, pos, chunk;
} ChunkInput;

static int chunk_read(void *ctx, char *buf, size_t cap, size_t *n_read, NbError *err) {
  ChunkInput *in = ctx;
  size_t n = in->len - in->pos;
  (void)err;
  if (n > cap) n = cap;
  if (n > in->chunk) n = in->chunk;
  memcpy(buf, in->data + in->pos, n);
  in->pos += n;
  *n_read = n;
  return NB_OK;
}

/* Write rows x cols values (NULL = null) with options, read them back with
 * the same delimiter and quote and null_string "", and compare. */
static void round_trip(const CsvWriterOptions *o, const char *const *values, size_t rows,
                       size_t cols, size_t chunk, size_t block) {
  MemSink sink;
  CsvWriter *w = new_writer(&sink, o);
  ChunkInput in;
  CsvInput input = {chunk_read, NULL, &in};
  CsvReaderOptions ro;
  CsvReader *r = NULL;
  size_t row, c;

  for (row = 0; row < rows; row++) {
    for (c = 0; c < cols; c++) put(w, values[row * cols + c]);
    end(w);
  }
  assert_int_equal(csv_writer_flush(w, NULL), NB_OK);
  csv_writer_free(w);

  in.data = sink.data != NULL ? sink.data : "";
  in.len = sink.len;
  in.pos = 0;
  in.chunk = chunk;
  memset(&ro, 0, sizeof ro);
  ro.delimiter = o->delimiter;
  ro.quote = o->quote;
  ro.strict = true;
  ro.block_size = block;
  assert_int_equal(csv_reader_new(&ro, &input, "rt.csv", &r, NULL), NB_OK);
  for (row = 0; row < rows; row++) {
    CsvRecord rec;
    assert_int_equal(csv_reader_next(r, &rec, NULL), NB_OK);
    assert_int_equal(rec.n_fields, cols);
    for (c = 0; c < cols; c++) {
      const char *want = values[row * cols + c];
      const CsvField *f = &rec.fields[c];
      if (want == NULL) {
        /* null_string "": an unquoted empty field */
        assert_int_equal(f->len, 0);
        assert_false(f->flags & CSV_FIELD_QUOTED);
      } else {
        if (f->len != strlen(want) || memcmp(f->data, want, f->len) != 0)
          fail_msg("row %zu col %zu: got \"%.*s\" want \"%s\"", row, c, (int)f->len, f->data,
                   want);
        assert_true(f->len > 0 || (f->flags & CSV_FIELD_QUOTED));
      }
    }
  }
  {
    CsvRecord rec;
    assert_int_equal(csv_reader_next(r, &rec, NULL), NB_END);
  }
  csv_reader_free(r);
  free(sink.data);
}

static const char *const tricky[] = {
    "plain", "",       NULL,        "a,b",      "\"",      "\"\"",  "x\"y\"z",
    "l1\nl2", "l1\r\nl2", "lone\rcr",  "\r",       "\n",      " sp ",  "\xEF\xBB\xBF" "bom",
    "é ü ☃",  ",",      "\"a,\nb\"",  "trailing\"", "NULL",    "\t",    ",,,",
};

static void test_round_trip_tricky(void **state) {
  static const size_t chunks[] = {1, 3, 4096};
  static const size_t blocks[] = {1, 5, 0};
  CsvWriterOptions o = default_options();
  size_t n = sizeof tricky / sizeof tricky[0];
  size_t i, j;
  (void)state;
  o.null_string = "";
  for (i = 0; i < 3; i++) {
    for (j = 0; j < 3; j++) {
      round_trip(&o, tricky, n / 3, 3, chunks[i], blocks[j]);
      round_trip(&o, tricky, n, 1, chunks[i], blocks[j]);
    }
  }
  o.crlf = true;
  o.quote_all = true;
  round_trip(&o, tricky, n / 3, 3, 2, 3);
  o = default_options();
  o.null_string = "";
  o.delimiter = '\t';
  o.quote = '\'';
  round_trip(&o, tricky, n / 7, 7, 7, 0);
}

/* Pseudo-random values over an alphabet of the characters that matter,
 * with a fixed seed, so a failure reproduces. */
static void test_round_trip_random(void **state) {
  static const char alphabet[] = {'a', ',', '"', '\r', '\n', ' ', 'z', ';'};
  enum { ROWS = 300, COLS = 4 };
  char **values = calloc(ROWS * COLS, sizeof *values);
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  CsvWriterOptions o = default_options();
  size_t i, k;
  (void)state;
  assert_non_null(values);
  o.null_string = "";
  for (i = 0; i < ROWS * COLS; i++) {
    size_t len;
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    len = (size_t)(seed >> 60);
    if (len == 15) continue; /* null */
    values[i] = malloc(len + 1);
    assert_non_null(values[i]);
    for (k = 0; k < len; k++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      values[i][k] = alphabet[(seed >> 33) % sizeof alphabet];
    }
    values[i][len] = '\0';
  }
  round_trip(&o, (const char *const *)values, ROWS, COLS, 4096, 0);
  round_trip(&o, (const char *const *)values, ROWS, COLS, 1, 7);
  round_trip(&o, (const char *const *)values, ROWS, COLS, 13, 2);
  for (i = 0; i < ROWS * COLS; i++) free(values[i]);
  free(values);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_minimal_quoting),
      cmocka_unit_test(test_null_string_and_styles),
      cmocka_unit_test(test_small_buffer),
      cmocka_unit_test(test_round_trip_tricky),
      cmocka_unit_test(test_round_trip_random),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
