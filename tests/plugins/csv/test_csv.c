/*
 * test_csv.c - tests of the csv connector through its vtable, with a small
 * test NbHostApi whose file functions use stdio (optionally returning a
 * few bytes per read, so records span reads): schema from header or not,
 * empty files, nulls, bad records and continuing after them, declared and
 * inferred types, resume from a saved position, and the destination
 * (quoting, header once, column checks, one file per stream, resume from
 * state), including destination -> source round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nebula/sdk.h"

#ifndef CSV_TEST_DATA
#define CSV_TEST_DATA "data/csv"
#endif

int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);

/* ------------------------------------------------------------------------
 * The test host: stdio files
 * ------------------------------------------------------------------------ */

struct NbFile {
  FILE *fp;
  size_t chunk;
};

typedef struct TestHost {
  size_t read_chunk; /* most bytes per file_read; 0: no limit */
} TestHost;

static int th_open_read(void *host_data, const char *path, NbFile **out, NbError *err) {
  TestHost *th = host_data;
  NbFile *f;
  FILE *fp = fopen(path, "rb");
  if (fp == NULL)
    return nb_error_set(err, errno == ENOENT ? NB_NOT_FOUND : NB_IO,
                        "could not open file \"%s\": %s", path, strerror(errno));
  f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->fp = fp;
  f->chunk = th->read_chunk;
  *out = f;
  return NB_OK;
}

static int th_read(NbFile *f, void *buf, size_t cap, size_t *n_read, NbError *err) {
  (void)err;
  if (f->chunk != 0 && cap > f->chunk) cap = f->chunk;
  *n_read = fread(buf, 1, cap, f->fp);
  return ferror(f->fp) ? NB_IO : NB_OK;
}

static int th_skip(NbFile *f, uint64_t n, NbError *err) {
  char buf[512];
  (void)err;
  while (n > 0) {
    size_t want = n < sizeof buf ? (size_t)n : sizeof buf;
    size_t got = fread(buf, 1, want, f->fp);
    if (got == 0) return NB_END;
    n -= got;
  }
  return NB_OK;
}

static int th_open_write(void *host_data, const char *path, const NbWriteOptions *options,
                         NbFile **out, NbError *err) {
  NbFile *f;
  FILE *fp;
  (void)host_data;
  if (options != NULL && options->resume_length >= 0) {
    if (truncate(path, (off_t)options->resume_length) != 0)
      return nb_error_set(err, NB_IO, "could not truncate \"%s\"", path);
    fp = fopen(path, "ab");
  } else {
    fp = fopen(path, "wb");
  }
  if (fp == NULL) return nb_error_set(err, NB_IO, "could not open \"%s\"", path);
  f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->fp = fp;
  *out = f;
  return NB_OK;
}

static int th_write(NbFile *f, const void *buf, size_t len, NbError *err) {
  (void)err;
  return fwrite(buf, 1, len, f->fp) == len ? NB_OK : NB_IO;
}

static int th_commit(NbFile *f, uint64_t *length, NbError *err) {
  (void)err;
  if (fflush(f->fp) != 0) return NB_IO;
  *length = (uint64_t)ftell(f->fp);
  return NB_OK;
}

static int th_close(NbFile *f, NbError *err) {
  (void)err;
  if (f == NULL) return NB_OK;
  fclose(f->fp);
  free(f);
  return NB_OK;
}

static NbHostApi test_host(TestHost *th) {
  NbHostApi h;
  memset(&h, 0, sizeof h);
  h.struct_size = (uint32_t)sizeof h;
  h.abi_version = NB_ABI_CURRENT;
  h.host_data = th;
  h.file_open_read = th_open_read;
  h.file_read = th_read;
  h.file_open_write = th_open_write;
  h.file_write = th_write;
  h.file_commit = th_commit;
  h.file_close = th_close;
  h.file_skip = th_skip;
  return h;
}

/* ------------------------------------------------------------------------
 * Fixtures: a temporary directory, the connector, settings
 * ------------------------------------------------------------------------ */

static char tmpdir[64];
static NbConnector conn;

static int setup(void **state) {
  NbError err;
  (void)state;
  strcpy(tmpdir, "/tmp/test_csv.XXXXXX");
  if (mkdtemp(tmpdir) == NULL) return -1;
  memset(&conn, 0, sizeof conn);
  conn.struct_size = (uint32_t)sizeof conn;
  nb_error_init(&err);
  return nebula_connector_entry(NB_ABI_CURRENT, &conn, &err) == NB_OK ? 0 : -1;
}

static int teardown(void **state) {
  char cmd[128];
  (void)state;
  /* Only our own mkdtemp directory. */
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static char *tmp_path(const char *name) {
  char *p = malloc(strlen(tmpdir) + strlen(name) + 2);
  assert_non_null(p);
  sprintf(p, "%s/%s", tmpdir, name);
  return p;
}

static char *write_file(const char *name, const char *data, size_t len) {
  char *path = tmp_path(name);
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(data, 1, len, fp), len);
  fclose(fp);
  return path;
}
#define WRITE(name, text) write_file((name), (text), sizeof(text) - 1)

