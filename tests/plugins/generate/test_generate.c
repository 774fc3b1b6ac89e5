/*
 * test_generate.c - unit tests of the generate connector, calling its
 * vtable directly (no host: the source opens no files).
 *
 * The connector's source is compiled into this program so that its text
 * formatters can be tested on their edge cases as well.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../../plugins/generate/generate.c"

/* ------------------------------------------------------------------------
 * A minimal host: log and is_cancelled only.
 * ------------------------------------------------------------------------ */

typedef struct TestHost {
  int cancelled;
} TestHost;

static void host_log(void *host_data, int level, const char *message) {
  (void)host_data;
  (void)level;
  (void)message;
}

static int host_is_cancelled(void *host_data) {
  return ((TestHost *)host_data)->cancelled;
}

static NbHostApi make_host(TestHost *th) {
  NbHostApi host;
  memset(&host, 0, sizeof host);
  host.struct_size = (uint32_t)offsetof(NbHostApi, counter_add);
  host.abi_version = NB_ABI_CURRENT;
  host.host_data = th;
  host.log = host_log;
  host.is_cancelled = host_is_cancelled;
  return host;
}

static NbConnector load_connector(void) {
  NbConnector c;
  NbError err;
  memset(&c, 0, sizeof c);
  c.struct_size = (uint32_t)sizeof c;
  nb_error_init(&err);
  assert_int_equal(nebula_connector_entry(NB_ABI_CURRENT, &c, &err), NB_OK);
  return c;
}

/* Settings as name=value pairs. */
typedef struct TestSettings {
  const char *names[8];
  const char *values[8];
  NbSettings settings;
} TestSettings;

static void settings_init(TestSettings *ts, const char *rows, const char *seed,
                          const char *schema, const char *streams) {
  uint32_t n = 0;
  memset(ts, 0, sizeof *ts);
  if (rows) { ts->names[n] = "rows"; ts->values[n++] = rows; }
  if (seed) { ts->names[n] = "seed"; ts->values[n++] = seed; }
  if (schema) { ts->names[n] = "schema"; ts->values[n++] = schema; }
  if (streams) { ts->names[n] = "streams"; ts->values[n++] = streams; }
  ts->settings.struct_size = (uint32_t)sizeof ts->settings;
  ts->settings.count = n;
  ts->settings.names = ts->names;
  ts->settings.values = ts->values;
}

static NbOpenArgs make_args(const TestSettings *ts, uint64_t batch_rows,
                            uint64_t batch_bytes) {
  NbOpenArgs args;
  memset(&args, 0, sizeof args);
  args.struct_size = (uint32_t)sizeof args;
  args.settings = &ts->settings;
  args.batch_rows = batch_rows;
  args.batch_bytes = batch_bytes;
  return args;
}

/* ------------------------------------------------------------------------
 * Reading a whole stream into rows of text.  A row is its cells joined by
 * '\x1f'; a null cell is "\x1e" (neither byte occurs in generated text).
 * ------------------------------------------------------------------------ */

typedef struct Table {
  char **rows;
  size_t n_rows;
  size_t cap;
  size_t batches;
  size_t max_batch_rows;
  unsigned char last_position[NB_POSITION_MAX_BYTES];
  size_t last_position_len;
} Table;

static void table_free(Table *t) {
  for (size_t i = 0; i < t->n_rows; i++) free(t->rows[i]);
  free(t->rows);
  memset(t, 0, sizeof *t);
}

static const char *cell_text(const struct ArrowArray *col, int64_t row,
                             size_t *len) {
  const uint8_t *validity = col->buffers[0];
  const int32_t *offsets = col->buffers[1];
  const char *data = col->buffers[2];
  int64_t i = row + col->offset;
  if (validity != NULL && !((validity[i >> 3] >> (i & 7)) & 1)) return NULL;
  *len = (size_t)(offsets[i + 1] - offsets[i]);
  return data + offsets[i];
}

