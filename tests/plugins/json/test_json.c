/*
 * test_json.c - the json connector through its vtable, with a test host
 * whose file functions use plain stdio (and can read one byte at a time):
 * types and columns, schema widening, bad lines, array documents, resume
 * of the source, the destination's output, escaping, refusals, array
 * brackets across commits and resume, and an exact json -> json round
 * trip.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "json_connector.h"

int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);

/* ------------------------------------------------------------------------
 * A stdio host
 * ------------------------------------------------------------------------ */

struct NbFile {
  FILE *fp;
  size_t chunk;
  long fail_at;            /* offset where file_read fails once; -1: never */
  int fail_code;
  const int *fail_writes;  /* file_write fails while *fail_writes */
};

typedef struct TestHost {
  NbHostApi api;
  size_t chunk;            /* bytes per file_read */
  int warnings;
  long fail_at;            /* copied to files opened for reading */
  int fail_code;
  char last_warning[512];
  int64_t dropped;         /* counter json_duplicate_members_dropped */
  int fail_writes;         /* file_write fails (NB_IO) while set */
} TestHost;

static void host_log(void *h, int level, const char *message) {
  TestHost *t = h;
  if (level > NB_LOG_WARN) return;
  t->warnings++;
  snprintf(t->last_warning, sizeof t->last_warning, "%s", message);
}
static int host_cancelled(void *h) { (void)h; return 0; }

static void host_counter_add(void *h, const char *name, int64_t delta) {
  if (strcmp(name, "json_duplicate_members_dropped") == 0) ((TestHost *)h)->dropped += delta;
}

static int host_open_read(void *h, const char *path, NbFile **out, NbError *err) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL)
    return nb_error_set(err, errno == ENOENT ? NB_NOT_FOUND : NB_IO,
                        "could not open file \"%s\": %s", path, strerror(errno));
  NbFile *f = calloc(1, sizeof *f);
  f->fp = fp;
  f->chunk = ((TestHost *)h)->chunk;
  f->fail_at = ((TestHost *)h)->fail_at;
  f->fail_code = ((TestHost *)h)->fail_code;
  *out = f;
  return NB_OK;
}

/* Reads at most chunk bytes; fails once (not sticky, unlike the real
 * file layer: the reader must remember) on reaching fail_at. */
static int host_read(NbFile *f, void *buf, size_t cap, size_t *n, NbError *err) {
  long at = ftell(f->fp);
  size_t want = cap < f->chunk ? cap : f->chunk;
  *n = 0;
  if (f->fail_at >= 0 && at >= f->fail_at) {
    f->fail_at = -1;
    return nb_error_set(err, f->fail_code, "truncated gzip data in the test file at byte %ld", at);
  }
  if (f->fail_at >= 0 && (long)want > f->fail_at - at) want = (size_t)(f->fail_at - at);
  *n = fread(buf, 1, want, f->fp);
  return NB_OK;
}

static int host_skip(NbFile *f, uint64_t n, NbError *err) {
  (void)err;
  char buf[256];
  while (n > 0) {
    size_t k = fread(buf, 1, n < sizeof buf ? (size_t)n : sizeof buf, f->fp);
    if (k == 0) return NB_END;
    n -= k;
  }
  return NB_OK;
}

static int host_open_write(void *h, const char *path, const NbWriteOptions *o,
                           NbFile **out, NbError *err) {
  FILE *fp;
  if (o != NULL && o->resume_length >= 0) {
    if (truncate(path, o->resume_length) != 0)
      return nb_error_set(err, NB_IO, "could not truncate \"%s\"", path);
    fp = fopen(path, "ab");
  } else {
    fp = fopen(path, "wb");
  }
  if (fp == NULL) return nb_error_set(err, NB_IO, "could not open \"%s\"", path);
  NbFile *f = calloc(1, sizeof *f);
  f->fp = fp;
  f->fail_writes = &((TestHost *)h)->fail_writes;
  *out = f;
  return NB_OK;
}

static int host_write(NbFile *f, const void *buf, size_t len, NbError *err) {
  if (f->fail_writes != NULL && *f->fail_writes)
    return nb_error_set(err, NB_IO, "could not write: No space left on device");
  if (fwrite(buf, 1, len, f->fp) != len) return nb_error_set(err, NB_IO, "short write");
  return NB_OK;
}

static int host_commit(NbFile *f, uint64_t *len, NbError *err) {
  (void)err;
  fflush(f->fp);
  *len = (uint64_t)ftell(f->fp);
  return NB_OK;
}

static int host_close(NbFile *f, NbError *err) {
  (void)err;
  if (f == NULL) return NB_OK;
  fclose(f->fp);
  free(f);
  return NB_OK;
}

static void host_init(TestHost *h, size_t chunk) {
  memset(h, 0, sizeof *h);
  h->chunk = chunk;
  h->fail_at = -1;
  h->api.struct_size = sizeof h->api;
  h->api.abi_version = NB_ABI_CURRENT;
  h->api.host_data = h;
  h->api.log = host_log;
  h->api.is_cancelled = host_cancelled;
  h->api.counter_add = host_counter_add;
  h->api.file_open_read = host_open_read;
  h->api.file_read = host_read;
  h->api.file_open_write = host_open_write;
  h->api.file_write = host_write;
  h->api.file_commit = host_commit;
  h->api.file_close = host_close;
  h->api.file_skip = host_skip;
}

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static char tmpdir[64];

static const char *tmp_path(const char *name) {
  static char buf[4][256];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
  return buf[k];
}

static void write_file(const char *path, const char *data) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  fwrite(data, 1, strlen(data), fp);
  fclose(fp);
}

static char *read_file(const char *path) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  char *s = calloc(1, 1 << 20);
  size_t n = fread(s, 1, (1 << 20) - 1, fp);
  s[n] = '\0';
  fclose(fp);
  return s;
}

typedef struct Open {
  const char *names[8];
  const char *values[8];
  NbSettings settings;
  NbOpenArgs args;
} Open;