static char *slurp(const char *path) {
  FILE *fp = fopen(path, "rb");
  char *buf;
  long n;
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
  buf[n] = '\0';
  fclose(fp);
  return buf;
}

#define MAX_SETTINGS 16
typedef struct Settings {
  NbSettings s;
  const char *names[MAX_SETTINGS];
  const char *values[MAX_SETTINGS];
} Settings;

/* kv: name, value, ..., NULL */
static void settings_init(Settings *st, const char *path, const char *const *kv) {
  uint32_t n = 0;
  memset(st, 0, sizeof *st);
  st->names[n] = "path";
  st->values[n++] = path;
  for (; kv != NULL && kv[0] != NULL; kv += 2) {
    st->names[n] = kv[0];
    st->values[n++] = kv[1];
  }
  st->s.struct_size = (uint32_t)sizeof st->s;
  st->s.count = n;
  st->s.names = st->names;
  st->s.values = st->values;
}

/* Text growing without bound. */
typedef struct Out {
  char *s;
  size_t len, cap;
} Out;

static void out_put(Out *o, const char *data, size_t len) {
  if (o->len + len + 1 > o->cap) {
    o->cap = (o->len + len + 1) * 2;
    o->s = realloc(o->s, o->cap);
    assert_non_null(o->s);
  }
  memcpy(o->s + o->len, data, len);
  o->len += len;
  o->s[o->len] = '\0';
}

static void out_printf(Out *o, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  out_put(o, buf, (size_t)n);
}

static void render_schema(Out *o, const struct ArrowSchema *schema) {
  NbField *fields = NULL;
  size_t n = 0, i;
  char type[64];
  assert_int_equal(nb_schema_fields(schema, &fields, &n, NULL), NB_OK);
  out_put(o, "[", 1);
  for (i = 0; i < n; i++) {
    nb_type_name(&fields[i], type, sizeof type);
    out_printf(o, "%s%s:%s", i ? "," : "", fields[i].name, type);
  }
  out_put(o, "]\n", 2);
  free(fields);
}

static void render_batch(Out *o, const struct ArrowSchema *schema, const struct ArrowArray *b) {
  NbColumnView *views = NULL;
  size_t n = 0, c;
  int64_t row;
  char scratch[NB_TEXT_SCRATCH];
  assert_int_equal(nb_arrow_validate(schema, b, NULL), NB_OK);
  assert_int_equal(nb_batch_views(schema, b, &views, &n, NULL), NB_OK);
  for (row = 0; row < b->length; row++) {
    for (c = 0; c < n; c++) {
      if (c) out_put(o, "|", 1);
      if (nb_view_is_null(&views[c], row)) {
        out_put(o, "\\N", 2);
      } else {
        const char *text;
        size_t len = nb_view_text(&views[c], row, scratch, &text);
        out_put(o, text, len);
      }
    }
    out_put(o, "\n", 1);
  }
  free(views);
}

/* Everything a source gives for stream `index`: schema, rows, "--" between
 * batches, "!L<line>C<col>[record]" for bad records, "~" and the new schema
 * after NB_SCHEMA_CHANGED.  Optionally stops after max_batches batches and
 * copies the last position. */
typedef struct ReadOptions {
  size_t chunk;
  uint64_t batch_rows;
  int max_batches;
  const void *seek;
  size_t seek_len;
  uint8_t *position; /* out: last position, NB_POSITION_MAX_BYTES */
  size_t *position_len;
} ReadOptions;

