/*
 * test_sdk_batch.c - Arrow side of libnebula-sdk: schema export and import,
 * the batch builder, text parsing (nb_column_append_text), column views and
 * their text, and nb_arrow_validate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nebula/sdk.h"

static const NbField all_fields[] = {
    {"s", NB_TYPE_UTF8, true, 0, 0, NULL},
    {"ls", NB_TYPE_LARGE_UTF8, true, 0, 0, NULL},
    {"i", NB_TYPE_INT64, true, 0, 0, NULL},
    {"f", NB_TYPE_FLOAT64, false, 0, 0, NULL},
    {"b", NB_TYPE_BOOL, true, 0, 0, NULL},
    {"d", NB_TYPE_DECIMAL128, true, 10, 2, NULL},
    {"n", NB_TYPE_NUMBER, true, 0, 0, NULL},
    {"dt", NB_TYPE_DATE32, true, 0, 0, NULL},
    {"ts", NB_TYPE_TIMESTAMP, true, 0, 0, NULL},
    {"j", NB_TYPE_JSON, true, 0, 0, NULL},
    {"tsz", NB_TYPE_TIMESTAMP, true, 0, 0, "+01:00"},
};
#define N_ALL (sizeof all_fields / sizeof all_fields[0])

/* ------------------------------------------------------------------------
 * Schema
 * ------------------------------------------------------------------------ */

static void schema_round_trip(void **state) {
  struct ArrowSchema schema;
  NbField *back;
  size_t n;
  char name[64];
  (void)state;
  assert_int_equal(nb_schema_export(all_fields, N_ALL, &schema, NULL), NB_OK);
  assert_string_equal(schema.format, "+s");
  assert_int_equal(schema.n_children, N_ALL);
  assert_string_equal(schema.children[0]->format, "u");
  assert_string_equal(schema.children[1]->format, "U");
  assert_string_equal(schema.children[2]->format, "l");
  assert_string_equal(schema.children[3]->format, "g");
  assert_int_equal(schema.children[3]->flags & ARROW_FLAG_NULLABLE, 0);
  assert_int_equal(schema.children[2]->flags & ARROW_FLAG_NULLABLE,
                   ARROW_FLAG_NULLABLE);
  assert_string_equal(schema.children[5]->format, "d:10,2");
  assert_string_equal(schema.children[7]->format, "tdD");
  assert_string_equal(schema.children[8]->format, "tsu:UTC");
  assert_string_equal(schema.children[10]->format, "tsu:+01:00");
  /* the extension metadata, byte for byte */
  {
    const char *m = schema.children[9]->metadata;
    int32_t count, klen, vlen;
    memcpy(&count, m, 4);
    memcpy(&klen, m + 4, 4);
    assert_int_equal(count, 1);
    assert_int_equal(klen, 20);
    assert_memory_equal(m + 8, "ARROW:extension:name", 20);
    memcpy(&vlen, m + 28, 4);
    assert_int_equal(vlen, 10);
    assert_memory_equal(m + 32, "arrow.json", 10);
  }
  assert_null(schema.children[0]->metadata);
  assert_int_equal(nb_schema_fields(&schema, &back, &n, NULL), NB_OK);
  assert_int_equal(n, N_ALL);
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(back[i].name, all_fields[i].name);
    assert_int_equal(back[i].type, all_fields[i].type);
    assert_int_equal(back[i].nullable, all_fields[i].nullable);
  }
  assert_int_equal(back[5].precision, 10);
  assert_int_equal(back[5].scale, 2);
  assert_string_equal(back[8].timezone, "UTC");
  assert_string_equal(back[10].timezone, "+01:00");
  assert_string_equal(nb_type_name(&back[5], name, sizeof name), "decimal128(10,2)");
  assert_string_equal(nb_type_name(&back[6], name, sizeof name), "number");
  assert_string_equal(nb_type_name(&back[10], name, sizeof name), "timestamp(+01:00)");
  free(back);
  /* a consumer may move a child out; the parent must not release it */
  {
    struct ArrowSchema moved = *schema.children[0];
    schema.children[0]->release = NULL;
    schema.release(&schema);
    assert_null(schema.release);
    moved.release(&moved);
  }
}

static void schema_rejects(void **state) {
  struct ArrowSchema schema;
  NbField bad = {"x", NB_TYPE_DECIMAL128, true, 40, 2, NULL};
  NbField *fields;
  size_t n;
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_schema_export(&bad, 1, &schema, &err), NB_INVALID);
  assert_null(schema.release);
  nb_error_release(&err);
  assert_int_equal(nb_schema_export(all_fields, 3, &schema, NULL), NB_OK);
  schema.children[1]->format = "+l"; /* a list: not supported */
  assert_int_equal(nb_schema_fields(&schema, &fields, &n, &err), NB_INVALID);
  assert_string_equal(err.message,
                      "column \"ls\" has Arrow format \"+l\", which is not supported");
  nb_error_release(&err);
  schema.children[1]->format = "U";
  schema.format = "+l";
  assert_int_equal(nb_schema_fields(&schema, &fields, &n, &err), NB_INVALID);
  nb_error_release(&err);
  schema.format = "+s";
  schema.release(&schema);
}


/* Timestamps at the int64 limits format without overflow (found by
 * fuzz_arrow: floor(INT64_MIN / 10^6) * 10^6 does not fit in int64). */
static void timestamp_limits_format(void **state) {
  static const NbField ts_fields[] = {
      {"ts", NB_TYPE_TIMESTAMP, false, 0, 0, NULL},
      {"tsz", NB_TYPE_TIMESTAMP, false, 0, 0, "+01:00"},
  };
  NbBatchBuilder *b;
  struct ArrowSchema schema;
  struct ArrowArray batch;
  NbColumnView *views;
  size_t n, len;
  char scratch[NB_TEXT_SCRATCH];
  const char *t;
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_batch_builder_new(ts_fields, 2, 4, &b, &err), NB_OK);
  const int64_t values[] = {INT64_MIN, INT64_MAX, -1};
  for (size_t r = 0; r < 3; r++)
    for (size_t c = 0; c < 2; c++)
      assert_int_equal(nb_column_append_timestamp(nb_batch_builder_column(b, c), values[r]),
                       NB_OK);
  assert_int_equal(nb_schema_export(ts_fields, 2, &schema, NULL), NB_OK);
  assert_int_equal(nb_batch_builder_finish(b, &batch, &err), NB_OK);
  assert_int_equal(nb_batch_views(&schema, &batch, &views, &n, &err), NB_OK);
  len = nb_view_text(&views[0], 0, scratch, &t);
  assert_true(len > 0 && len < NB_TEXT_SCRATCH);
  assert_memory_equal(t + len - 8, ".224192Z", 8); /* INT64_MIN mod 10^6 = 224192 */
  len = nb_view_text(&views[0], 1, scratch, &t);
  assert_memory_equal(t + len - 8, ".775807Z", 8);
  len = nb_view_text(&views[0], 2, scratch, &t);
  assert_int_equal(len, strlen("1969-12-31T23:59:59.999999Z"));
  assert_memory_equal(t, "1969-12-31T23:59:59.999999Z", len);
  len = nb_view_text(&views[1], 1, scratch, &t); /* shifting INT64_MAX by +01:00 overflows: UTC */
  assert_true(len > 0 && t[len - 1] == 'Z');
  free(views);
  batch.release(&batch);
  schema.release(&schema);
  nb_batch_builder_free(b);
}