static void table_add_batch(Table *t, const struct ArrowSchema *schema,
                            const struct ArrowArray *batch) {
  NbError err;
  nb_error_init(&err);
  assert_int_equal(nb_arrow_validate(schema, batch, &err), NB_OK);
  for (int64_t r = 0; r < batch->length; r++) {
    size_t cap = 64, used = 0;
    char *line = malloc(cap);
    assert_non_null(line);
    for (int64_t c = 0; c < batch->n_children; c++) {
      size_t len = 0;
      const char *text = cell_text(batch->children[c], r, &len);
      if (text == NULL) {
        text = "\x1e";
        len = 1;
      }
      while (used + len + 2 > cap) {
        cap *= 2;
        line = realloc(line, cap);
        assert_non_null(line);
      }
      if (c > 0) line[used++] = '\x1f';
      memcpy(line + used, text, len);
      used += len;
    }
    line[used] = '\0';
    if (t->n_rows == t->cap) {
      t->cap = t->cap ? 2 * t->cap : 256;
      t->rows = realloc(t->rows, t->cap * sizeof *t->rows);
      assert_non_null(t->rows);
    }
    t->rows[t->n_rows++] = line;
  }
  t->batches++;
  if ((size_t)batch->length > t->max_batch_rows)
    t->max_batch_rows = (size_t)batch->length;
}

/* Read stream `index` of an open source to its end. */
static void read_stream(const NbConnector *c, void *src, uint32_t index,
                        Table *t) {
  struct ArrowSchema schema;
  NbError err;
  int rc;
  memset(&schema, 0, sizeof schema);
  nb_error_init(&err);
  assert_int_equal(c->source_schema(src, index, &schema, &err), NB_OK);
  for (;;) {
    struct ArrowArray batch;
    NbBatchInfo info;
    memset(&batch, 0, sizeof batch);
    memset(&info, 0, sizeof info);
    info.struct_size = (uint32_t)sizeof info;
    rc = c->source_next(src, index, &batch, &info, &err);
    if (rc == NB_END) break;
    assert_int_equal(rc, NB_OK);
    table_add_batch(t, &schema, &batch);
    assert_non_null(info.position);
    assert_true(info.position_len <= sizeof t->last_position);
    memcpy(t->last_position, info.position, info.position_len);
    t->last_position_len = info.position_len;
    assert_int_equal(info.bytes_read, -1);
    batch.release(&batch);
  }
  schema.release(&schema);
}

/* Open with the given settings and batch size, read stream `index`. */
static void read_all(const char *rows, const char *seed, const char *schema,
                     const char *streams, uint32_t index, uint64_t batch_rows,
                     uint64_t batch_bytes, Table *t) {
  NbConnector c = load_connector();
  TestHost th = {0};
  NbHostApi host = make_host(&th);
  TestSettings ts;
  NbOpenArgs args;
  NbError err;
  void *src = NULL;
  settings_init(&ts, rows, seed, schema, streams);
  args = make_args(&ts, batch_rows, batch_bytes);
  nb_error_init(&err);
  assert_int_equal(c.source_open(&host, &args, &src, &err), NB_OK);
  read_stream(&c, src, index, t);
  c.source_close(src);
}

static void assert_tables_equal(const Table *a, size_t a_from, const Table *b) {
  assert_int_equal(a->n_rows - a_from, b->n_rows);
  for (size_t i = 0; i < b->n_rows; i++)
    assert_string_equal(a->rows[a_from + i], b->rows[i]);
}

/* Split row text into its cells (in place); returns the cell count. */
static size_t split_cells(char *row, char **cells, size_t max) {
  size_t n = 0;
  char *p = row;
  for (;;) {
    char *sep = strchr(p, '\x1f');
    assert_true(n < max);
    cells[n++] = p;
    if (sep == NULL) break;
    *sep = '\0';
    p = sep + 1;
  }
  return n;
}

static int is_null_cell(const char *cell) { return strcmp(cell, "\x1e") == 0; }

/* ------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------ */

static void test_entry_describes_a_resumable_source(void **state) {
  NbConnector c = load_connector();
  (void)state;
  assert_string_equal(c.name, "generate");
  assert_true(c.capabilities & NB_CAP_SOURCE);
  assert_true(c.capabilities & NB_CAP_RESUMABLE);
  assert_false(c.capabilities & NB_CAP_DESTINATION);
  assert_int_equal(c.n_settings, 4);
  assert_string_equal(c.settings[0].name, "rows");
  assert_string_equal(c.settings[0].default_value, "1000");
  assert_string_equal(c.settings[1].name, "seed");
  assert_string_equal(c.settings[1].default_value, "42");
  assert_string_equal(c.settings[2].name, "schema");
  assert_string_equal(c.settings[2].choices, "taxi|simple");
  assert_string_equal(c.settings[3].name, "streams");
  assert_non_null(c.source_seek);
  assert_null(c.dest_open);
}