static char *read_source(const char *path, const char *const *kv, const ReadOptions *ro) {
  TestHost th = {ro != NULL ? ro->chunk : 0};
  NbHostApi host = test_host(&th);
  Settings st;
  NbOpenArgs args;
  struct ArrowSchema schema;
  void *src = NULL;
  Out o = {NULL, 0, 0};
  NbError err;
  int rc, batches = 0, guard;

  settings_init(&st, path, kv);
  memset(&args, 0, sizeof args);
  args.struct_size = (uint32_t)sizeof args;
  args.settings = &st.s;
  args.batch_rows = ro != NULL && ro->batch_rows ? ro->batch_rows : 1000;
  args.batch_bytes = 1 << 20;
  nb_error_init(&err);
  rc = conn.source_open(&host, &args, &src, &err);
  if (rc != NB_OK) {
    out_printf(&o, "open:%s:%s", nb_status_name(rc), err.message);
    nb_error_release(&err);
    return o.s;
  }
  memset(&schema, 0, sizeof schema);
  rc = conn.source_schema(src, 0, &schema, &err);
  if (rc != NB_OK) {
    out_printf(&o, "schema:%s:%s", nb_status_name(rc), err.message);
    nb_error_release(&err);
    conn.source_close(src);
    return o.s;
  }
  render_schema(&o, &schema);
  if (ro != NULL && ro->seek != NULL) {
    rc = conn.source_seek(src, 0, ro->seek, ro->seek_len, &err);
    if (rc != NB_OK) {
      out_printf(&o, "seek:%s:%s", nb_status_name(rc), err.message);
      nb_error_release(&err);
      schema.release(&schema);
      conn.source_close(src);
      return o.s;
    }
  }
  for (guard = 0; guard < 100000; guard++) {
    struct ArrowArray batch;
    NbBatchInfo info;
    memset(&batch, 0, sizeof batch);
    memset(&info, 0, sizeof info);
    info.struct_size = (uint32_t)sizeof info;
    rc = conn.source_next(src, 0, &batch, &info, &err);
    if (rc == NB_END) break;
    if (rc == NB_SCHEMA_CHANGED) {
      schema.release(&schema);
      assert_int_equal(conn.source_schema(src, 0, &schema, NULL), NB_OK);
      out_put(&o, "~", 1);
      render_schema(&o, &schema);
      continue;
    }
    if (rc == NB_DATA) {
      assert_non_null(info.position);
      out_printf(&o, "!L%lldC%lld[", (long long)err.line, (long long)err.column);
      out_put(&o, err.record, err.record_len);
      out_put(&o, "]\n", 2);
      assert_string_equal(err.location, path);
      nb_error_release(&err);
      continue;
    }
    if (rc != NB_OK) {
      out_printf(&o, "next:%s:%s\n", nb_status_name(rc), err.message);
      nb_error_release(&err);
      break;
    }
    if (batches > 0) out_put(&o, "--\n", 3);
    render_batch(&o, &schema, &batch);
    batch.release(&batch);
    if (ro != NULL && ro->position != NULL) {
      memcpy(ro->position, info.position, info.position_len);
      *ro->position_len = info.position_len;
    }
    if (ro != NULL && ro->max_batches && ++batches >= ro->max_batches) break;
    if (ro == NULL || !ro->max_batches) batches++;
  }
  schema.release(&schema);
  conn.source_close(src);
  if (o.s == NULL) out_put(&o, "", 0);
  return o.s;
}

static void expect_read(const char *path, const char *const *kv, const ReadOptions *ro,
                        const char *expect) {
  char *got = read_source(path, kv, ro);
  if (strcmp(got, expect) != 0) fail_msg("\n got: %s\nwant: %s", got, expect);
  free(got);
}

/* The same result with whole reads, 1-byte reads and 3-byte reads. */
static void expect_read_all_chunks(const char *path, const char *const *kv, uint64_t batch_rows,
                                   const char *expect) {
  static const size_t chunks[] = {0, 1, 3};
  size_t i;
  for (i = 0; i < 3; i++) {
    ReadOptions ro;
    memset(&ro, 0, sizeof ro);
    ro.chunk = chunks[i];
    ro.batch_rows = batch_rows;
    expect_read(path, kv, &ro, expect);
  }
}

/* ------------------------------------------------------------------------
 * Source
 * ------------------------------------------------------------------------ */

static void test_entry_and_settings(void **state) {
  uint32_t i;
  bool has_path = false;
  (void)state;
  assert_string_equal(conn.name, "csv");
  assert_true(conn.capabilities & NB_CAP_RESUMABLE);
  for (i = 0; i < conn.n_settings; i++) {
    const NbSettingSpec *spec = &conn.settings[i];
    if (strcmp(spec->name, "path") == 0) {
      has_path = true;
      assert_true(spec->flags & NB_SETTING_REQUIRED);
    }
    if (spec->default_value != NULL)
      assert_int_equal(nb_setting_value_check(spec, spec->default_value, NULL), NB_OK);
  }
  assert_true(has_path);
}

static void test_header_and_quotes(void **state) {
  char *p = WRITE("basic.csv",
                  "name,note,n\n"
                  "alice,\"a,b\",1\n"
                  "bob,\"say \"\"hi\"\"\",2\r\n"
                  "carol,\"two\nlines\",3\n"
                  "dave,,4");
  (void)state;
  expect_read_all_chunks(p, NULL, 2,
                         "[name:utf8,note:utf8,n:utf8]\n"
                         "alice|a,b|1\nbob|say \"hi\"|2\n--\n"
                         "carol|two\nlines|3\ndave||4\n");
  free(p);
}

static void test_no_header(void **state) {
  char *p = WRITE("nohdr.csv", "1,2\n3,4\n");
  const char *kv[] = {"header", "false", NULL};
  (void)state;
  expect_read_all_chunks(p, kv, 100, "[column1:utf8,column2:utf8]\n1|2\n3|4\n");
  free(p);
}

static void test_empty_files(void **state) {
  char *empty = WRITE("empty.csv", "");
  char *bom = WRITE("bom_only.csv", "\xEF\xBB\xBF");
  char *hdr = WRITE("header_only.csv", "a,b\r\n");
  const char *nohdr[] = {"header", "false", NULL};
  (void)state;
  expect_read_all_chunks(empty, NULL, 10, "[]\n");
  expect_read_all_chunks(empty, nohdr, 10, "[]\n");
  expect_read_all_chunks(bom, NULL, 10, "[]\n");
  expect_read_all_chunks(hdr, NULL, 10, "[a:utf8,b:utf8]\n");
  free(empty);
  free(bom);
  free(hdr);
}