/* ------------------------------------------------------------------------
 * Builder
 * ------------------------------------------------------------------------ */

static void build_and_read(void **state) {
  NbBatchBuilder *b;
  struct ArrowSchema schema;
  struct ArrowArray batch;
  NbColumnView *views;
  size_t n;
  char scratch[NB_TEXT_SCRATCH];
  const char *t;
  size_t len;
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_batch_builder_new(all_fields, N_ALL, 2, &b, &err), NB_OK);
  assert_int_equal(nb_batch_builder_columns(b), N_ALL);
  assert_null(nb_batch_builder_column(b, N_ALL));
  for (int row = 0; row < 3; row++) {
    const char *texts[N_ALL] = {"héllo", "large", "-9223372036854775808",
                                "0.1", "yes", "-12.5", "00501e3",
                                "2024-02-29", "2024-01-31 12:00:00.5+01:00",
                                "{\"a\":[1,2]}", "1970-01-01T00:00:00Z"};
    for (size_t c = 0; c < N_ALL; c++) {
      NbColumnBuilder *col = nb_batch_builder_column(b, c);
      if (row == 1 && c != 3) {
        assert_int_equal(nb_column_append_null(col), NB_OK);
      } else {
        if (c == 6) texts[c] = "-0.5E+10";
        assert_int_equal(nb_column_append_text(col, texts[c], strlen(texts[c]), &err),
                         NB_OK);
      }
    }
  }
  assert_int_equal(nb_batch_builder_rows(b), 3);
  assert_true(nb_batch_builder_bytes(b) > 0);
  assert_int_equal(nb_schema_export(all_fields, N_ALL, &schema, NULL), NB_OK);
  assert_int_equal(nb_batch_builder_finish(b, &batch, &err), NB_OK);
  assert_int_equal(nb_batch_builder_rows(b), 0);
  assert_int_equal(batch.length, 3);
  assert_int_equal(nb_arrow_validate(&schema, &batch, &err), NB_OK);
  assert_int_equal(batch.children[0]->null_count, 1);
  assert_int_equal(batch.children[3]->null_count, 0);
  assert_null(batch.children[3]->buffers[0]);

  assert_int_equal(nb_batch_views(&schema, &batch, &views, &n, &err), NB_OK);
  assert_int_equal(n, N_ALL);
  assert_true(nb_view_is_null(&views[0], 1));
  assert_false(nb_view_is_null(&views[0], 0));
  assert_false(nb_view_is_null(&views[3], 1));
#define TEXT(col, row, want)                                \
  len = nb_view_text(&views[col], row, scratch, &t);       \
  assert_int_equal(len, strlen(want));                     \
  assert_memory_equal(t, want, len)
  TEXT(0, 0, "héllo");
  TEXT(1, 2, "large");
  TEXT(2, 0, "-9223372036854775808");
  TEXT(3, 0, "0.1");
  TEXT(4, 0, "true");
  TEXT(5, 0, "-12.50");
  TEXT(6, 0, "-0.5E+10");
  TEXT(7, 0, "2024-02-29");
  TEXT(8, 0, "2024-01-31T11:00:00.5Z");
  TEXT(9, 2, "{\"a\":[1,2]}");
  TEXT(10, 0, "1970-01-01T01:00:00+01:00");
  free(views);

  /* the builder is reusable after finish */
  assert_int_equal(nb_column_append_utf8(nb_batch_builder_column(b, 0), "x", 1), NB_OK);
  assert_int_equal(nb_column_length(nb_batch_builder_column(b, 0)), 1);
  /* columns of unequal length cannot finish */
  {
    struct ArrowArray bad;
    assert_int_equal(nb_batch_builder_finish(b, &bad, &err), NB_INTERNAL);
    nb_error_release(&err);
  }
  nb_batch_builder_reset(b);
  assert_int_equal(nb_batch_builder_rows(b), 0);
  batch.release(&batch);
  assert_null(batch.release);
  schema.release(&schema);
  nb_batch_builder_free(b);
  nb_batch_builder_free(NULL);
}

static void many_strings_grow(void **state) {
  NbField f = {"s", NB_TYPE_UTF8, true, 0, 0, NULL};
  NbBatchBuilder *b;
  NbColumnBuilder *c;
  struct ArrowArray batch;
  struct ArrowSchema schema;
  char text[32];
  (void)state;
  assert_int_equal(nb_batch_builder_new(&f, 1, 1, &b, NULL), NB_OK);
  c = nb_batch_builder_column(b, 0);
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 100000; i++) {
      int len = snprintf(text, sizeof text, "value-%d", i);
      if (i % 1000 == 999)
        assert_int_equal(nb_column_append_null(c), NB_OK);
      else
        assert_int_equal(nb_column_append_utf8(c, text, (size_t)len), NB_OK);
    }
    assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
    assert_int_equal(batch.length, 100000);
    assert_int_equal(batch.children[0]->null_count, 100);
    {
      const int32_t *o = batch.children[0]->buffers[1];
      const char *d = batch.children[0]->buffers[2];
      assert_int_equal(o[0], 0);
      assert_memory_equal(d + o[12345], "value-12345", 11);
      assert_int_equal(o[1000], o[999]); /* row 999 is null */
    }
    assert_int_equal(nb_schema_export(&f, 1, &schema, NULL), NB_OK);
    assert_int_equal(nb_arrow_validate(&schema, &batch, NULL), NB_OK);
    schema.release(&schema);
    batch.release(&batch);
  }
  nb_batch_builder_free(b);
}