static void test_entry_refuses_another_major(void **state) {
  NbConnector c;
  NbError err;
  (void)state;
  memset(&c, 0, sizeof c);
  c.struct_size = (uint32_t)sizeof c;
  nb_error_init(&err);
  assert_int_equal(nebula_connector_entry(NB_ABI_VERSION(2, 0), &c, &err),
                   NB_ABI_MISMATCH);
  assert_int_equal(c.abi_version, NB_ABI_CURRENT);
  /* The SDK's entry helper says why (since ABI 1.1). */
  assert_int_equal(err.code, NB_ABI_MISMATCH);
  assert_non_null(err.message);
  assert_non_null(strstr(err.message, "the host provides ABI 2.0"));
  nb_error_release(&err);
}

static void test_taxi_schema_columns(void **state) {
  static const char *const names[] = {
      "vendor_id",      "pickup_datetime", "dropoff_datetime",
      "passenger_count", "trip_distance",  "rate_code",
      "pu_location_id", "do_location_id",
      "payment_type",   "fare_amount",     "tip_amount",
      "total_amount",   "pickup_zone",     "note"};
  NbConnector c = load_connector();
  TestHost th = {0};
  NbHostApi host = make_host(&th);
  TestSettings ts;
  NbOpenArgs args;
  NbError err;
  struct ArrowSchema schema;
  void *src = NULL;
  (void)state;
  settings_init(&ts, NULL, NULL, NULL, NULL); /* every default */
  args = make_args(&ts, 100, 1 << 20);
  nb_error_init(&err);
  assert_int_equal(c.source_open(&host, &args, &src, &err), NB_OK);
  memset(&schema, 0, sizeof schema);
  assert_int_equal(c.source_schema(src, 0, &schema, &err), NB_OK);
  assert_string_equal(schema.format, "+s");
  assert_int_equal(schema.n_children, 14);
  for (int i = 0; i < 14; i++) {
    assert_string_equal(schema.children[i]->name, names[i]);
    assert_string_equal(schema.children[i]->format, "u");
  }
  /* Only the dispatch fields are nullable. */
  assert_true(schema.children[3]->flags & ARROW_FLAG_NULLABLE);
  assert_true(schema.children[5]->flags & ARROW_FLAG_NULLABLE);
  assert_false(schema.children[0]->flags & ARROW_FLAG_NULLABLE);
  schema.release(&schema);
  c.source_close(src);
}

static void test_default_rows_is_1000(void **state) {
  Table t = {0};
  (void)state;
  read_all(NULL, NULL, NULL, NULL, 0, 300, 1 << 20, &t);
  assert_int_equal(t.n_rows, 1000);
  assert_int_equal(t.batches, 4);
  table_free(&t);
}

static void test_same_seed_same_rows(void **state) {
  Table a = {0}, b = {0}, other = {0};
  size_t differing = 0;
  (void)state;
  read_all("2000", "7", "taxi", NULL, 0, 128, 1 << 20, &a);
  read_all("2000", "7", "taxi", NULL, 0, 128, 1 << 20, &b);
  assert_tables_equal(&a, 0, &b);
  read_all("2000", "8", "taxi", NULL, 0, 128, 1 << 20, &other);
  assert_int_equal(other.n_rows, 2000);
  for (size_t i = 0; i < a.n_rows; i++)
    differing += strcmp(a.rows[i], other.rows[i]) != 0;
  assert_true(differing > 1990);
  table_free(&a);
  table_free(&b);
  table_free(&other);
}

/* FNV-1a over the rows: pins the exact output, so a change of the
 * generator (which would silently change every benchmark and test file
 * made from it) fails here first. */
static uint64_t table_hash(const Table *t) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < t->n_rows; i++) {
    for (const char *p = t->rows[i]; *p; p++) {
      h ^= (unsigned char)*p;
      h *= 0x100000001b3ull;
    }
    h ^= '\n';
    h *= 0x100000001b3ull;
  }
  return h;
}

/* The hash of the 1000 rows of the default settings.  Change it only with
 * a deliberate change of the generator, and say so in the change log:
 * every file made from the generator changes with it. */
#define TAXI_1000_SEED_42_HASH 0xcb68764dc1493323ull