static void test_null_string(void **state) {
  char *p = WRITE("nulls.csv", "a,b\n,\"\"\nNULL,\"NULL\"\n");
  const char *empty_is_null[] = {"null_string", "", NULL};
  const char *word_is_null[] = {"null_string", "NULL", NULL};
  (void)state;
  expect_read_all_chunks(p, NULL, 10, "[a:utf8,b:utf8]\n|\nNULL|NULL\n");
  expect_read_all_chunks(p, empty_is_null, 10, "[a:utf8,b:utf8]\n\\N|\nNULL|NULL\n");
  expect_read_all_chunks(p, word_is_null, 10, "[a:utf8,b:utf8]\n|\n\\N|NULL\n");
  free(p);
}

static void test_delimiter_settings(void **state) {
  char *tsv = WRITE("t.tsv", "a\tb\n'x\ty'\tz\n");
  const char *tab[] = {"delimiter", "\\t", "quote", "'", NULL};
  const char *bad[] = {"delimiter", "ab", NULL};
  const char *same[] = {"delimiter", "'", "quote", "'", NULL};
  char *got;
  (void)state;
  expect_read_all_chunks(tsv, tab, 10, "[a:utf8,b:utf8]\nx\ty|z\n");
  got = read_source(tsv, bad, NULL);
  assert_non_null(strstr(got, "open:NB_INVALID:invalid value for setting \"delimiter\""));
  free(got);
  got = read_source(tsv, same, NULL);
  assert_non_null(strstr(got, "open:NB_INVALID"));
  free(got);
  free(tsv);
}

/* A ragged row: the good rows before it come first, then NB_DATA with the
 * record's line, field and bytes, then reading continues. */
static void test_ragged_rows(void **state) {
  char *p = WRITE("ragged.csv", "a,b\n1,2\n3\n4,5\n6,7,8\n9,10\n");
  (void)state;
  expect_read_all_chunks(p, NULL, 100,
                         "[a:utf8,b:utf8]\n1|2\n!L3C2[3]\n--\n4|5\n!L5C3[6,7,8]\n--\n9|10\n");
  free(p);
}

static void test_bad_record_errors(void **state) {
  char *p = WRITE("err.csv", "a,b\n1,2\n3\n");
  TestHost th = {0};
  NbHostApi host = test_host(&th);
  Settings st;
  NbOpenArgs args;
  void *src = NULL;
  struct ArrowArray batch;
  NbBatchInfo info;
  NbError err;
  uint64_t pos[3];
  (void)state;
  settings_init(&st, p, NULL);
  memset(&args, 0, sizeof args);
  args.struct_size = (uint32_t)sizeof args;
  args.settings = &st.s;
  args.batch_rows = 100;
  args.batch_bytes = 1 << 20;
  assert_int_equal(conn.source_open(&host, &args, &src, NULL), NB_OK);
  memset(&batch, 0, sizeof batch);
  memset(&info, 0, sizeof info);
  info.struct_size = (uint32_t)sizeof info;
  nb_error_init(&err);
  assert_int_equal(conn.source_next(src, 0, &batch, &info, &err), NB_OK);
  assert_int_equal(batch.length, 1);
  batch.release(&batch);
  assert_int_equal(nb_position_decode(info.position, info.position_len, pos, 3, NULL), NB_OK);
  assert_int_equal(pos[0], 8); /* the bad record starts at byte 8, line 3 */
  assert_int_equal(pos[1], 3);
  assert_int_equal(pos[2], 1);
  assert_int_equal(conn.source_next(src, 0, &batch, &info, &err), NB_DATA);
  assert_int_equal(err.code, NB_DATA);
  {
    char want[512];
    snprintf(want, sizeof want, "wrong number of fields at line 3 of file \"%s\"", p);
    assert_string_equal(err.message, want);
  }
  assert_string_equal(err.location, p);
  assert_int_equal(err.line, 3);
  assert_int_equal(err.column, 2);
  assert_int_equal(err.record_len, 1);
  assert_memory_equal(err.record, "3", 1);
  nb_error_release(&err);
  assert_int_equal(nb_position_decode(info.position, info.position_len, pos, 3, NULL), NB_OK);
  assert_int_equal(pos[0], 10); /* after the bad record */
  assert_int_equal(pos[1], 4);
  assert_int_equal(pos[2], 2);
  assert_int_equal(conn.source_next(src, 0, &batch, &info, &err), NB_END);
  free(p);
  conn.source_close(src);
}

static void test_unterminated_quote(void **state) {
  char *p = WRITE("unterm.csv", "a,b\n1,\"open\n2,x\n");
  (void)state;
  expect_read_all_chunks(p, NULL, 100, "[a:utf8,b:utf8]\n!L2C2[1,\"open]\n2|x\n");
  free(p);
}

static void test_strict(void **state) {
  char *p = WRITE("strict.csv", "a,b\n1,x\"y\n2,z\n");
  const char *strict[] = {"strict", "true", NULL};
  (void)state;
  expect_read_all_chunks(p, NULL, 100, "[a:utf8,b:utf8]\n1|x\"y\n2|z\n");
  expect_read_all_chunks(p, strict, 100, "[a:utf8,b:utf8]\n!L2C2[1,x\"y]\n2|z\n");
  free(p);
}