static void truncate_drops_rows(void **state) {
  NbField f[2] = {{"a", NB_TYPE_UTF8, true, 0, 0, NULL},
                  {"b", NB_TYPE_INT64, true, 0, 0, NULL}};
  NbBatchBuilder *b;
  struct ArrowArray batch;
  (void)state;
  assert_int_equal(nb_batch_builder_new(f, 2, 4, &b, NULL), NB_OK);
  nb_column_append_utf8(nb_batch_builder_column(b, 0), "keep", 4);
  nb_column_append_int64(nb_batch_builder_column(b, 1), 1);
  /* a row that fails half-way */
  nb_column_append_null(nb_batch_builder_column(b, 0));
  nb_column_truncate(nb_batch_builder_column(b, 0), 1);
  nb_column_append_utf8(nb_batch_builder_column(b, 0), "next", 4);
  nb_column_append_int64(nb_batch_builder_column(b, 1), 2);
  assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
  assert_int_equal(batch.length, 2);
  assert_int_equal(batch.children[0]->null_count, 0);
  assert_null(batch.children[0]->buffers[0]);
  assert_memory_equal(batch.children[0]->buffers[2], "keepnext", 8);
  assert_int_equal(((const int64_t *)batch.children[1]->buffers[1])[1], 2);
  batch.release(&batch);
  nb_batch_builder_free(b);
}

static void empty_batch_has_buffers(void **state) {
  NbBatchBuilder *b;
  struct ArrowArray batch;
  struct ArrowSchema schema;
  (void)state;
  assert_int_equal(nb_batch_builder_new(all_fields, N_ALL, 0, &b, NULL), NB_OK);
  assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
  assert_int_equal(batch.length, 0);
  for (size_t i = 0; i < N_ALL; i++)
    assert_non_null(batch.children[i]->buffers[1]);
  assert_int_equal(((const int32_t *)batch.children[0]->buffers[1])[0], 0);
  assert_int_equal(nb_schema_export(all_fields, N_ALL, &schema, NULL), NB_OK);
  assert_int_equal(nb_arrow_validate(&schema, &batch, NULL), NB_OK);
  schema.release(&schema);
  batch.release(&batch);
  nb_batch_builder_free(b);
}

static void wrong_kind_is_invalid(void **state) {
  NbBatchBuilder *b;
  (void)state;
  assert_int_equal(nb_batch_builder_new(all_fields, N_ALL, 0, &b, NULL), NB_OK);
  assert_int_equal(nb_column_append_utf8(nb_batch_builder_column(b, 2), "1", 1),
                   NB_INVALID);
  assert_int_equal(nb_column_append_int64(nb_batch_builder_column(b, 0), 1),
                   NB_INVALID);
  assert_int_equal(nb_column_append_bool(nb_batch_builder_column(b, 2), true),
                   NB_INVALID);
  assert_int_equal(nb_column_append_double(nb_batch_builder_column(b, 2), 1.0),
                   NB_INVALID);
  assert_int_equal(nb_column_append_int64(nb_batch_builder_column(b, 2), 1), NB_OK);
  nb_batch_builder_free(b);
}

/* ------------------------------------------------------------------------
 * Appending many strings at once, nulls included
 * ------------------------------------------------------------------------ */

static const NbField string_fields[] = {
    {"u", NB_TYPE_UTF8, true, 0, 0, NULL},
    {"lu", NB_TYPE_LARGE_UTF8, true, 0, 0, NULL},
    {"n", NB_TYPE_NUMBER, true, 0, 0, NULL},
    {"j", NB_TYPE_JSON, true, 0, 0, NULL},
};
#define N_STRING (sizeof string_fields / sizeof string_fields[0])

/* Value i of the tests below: NULL (a null) when i % 5 == 3, else "i:"
 * followed by a run of letters whose length cycles through every short
 * length the builder copies differently (0..70), into buf. */
static const char *nth_value(size_t i, char *buf, size_t *len) {
  size_t run = i % 71, n;
  if (i % 5 == 3) {
    *len = 0;
    return NULL;
  }
  n = (size_t)snprintf(buf, 32, "%zu:", i);
  for (size_t k = 0; k < run; k++) buf[n + k] = (char)('a' + (i + k) % 26);
  *len = n + run;
  return buf;
}

/* Column `col` of a finished batch holds values first .. first + rows - 1. */
static void assert_column_values(const struct ArrowSchema *schema, const struct ArrowArray *batch,
                                 size_t col, size_t first, size_t rows) {
  NbColumnView *views;
  size_t n, nulls = 0;
  char scratch[NB_TEXT_SCRATCH];
  assert_int_equal(nb_batch_views(schema, batch, &views, &n, NULL), NB_OK);
  assert_int_equal(batch->length, (int64_t)rows);
  for (size_t r = 0; r < rows; r++) {
    char buf[128];
    size_t len;
    const char *want = nth_value(first + r, buf, &len);
    if (want == NULL) {
      assert_true(nb_view_is_null(&views[col], (int64_t)r));
      nulls++;
    } else {
      const char *got;
      assert_false(nb_view_is_null(&views[col], (int64_t)r));
      assert_int_equal(nb_view_text(&views[col], (int64_t)r, scratch, &got), len);
      assert_memory_equal(got, want, len);
    }
  }
  assert_int_equal(batch->children[col]->null_count, (int64_t)nulls);
  free(views);
}

static void append_nullable_strings_by_row(void **state) {
  NbBatchBuilder *b;
  struct ArrowArray batch;
  struct ArrowSchema schema;
  (void)state;
  assert_int_equal(nb_schema_export(string_fields, N_STRING, &schema, NULL), NB_OK);
  assert_int_equal(nb_batch_builder_new(string_fields, N_STRING, 1, &b, NULL), NB_OK);
  for (int round = 0; round < 2; round++) {
    for (size_t r = 0; r < 1000; r++) {
      char bufs[N_STRING][128];
      NbStringRef row[N_STRING];
      for (size_t c = 0; c < N_STRING; c++)
        row[c].data = nth_value(r + c, bufs[c], &row[c].len);
      assert_int_equal(nb_batch_builder_append_nullable_strings(b, row, N_STRING), NB_OK);
    }
    assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
    assert_int_equal(nb_arrow_validate(&schema, &batch, NULL), NB_OK);
    for (size_t c = 0; c < N_STRING; c++) assert_column_values(&schema, &batch, c, c, 1000);
    batch.release(&batch);
  }
  /* The column count must match, values must be given. */
  assert_int_equal(nb_batch_builder_append_nullable_strings(b, NULL, N_STRING), NB_INVALID);
  {
    NbStringRef row[N_STRING] = {{"x", 1}, {"x", 1}, {"x", 1}, {"x", 1}};
    assert_int_equal(nb_batch_builder_append_nullable_strings(b, row, N_STRING - 1), NB_INVALID);
    assert_int_equal(nb_batch_builder_append_nullable_strings(NULL, row, N_STRING), NB_INVALID);
  }
  assert_int_equal(nb_batch_builder_rows(b), 0);
  schema.release(&schema);
  nb_batch_builder_free(b);
}

/* A value for a column that is not a string column fails the row, and the
 * columns before it give their value back. */