/* name=value pairs, NULL-terminated. */
static void open_args(Open *o, uint64_t batch_rows, ...) {
  va_list ap;
  uint32_t n = 0;
  memset(o, 0, sizeof *o);
  va_start(ap, batch_rows);
  const char *name;
  while ((name = va_arg(ap, const char *)) != NULL) {
    o->names[n] = name;
    o->values[n] = va_arg(ap, const char *);
    n++;
  }
  va_end(ap);
  o->settings.struct_size = sizeof o->settings;
  o->settings.count = n;
  o->settings.names = o->names;
  o->settings.values = o->values;
  o->args.struct_size = sizeof o->args;
  o->args.settings = &o->settings;
  o->args.batch_rows = batch_rows;
  o->args.batch_bytes = 1 << 20;
}

/* A batch read back: schema, views and text cells. */
typedef struct Batch {
  struct ArrowSchema schema;
  struct ArrowArray array;
  NbColumnView *views;
  size_t n;
} Batch;

static void batch_free(Batch *b) {
  free(b->views);
  if (b->array.release) b->array.release(&b->array);
  if (b->schema.release) b->schema.release(&b->schema);
  memset(b, 0, sizeof *b);
}

/* source_schema then source_next; returns the status of source_next. */
static int next_batch(void *src, Batch *b, NbError *err, NbBatchInfo *info) {
  memset(b, 0, sizeof *b);
  assert_int_equal(json_source_schema(src, 0, &b->schema, err), NB_OK);
  int rc = json_source_next(src, 0, &b->array, info, err);
  if (getenv("JSON_TEST_DEBUG") && err && err->message) fprintf(stderr, "next: %d %s\n", rc, err->message);
  if (rc == NB_OK) assert_int_equal(nb_batch_views(&b->schema, &b->array, &b->views, &b->n, NULL), NB_OK);
  return rc;
}

static const char *cell(const Batch *b, size_t col, int64_t row) {
  static char scratch[NB_TEXT_SCRATCH];
  static char out[512];
  const char *text;
  if (nb_view_is_null(&b->views[col], row)) return "NULL";
  size_t n = nb_view_text(&b->views[col], row, scratch, &text);
  assert_true(n < sizeof out);
  memcpy(out, text, n);
  out[n] = '\0';
  return out;
}

static void expect_field(const Batch *b, size_t col, const char *name, NbType type) {
  assert_true(col < b->n);
  assert_string_equal(b->views[col].field.name, name);
  assert_int_equal(b->views[col].field.type, type);
}

/* ------------------------------------------------------------------------
 * Source
 * ------------------------------------------------------------------------ */

static void check_records_jsonl(size_t chunk) {
  TestHost h;
  Open o;
  void *src;
  Batch b;
  NbError e;
  nb_error_init(&e);
  host_init(&h, chunk);
  open_args(&o, 1000, "path", JSON_TEST_DATA "/records.jsonl", NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, &e), NB_OK);
  assert_int_equal(next_batch(src, &b, &e, NULL), NB_OK);
  assert_int_equal(b.array.length, 3);
  assert_int_equal(b.n, 6);
  expect_field(&b, 0, "id", NB_TYPE_NUMBER);
  expect_field(&b, 1, "name", NB_TYPE_UTF8);
  expect_field(&b, 2, "score", NB_TYPE_NUMBER);
  expect_field(&b, 3, "tags", NB_TYPE_JSON);
  expect_field(&b, 4, "ok", NB_TYPE_BOOL);
  expect_field(&b, 5, "extra", NB_TYPE_JSON);
  assert_string_equal(cell(&b, 0, 0), "1");
  assert_string_equal(cell(&b, 1, 0), "Ada");
  assert_string_equal(cell(&b, 2, 0), "1.000000000000000000001");
  assert_string_equal(cell(&b, 3, 0), "[\"a\",\"b\"]");
  assert_string_equal(cell(&b, 4, 0), "true");
  assert_string_equal(cell(&b, 5, 0), "NULL");
  assert_string_equal(cell(&b, 1, 1), "caf\xc3\xa9 \xf0\x9f\x98\x80");
  assert_string_equal(cell(&b, 2, 1), "-0");
  assert_string_equal(cell(&b, 3, 1), "NULL");
  assert_string_equal(cell(&b, 4, 1), "false");
  assert_string_equal(cell(&b, 1, 2), "NULL");
  assert_string_equal(cell(&b, 2, 2), "1E400");
  assert_string_equal(cell(&b, 5, 2), "{\"k\":[1,2]}");
  assert_int_equal(nb_arrow_validate(&b.schema, &b.array, NULL), NB_OK);
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, &e, NULL), NB_END);
  batch_free(&b);
  json_source_close(src);
}

static void test_source_types(void **state) {
  (void)state;
  check_records_jsonl(1 << 20);
  check_records_jsonl(1); /* every record crosses read boundaries */
}