static void test_declared_types(void **state) {
  char *p = WRITE("typed.csv",
                  "zip,amount,id,ok,day,ts,x,n\n"
                  "00501,2.50,7,true,2024-01-31,2024-01-31T12:00:00Z,1.5,1e3\n"
                  "10001,-3,-9223372036854775808,0,1970-01-01,2024-01-31 12:00:00.5+01:00,2,-0.0\n");
  const char *kv[] = {"columns",
                      "zip:string; amount:decimal(10,2); id:int64; ok:bool; day:date; "
                      "ts:timestamp; x:float64; n:number",
                      NULL};
  char *got;
  (void)state;
  got = read_source(p, kv, NULL);
  assert_non_null(strstr(got, "[zip:utf8,amount:decimal128(10,2),id:int64,ok:bool,day:date32"));
  assert_non_null(strstr(got, "\n00501|2.50|7|true|2024-01-31|"));
  assert_non_null(strstr(got, "|1e3\n"));
  assert_non_null(strstr(got, "\n10001|-3.00|-9223372036854775808|false|1970-01-01|"));
  assert_non_null(strstr(got, "|-0.0\n"));
  free(got);
  free(p);
}

static void test_declared_type_errors(void **state) {
  char *p = WRITE("typed_bad.csv", "id,amount\n1,1.25\n2,1.234\n3,\n4,9\n");
  const char *kv[] = {"columns", "id:int64;amount:decimal(5,2)", NULL};
  const char *null_kv[] = {"columns", "id:int64;amount:decimal(5,2)", "null_string", "", NULL};
  const char *unknown[] = {"columns", "nope:int64", NULL};
  const char *syntax[] = {"columns", "id int64", NULL};
  const char *badtype[] = {"columns", "id:int65", NULL};
  char *got;
  (void)state;
  expect_read_all_chunks(p, kv, 100,
                         "[id:int64,amount:decimal128(5,2)]\n1|1.25\n!L3C2[2,1.234]\n"
                         "!L4C2[3,]\n--\n4|9.00\n");
  expect_read_all_chunks(p, null_kv, 100,
                         "[id:int64,amount:decimal128(5,2)]\n1|1.25\n!L3C2[2,1.234]\n"
                         "--\n3|\\N\n4|9.00\n");
  got = read_source(p, unknown, NULL);
  assert_non_null(strstr(got, "schema:NB_INVALID:column \"nope\" of setting \"columns\""));
  free(got);
  got = read_source(p, syntax, NULL);
  assert_non_null(strstr(got, "open:NB_INVALID:invalid value for setting \"columns\""));
  free(got);
  got = read_source(p, badtype, NULL);
  assert_non_null(strstr(got, "open:NB_INVALID:invalid value for setting \"columns\""));
  free(got);
  free(p);
}

static void test_infer_types(void **state) {
  char *p = WRITE("infer.csv",
                  "zip,amount,id,big,mixed\n"
                  "00501,2.50,7,9223372036854775807,1\n"
                  "10001,3,-8,9223372036854775808,x\n");
  const char *kv[] = {"infer_types", "true", NULL};
  (void)state;
  expect_read_all_chunks(p, kv, 100,
                         "[zip:utf8,amount:number,id:int64,big:number,mixed:utf8]\n"
                         "00501|2.50|7|9223372036854775807|1\n"
                         "10001|3|-8|9223372036854775808|x\n");
  free(p);
}

/* A later batch that does not fit the inferred type: NB_SCHEMA_CHANGED,
 * then the whole batch again with the wider type; nothing lost. */
static void test_infer_widening(void **state) {
  char *p = WRITE("widen.csv", "a,b\n1,1\n2,2\n3,3.5\n4,x\n-0,5\n");
  const char *kv[] = {"infer_types", "true", "null_string", "", NULL};
  (void)state;
  expect_read_all_chunks(p, kv, 2,
                         "[a:int64,b:int64]\n1|1\n2|2\n"
                         "~[a:int64,b:number]\n"
                         "~[a:int64,b:utf8]\n--\n3|3.5\n4|x\n"
                         "~[a:number,b:utf8]\n--\n-0|5\n");
  free(p);
}

/* Read two batches, keep the position, and resume from it in a new
 * source: the rest comes out, and nothing twice. */