static void append_nullable_strings_all_or_nothing(void **state) {
  NbField f[3] = {{"a", NB_TYPE_UTF8, true, 0, 0, NULL},
                  {"b", NB_TYPE_INT64, true, 0, 0, NULL},
                  {"c", NB_TYPE_UTF8, true, 0, 0, NULL}};
  NbStringRef with_null[3] = {{NULL, 0}, {NULL, 0}, {"z", 1}};
  NbStringRef with_text[3] = {{"x", 1}, {"1", 1}, {"z", 1}};
  NbBatchBuilder *b;
  struct ArrowArray batch;
  (void)state;
  assert_int_equal(nb_batch_builder_new(f, 3, 4, &b, NULL), NB_OK);
  assert_int_equal(nb_batch_builder_append_nullable_strings(b, with_null, 3), NB_INVALID);
  assert_int_equal(nb_batch_builder_append_nullable_strings(b, with_text, 3), NB_INVALID);
  for (size_t c = 0; c < 3; c++)
    assert_int_equal(nb_column_length(nb_batch_builder_column(b, c)), 0);
  assert_int_equal(nb_column_append_nullable_strings(nb_batch_builder_column(b, 1), with_text, 1),
                   NB_INVALID);
  assert_int_equal(nb_column_append_nullable_strings(nb_batch_builder_column(b, 1), with_null, 1),
                   NB_INVALID);
  assert_int_equal(nb_column_append_nullable_strings(NULL, with_text, 1), NB_INVALID);
  assert_int_equal(nb_column_append_nullable_strings(nb_batch_builder_column(b, 0), NULL, 1),
                   NB_INVALID);
  /* The rolled back null leaves no trace: the batch has no validity. */
  assert_int_equal(nb_column_append_utf8(nb_batch_builder_column(b, 0), "ok", 2), NB_OK);
  assert_int_equal(nb_column_append_int64(nb_batch_builder_column(b, 1), 7), NB_OK);
  assert_int_equal(nb_column_append_utf8(nb_batch_builder_column(b, 2), "ok", 2), NB_OK);
  assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
  assert_int_equal(batch.children[0]->null_count, 0);
  assert_null(batch.children[0]->buffers[0]);
  batch.release(&batch);
  nb_batch_builder_free(b);
}

/* nb_append_strings: a block of several rows and columns, a row, a column;
 * a failure in the middle of a block keeps nothing of it. */
static void append_strings_block(void **state) {
  NbField f[4] = {{"a", NB_TYPE_UTF8, true, 0, 0, NULL},
                  {"b", NB_TYPE_LARGE_UTF8, true, 0, 0, NULL},
                  {"c", NB_TYPE_JSON, true, 0, 0, NULL},
                  {"d", NB_TYPE_INT64, true, 0, 0, NULL}};
  NbStringRef block[6] = {{"a0", 2}, {"b0", 2}, {"c0", 2},
                          {NULL, 9}, {"b1", 2}, {"c1", 2}};
  NbStringRef col[2] = {{"x", 1}, {NULL, 0}};
  NbBatchBuilder *b;
  (void)state;
  assert_int_equal(nb_batch_builder_new(f, 4, 4, &b, NULL), NB_OK);
  assert_int_equal(nb_append_strings(b, 0, 3, block, 2), NB_OK);
  assert_int_equal(nb_append_strings(b, 1, 1, col, 2), NB_OK);
  assert_int_equal(nb_column_length(nb_batch_builder_column(b, 0)), 2);
  assert_int_equal(nb_column_length(nb_batch_builder_column(b, 1)), 4);
  assert_int_equal(nb_column_length(nb_batch_builder_column(b, 2)), 2);
  /* Row 1, column 3 is int64: the block fails there and leaves nothing. */
  {
    NbStringRef bad[8] = {{"p", 1}, {"q", 1}, {"r", 1}, {"s", 1},
                          {"t", 1}, {"u", 1}, {"v", 1}, {"w", 1}};
    assert_int_equal(nb_append_strings(b, 0, 4, bad, 2), NB_INVALID);
    assert_int_equal(nb_append_strings(b, 0, 4, bad, 1), NB_INVALID);
  }
  assert_int_equal(nb_column_length(nb_batch_builder_column(b, 0)), 2);
  assert_int_equal(nb_column_length(nb_batch_builder_column(b, 1)), 4);
  assert_int_equal(nb_column_length(nb_batch_builder_column(b, 2)), 2);
  assert_int_equal(nb_column_length(nb_batch_builder_column(b, 3)), 0);
  /* Ranges: nothing outside the builder's columns, no NULL values. */
  assert_int_equal(nb_append_strings(b, 3, 2, block, 1), NB_INVALID);
  assert_int_equal(nb_append_strings(b, 5, 0, block, 1), NB_INVALID);
  assert_int_equal(nb_append_strings(b, 0, 2, NULL, 1), NB_INVALID);
  assert_int_equal(nb_append_strings(b, 0, 2, block, SIZE_MAX / 4), NB_INVALID);
  assert_int_equal(nb_append_strings(NULL, 0, 1, block, 1), NB_INVALID);
  assert_int_equal(nb_append_strings(b, 0, 0, NULL, 7), NB_OK);
  nb_batch_builder_free(b);
}

/* The appended block reads back as given, nulls included. */
static void append_strings_reads_back(void **state) {
  NbField f[2] = {{"a", NB_TYPE_UTF8, true, 0, 0, NULL},
                  {"b", NB_TYPE_UTF8, true, 0, 0, NULL}};
  NbStringRef block[6] = {{"a0", 2}, {NULL, 0}, {"", 0}, {"b1", 2}, {"a2", 2}, {"b2", 2}};
  NbBatchBuilder *b;
  struct ArrowArray batch;
  struct ArrowSchema schema;
  NbColumnView *views;
  size_t n;
  char buf[8];
  const char *t;
  (void)state;
  assert_int_equal(nb_batch_builder_new(f, 2, 4, &b, NULL), NB_OK);
  assert_int_equal(nb_append_strings(b, 0, 2, block, 3), NB_OK);
  assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
  assert_int_equal(nb_schema_export(f, 2, &schema, NULL), NB_OK);
  assert_int_equal(nb_batch_views(&schema, &batch, &views, &n, NULL), NB_OK);
  assert_int_equal(batch.length, 3);
  assert_true(nb_view_is_null(nb_column_view_at(views, 1), 0));
  assert_int_equal(nb_view_text_n(nb_column_view_at(views, 0), 1, buf, sizeof buf, &t), 0);
  assert_non_null(t);
  assert_int_equal(nb_view_text_n(nb_column_view_at(views, 1), 2, buf, sizeof buf, &t), 2);
  assert_memory_equal(t, "b2", 2);
  free(views);
  schema.release(&schema);
  batch.release(&batch);
  nb_batch_builder_free(b);
}

/* nb_view_text_n never writes beyond cap, says how much it needs, and
 * refuses rows outside the column. */