static void test_output_is_pinned(void **state) {
  Table t = {0};
  (void)state;
  read_all("1000", "42", "taxi", NULL, 0, 1000, 1 << 20, &t);
  print_message("taxi seed 42 row 0: %s\n", t.rows[0]);
  assert_int_equal(table_hash(&t), TAXI_1000_SEED_42_HASH);
  table_free(&t);
}

static void test_batch_size_does_not_change_rows(void **state) {
  Table whole = {0}, ones = {0}, odd = {0};
  (void)state;
  read_all("777", "3", "taxi", NULL, 0, 777, 1 << 24, &whole);
  read_all("777", "3", "taxi", NULL, 0, 1, 1 << 24, &ones);
  read_all("777", "3", "taxi", NULL, 0, 100, 1 << 24, &odd);
  assert_int_equal(whole.batches, 1);
  assert_int_equal(ones.batches, 777);
  assert_int_equal(odd.batches, 8); /* 7 x 100 + 77 */
  assert_int_equal(odd.max_batch_rows, 100);
  assert_tables_equal(&whole, 0, &ones);
  assert_tables_equal(&whole, 0, &odd);
  table_free(&whole);
  table_free(&ones);
  table_free(&odd);
}

static void test_batch_bytes_limit_batches(void **state) {
  Table t = {0};
  (void)state;
  /* About 4 KiB per batch: far fewer than batch_rows rows each, and never
   * more than needed to pass the byte bound. */
  read_all("1000", "1", "taxi", NULL, 0, 1000, 4096, &t);
  assert_int_equal(t.n_rows, 1000);
  assert_true(t.batches > 10);
  assert_true(t.max_batch_rows < 100);
  table_free(&t);
}

static void test_zero_rows_ends_at_once(void **state) {
  Table t = {0};
  (void)state;
  read_all("0", NULL, NULL, NULL, 0, 10, 1 << 20, &t);
  assert_int_equal(t.n_rows, 0);
  assert_int_equal(t.batches, 0);
  table_free(&t);
}

/* Open, seek stream 0 to `position`, read to the end. */
static void read_after_seek(const char *rows, const char *seed,
                            const char *schema, const void *position,
                            size_t position_len, uint64_t batch_rows,
                            Table *t) {
  NbConnector c = load_connector();
  TestHost th = {0};
  NbHostApi host = make_host(&th);
  TestSettings ts;
  NbOpenArgs args;
  NbError err;
  void *src = NULL;
  settings_init(&ts, rows, seed, schema, NULL);
  args = make_args(&ts, batch_rows, 1 << 24);
  nb_error_init(&err);
  assert_int_equal(c.source_open(&host, &args, &src, &err), NB_OK);
  assert_int_equal(c.source_seek(src, 0, position, position_len, &err), NB_OK);
  read_stream(&c, src, 0, t);
  c.source_close(src);
}

static void test_seek_equals_tail_of_full_read(void **state) {
  static const uint64_t starts[] = {0, 1, 36, 37, 250, 499, 500};
  Table full = {0};
  (void)state;
  read_all("500", "11", "taxi", NULL, 0, 37, 1 << 24, &full);
  for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
    Table tail = {0};
    unsigned char pos[NB_POSITION_MAX_BYTES];
    uint64_t v[3] = {starts[i], 11, SCHEMA_TAXI};
    size_t len = nb_position_encode(pos, sizeof pos, v, 3);
    assert_true(len > 0);
    read_after_seek("500", "11", "taxi", pos, len, 64, &tail);
    assert_tables_equal(&full, (size_t)starts[i], &tail);
    table_free(&tail);
  }
  table_free(&full);
}