static void test_source_array_with_bom(void **state) {
  (void)state;
  TestHost h;
  Open o;
  void *src;
  Batch b;
  host_init(&h, 1);
  open_args(&o, 1000, "path", JSON_TEST_DATA "/records.json", NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  assert_int_equal(b.array.length, 2);
  expect_field(&b, 0, "id", NB_TYPE_NUMBER);
  expect_field(&b, 1, "name", NB_TYPE_UTF8);
  assert_string_equal(cell(&b, 1, 1), "Bob");
  batch_free(&b);
  json_source_close(src);

  /* Read as JSON Lines, the whole array is one value: a value goes on
   * over the next lines while an array or object is open. */
  open_args(&o, 1000, "path", JSON_TEST_DATA "/records.json", "format", "lines", NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  assert_int_equal(b.array.length, 1);
  expect_field(&b, 0, "value", NB_TYPE_JSON);
  assert_string_equal(cell(&b, 0, 0), "[{\"id\":1,\"name\":\"Ada\"},{\"id\":2,\"name\":\"Bob\"}]");
  batch_free(&b);
  json_source_close(src);
}

static void test_schema_widening(void **state) {
  (void)state;
  TestHost h;
  Open o;
  void *src;
  Batch b;
  const char *path = tmp_path("widen.jsonl");
  write_file(path, "{\"a\":1}\n{\"a\":\"x\\u00e9\",\"b\":true}\n{\"a\":null,\"b\":false}\n");
  host_init(&h, 1 << 20);
  open_args(&o, 1, "path", path, NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  assert_int_equal(b.n, 1);
  expect_field(&b, 0, "a", NB_TYPE_NUMBER);
  assert_string_equal(cell(&b, 0, 0), "1");
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_SCHEMA_CHANGED);
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  assert_int_equal(b.n, 2);
  expect_field(&b, 0, "a", NB_TYPE_JSON);
  expect_field(&b, 1, "b", NB_TYPE_BOOL);
  assert_string_equal(cell(&b, 0, 0), "\"x\\u00e9\""); /* the string as written */
  assert_string_equal(cell(&b, 1, 0), "true");
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  assert_string_equal(cell(&b, 0, 0), "NULL");
  assert_string_equal(cell(&b, 1, 0), "false");
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_END);
  batch_free(&b);
  json_source_close(src);

  /* A column with only nulls takes the type of its first value; new
   * columns of a bigger batch end it early. */
  write_file(path, "{\"a\":null,\"b\":\"s\"}\n{\"a\":5,\"b\":\"t\"}\n{\"a\":6,\"b\":\"u\",\"c\":[]}\n");
  open_args(&o, 1, "path", path, NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  expect_field(&b, 0, "a", NB_TYPE_UTF8);
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_SCHEMA_CHANGED);
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  expect_field(&b, 0, "a", NB_TYPE_NUMBER);
  assert_string_equal(cell(&b, 0, 0), "5");
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_SCHEMA_CHANGED);
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  expect_field(&b, 2, "c", NB_TYPE_JSON);
  assert_string_equal(cell(&b, 2, 0), "[]");
  batch_free(&b);
  json_source_close(src);
}

static void test_bad_line_then_continue(void **state) {
  (void)state;
  TestHost h;
  Open o;
  void *src;
  Batch b;
  NbError e;
  NbBatchInfo info;
  const char *path = tmp_path("bad.jsonl");
  write_file(path, "{\"a\":1}\n{\"a\":2}\n{\"a\":}\r\n{\"a\":4}\n");
  host_init(&h, 1);
  open_args(&o, 100, "path", path, NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  assert_int_equal(b.array.length, 2);
  batch_free(&b);
  nb_error_init(&e);
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  assert_int_equal(next_batch(src, &b, &e, &info), NB_DATA);
  batch_free(&b);
  assert_int_equal(e.code, NB_DATA);
  assert_string_equal(e.location, path);
  assert_int_equal(e.line, 3);
  assert_int_equal(e.column, 6);
  assert_int_equal(e.record_len, 6);
  assert_memory_equal(e.record, "{\"a\":}", 6);
  assert_non_null(strstr(e.message, "expected a JSON value"));
  nb_error_release(&e);
  uint64_t v[6];
  assert_int_equal(nb_position_decode(info.position, info.position_len, v, 6, NULL), NB_OK);
  assert_int_equal(v[0], 24); /* after "{\"a\":}\r\n" */
  assert_int_equal(v[1], 4);
  assert_int_equal(v[2], 3);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  assert_int_equal(b.array.length, 1);
  assert_string_equal(cell(&b, 0, 0), "4");
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_END);
  batch_free(&b);
  json_source_close(src);
}

/* A read failure (corrupt or truncated compressed input: NB_DATA from
 * the host's file_read) after the second record began: the first record
 * is delivered, then the stream ends with NB_IO, again at every call,
 * although this host would go on reading.  Never NB_DATA: that would tell
 * the engine to skip a record and call again, forever. */