static void view_text_n_honours_capacity(void **state) {
  NbField f[2] = {{"i", NB_TYPE_INT64, false, 0, 0, NULL},
                  {"s", NB_TYPE_UTF8, false, 0, 0, NULL}};
  NbBatchBuilder *b;
  struct ArrowArray batch;
  struct ArrowSchema schema;
  NbColumnView *views;
  size_t n;
  char buf[8];
  const char *t;
  (void)state;
  assert_int_equal(nb_batch_builder_new(f, 2, 4, &b, NULL), NB_OK);
  assert_int_equal(nb_column_append_int64(nb_batch_builder_column(b, 0), INT64_MIN), NB_OK);
  assert_int_equal(nb_column_append_utf8(nb_batch_builder_column(b, 1), "longer than eight", 17),
                   NB_OK);
  assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
  assert_int_equal(nb_schema_export(f, 2, &schema, NULL), NB_OK);
  assert_int_equal(nb_batch_views(&schema, &batch, &views, &n, NULL), NB_OK);
  memset(buf, 'X', sizeof buf);
  /* "-9223372036854775808" is 20 bytes: does not fit 4, nothing written. */
  assert_int_equal(nb_view_text_n(&views[0], 0, buf, 4, &t), 20);
  assert_null(t);
  assert_int_equal(buf[0], 'X');
  {
    char big[NB_TEXT_SCRATCH];
    assert_int_equal(nb_view_text_n(&views[0], 0, big, sizeof big, &t), 20);
    assert_string_equal(t, "-9223372036854775808");
  }
  /* Strings are borrowed from the batch: cap does not limit them. */
  assert_int_equal(nb_view_text_n(&views[1], 0, buf, sizeof buf, &t), 17);
  assert_memory_equal(t, "longer than eight", 17);
  assert_int_equal(nb_view_text_n(&views[1], 1, buf, sizeof buf, &t), 0);
  assert_null(t);
  assert_int_equal(nb_view_text_n(&views[1], -1, buf, sizeof buf, &t), 0);
  assert_null(t);
  assert_int_equal(nb_view_text_n(NULL, 0, buf, sizeof buf, &t), 0);
  assert_null(t);
  free(views);
  schema.release(&schema);
  batch.release(&batch);
  nb_batch_builder_free(b);
}

/* nb_schema_copy: the copy outlives the borrowed schema, replaces an
 * earlier copy, and is left alone when the new schema cannot be copied. */
static void schema_copy_keeps_and_replaces(void **state) {
  NbField a[2] = {{"id", NB_TYPE_INT64, false, 0, 0, NULL},
                  {"at", NB_TYPE_TIMESTAMP, true, 0, 0, "+01:00"}};
  NbField b[1] = {{"price", NB_TYPE_DECIMAL128, true, 12, 3, NULL}};
  struct ArrowSchema borrowed, kept, bad;
  const char *saved_format;
  NbField *back;
  size_t n;
  NbError err;
  (void)state;
  memset(&kept, 0, sizeof kept);
  assert_int_equal(nb_schema_export(a, 2, &borrowed, NULL), NB_OK);
  assert_int_equal(nb_schema_copy(&borrowed, &kept, NULL), NB_OK);
  borrowed.release(&borrowed);
  assert_int_equal(nb_schema_fields(&kept, &back, &n, NULL), NB_OK);
  assert_int_equal(n, 2);
  assert_string_equal(back[1].name, "at");
  assert_int_equal(back[1].type, NB_TYPE_TIMESTAMP);
  assert_string_equal(back[1].timezone, "+01:00");
  assert_false(back[0].nullable);
  free(back);
  /* The stream's schema changed: the copy is replaced. */
  assert_int_equal(nb_schema_export(b, 1, &borrowed, NULL), NB_OK);
  assert_int_equal(nb_schema_copy(&borrowed, &kept, NULL), NB_OK);
  borrowed.release(&borrowed);
  assert_int_equal(kept.n_children, 1);
  assert_string_equal(kept.children[0]->format, "d:12,3");
  /* A column of a type the SDK does not know: refused, copy unchanged. */
  assert_int_equal(nb_schema_export(a, 2, &bad, NULL), NB_OK);
  saved_format = bad.children[0]->format;
  bad.children[0]->format = "z";
  nb_error_init(&err);
  assert_int_equal(nb_schema_copy(&bad, &kept, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "id"));
  nb_error_release(&err);
  bad.children[0]->format = saved_format;
  bad.release(&bad);
  assert_int_equal(kept.n_children, 1);
  assert_string_equal(kept.children[0]->name, "price");
  kept.release(&kept);
  assert_int_equal(nb_schema_copy(NULL, &kept, NULL), NB_INVALID);
}

static void append_nullable_strings_by_column(void **state) {
  NbBatchBuilder *b;
  struct ArrowArray batch;
  struct ArrowSchema schema;
  enum { ROWS = 20000, CHUNK = 333 };
  NbStringRef *values = malloc(CHUNK * sizeof *values);
  char (*bufs)[128] = malloc(CHUNK * sizeof *bufs);
  (void)state;
  assert_non_null(values);
  assert_non_null(bufs);
  assert_int_equal(nb_schema_export(string_fields, N_STRING, &schema, NULL), NB_OK);
  assert_int_equal(nb_batch_builder_new(string_fields, N_STRING, 1, &b, NULL), NB_OK);
  for (int round = 0; round < 2; round++) {
    for (size_t first = 0; first < ROWS; first += CHUNK) {
      size_t n = ROWS - first < CHUNK ? ROWS - first : CHUNK;
      for (size_t c = 0; c < N_STRING; c++) {
        for (size_t k = 0; k < n; k++)
          values[k].data = nth_value(first + k + c, bufs[k], &values[k].len);
        assert_int_equal(nb_column_append_nullable_strings(nb_batch_builder_column(b, c), values, n),
                         NB_OK);
      }
    }
    assert_int_equal(nb_column_append_nullable_strings(nb_batch_builder_column(b, 0), values, 0),
                     NB_OK);
    assert_int_equal(nb_batch_builder_rows(b), ROWS);
    assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
    assert_int_equal(nb_arrow_validate(&schema, &batch, NULL), NB_OK);
    for (size_t c = 0; c < N_STRING; c++) assert_column_values(&schema, &batch, c, c, ROWS);
    batch.release(&batch);
  }
  schema.release(&schema);
  nb_batch_builder_free(b);
  free(values);
  free(bufs);
}

/* Nulls, truncation, then values: a truncated null does not stay a null,
 * and values appended one at a time, by row or by column agree. */