static void test_seek_with_reported_position(void **state) {
  NbConnector c = load_connector();
  TestHost th = {0};
  NbHostApi host = make_host(&th);
  TestSettings ts;
  NbOpenArgs args;
  NbError err;
  struct ArrowArray batch;
  NbBatchInfo info;
  unsigned char pos[NB_POSITION_MAX_BYTES];
  size_t pos_len;
  void *src = NULL;
  Table full = {0}, tail = {0};
  (void)state;
  read_all("300", "5", "simple", NULL, 0, 300, 1 << 24, &full);

  /* Read two batches of 40, keep the position after the second. */
  settings_init(&ts, "300", "5", "simple", NULL);
  args = make_args(&ts, 40, 1 << 24);
  nb_error_init(&err);
  assert_int_equal(c.source_open(&host, &args, &src, &err), NB_OK);
  for (int i = 0; i < 2; i++) {
    memset(&batch, 0, sizeof batch);
    memset(&info, 0, sizeof info);
    info.struct_size = (uint32_t)sizeof info;
    assert_int_equal(c.source_next(src, 0, &batch, &info, &err), NB_OK);
    assert_int_equal(batch.length, 40);
    batch.release(&batch);
  }
  pos_len = info.position_len;
  memcpy(pos, info.position, pos_len);
  c.source_close(src);

  read_after_seek("300", "5", "simple", pos, pos_len, 40, &tail);
  assert_int_equal(tail.n_rows, 220);
  assert_tables_equal(&full, 80, &tail);
  /* The simple schema's id is the row number. */
  assert_memory_equal(tail.rows[0], "80\x1f", 3);
  table_free(&full);
  table_free(&tail);
}

static int open_and_seek(const char *rows, const char *seed, const char *schema,
                         const void *pos, size_t len, NbError *err) {
  NbConnector c = load_connector();
  TestHost th = {0};
  NbHostApi host = make_host(&th);
  TestSettings ts;
  NbOpenArgs args;
  void *src = NULL;
  int rc;
  settings_init(&ts, rows, seed, schema, NULL);
  args = make_args(&ts, 10, 1 << 20);
  assert_int_equal(c.source_open(&host, &args, &src, err), NB_OK);
  rc = c.source_seek(src, 0, pos, len, err);
  c.source_close(src);
  return rc;
}

static void test_seek_refuses_foreign_positions(void **state) {
  unsigned char pos[NB_POSITION_MAX_BYTES];
  uint64_t v[3] = {10, 42, SCHEMA_TAXI};
  size_t len = nb_position_encode(pos, sizeof pos, v, 3);
  NbError err;
  (void)state;

  nb_error_init(&err);
  assert_int_equal(open_and_seek("100", "43", NULL, pos, len, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "other settings"));
  assert_non_null(strstr(err.detail, "seed 42"));
  nb_error_release(&err);

  nb_error_init(&err);
  assert_int_equal(open_and_seek("100", "42", "simple", pos, len, &err),
                   NB_INVALID);
  nb_error_release(&err);

  nb_error_init(&err);
  assert_int_equal(open_and_seek("5", "42", NULL, pos, len, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "beyond its end"));
  nb_error_release(&err);

  nb_error_init(&err);
  assert_int_equal(open_and_seek("100", "42", NULL, "garbage", 7, &err),
                   NB_INVALID);
  nb_error_release(&err);

  nb_error_init(&err);
  assert_int_equal(open_and_seek("100", "42", NULL, pos, len, &err), NB_OK);
}

static void test_streams_have_names_and_own_seeds(void **state) {
  NbConnector c = load_connector();
  TestHost th = {0};
  NbHostApi host = make_host(&th);
  TestSettings ts;
  NbOpenArgs args;
  NbError err;
  void *src = NULL;
  uint32_t count = 0;
  Table single = {0}, s0 = {0}, s1 = {0}, s2 = {0};
  (void)state;
  settings_init(&ts, "200", "9", NULL, "3");
  args = make_args(&ts, 50, 1 << 20);
  nb_error_init(&err);
  assert_int_equal(c.source_open(&host, &args, &src, &err), NB_OK);
  assert_int_equal(c.source_stream_count(src, &count, &err), NB_OK);
  assert_int_equal(count, 3);
  for (uint32_t i = 0; i < 3; i++) {
    NbStreamInfo info;
    char expected[32];
    memset(&info, 0, sizeof info);
    info.struct_size = (uint32_t)sizeof info;
    assert_int_equal(c.source_stream_info(src, i, &info, &err), NB_OK);
    snprintf(expected, sizeof expected, "generate-%u", (unsigned)i);
    assert_string_equal(info.name, expected);
    assert_int_equal(info.size_bytes, -1);
  }
  {
    NbStreamInfo info;
    memset(&info, 0, sizeof info);
    info.struct_size = (uint32_t)sizeof info;
    assert_int_equal(c.source_stream_info(src, 3, &info, &err), NB_NOT_FOUND);
    nb_error_release(&err);
  }
  /* Streams read interleaved are independent of each other. */
  read_stream(&c, src, 2, &s2);
  read_stream(&c, src, 0, &s0);
  read_stream(&c, src, 1, &s1);
  c.source_close(src);

  read_all("200", "9", NULL, NULL, 0, 50, 1 << 20, &single);
  assert_tables_equal(&single, 0, &s0);
  assert_int_equal(s1.n_rows, 200);
  assert_int_equal(s2.n_rows, 200);
  assert_string_not_equal(s0.rows[0], s1.rows[0]);
  assert_string_not_equal(s1.rows[0], s2.rows[0]);
  table_free(&single);
  table_free(&s0);
  table_free(&s1);
  table_free(&s2);
}