static void test_resume(void **state) {
  char *p = WRITE("resume.csv", "\xEF\xBB\xBFk,v\r\n1,\"a\nb\"\r\n2,b\r\n3,c\r\n4,d\r\n5,e");
  uint8_t position[NB_POSITION_MAX_BYTES];
  size_t position_len = 0;
  ReadOptions ro;
  uint64_t values[3];
  size_t chunk;
  (void)state;
  for (chunk = 0; chunk < 3; chunk++) {
    memset(&ro, 0, sizeof ro);
    ro.chunk = chunk * 2;
    ro.batch_rows = 2;
    ro.max_batches = 1;
    ro.position = position;
    ro.position_len = &position_len;
    expect_read(p, NULL, &ro, "[k:utf8,v:utf8]\n1|a\nb\n2|b\n");
    assert_int_equal(nb_position_decode(position, position_len, values, 3, NULL), NB_OK);
    assert_int_equal(values[0], 22);
    assert_int_equal(values[1], 5);
    assert_int_equal(values[2], 2);
    memset(&ro, 0, sizeof ro);
    ro.chunk = chunk;
    ro.batch_rows = 2;
    ro.seek = position;
    ro.seek_len = position_len;
    expect_read(p, NULL, &ro, "[k:utf8,v:utf8]\n3|c\n4|d\n--\n5|e\n");
  }
  /* A foreign position, and one beyond the end of the file. */
  memset(&ro, 0, sizeof ro);
  ro.seek = "garbage";
  ro.seek_len = 7;
  {
    char *got = read_source(p, NULL, &ro);
    assert_non_null(strstr(got, "seek:NB_INVALID"));
    free(got);
  }
  values[0] = 1000;
  position_len = nb_position_encode(position, sizeof position, values, 3);
  ro.seek = position;
  ro.seek_len = position_len;
  {
    char *got = read_source(p, NULL, &ro);
    assert_non_null(strstr(got, "seek:NB_INVALID:saved position is beyond the end of file"));
    free(got);
  }
  free(p);
}

static void test_glob_and_missing(void **state) {
  char *a = WRITE("g_b.csv", "x\n2\n");
  char *b = WRITE("g_a.csv", "x\n1\n");
  char *pattern = tmp_path("g_*.csv");
  char *none = tmp_path("nothing_*.csv");
  char *missing = tmp_path("missing.csv");
  TestHost th = {0};
  NbHostApi host = test_host(&th);
  Settings st;
  NbOpenArgs args;
  NbStreamInfo info;
  void *src = NULL;
  uint32_t count = 0;
  NbError err;
  char *got;
  (void)state;
  settings_init(&st, pattern, NULL);
  memset(&args, 0, sizeof args);
  args.struct_size = (uint32_t)sizeof args;
  args.settings = &st.s;
  args.batch_rows = 10;
  args.batch_bytes = 1000;
  assert_int_equal(conn.source_open(&host, &args, &src, NULL), NB_OK);
  assert_int_equal(conn.source_stream_count(src, &count, NULL), NB_OK);
  assert_int_equal(count, 2);
  memset(&info, 0, sizeof info);
  info.struct_size = (uint32_t)sizeof info;
  assert_int_equal(conn.source_stream_info(src, 0, &info, NULL), NB_OK);
  assert_string_equal(info.name, b); /* sorted: g_a before g_b */
  assert_int_equal(info.size_bytes, 4);
  conn.source_close(src);

  settings_init(&st, none, NULL);
  nb_error_init(&err);
  assert_int_equal(conn.source_open(&host, &args, &src, &err), NB_NOT_FOUND);
  assert_non_null(strstr(err.message, "no file matches pattern"));
  nb_error_release(&err);

  got = read_source(missing, NULL, NULL);
  assert_non_null(strstr(got, "schema:NB_NOT_FOUND"));
  free(got);
  free(a);
  free(b);
  free(pattern);
  free(none);
  free(missing);
}

/* Files kept in tests/data/csv. */
static void test_data_files(void **state) {
  const char *quoted = CSV_TEST_DATA "/quoted.csv";
  const char *bom_crlf = CSV_TEST_DATA "/bom_crlf.csv";
  (void)state;
  expect_read_all_chunks(quoted, NULL, 3,
                         "[id:utf8,text:utf8,note:utf8]\n"
                         "1|comma, inside|plain\n"
                         "2|\"quoted\" words|\n"
                         "3|line one\r\nline two|x\n"
                         "--\n"
                         "4||\"\n");
  expect_read_all_chunks(bom_crlf, NULL, 10, "[city:utf8,zip:utf8]\nBoston|02101\nNew York|10001\n");
}

/* ------------------------------------------------------------------------
 * Destination
 * ------------------------------------------------------------------------ */

typedef struct Dest {
  TestHost th;
  NbHostApi host;
  Settings st;
  void *handle;
} Dest;

static int dest_open(Dest *d, const char *path, const char *const *kv, const void *state,
                     size_t state_len, NbError *err) {
  NbOpenArgs args;
  d->th.read_chunk = 0;
  d->host = test_host(&d->th);
  settings_init(&d->st, path, kv);
  memset(&args, 0, sizeof args);
  args.struct_size = (uint32_t)sizeof args;
  args.settings = &d->st.s;
  args.batch_rows = 100;
  args.batch_bytes = 1 << 20;
  args.state = state;
  args.state_len = state_len;
  return conn.dest_open(&d->host, &args, &d->handle, err);
}