static void nulls_survive_only_where_appended(void **state) {
  NbField f = {"s", NB_TYPE_UTF8, true, 0, 0, NULL};
  NbStringRef two[2] = {{NULL, 0}, {"b", 1}};
  NbBatchBuilder *b;
  NbColumnBuilder *c;
  struct ArrowArray batch;
  const uint8_t *validity;
  (void)state;
  assert_int_equal(nb_batch_builder_new(&f, 1, 4, &b, NULL), NB_OK);
  c = nb_batch_builder_column(b, 0);
  for (int i = 0; i < 20; i++) assert_int_equal(nb_column_append_null(c), NB_OK);
  nb_column_truncate(c, 3);                                     /* rows 0-2: null */
  assert_int_equal(nb_column_append_utf8(c, "a", 1), NB_OK);     /* row 3 */
  assert_int_equal(nb_column_append_nullable_strings(c, two, 2), NB_OK); /* 4 null, 5 */
  assert_int_equal(nb_batch_builder_append_nullable_strings(b, two + 1, 1), NB_OK); /* 6 */
  assert_int_equal(nb_batch_builder_append_strings(b, two + 1, 1), NB_OK);          /* 7 */
  for (int i = 8; i < 100; i++) assert_int_equal(nb_column_append_utf8(c, "c", 1), NB_OK);
  assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
  assert_int_equal(batch.length, 100);
  assert_int_equal(batch.children[0]->null_count, 4);
  validity = batch.children[0]->buffers[0];
  assert_non_null(validity);
  for (int i = 0; i < 100; i++) {
    bool valid = (validity[i / 8] >> (i % 8)) & 1;
    assert_int_equal(valid, !(i < 3 || i == 4));
  }
  batch.release(&batch);
  /* The next batch starts without nulls. */
  assert_int_equal(nb_column_append_utf8(c, "d", 1), NB_OK);
  assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
  assert_int_equal(batch.children[0]->null_count, 0);
  assert_null(batch.children[0]->buffers[0]);
  batch.release(&batch);
  nb_batch_builder_free(b);
}

/* ------------------------------------------------------------------------
 * Text parsing: accepted and rejected values per type
 * ------------------------------------------------------------------------ */

typedef struct Case {
  NbField field;
  const char *text;
  int want_rc;
  const char *want_text; /* as nb_view_text shows it back */
} Case;

#define F(type) {"c", type, true, 0, 0, NULL}
#define DEC(p, s) {"c", NB_TYPE_DECIMAL128, true, p, s, NULL}
static const Case cases[] = {
    {F(NB_TYPE_INT64), "0", NB_OK, "0"},
    {F(NB_TYPE_INT64), "007", NB_OK, "7"},
    {F(NB_TYPE_INT64), "9223372036854775807", NB_OK, "9223372036854775807"},
    {F(NB_TYPE_INT64), "9223372036854775808", NB_DATA, NULL},
    {F(NB_TYPE_INT64), "-9223372036854775809", NB_DATA, NULL},
    {F(NB_TYPE_INT64), "+1", NB_DATA, NULL},
    {F(NB_TYPE_INT64), "1.0", NB_DATA, NULL},
    {F(NB_TYPE_INT64), "", NB_DATA, NULL},
    {F(NB_TYPE_INT64), "-", NB_DATA, NULL},
    {F(NB_TYPE_INT64), " 1", NB_DATA, NULL},
    {F(NB_TYPE_FLOAT64), "0.1", NB_OK, "0.1"},
    {F(NB_TYPE_FLOAT64), "1e300", NB_OK, "1e+300"},
    {F(NB_TYPE_FLOAT64), "0.30000000000000004", NB_OK, "0.30000000000000004"},
    {F(NB_TYPE_FLOAT64), "1e999", NB_DATA, NULL},
    {F(NB_TYPE_FLOAT64), "1.5x", NB_DATA, NULL},
    {F(NB_TYPE_FLOAT64), " 1.5", NB_DATA, NULL},
    {F(NB_TYPE_FLOAT64), "", NB_DATA, NULL},
    {F(NB_TYPE_BOOL), "TRUE", NB_OK, "true"},
    {F(NB_TYPE_BOOL), "f", NB_OK, "false"},
    {F(NB_TYPE_BOOL), "No", NB_OK, "false"},
    {F(NB_TYPE_BOOL), "1", NB_OK, "true"},
    {F(NB_TYPE_BOOL), "2", NB_DATA, NULL},
    {F(NB_TYPE_BOOL), "truee", NB_DATA, NULL},
    {DEC(10, 2), "12.34", NB_OK, "12.34"},
    {DEC(10, 2), "-0.05", NB_OK, "-0.05"},
    {DEC(10, 2), "7", NB_OK, "7.00"},
    {DEC(10, 2), ".5", NB_OK, "0.50"},
    {DEC(10, 2), "1.230", NB_OK, "1.23"}, /* a zero beyond the scale changes nothing */
    {DEC(10, 2), "1.235", NB_DATA, NULL}, /* never rounded */
    {DEC(10, 2), "99999999.99", NB_OK, "99999999.99"},
    {DEC(10, 2), "100000000", NB_DATA, NULL}, /* precision */
    {DEC(10, 2), "1e3", NB_DATA, NULL},
    {DEC(10, 2), "", NB_DATA, NULL},
    {DEC(10, 2), ".", NB_DATA, NULL},
    {DEC(38, 0), "-99999999999999999999999999999999999999", NB_OK,
     "-99999999999999999999999999999999999999"},
    {DEC(38, 0), "100000000000000000000000000000000000000", NB_DATA, NULL},
    {DEC(38, 10), "1234567890123456789012345678.0123456789", NB_OK,
     "1234567890123456789012345678.0123456789"},
    {DEC(5, 5), "0.12345", NB_OK, "0.12345"},
    {F(NB_TYPE_NUMBER), "00501", NB_DATA, NULL},
    {F(NB_TYPE_NUMBER), "-0.5e-7", NB_OK, "-0.5e-7"},
    {F(NB_TYPE_NUMBER), "1.", NB_DATA, NULL},
    {F(NB_TYPE_NUMBER), "NaN", NB_DATA, NULL},
    {F(NB_TYPE_UTF8), "00501", NB_OK, "00501"},
    {F(NB_TYPE_UTF8), "", NB_OK, ""},
    {F(NB_TYPE_DATE32), "1970-01-01", NB_OK, "1970-01-01"},
    {F(NB_TYPE_DATE32), "1969-12-31", NB_OK, "1969-12-31"},
    {F(NB_TYPE_DATE32), "0001-01-01", NB_OK, "0001-01-01"},
    {F(NB_TYPE_DATE32), "2023-02-29", NB_DATA, NULL},
    {F(NB_TYPE_DATE32), "2000-02-29", NB_OK, "2000-02-29"},
    {F(NB_TYPE_DATE32), "2024-1-01", NB_DATA, NULL},
    {F(NB_TYPE_DATE32), "2024-01-01T00:00", NB_DATA, NULL},
    {F(NB_TYPE_TIMESTAMP), "2024-01-31T12:00:00Z", NB_OK, "2024-01-31T12:00:00Z"},
    {F(NB_TYPE_TIMESTAMP), "2024-01-31 12:00", NB_OK, "2024-01-31T12:00:00Z"},
    {F(NB_TYPE_TIMESTAMP), "2024-01-31T00:30:00-01:30", NB_OK, "2024-01-31T02:00:00Z"},
    {F(NB_TYPE_TIMESTAMP), "2024-01-31T12:00:00.000001+0000", NB_OK,
     "2024-01-31T12:00:00.000001Z"},
    {F(NB_TYPE_TIMESTAMP), "1969-12-31T23:59:59.9Z", NB_OK, "1969-12-31T23:59:59.9Z"},
    {F(NB_TYPE_TIMESTAMP), "2024-01-31T12:00:00.0000001Z", NB_DATA, NULL},
    {F(NB_TYPE_TIMESTAMP), "2024-01-31T12:00:00.1000000Z", NB_OK,
     "2024-01-31T12:00:00.1Z"},
    {F(NB_TYPE_TIMESTAMP), "2024-01-31T24:00:00Z", NB_DATA, NULL},
    {F(NB_TYPE_TIMESTAMP), "2024-01-31T12:00:00 Z", NB_DATA, NULL},
    {F(NB_TYPE_TIMESTAMP), "2024-01-31", NB_OK, "2024-01-31T00:00:00Z"},
};