static void check_damaged_input(const char *text, long fail_at, size_t chunk,
                                int64_t rows_before) {
  TestHost h;
  Open o;
  void *src;
  Batch b;
  NbError e;
  const char *path = tmp_path("damaged.json");
  write_file(path, text);
  host_init(&h, chunk);
  h.fail_at = fail_at;
  h.fail_code = NB_DATA;
  open_args(&o, 100, "path", path, NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  nb_error_init(&e);
  if (rows_before > 0) {
    assert_int_equal(next_batch(src, &b, &e, NULL), NB_OK);
    assert_int_equal(b.array.length, rows_before);
    assert_string_equal(cell(&b, 0, 0), "1");
    batch_free(&b);
    for (int i = 0; i < 3; i++) {
      assert_int_equal(json_source_next(src, 0, &b.array, NULL, &e), NB_IO);
      assert_int_equal(e.code, NB_IO);
      assert_non_null(strstr(e.message, "truncated gzip data"));
      assert_string_equal(e.location, path);
      assert_null(e.record);
      nb_error_release(&e);
    }
  } else {
    memset(&b, 0, sizeof b);
    for (int i = 0; i < 3; i++) {
      assert_int_equal(json_source_schema(src, 0, &b.schema, &e), NB_IO);
      assert_non_null(strstr(e.message, "truncated gzip data"));
      nb_error_release(&e);
    }
  }
  json_source_close(src);
}

static void test_damaged_input_ends_stream(void **state) {
  (void)state;
  const char *lines = "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n";
  const char *array = "[{\"a\":1},\n{\"a\":2},\n{\"a\":3}]\n";
  check_damaged_input(lines, 12, 1 << 20, 1);
  check_damaged_input(lines, 12, 1, 1);
  check_damaged_input(lines, 16, 3, 2);
  check_damaged_input(array, 14, 1 << 20, 1);
  check_damaged_input(lines, 0, 1 << 20, 0);
}

/* Read path with duplicate_keys = mode (NULL: the default); returns the
 * cells of column "a" of all rows, comma-separated, and the status of the
 * first call that was not NB_OK/NB_SCHEMA_CHANGED other than NB_END
 * (error filled) in *bad. */
static void read_column_a(const char *path, const char *mode, char *out, size_t cap,
                          int *bad, NbError *e, TestHost *h) {
  Open o;
  void *src;
  Batch b;
  host_init(h, 1 << 20);
  if (mode) open_args(&o, 100, "path", path, "duplicate_keys", mode, NULL);
  else open_args(&o, 100, "path", path, NULL);
  assert_int_equal(json_source_open(&h->api, &o.args, &src, NULL), NB_OK);
  out[0] = '\0';
  *bad = NB_OK;
  for (int guard = 0; guard < 20; guard++) {
    NbError local;
    nb_error_init(&local);
    int rc = next_batch(src, &b, &local, NULL);
    if (rc == NB_OK) {
      size_t col = 0;
      while (col < b.n && strcmp(b.views[col].field.name, "a") != 0) col++;
      assert_true(col < b.n);
      for (int64_t r = 0; r < b.array.length; r++) {
        strncat(out, cell(&b, col, r), cap - strlen(out) - 2);
        strcat(out, ",");
      }
    } else if (rc != NB_SCHEMA_CHANGED && rc != NB_END && *bad == NB_OK) {
      *bad = rc;
      *e = local;
      nb_error_init(&local);
    }
    nb_error_release(&local);
    batch_free(&b);
    if (rc == NB_END) break;
  }
  json_source_close(src);
}

static void test_duplicate_keys(void **state) {
  (void)state;
  TestHost h;
  NbError e;
  char got[512];
  int bad;
  const char *path = tmp_path("dup.jsonl");
  write_file(path, "{\"a\":1,\"a\":2}\n{\"a\":3}\n");

  /* Default: refused, naming file, line, column, record and name. */
  nb_error_init(&e);
  read_column_a(path, NULL, got, sizeof got, &bad, &e, &h);
  assert_string_equal(got, "3,");
  assert_int_equal(bad, NB_DATA);
  assert_non_null(strstr(e.message, "duplicate member name \"a\""));
  assert_non_null(strstr(e.message, "record 1"));
  assert_string_equal(e.location, path);
  assert_int_equal(e.line, 1);
  assert_int_equal(e.column, 12);
  assert_int_equal(e.record_len, 13);
  assert_non_null(strstr(e.hint, "duplicate_keys"));
  nb_error_release(&e);

  read_column_a(path, "error", got, sizeof got, &bad, &e, &h);
  assert_int_equal(bad, NB_DATA);
  nb_error_release(&e);

  /* Kept on request, never silently: counted and warned. */
  read_column_a(path, "first", got, sizeof got, &bad, &e, &h);
  assert_int_equal(bad, NB_OK);
  assert_string_equal(got, "1,3,");
  assert_int_equal(h.dropped, 1);
  assert_int_equal(h.warnings, 1);
  assert_non_null(strstr(h.last_warning, "duplicate member names"));

  read_column_a(path, "last", got, sizeof got, &bad, &e, &h);
  assert_int_equal(bad, NB_OK);
  assert_string_equal(got, "2,3,");
  assert_int_equal(h.dropped, 1);

  /* Objects of many members (the sorted path), a name three times. */
  char big[2048];
  size_t k = 0;
  k += (size_t)snprintf(big + k, sizeof big - k, "{");
  for (int i = 0; i < 40; i++) k += (size_t)snprintf(big + k, sizeof big - k, "\"k%d\":%d,", i, i);
  k += (size_t)snprintf(big + k, sizeof big - k, "\"a\":\"x\",\"k7\":70,\"a\":\"y\",\"a\":\"z\"}\n{\"a\":\"w\"}\n");
  write_file(path, big);
  read_column_a(path, NULL, got, sizeof got, &bad, &e, &h);
  assert_int_equal(bad, NB_DATA);
  assert_non_null(strstr(e.message, "duplicate member name \"k7\""));
  nb_error_release(&e);
  read_column_a(path, "first", got, sizeof got, &bad, &e, &h);
  assert_string_equal(got, "x,w,");
  assert_int_equal(h.dropped, 3);
  read_column_a(path, "last", got, sizeof got, &bad, &e, &h);
  assert_string_equal(got, "z,w,");
  assert_int_equal(h.dropped, 3);
}

/* max_columns bounds the columns of a stream and the members of an
 * object; max_record_bytes the size of a record: a record past either is
 * a bad record, the others go on. */
static void test_source_limits(void **state) {
  (void)state;
  TestHost h;
  Open o;
  void *src;
  Batch b;
  NbError e;
  const char *path = tmp_path("limits.jsonl");
  write_file(path, "{\"a\":1,\"b\":2}\n{\"c\":3,\"d\":4}\n{\"a\":5}\n"
                   "{\"a\":1,\"b\":2,\"a1\":3,\"b1\":4,\"c1\":5}\n{\"a\":\"0123456789012345678901234567890123456789\"}\n{\"a\":6}\n");
  host_init(&h, 1 << 20);
  open_args(&o, 100, "path", path, "max_columns", "3", "max_record_bytes", "40", NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  nb_error_init(&e);
  assert_int_equal(next_batch(src, &b, &e, NULL), NB_OK);
  assert_int_equal(b.array.length, 1);
  assert_int_equal(b.n, 2);
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, &e, NULL), NB_DATA);
  assert_non_null(strstr(e.message, "would make more than 3 columns"));
  assert_int_equal(e.line, 2);
  assert_non_null(strstr(e.hint, "max_columns"));
  nb_error_release(&e);
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, &e, NULL), NB_OK);
  assert_int_equal(b.array.length, 1);
  assert_string_equal(cell(&b, 0, 0), "5");
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, &e, NULL), NB_DATA);
  assert_non_null(strstr(e.message, "more than 3 members"));
  assert_int_equal(e.line, 4);
  nb_error_release(&e);
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, &e, NULL), NB_DATA);
  assert_non_null(strstr(e.message, "is longer than 40 bytes"));
  assert_int_equal(e.line, 5);
  nb_error_release(&e);
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, &e, NULL), NB_OK);
  assert_string_equal(cell(&b, 0, 0), "6");
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, &e, NULL), NB_END);
  batch_free(&b);
  json_source_close(src);

  const char *bad[][2] = {{"max_columns", "0"}, {"max_columns", "99999999999"},
                          {"max_record_bytes", "0"}, {"max_record_bytes", "-1"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    open_args(&o, 100, "path", path, bad[i][0], bad[i][1], NULL);
    assert_int_equal(json_source_open(&h.api, &o.args, &src, &e), NB_INVALID);
    assert_non_null(strstr(e.message, bad[i][0]));
    nb_error_release(&e);
  }
}