/* A batch of string columns from rows of values (NULL: null). */
static void make_batch(const char *const *names, size_t cols, const char *const *values,
                       size_t rows, struct ArrowSchema *schema, struct ArrowArray *batch) {
  NbField fields[8];
  NbBatchBuilder *b = NULL;
  size_t r, c;
  memset(fields, 0, sizeof fields);
  for (c = 0; c < cols; c++) {
    fields[c].name = names[c];
    fields[c].type = NB_TYPE_UTF8;
    fields[c].nullable = true;
  }
  assert_int_equal(nb_schema_export(fields, cols, schema, NULL), NB_OK);
  assert_int_equal(nb_batch_builder_new(fields, cols, 16, &b, NULL), NB_OK);
  for (r = 0; r < rows; r++) {
    for (c = 0; c < cols; c++) {
      const char *v = values[r * cols + c];
      NbColumnBuilder *col = nb_batch_builder_column(b, c);
      if (v == NULL)
        assert_int_equal(nb_column_append_null(col), NB_OK);
      else
        assert_int_equal(nb_column_append_utf8(col, v, strlen(v)), NB_OK);
    }
  }
  assert_int_equal(nb_batch_builder_finish(b, batch, NULL), NB_OK);
  nb_batch_builder_free(b);
}

static void write_rows(Dest *d, const char *stream, const char *const *names, size_t cols,
                       const char *const *values, size_t rows) {
  struct ArrowSchema schema;
  struct ArrowArray batch;
  uint32_t index = 99;
  NbError err;
  nb_error_init(&err);
  make_batch(names, cols, values, rows, &schema, &batch);
  if (conn.dest_prepare(d->handle, stream, &schema, &index, &err) != NB_OK)
    fail_msg("prepare: %s", err.message);
  assert_int_equal(conn.dest_write(d->handle, index, &batch, NULL), NB_OK);
  batch.release(&batch);
  schema.release(&schema);
}

static void test_dest_quoting_and_round_trip(void **state) {
  static const char *const names[] = {"id", "text", "maybe"};
  static const char *const values[] = {
      "1", "plain",          "x",  "2", "a,b",   NULL, "3", "say \"hi\"", "",
      "4", "two\r\nlines",   "NULL", "5", "lone\rcr", " pad ",
  };
  char *path = tmp_path("out.csv");
  const char *kv[] = {"null_string", "", NULL};
  Dest d;
  const void *st;
  size_t st_len;
  char *text;
  (void)state;
  assert_int_equal(dest_open(&d, path, kv, NULL, 0, NULL), NB_OK);
  write_rows(&d, "in.csv", names, 3, values, 5);
  assert_int_equal(conn.dest_commit(d.handle, &st, &st_len, NULL), NB_OK);
  conn.dest_close(d.handle);
  text = slurp(path);
  assert_string_equal(text,
                      "id,text,maybe\n"
                      "1,plain,x\n"
                      "2,\"a,b\",\n"
                      "3,\"say \"\"hi\"\"\",\"\"\n"
                      "4,\"two\r\nlines\",NULL\n"
                      "5,\"lone\rcr\", pad \n");
  free(text);
  expect_read_all_chunks(path, kv, 100,
                         "[id:utf8,text:utf8,maybe:utf8]\n"
                         "1|plain|x\n2|a,b|\\N\n3|say \"hi\"|\n4|two\r\nlines|NULL\n"
                         "5|lone\rcr| pad \n");
  free(path);
}

static void test_dest_options(void **state) {
  static const char *const names[] = {"a", "b"};
  static const char *const values[] = {"x", NULL, "", "y;z"};
  char *path = tmp_path("opts.csv");
  const char *kv[] = {"line_ending", "crlf", "quote_style", "all", "delimiter", ";",
                      "null_string", "NULL", "header", "false", NULL};
  Dest d;
  const void *st;
  size_t st_len;
  char *text;
  (void)state;
  assert_int_equal(dest_open(&d, path, kv, NULL, 0, NULL), NB_OK);
  write_rows(&d, "s", names, 2, values, 2);
  assert_int_equal(conn.dest_commit(d.handle, &st, &st_len, NULL), NB_OK);
  conn.dest_close(d.handle);
  text = slurp(path);
  assert_string_equal(text, "\"x\";NULL\r\n\"\";\"y;z\"\r\n");
  free(text);
  free(path);
}

/* Commit, write more without committing, "crash", resume from the state:
 * the file holds the committed rows and the new ones, the header once. */
static void test_dest_resume(void **state) {
  static const char *const names[] = {"k"};
  static const char *const first[] = {"1", "2"};
  static const char *const lost[] = {"lost"};
  static const char *const third[] = {"3"};
  static const char *const other[] = {"other"};
  char *path = tmp_path("resume_out.csv");
  Dest d;
  const void *st;
  size_t st_len;
  void *saved;
  char *text;
  NbError err;
  (void)state;
  assert_int_equal(dest_open(&d, path, NULL, NULL, 0, NULL), NB_OK);
  write_rows(&d, "in", names, 1, first, 2);
  assert_int_equal(conn.dest_commit(d.handle, &st, &st_len, NULL), NB_OK);
  saved = malloc(st_len);
  memcpy(saved, st, st_len);
  write_rows(&d, "in", names, 1, lost, 1);
  conn.dest_close(d.handle);

  assert_int_equal(dest_open(&d, path, NULL, saved, st_len, NULL), NB_OK);
  write_rows(&d, "in", names, 1, third, 1);
  assert_int_equal(conn.dest_commit(d.handle, &st, &st_len, NULL), NB_OK);
  conn.dest_close(d.handle);
  text = slurp(path);
  assert_string_equal(text, "k\n1\n2\n3\n");
  free(text);

  /* Resuming with other columns than the file's header is refused. */
  assert_int_equal(dest_open(&d, path, NULL, saved, st_len, NULL), NB_OK);
  {
    struct ArrowSchema schema;
    struct ArrowArray batch;
    uint32_t index;
    make_batch(other, 1, other, 1, &schema, &batch);
    nb_error_init(&err);
    assert_int_equal(conn.dest_prepare(d.handle, "in", &schema, &index, &err), NB_INVALID);
    assert_non_null(strstr(err.message, "does not have the columns of file"));
    nb_error_release(&err);
    batch.release(&batch);
    schema.release(&schema);
  }
  conn.dest_close(d.handle);

  /* A corrupt state is refused at open. */
  nb_error_init(&err);
  assert_int_equal(dest_open(&d, path, NULL, "junk", 4, &err), NB_INVALID);
  nb_error_release(&err);
  free(saved);
  free(path);
}