static void append_text_cases(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const Case *tc = &cases[k];
    NbBatchBuilder *b;
    struct ArrowSchema schema;
    struct ArrowArray batch;
    NbColumnView *views;
    size_t n, len;
    char scratch[NB_TEXT_SCRATCH];
    const char *t;
    NbError err;
    int rc;
    nb_error_init(&err);
    assert_int_equal(nb_batch_builder_new(&tc->field, 1, 4, &b, NULL), NB_OK);
    rc = nb_column_append_text(nb_batch_builder_column(b, 0), tc->text,
                               strlen(tc->text), &err);
    if (rc != tc->want_rc)
      fail_msg("\"%s\": got %s, want %s (%s)", tc->text, nb_status_name(rc),
               nb_status_name(tc->want_rc), err.message ? err.message : "");
    if (rc != NB_OK) {
      /* the message names the column and quotes the value */
      assert_non_null(strstr(err.message, "column \"c\""));
      assert_non_null(strstr(err.message, tc->text));
      assert_int_equal(nb_column_length(nb_batch_builder_column(b, 0)), 0);
      nb_error_release(&err);
      nb_batch_builder_free(b);
      continue;
    }
    assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
    assert_int_equal(nb_schema_export(&tc->field, 1, &schema, NULL), NB_OK);
    assert_int_equal(nb_batch_views(&schema, &batch, &views, &n, NULL), NB_OK);
    len = nb_view_text(&views[0], 0, scratch, &t);
    if (len != strlen(tc->want_text) || memcmp(t, tc->want_text, len) != 0)
      fail_msg("\"%s\": shown as \"%.*s\", want \"%s\"", tc->text, (int)len, t,
               tc->want_text);
    free(views);
    schema.release(&schema);
    batch.release(&batch);
    nb_batch_builder_free(b);
  }
}

/* ------------------------------------------------------------------------
 * Views of values appended directly
 * ------------------------------------------------------------------------ */

static void float_shortest_round_trip(void **state) {
  static const double values[] = {0.1, 1.0 / 3, 2.0 / 3, 1e-320, 5e-324,
                                  1.7976931348623157e308, 123456789.125, -0.0,
                                  100, 0.1 + 0.2};
  NbField f = {"f", NB_TYPE_FLOAT64, false, 0, 0, NULL};
  NbBatchBuilder *b;
  struct ArrowSchema schema;
  struct ArrowArray batch;
  NbColumnView *views;
  size_t n;
  (void)state;
  assert_int_equal(nb_batch_builder_new(&f, 1, 4, &b, NULL), NB_OK);
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
    assert_int_equal(nb_column_append_double(nb_batch_builder_column(b, 0), values[i]),
                     NB_OK);
  assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
  assert_int_equal(nb_schema_export(&f, 1, &schema, NULL), NB_OK);
  assert_int_equal(nb_batch_views(&schema, &batch, &views, &n, NULL), NB_OK);
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    char scratch[NB_TEXT_SCRATCH], copy[NB_TEXT_SCRATCH];
    const char *t;
    size_t len = nb_view_text(&views[0], (int64_t)i, scratch, &t);
    double back;
    memcpy(copy, t, len);
    copy[len] = '\0';
    back = strtod(copy, NULL);
    assert_memory_equal(&back, &values[i], sizeof back);
  }
  {
    char scratch[NB_TEXT_SCRATCH];
    const char *t;
    size_t len = nb_view_text(&views[0], 0, scratch, &t);
    assert_int_equal(len, 3); /* 0.1, not 0.10000000000000001 */
    len = nb_view_text(&views[0], 9, scratch, &t);
    assert_memory_equal(t, "0.30000000000000004", len);
  }
  free(views);
  schema.release(&schema);
  batch.release(&batch);
  nb_batch_builder_free(b);
}

static void decimal_extremes(void **state) {
  NbField f = {"d", NB_TYPE_DECIMAL128, true, 38, 4, NULL};
  NbBatchBuilder *b;
  struct ArrowSchema schema;
  struct ArrowArray batch;
  NbColumnView *views;
  size_t n, len;
  char scratch[NB_TEXT_SCRATCH];
  const char *t;
  (void)state;
  assert_int_equal(nb_batch_builder_new(&f, 1, 4, &b, NULL), NB_OK);
  nb_column_append_decimal128(nb_batch_builder_column(b, 0), UINT64_MAX, -1); /* -1 */
  nb_column_append_decimal128(nb_batch_builder_column(b, 0), 0, INT64_MIN);
  nb_column_append_decimal128(nb_batch_builder_column(b, 0), 0, 0);
  assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
  assert_int_equal(nb_schema_export(&f, 1, &schema, NULL), NB_OK);
  assert_int_equal(nb_batch_views(&schema, &batch, &views, &n, NULL), NB_OK);
  len = nb_view_text(&views[0], 0, scratch, &t);
  assert_int_equal(len, 7);
  assert_memory_equal(t, "-0.0001", 7);
  len = nb_view_text(&views[0], 1, scratch, &t);
  assert_memory_equal(t, "-17014118346046923173168730371588410.5728", len);
  len = nb_view_text(&views[0], 2, scratch, &t);
  assert_memory_equal(t, "0.0000", len);
  free(views);
  schema.release(&schema);
  batch.release(&batch);
  nb_batch_builder_free(b);
}