static void test_array_error_is_fatal(void **state) {
  (void)state;
  TestHost h;
  Open o;
  void *src;
  Batch b;
  NbError e;
  const char *path = tmp_path("bad.json");
  write_file(path, "[{\"a\":1},\n {\"a\":},\n {\"a\":3}]");
  host_init(&h, 1 << 20);
  open_args(&o, 100, "path", path, NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  assert_int_equal(b.array.length, 1);
  batch_free(&b);
  nb_error_init(&e);
  assert_int_equal(next_batch(src, &b, &e, NULL), NB_DATA);
  assert_int_equal(e.line, 2);
  assert_int_equal(e.column, 7);
  nb_error_release(&e);
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_END);
  batch_free(&b);
  json_source_close(src);

  /* An empty file: zero records as JSON Lines, an error as an array. */
  write_file(path, "");
  open_args(&o, 100, "path", path, NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_END);
  assert_int_equal(b.schema.n_children, 0);
  batch_free(&b);
  json_source_close(src);
  open_args(&o, 100, "path", path, "format", "array", NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_DATA);
  batch_free(&b);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_END);
  batch_free(&b);
  json_source_close(src);
}

static void test_non_object_records(void **state) {
  (void)state;
  TestHost h;
  Open o;
  void *src;
  Batch b;
  const char *path = tmp_path("values.jsonl");
  write_file(path, "1\n\"x\"\n[1, 2]\n{}\n");
  host_init(&h, 1 << 20);
  open_args(&o, 100, "path", path, NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  assert_int_equal(b.array.length, 4);
  expect_field(&b, 0, "value", NB_TYPE_JSON);
  assert_string_equal(cell(&b, 0, 0), "1");
  assert_string_equal(cell(&b, 0, 1), "\"x\"");
  assert_string_equal(cell(&b, 0, 2), "[1,2]");
  assert_string_equal(cell(&b, 0, 3), "NULL");
  batch_free(&b);
  json_source_close(src);

  /* Duplicate names, when asked to keep the last value: it wins, with
   * one warning (the default refuses them: test_duplicate_keys). */
  write_file(path, "{\"a\":1,\"a\":2}\n{\"a\":3,\"a\":4}\n{\"k\\u0000\":5}\n");
  open_args(&o, 100, "path", path, "duplicate_keys", "last", NULL);
  h.warnings = 0;
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  assert_string_equal(cell(&b, 0, 0), "2");
  assert_string_equal(cell(&b, 0, 1), "4");
  expect_field(&b, 1, "k\\u0000", NB_TYPE_NUMBER);
  assert_int_equal(h.warnings, 1);
  batch_free(&b);
  json_source_close(src);
}

static void check_resume(const char *path, const char *format, const char *second) {
  TestHost h;
  Open o;
  void *src;
  Batch b;
  NbBatchInfo info;
  uint8_t saved[NB_POSITION_MAX_BYTES];
  host_init(&h, 3);
  open_args(&o, 1, "path", path, "format", format, NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  assert_int_equal(next_batch(src, &b, NULL, &info), NB_OK);
  assert_int_equal(b.array.length, 1);
  size_t saved_len = info.position_len;
  memcpy(saved, info.position, saved_len);
  batch_free(&b);
  json_source_close(src);

  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  assert_int_equal(json_source_seek(src, 0, saved, saved_len, NULL), NB_OK);
  assert_int_equal(next_batch(src, &b, NULL, NULL), NB_OK);
  assert_int_equal(b.array.length, 1);
  assert_string_equal(cell(&b, 1, 0), second);
  batch_free(&b);
  json_source_close(src);

  /* A foreign position is refused. */
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  assert_int_equal(json_source_seek(src, 0, "junk", 4, NULL), NB_INVALID);
  json_source_close(src);
}

static void test_source_resume(void **state) {
  (void)state;
  check_resume(JSON_TEST_DATA "/records.jsonl", "auto", "caf\xc3\xa9 \xf0\x9f\x98\x80");
  check_resume(JSON_TEST_DATA "/records.json", "auto", "Bob");
}

static void test_source_settings(void **state) {
  (void)state;
  TestHost h;
  Open o;
  void *src;
  NbError e;
  host_init(&h, 1 << 20);
  nb_error_init(&e);
  open_args(&o, 1, "path", tmp_path("nothing-*.json"), NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, &e), NB_NOT_FOUND);
  assert_non_null(strstr(e.message, "nothing-*.json"));
  nb_error_release(&e);
  open_args(&o, 1, "path", "x.json", "max_depth", "0", NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, &e), NB_INVALID);
  nb_error_release(&e);

  /* A glob: one stream per file, sorted. */
  write_file(tmp_path("g-b.jsonl"), "{\"x\":1}\n");
  write_file(tmp_path("g-a.jsonl"), "{\"x\":2}\n");
  open_args(&o, 1, "path", tmp_path("g-*.jsonl"), NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  uint32_t count;
  NbStreamInfo si;
  assert_int_equal(json_source_stream_count(src, &count, NULL), NB_OK);
  assert_int_equal(count, 2);
  memset(&si, 0, sizeof si);
  si.struct_size = sizeof si;
  assert_int_equal(json_source_stream_info(src, 0, &si, NULL), NB_OK);
  assert_non_null(strstr(si.name, "g-a.jsonl"));
  assert_int_equal(si.size_bytes, 8);
  json_source_close(src);
}

/* ------------------------------------------------------------------------
 * Destination
 * ------------------------------------------------------------------------ */

static void *dest_open_ok(TestHost *h, const char *path, const char *format,
                          const void *state, size_t state_len, const char *escape) {
  Open o;
  void *d;
  NbError e;
  nb_error_init(&e);
  open_args(&o, 100, "path", path, "format", format, "escape_unicode_separators", escape, NULL);
  o.args.state = state;
  o.args.state_len = state_len;
  int rc = json_dest_open(&h->api, &o.args, &d, &e);
  if (rc != NB_OK) fail_msg("dest_open: %s", e.message);
  return d;
}

/* A batch of one UTF8 column "s" with the given values (NULL = null). */
static void string_batch(const char *const *values, size_t n, struct ArrowSchema *schema,
                         struct ArrowArray *array) {
  NbField f = {"s", NB_TYPE_UTF8, true, 0, 0, NULL};
  NbBatchBuilder *b;
  assert_int_equal(nb_schema_export(&f, 1, schema, NULL), NB_OK);
  assert_int_equal(nb_batch_builder_new(&f, 1, n, &b, NULL), NB_OK);
  for (size_t i = 0; i < n; i++) {
    if (values[i] == NULL) nb_column_append_null(nb_batch_builder_column(b, 0));
    else nb_column_append_utf8(nb_batch_builder_column(b, 0), values[i], strlen(values[i]));
  }
  assert_int_equal(nb_batch_builder_finish(b, array, NULL), NB_OK);
  nb_batch_builder_free(b);
}

static void write_strings(void *d, const char *stream, const char *const *values, size_t n,
                          int want) {
  struct ArrowSchema schema;
  struct ArrowArray array;
  uint32_t index;
  NbError e;
  nb_error_init(&e);
  string_batch(values, n, &schema, &array);
  assert_int_equal(json_dest_prepare(d, stream, &schema, &index, NULL), NB_OK);
  assert_int_equal(json_dest_write(d, index, &array, &e), want);
  nb_error_release(&e);
  array.release(&array);
  schema.release(&schema);
}

static void test_dest_values(void **state) {
  (void)state;
  TestHost h;
  host_init(&h, 1 << 20);
  const char *path = tmp_path("out.jsonl");
  void *d = dest_open_ok(&h, path, "lines", NULL, 0, "false");

  NbField f[] = {
      {"s\"q", NB_TYPE_UTF8, true, 0, 0, NULL},   {"n", NB_TYPE_NUMBER, true, 0, 0, NULL},
      {"b", NB_TYPE_BOOL, true, 0, 0, NULL},      {"j", NB_TYPE_JSON, true, 0, 0, NULL},
      {"i", NB_TYPE_INT64, true, 0, 0, NULL},     {"f", NB_TYPE_FLOAT64, true, 0, 0, NULL},
      {"d", NB_TYPE_DATE32, true, 0, 0, NULL},    {"m", NB_TYPE_DECIMAL128, true, 10, 2, NULL},
  };
  struct ArrowSchema schema;
  struct ArrowArray array;
  NbBatchBuilder *b;
  assert_int_equal(nb_schema_export(f, 8, &schema, NULL), NB_OK);
  assert_int_equal(nb_batch_builder_new(f, 8, 2, &b, NULL), NB_OK);
  const char *s = "a\"b\\c\n\x01\xe2\x80\xa8/";
  nb_column_append_utf8(nb_batch_builder_column(b, 0), s, strlen(s));
  nb_column_append_utf8(nb_batch_builder_column(b, 1), "1.000000000000000000001", 23);
  nb_column_append_bool(nb_batch_builder_column(b, 2), true);
  nb_column_append_utf8(nb_batch_builder_column(b, 3), "{ \"k\" : [1, \"a b\"] }", 20);
  nb_column_append_int64(nb_batch_builder_column(b, 4), -5);
  nb_column_append_double(nb_batch_builder_column(b, 5), 1.5);
  nb_column_append_date32(nb_batch_builder_column(b, 6), 0);
  nb_column_append_decimal128(nb_batch_builder_column(b, 7), 1250, 0);
  for (size_t c = 0; c < 8; c++) nb_column_append_null(nb_batch_builder_column(b, c));
  assert_int_equal(nb_batch_builder_finish(b, &array, NULL), NB_OK);
  nb_batch_builder_free(b);
  uint32_t index;
  assert_int_equal(json_dest_prepare(d, "t", &schema, &index, NULL), NB_OK);
  assert_int_equal(json_dest_write(d, index, &array, NULL), NB_OK);
  array.release(&array);
  schema.release(&schema);
  json_dest_close(d);
  char *out = read_file(path);
  assert_string_equal(out,
                      "{\"s\\\"q\":\"a\\\"b\\\\c\\n\\u0001\xe2\x80\xa8/\",\"n\":1.000000000000000000001,"
                      "\"b\":true,\"j\":{\"k\":[1,\"a b\"]},\"i\":-5,\"f\":1.5,\"d\":\"1970-01-01\",\"m\":12.50}\n"
                      "{\"s\\\"q\":null,\"n\":null,\"b\":null,\"j\":null,\"i\":null,\"f\":null,\"d\":null,\"m\":null}\n");
  free(out);

  /* U+2028 and U+2029 escaped on request. */
  d = dest_open_ok(&h, path, "lines", NULL, 0, "true");
  const char *sep[] = {"x\xe2\x80\xa8y\xe2\x80\xa9"};
  write_strings(d, "t", sep, 1, NB_OK);
  json_dest_close(d);
  out = read_file(path);
  assert_string_equal(out, "{\"s\":\"x\\u2028y\\u2029\"}\n");
  free(out);
}

static void test_dest_refuses_bad_values(void **state) {
  (void)state;
  TestHost h;
  NbError e;
  host_init(&h, 1 << 20);
  const char *path = tmp_path("refuse.jsonl");
  void *d = dest_open_ok(&h, path, "lines", NULL, 0, "false");

  /* Invalid UTF-8 in row 2: NB_DATA naming it, nothing of the batch kept. */
  struct ArrowSchema schema;
  struct ArrowArray array;
  uint32_t index;
  const char *vals[] = {"ok", "bad\xff", "ok"};
  string_batch(vals, 3, &schema, &array);
  assert_int_equal(json_dest_prepare(d, "t", &schema, &index, NULL), NB_OK);
  nb_error_init(&e);
  assert_int_equal(json_dest_write(d, index, &array, &e), NB_DATA);
  assert_int_equal(e.line, 2);
  assert_non_null(strstr(e.message, "\"s\""));
  assert_non_null(strstr(e.message, "UTF-8"));
  nb_error_release(&e);
  array.release(&array);
  schema.release(&schema);

  /* NaN and invalid JSON text. */
  NbField f[] = {{"f", NB_TYPE_FLOAT64, true, 0, 0, NULL}, {"j", NB_TYPE_JSON, true, 0, 0, NULL}};
  NbBatchBuilder *b;
  assert_int_equal(nb_schema_export(f, 2, &schema, NULL), NB_OK);
  assert_int_equal(nb_batch_builder_new(f, 2, 1, &b, NULL), NB_OK);
  nb_column_append_double(nb_batch_builder_column(b, 0), 0.0 / 0.0);
  nb_column_append_utf8(nb_batch_builder_column(b, 1), "[1,]", 4);
  assert_int_equal(nb_batch_builder_finish(b, &array, NULL), NB_OK);
  assert_int_equal(json_dest_prepare(d, "u", &schema, &index, NULL), NB_OK);
  assert_int_equal(json_dest_write(d, index, &array, &e), NB_DATA);
  assert_non_null(strstr(e.message, "NaN"));
  nb_error_release(&e);
  array.release(&array);
  nb_column_append_double(nb_batch_builder_column(b, 0), 2.0);
  nb_column_append_utf8(nb_batch_builder_column(b, 1), "[1,]", 4);
  assert_int_equal(nb_batch_builder_finish(b, &array, NULL), NB_OK);
  assert_int_equal(json_dest_write(d, index, &array, &e), NB_DATA);
  assert_non_null(strstr(e.message, "not valid JSON"));
  nb_error_release(&e);
  array.release(&array);
  nb_batch_builder_free(b);
  schema.release(&schema);
  json_dest_close(d);
  char *out = read_file(path);
  assert_string_equal(out, "");
  free(out);

  /* The destination has no "auto" format. */
  Open o;
  open_args(&o, 100, "path", path, "format", "auto", NULL);
  assert_int_equal(json_dest_open(&h.api, &o.args, &d, &e), NB_INVALID);
  assert_non_null(strstr(e.message, "auto"));
  nb_error_release(&e);
  /* A state of something else is refused. */
  open_args(&o, 100, "path", path, NULL);
  o.args.state = "garbage";
  o.args.state_len = 7;
  assert_int_equal(json_dest_open(&h.api, &o.args, &d, &e), NB_INVALID);
  nb_error_release(&e);
}

static void test_dest_array_commit_and_resume(void **state) {
  (void)state;
  TestHost h;
  host_init(&h, 1 << 20);
  const char *path = tmp_path("out.json");
  const char *a[] = {"A"}, *bb[] = {"B", NULL}, *c[] = {"C"};
  const void *st;
  size_t st_len;
  char saved[512];

  /* No rows: an empty array. */
  void *d = dest_open_ok(&h, path, "array", NULL, 0, "false");
  json_dest_close(d);
  char *out = read_file(path);
  assert_string_equal(out, "[]\n");
  free(out);

  d = dest_open_ok(&h, path, "array", NULL, 0, "false");
  write_strings(d, "t", a, 1, NB_OK);
  assert_int_equal(json_dest_commit(d, &st, &st_len, NULL), NB_OK);
  assert_true(st_len < sizeof saved);
  memcpy(saved, st, st_len);
  size_t saved_len = st_len;
  write_strings(d, "t", bb, 2, NB_OK); /* not committed: lost at resume */
  json_dest_close(d);
  out = read_file(path);
  assert_string_equal(out, "[\n{\"s\":\"A\"},\n{\"s\":\"B\"},\n{\"s\":null}\n]\n");
  free(out);

  d = dest_open_ok(&h, path, "array", saved, saved_len, "false");
  write_strings(d, "t", c, 1, NB_OK);
  json_dest_close(d);
  out = read_file(path);
  assert_string_equal(out, "[\n{\"s\":\"A\"},\n{\"s\":\"C\"}\n]\n");
  free(out);

  /* Lines, resumed: the uncommitted tail is dropped. */
  const char *lpath = tmp_path("resume.jsonl");
  d = dest_open_ok(&h, lpath, "lines", NULL, 0, "false");
  write_strings(d, "t", a, 1, NB_OK);
  assert_int_equal(json_dest_commit(d, &st, &st_len, NULL), NB_OK);
  memcpy(saved, st, st_len);
  saved_len = st_len;
  write_strings(d, "t", bb, 2, NB_OK);
  json_dest_close(d);
  d = dest_open_ok(&h, lpath, "lines", saved, saved_len, "false");
  write_strings(d, "t", c, 1, NB_OK);
  json_dest_close(d);
  out = read_file(lpath);
  assert_string_equal(out, "{\"s\":\"A\"}\n{\"s\":\"C\"}\n");
  free(out);
}

/* dest_finish (ABI 1.1) writes the closing bracket and reports a failure
 * to write it (it used to be written at close, where a failure was only
 * logged and the run exited 0); close then adds nothing. */
static void test_dest_finish(void **state) {
  (void)state;
  TestHost h;
  NbConnector c;
  NbError e;
  const void *st;
  size_t st_len;
  const char *a[] = {"A"};
  const char *path = tmp_path("finish.json");
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  assert_int_equal(nebula_connector_entry(NB_ABI_CURRENT, &c, NULL), NB_OK);
  assert_true(NB_STRUCT_HAS(NbConnector, &c, dest_finish));
  assert_non_null(c.dest_finish);
  host_init(&h, 1 << 20);

  void *d = dest_open_ok(&h, path, "array", NULL, 0, "false");
  write_strings(d, "t", a, 1, NB_OK);
  assert_int_equal(json_dest_commit(d, &st, &st_len, NULL), NB_OK);
  assert_int_equal(c.dest_finish(d, NULL), NB_OK);
  char *out = read_file(path);
  assert_string_equal(out, "[\n{\"s\":\"A\"}\n]\n");
  free(out);
  json_dest_close(d);
  out = read_file(path);
  assert_string_equal(out, "[\n{\"s\":\"A\"}\n]\n");
  free(out);

  /* No rows: "[]". */
  d = dest_open_ok(&h, path, "array", NULL, 0, "false");
  assert_int_equal(c.dest_finish(d, NULL), NB_OK);
  json_dest_close(d);
  out = read_file(path);
  assert_string_equal(out, "[]\n");
  free(out);

  /* The disk fills up after the last commit: finish fails, naming it. */
  d = dest_open_ok(&h, path, "array", NULL, 0, "false");
  write_strings(d, "t", a, 1, NB_OK);
  assert_int_equal(json_dest_commit(d, &st, &st_len, NULL), NB_OK);
  h.fail_writes = 1;
  nb_error_init(&e);
  assert_int_equal(c.dest_finish(d, &e), NB_IO);
  assert_non_null(strstr(e.message, "No space left"));
  assert_non_null(strstr(e.detail, "closing bracket"));
  assert_non_null(strstr(e.detail, path));
  nb_error_release(&e);
  json_dest_close(d);
  h.fail_writes = 0;

  /* Lines: finish only makes the data durable. */
  d = dest_open_ok(&h, path, "lines", NULL, 0, "false");
  write_strings(d, "t", a, 1, NB_OK);
  assert_int_equal(c.dest_finish(d, NULL), NB_OK);
  json_dest_close(d);
  out = read_file(path);
  assert_string_equal(out, "{\"s\":\"A\"}\n");
  free(out);
}

static void test_dest_stream_files(void **state) {
  (void)state;
  TestHost h;
  host_init(&h, 1 << 20);
  const char *a[] = {"A"}, *b[] = {"B"};
  void *d = dest_open_ok(&h, tmp_path("per-{stream}.jsonl"), "lines", NULL, 0, "false");
  write_strings(d, "in/first.csv.gz", a, 1, NB_OK);
  write_strings(d, "second.jsonl", b, 1, NB_OK);
  json_dest_close(d);
  char *out = read_file(tmp_path("per-first.jsonl"));
  assert_string_equal(out, "{\"s\":\"A\"}\n");
  free(out);
  out = read_file(tmp_path("per-second.jsonl"));
  assert_string_equal(out, "{\"s\":\"B\"}\n");
  free(out);
}

/* json -> json keeps every number and string exactly. */
static void test_round_trip(void **state) {
  (void)state;
  TestHost h;
  Open o;
  void *src;
  Batch b;
  uint32_t index;
  host_init(&h, 1 << 20);
  const char *path = tmp_path("round.jsonl");
  void *d = dest_open_ok(&h, path, "lines", NULL, 0, "false");
  open_args(&o, 1000, "path", JSON_TEST_DATA "/records.jsonl", NULL);
  assert_int_equal(json_source_open(&h.api, &o.args, &src, NULL), NB_OK);
  int rc, changes = 0;
  while ((rc = next_batch(src, &b, NULL, NULL)) == NB_OK || rc == NB_SCHEMA_CHANGED) {
    if (rc == NB_SCHEMA_CHANGED) {
      changes++;
      batch_free(&b);
      continue;
    }
    assert_int_equal(json_dest_prepare(d, "r", &b.schema, &index, NULL), NB_OK);
    assert_int_equal(json_dest_write(d, index, &b.array, NULL), NB_OK);
    batch_free(&b);
  }
  assert_int_equal(changes, 0); /* the first buffer shows every column */
  assert_int_equal(rc, NB_END);
  batch_free(&b);
  json_source_close(src);
  json_dest_close(d);
  char *out = read_file(path);
  assert_string_equal(
      out,
      "{\"id\":1,\"name\":\"Ada\",\"score\":1.000000000000000000001,\"tags\":[\"a\",\"b\"],\"ok\":true,\"extra\":null}\n"
      "{\"id\":2,\"name\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\"score\":-0,\"tags\":null,\"ok\":false,\"extra\":null}\n"
      "{\"id\":3,\"name\":null,\"score\":1E400,\"tags\":null,\"ok\":null,\"extra\":{\"k\":[1,2]}}\n");
  free(out);
}

static void test_entry(void **state) {
  (void)state;
  NbConnector c;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  assert_int_equal(nebula_connector_entry(NB_ABI_CURRENT, &c, NULL), NB_OK);
  assert_string_equal(c.name, "json");
  assert_true(c.capabilities & NB_CAP_RESUMABLE);
  for (uint32_t i = 0; i < c.n_settings; i++)
    if (c.settings[i].default_value != NULL)
      assert_int_equal(nb_setting_value_check(&c.settings[i], c.settings[i].default_value, NULL), NB_OK);
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  assert_int_equal(nebula_connector_entry(NB_ABI_VERSION(2, 0), &c, NULL), NB_ABI_MISMATCH);
}

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/test_json.XXXXXX");
  return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_entry),
      cmocka_unit_test(test_source_types),
      cmocka_unit_test(test_source_array_with_bom),
      cmocka_unit_test(test_schema_widening),
      cmocka_unit_test(test_bad_line_then_continue),
      cmocka_unit_test(test_array_error_is_fatal),
      cmocka_unit_test(test_damaged_input_ends_stream),
      cmocka_unit_test(test_duplicate_keys),
      cmocka_unit_test(test_source_limits),
      cmocka_unit_test(test_non_object_records),
      cmocka_unit_test(test_source_resume),
      cmocka_unit_test(test_source_settings),
      cmocka_unit_test(test_dest_values),
      cmocka_unit_test(test_dest_refuses_bad_values),
      cmocka_unit_test(test_dest_array_commit_and_resume),
      cmocka_unit_test(test_dest_finish),
      cmocka_unit_test(test_dest_stream_files),
      cmocka_unit_test(test_round_trip),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