/* Several streams into one file: the header once; other columns refused
 * naming both lists.  With {stream}: one file per stream. */
static void test_dest_streams(void **state) {
  static const char *const ab[] = {"a", "b"};
  static const char *const ac[] = {"a", "c"};
  static const char *const v1[] = {"1", "2"};
  static const char *const v2[] = {"3", "4"};
  char *path = tmp_path("all.csv");
  char *tmpl = tmp_path("per_{stream}.csv");
  char *p1 = tmp_path("per_one.csv");
  char *p2 = tmp_path("per_two.csv");
  Dest d;
  const void *st;
  size_t st_len;
  void *saved;
  char *text;
  NbError err;
  (void)state;
  assert_int_equal(dest_open(&d, path, NULL, NULL, 0, NULL), NB_OK);
  write_rows(&d, "x/one.csv", ab, 2, v1, 1);
  write_rows(&d, "x/two.csv", ab, 2, v2, 1);
  {
    struct ArrowSchema schema;
    struct ArrowArray batch;
    uint32_t index;
    make_batch(ac, 2, v1, 1, &schema, &batch);
    nb_error_init(&err);
    assert_int_equal(conn.dest_prepare(d.handle, "x/three.csv", &schema, &index, &err),
                     NB_INVALID);
    assert_non_null(strstr(err.detail, "\"a\", \"b\""));
    assert_non_null(strstr(err.detail, "\"a\", \"c\""));
    nb_error_release(&err);
    batch.release(&batch);
    schema.release(&schema);
  }
  assert_int_equal(conn.dest_commit(d.handle, &st, &st_len, NULL), NB_OK);
  conn.dest_close(d.handle);
  text = slurp(path);
  assert_string_equal(text, "a,b\n1,2\n3,4\n");
  free(text);

  assert_int_equal(dest_open(&d, tmpl, NULL, NULL, 0, NULL), NB_OK);
  write_rows(&d, "in/one.csv.gz", ab, 2, v1, 1);
  write_rows(&d, "in/two.csv", ac, 2, v2, 1);
  assert_int_equal(conn.dest_commit(d.handle, &st, &st_len, NULL), NB_OK);
  saved = malloc(st_len);
  memcpy(saved, st, st_len);
  write_rows(&d, "in/two.csv", ac, 2, v1, 1);
  conn.dest_close(d.handle);
  text = slurp(p1);
  assert_string_equal(text, "a,b\n1,2\n");
  free(text);

  /* Resume per-stream files: each truncated to its committed length. */
  assert_int_equal(dest_open(&d, tmpl, NULL, saved, st_len, NULL), NB_OK);
  write_rows(&d, "in/two.csv", ac, 2, v2, 1);
  assert_int_equal(conn.dest_commit(d.handle, &st, &st_len, NULL), NB_OK);
  conn.dest_close(d.handle);
  text = slurp(p2);
  assert_string_equal(text, "a,c\n3,4\n3,4\n");
  free(text);
  free(saved);
  free(path);
  free(tmpl);
  free(p1);
  free(p2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_entry_and_settings),
      cmocka_unit_test(test_header_and_quotes),
      cmocka_unit_test(test_no_header),
      cmocka_unit_test(test_empty_files),
      cmocka_unit_test(test_null_string),
      cmocka_unit_test(test_delimiter_settings),
      cmocka_unit_test(test_ragged_rows),
      cmocka_unit_test(test_bad_record_errors),
      cmocka_unit_test(test_unterminated_quote),
      cmocka_unit_test(test_strict),
      cmocka_unit_test(test_declared_types),
      cmocka_unit_test(test_declared_type_errors),
      cmocka_unit_test(test_infer_types),
      cmocka_unit_test(test_infer_widening),
      cmocka_unit_test(test_resume),
      cmocka_unit_test(test_glob_and_missing),
      cmocka_unit_test(test_data_files),
      cmocka_unit_test(test_dest_quoting_and_round_trip),
      cmocka_unit_test(test_dest_options),
      cmocka_unit_test(test_dest_resume),
      cmocka_unit_test(test_dest_streams),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