static void expect_open_error(const char *rows, const char *schema,
                              const char *streams, const char *needle) {
  NbConnector c = load_connector();
  TestHost th = {0};
  NbHostApi host = make_host(&th);
  TestSettings ts;
  NbOpenArgs args;
  NbError err;
  void *src = (void *)&th;
  settings_init(&ts, rows, NULL, schema, streams);
  args = make_args(&ts, 10, 1 << 20);
  nb_error_init(&err);
  assert_int_equal(c.source_open(&host, &args, &src, &err), NB_INVALID);
  assert_null(src);
  assert_non_null(err.message);
  assert_non_null(strstr(err.message, needle));
  nb_error_release(&err);
}

static void test_invalid_settings_are_named(void **state) {
  (void)state;
  expect_open_error("-1", NULL, NULL, "\"rows\"");
  expect_open_error(NULL, NULL, "0", "\"streams\"");
  expect_open_error(NULL, NULL, "100001", "\"streams\"");
  expect_open_error("many", NULL, NULL, "rows");
  expect_open_error(NULL, "nyc", NULL, "schema");
}

static void test_cancel_stops_the_stream(void **state) {
  NbConnector c = load_connector();
  TestHost th = {0};
  NbHostApi host = make_host(&th);
  TestSettings ts;
  NbOpenArgs args;
  NbError err;
  struct ArrowArray batch;
  void *src = NULL;
  (void)state;
  settings_init(&ts, "100", NULL, NULL, NULL);
  args = make_args(&ts, 10, 1 << 20);
  nb_error_init(&err);
  assert_int_equal(c.source_open(&host, &args, &src, &err), NB_OK);
  th.cancelled = 1;
  memset(&batch, 0, sizeof batch);
  assert_int_equal(c.source_next(src, 0, &batch, NULL, &err), NB_CANCELLED);
  assert_null(batch.release);
  nb_error_release(&err);
  c.source_close(src);
}

/* Length of a value written as a CSV field (quoted when it holds a comma,
 * a quote or a newline; quotes doubled). */
static size_t csv_field_length(const char *cell) {
  size_t len = strlen(cell), quotes = 0;
  if (strpbrk(cell, ",\"\n") == NULL) return len;
  for (const char *p = cell; *p; p++) quotes += *p == '"';
  return len + quotes + 2;
}

static int is_datetime(const char *s) {
  static const char shape[] = "dddd-dd-dd dd:dd:dd";
  if (strlen(s) != sizeof shape - 1) return 0;
  for (size_t i = 0; shape[i]; i++) {
    if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
      return 0;
  }
  return 1;
}

static int is_cents(const char *s) {
  size_t len;
  if (*s == '-') s++;
  len = strlen(s);
  if (len < 4 || s[len - 3] != '.') return 0;
  for (size_t i = 0; i < len; i++)
    if (i != len - 3 && (s[i] < '0' || s[i] > '9')) return 0;
  return 1;
}

static double per_cent(size_t n, size_t total) {
  return 100.0 * (double)n / (double)total;
}