/* A struct batch with an offset: views read from offset on. */
static void views_honour_offsets(void **state) {
  NbField f = {"s", NB_TYPE_UTF8, true, 0, 0, NULL};
  NbBatchBuilder *b;
  struct ArrowSchema schema;
  struct ArrowArray batch;
  NbColumnView *views;
  size_t n, len;
  char scratch[NB_TEXT_SCRATCH];
  const char *t;
  (void)state;
  assert_int_equal(nb_batch_builder_new(&f, 1, 4, &b, NULL), NB_OK);
  nb_column_append_utf8(nb_batch_builder_column(b, 0), "a", 1);
  nb_column_append_null(nb_batch_builder_column(b, 0));
  nb_column_append_utf8(nb_batch_builder_column(b, 0), "ccc", 3);
  assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
  assert_int_equal(nb_schema_export(&f, 1, &schema, NULL), NB_OK);
  batch.offset = 1;
  batch.length = 2;
  assert_int_equal(nb_arrow_validate(&schema, &batch, NULL), NB_OK);
  assert_int_equal(nb_batch_views(&schema, &batch, &views, &n, NULL), NB_OK);
  assert_true(nb_view_is_null(&views[0], 0));
  len = nb_view_text(&views[0], 1, scratch, &t);
  assert_int_equal(len, 3);
  assert_memory_equal(t, "ccc", 3);
  free(views);
  schema.release(&schema);
  batch.release(&batch);
  nb_batch_builder_free(b);
}

/* ------------------------------------------------------------------------
 * Validation catches broken arrays
 * ------------------------------------------------------------------------ */

static void validate_rejects(void **state) {
  NbField f[2] = {{"s", NB_TYPE_UTF8, true, 0, 0, NULL},
                  {"i", NB_TYPE_INT64, true, 0, 0, NULL}};
  NbBatchBuilder *b;
  struct ArrowSchema schema;
  struct ArrowArray batch;
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_batch_builder_new(f, 2, 4, &b, NULL), NB_OK);
  for (int i = 0; i < 4; i++) {
    nb_column_append_utf8(nb_batch_builder_column(b, 0), "ab", 2);
    if (i == 2)
      nb_column_append_null(nb_batch_builder_column(b, 1));
    else
      nb_column_append_int64(nb_batch_builder_column(b, 1), i);
  }
  assert_int_equal(nb_batch_builder_finish(b, &batch, NULL), NB_OK);
  assert_int_equal(nb_schema_export(f, 2, &schema, NULL), NB_OK);
  assert_int_equal(nb_arrow_validate(&schema, &batch, &err), NB_OK);

  {
    int32_t *o = (int32_t *)batch.children[0]->buffers[1];
    o[2] = 1; /* 2 -> 1: decreasing */
    assert_int_equal(nb_arrow_validate(&schema, &batch, &err), NB_INVALID);
    assert_non_null(strstr(err.message, "column \"s\""));
    assert_non_null(strstr(err.message, "offsets decrease"));
    nb_error_release(&err);
    o[2] = 4;
  }
  batch.children[1]->null_count = 0;
  assert_int_equal(nb_arrow_validate(&schema, &batch, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "null_count"));
  nb_error_release(&err);
  batch.children[1]->null_count = 1;

  batch.children[1]->n_buffers = 3;
  assert_int_equal(nb_arrow_validate(&schema, &batch, &err), NB_INVALID);
  nb_error_release(&err);
  batch.children[1]->n_buffers = 2;

  batch.length = 5; /* longer than the children */
  assert_int_equal(nb_arrow_validate(&schema, &batch, &err), NB_INVALID);
  nb_error_release(&err);
  batch.length = 4;

  {
    void (*saved)(struct ArrowArray *) = batch.children[0]->release;
    batch.children[0]->release = NULL;
    assert_int_equal(nb_arrow_validate(&schema, &batch, &err), NB_INVALID);
    assert_non_null(strstr(err.message, "released"));
    nb_error_release(&err);
    batch.children[0]->release = saved;
  }
  schema.children[1]->format = "l";
  schema.n_children = 1;
  assert_int_equal(nb_arrow_validate(&schema, &batch, &err), NB_INVALID);
  nb_error_release(&err);
  schema.n_children = 2;
  assert_int_equal(nb_arrow_validate(&schema, &batch, &err), NB_OK);
  schema.release(&schema);
  assert_int_equal(nb_arrow_validate(&schema, &batch, &err), NB_INVALID);
  nb_error_release(&err);
  batch.release(&batch);
  nb_batch_builder_free(b);
}

/* nb_days_from_civil / nb_civil_from_days (since 1.2): known dates, and
 * every day of +-2200 years round-trips through a valid date. */
static void civil_days_round_trip(void **state) {
  (void)state;
  int64_t y;
  unsigned m, d;
  assert_int_equal(nb_days_from_civil(1970, 1, 1), 0);
  assert_int_equal(nb_days_from_civil(2000, 3, 1), 11017);
  assert_int_equal(nb_days_from_civil(1969, 12, 31), -1);
  assert_int_equal(nb_days_from_civil(1, 1, 1), -719162);
  nb_civil_from_days(-719163, &y, &m, &d); /* the day before 0001-01-01: 1 BC */
  assert_int_equal(y, 0);
  assert_int_equal(m, 12);
  assert_int_equal(d, 31);
  for (int64_t days = -1100000; days <= 1100000; days++) {
    nb_civil_from_days(days, &y, &m, &d);
    if (m < 1 || m > 12 || d < 1 || d > 31 || nb_days_from_civil(y, m, d) != days)
      fail_msg("day %lld -> %lld-%u-%u", (long long)days, (long long)y, m, d);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(schema_round_trip),
      cmocka_unit_test(schema_rejects),
      cmocka_unit_test(build_and_read),
      cmocka_unit_test(timestamp_limits_format),
      cmocka_unit_test(many_strings_grow),
      cmocka_unit_test(truncate_drops_rows),
      cmocka_unit_test(empty_batch_has_buffers),
      cmocka_unit_test(wrong_kind_is_invalid),
      cmocka_unit_test(append_nullable_strings_by_row),
      cmocka_unit_test(append_nullable_strings_all_or_nothing),
      cmocka_unit_test(append_nullable_strings_by_column),
      cmocka_unit_test(append_strings_block),
      cmocka_unit_test(append_strings_reads_back),
      cmocka_unit_test(view_text_n_honours_capacity),
      cmocka_unit_test(schema_copy_keeps_and_replaces),
      cmocka_unit_test(nulls_survive_only_where_appended),
      cmocka_unit_test(append_text_cases),
      cmocka_unit_test(float_shortest_round_trip),
      cmocka_unit_test(decimal_extremes),
      cmocka_unit_test(views_honour_offsets),
      cmocka_unit_test(validate_rejects),
      cmocka_unit_test(civil_days_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