static void test_taxi_values_and_frequencies(void **state) {
  enum { ROWS = 20000 };
  Table t = {0};
  size_t null_passengers = 0, comma_zones = 0, notes_set = 0;
  size_t quoted_notes = 0, comma_notes = 0, negative_fares = 0;
  size_t csv_bytes = 0;
  (void)state;
  read_all("20000", "123", "taxi", NULL, 0, 4096, 1 << 24, &t);
  assert_int_equal(t.n_rows, ROWS);
  for (size_t i = 0; i < t.n_rows; i++) {
    char *cells[15];
    size_t n = split_cells(t.rows[i], cells, 16);
    assert_int_equal(n, 14);
    assert_true(strchr("126", cells[0][0]) != NULL && cells[0][1] == '\0');
    assert_true(is_datetime(cells[1]));
    assert_true(is_datetime(cells[2]));
    assert_true(strcmp(cells[1], cells[2]) < 0); /* drop-off after pick-up */
    if (is_null_cell(cells[3])) {
      null_passengers++;
      assert_true(is_null_cell(cells[5])); /* the dispatch fields together */
    } else {
      assert_true(cells[3][0] >= '0' && cells[3][0] <= '6');
      assert_false(is_null_cell(cells[5]));
    }
    assert_true(is_cents(cells[4]));
    assert_true(atoi(cells[6]) >= 1 && atoi(cells[6]) <= 265);
    assert_true(atoi(cells[7]) >= 1 && atoi(cells[7]) <= 265);
    assert_true(atoi(cells[8]) >= 1 && atoi(cells[8]) <= 4);
    assert_true(is_cents(cells[9]));
    assert_true(is_cents(cells[10]));
    assert_true(is_cents(cells[11]));
    if (cells[9][0] == '-') {
      negative_fares++;
      assert_true(cells[11][0] == '-'); /* a refund's total is negative */
    } else {
      assert_true(cells[11][0] != '-');
    }
    comma_zones += strchr(cells[12], ',') != NULL;
    assert_false(is_null_cell(cells[13]));
    if (cells[13][0] != '\0') {
      notes_set++;
      quoted_notes += strchr(cells[13], '"') != NULL;
      comma_notes += strchr(cells[13], ',') != NULL;
    }
    for (size_t c = 0; c < n; c++)
      if (!is_null_cell(cells[c])) csv_bytes += csv_field_length(cells[c]);
    csv_bytes += 14; /* 13 commas and the newline */
  }
  print_message("null passenger_count %.2f%%, comma zones %.2f%%, notes %.2f%%, "
                "quoted notes %.2f%%, comma notes %.2f%%, negative fares "
                "%.2f%%, %.1f CSV bytes a row\n",
                per_cent(null_passengers, ROWS), per_cent(comma_zones, ROWS),
                per_cent(notes_set, ROWS), per_cent(quoted_notes, ROWS),
                per_cent(comma_notes, ROWS), per_cent(negative_fares, ROWS),
                (double)csv_bytes / ROWS);
  /* Ranges are about +-5 standard deviations around the design values. */
  assert_true(per_cent(null_passengers, ROWS) > 4.2 &&
              per_cent(null_passengers, ROWS) < 5.8);
  assert_true(per_cent(comma_zones, ROWS) > 28.0 &&
              per_cent(comma_zones, ROWS) < 32.5);
  assert_true(per_cent(notes_set, ROWS) > 28.4 && per_cent(notes_set, ROWS) < 31.6);
  assert_true(per_cent(quoted_notes, ROWS) > 5.1 && per_cent(quoted_notes, ROWS) < 6.9);
  assert_true(per_cent(comma_notes, ROWS) > 10.8 && per_cent(comma_notes, ROWS) < 13.2);
  assert_true(per_cent(negative_fares, ROWS) > 0.6 &&
              per_cent(negative_fares, ROWS) < 1.4);
  assert_true(csv_bytes / ROWS > 115 && csv_bytes / ROWS < 135);
  table_free(&t);
}

static void test_datetime_edges(void **state) {
  static const struct {
    uint32_t secs;
    const char *text;
  } cases[] = {
      {0, "2024-01-01 00:00:00"},
      {31u * 86400 - 1, "2024-01-31 23:59:59"},
      {31u * 86400, "2024-02-01 00:00:00"},
      {59u * 86400 + 3661, "2024-02-29 01:01:01"},
      {60u * 86400, "2024-03-01 00:00:00"},
      {335u * 86400 + 86399, "2024-12-01 23:59:59"},
      {366u * 86400 - 1, "2024-12-31 23:59:59"},
      {366u * 86400, "2025-01-01 00:00:00"},
      {(366u + 59) * 86400, "2025-03-01 00:00:00"},
      {731u * 86400 - 1, "2025-12-31 23:59:59"},
  };
  TextTables *t = malloc(sizeof *t);
  (void)state;
  assert_non_null(t);
  text_tables_init(t);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[32];
    char *end = put_datetime(buf, t, cases[i].secs);
    *end = '\0';
    assert_string_equal(buf, cases[i].text);
  }
  /* Every day and many times of day, against the C library's calendar
   * (2024-01-01 00:00:00 UTC is 1704067200 seconds after the epoch). */
  for (uint32_t secs = 0; secs < 731u * 86400; secs += 7919) {
    char buf[32], want[32];
    struct tm tm;
    time_t when = (time_t)1704067200 + (time_t)secs;
    assert_non_null(gmtime_r(&when, &tm));
    assert_int_equal(strftime(want, sizeof want, "%Y-%m-%d %H:%M:%S", &tm), 19);
    *put_datetime(buf, t, secs) = '\0';
    assert_string_equal(buf, want);
  }
  free(t);
}

static void test_number_formatting(void **state) {
  static const struct {
    int64_t cents;
    const char *text;
  } cases[] = {{0, "0.00"},       {5, "0.05"},     {-5, "-0.05"},
               {100, "1.00"},     {1234, "12.34"}, {-99999, "-999.99"},
               {INT64_MIN, "-92233720368547758.08"}};
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[32];
    char *end = put_cents(buf, cases[i].cents);
    *end = '\0';
    assert_string_equal(buf, cases[i].text);
  }
  {
    char buf[32];
    *put_uint(buf, UINT64_MAX) = '\0';
    assert_string_equal(buf, "18446744073709551615");
    *put_uint(buf, 7) = '\0';
    assert_string_equal(buf, "7");
  }
  {
    static const uint64_t values[] = {0, 9, 10, 99, 100, 999, 1000, 9999, 10000,
                                      123456789};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
      char fast[32], slow[32];
      *put_small_uint(fast, values[i]) = '\0';
      snprintf(slow, sizeof slow, "%llu", (unsigned long long)values[i]);
      assert_string_equal(fast, slow);
    }
  }
}

/* The table-driven formatters write what the general ones write, around
 * every change of digit count and on both sides of the table's end. */
static void test_table_formatting(void **state) {
  TextTables *t = malloc(sizeof *t);
  (void)state;
  assert_non_null(t);
  text_tables_init(t);
  for (int64_t cents = -250000; cents <= 250000; cents++) {
    char fast[48], slow[48];
    *put_amount(fast, t, cents) = '\0';
    *put_cents(slow, cents) = '\0';
    assert_string_equal(fast, slow);
  }
  {
    static const int64_t extremes[] = {INT64_MIN, INT64_MIN + 1, INT64_MAX,
                                       99999, 100000, -99999, -100000};
    for (size_t i = 0; i < sizeof extremes / sizeof extremes[0]; i++) {
      char fast[48], slow[48];
      *put_amount(fast, t, extremes[i]) = '\0';
      *put_cents(slow, extremes[i]) = '\0';
      assert_string_equal(fast, slow);
    }
  }
  for (uint32_t v = 0; v < 20000; v++) {
    char fast[32], slow[32];
    *put_id(fast, t, v) = '\0';
    snprintf(slow, sizeof slow, "%u", v);
    assert_string_equal(fast, slow);
  }
  free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_entry_describes_a_resumable_source),
      cmocka_unit_test(test_entry_refuses_another_major),
      cmocka_unit_test(test_taxi_schema_columns),
      cmocka_unit_test(test_default_rows_is_1000),
      cmocka_unit_test(test_same_seed_same_rows),
      cmocka_unit_test(test_output_is_pinned),
      cmocka_unit_test(test_batch_size_does_not_change_rows),
      cmocka_unit_test(test_batch_bytes_limit_batches),
      cmocka_unit_test(test_zero_rows_ends_at_once),
      cmocka_unit_test(test_seek_equals_tail_of_full_read),
      cmocka_unit_test(test_seek_with_reported_position),
      cmocka_unit_test(test_seek_refuses_foreign_positions),
      cmocka_unit_test(test_streams_have_names_and_own_seeds),
      cmocka_unit_test(test_invalid_settings_are_named),
      cmocka_unit_test(test_cancel_stops_the_stream),
      cmocka_unit_test(test_taxi_values_and_frequencies),
      cmocka_unit_test(test_datetime_edges),
      cmocka_unit_test(test_number_formatting),
      cmocka_unit_test(test_table_formatting),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
