/*
 * test_arrow.c - the arrow connector through its vtable functions with a
 * stdio test host: sliced input arrays (offset != 0, bitmaps not on a byte
 * boundary, string offsets not starting at 0) written and read back value
 * for value, in both formats and with compression; the flatbuffers reader
 * refusing offsets outside the buffer; a destination state that is not
 * understood.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arrow_connector.h"
#include "block_codec.h"
#include "flatbuf.h"

struct NbFile {
  FILE *fp;
};

static void host_log(void *h, int level, const char *m) { (void)h; (void)level; (void)m; }
static int host_cancelled(void *h) { (void)h; return 0; }
static void host_counter_add(void *h, const char *n, int64_t d) { (void)h; (void)n; (void)d; }

static int host_open_read(void *h, const char *path, NbFile **out, NbError *err) {
  (void)h;
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) return nb_error_set(err, NB_NOT_FOUND, "no file \"%s\"", path);
  NbFile *f = calloc(1, sizeof *f);
  f->fp = fp;
  *out = f;
  return NB_OK;
}
static int host_read(NbFile *f, void *buf, size_t cap, size_t *n, NbError *err) {
  (void)err;
  *n = fread(buf, 1, cap, f->fp);
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
static int host_open_write(void *h, const char *path, const NbWriteOptions *o, NbFile **out,
                           NbError *err) {
  (void)h;
  FILE *fp;
  if (o != NULL && o->resume_length >= 0) {
    if (truncate(path, o->resume_length) != 0) return nb_error_set(err, NB_IO, "truncate");
    fp = fopen(path, "ab");
  } else {
    fp = fopen(path, "wb");
  }
  if (fp == NULL) return nb_error_set(err, NB_IO, "could not open \"%s\"", path);
  NbFile *f = calloc(1, sizeof *f);
  f->fp = fp;
  *out = f;
  return NB_OK;
}
static int host_write(NbFile *f, const void *buf, size_t len, NbError *err) {
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

static NbHostApi host;

static void host_init(void) {
  memset(&host, 0, sizeof host);
  host.struct_size = sizeof host;
  host.abi_version = NB_ABI_CURRENT;
  host.log = host_log;
  host.is_cancelled = host_cancelled;
  host.counter_add = host_counter_add;
  host.file_open_read = host_open_read;
  host.file_read = host_read;
  host.file_open_write = host_open_write;
  host.file_write = host_write;
  host.file_commit = host_commit;
  host.file_close = host_close;
  host.file_skip = host_skip;
  host.block_compress_bound = nbh_block_compress_bound;
  host.block_compress = nbh_block_compress;
  host.block_decompress = nbh_block_decompress;
}

typedef struct Open {
  const char *names[4];
  const char *values[4];
  NbSettings settings;
  NbOpenArgs args;
} Open;

static void open_args(Open *o, const char *path, const char *compression) {
  memset(o, 0, sizeof *o);
  o->names[0] = "path";
  o->values[0] = path;
  o->names[1] = "compression";
  o->values[1] = compression;
  o->settings.struct_size = sizeof o->settings;
  o->settings.count = compression != NULL ? 2 : 1;
  o->settings.names = o->names;
  o->settings.values = o->values;
  o->args.struct_size = sizeof o->args;
  o->args.settings = &o->settings;
  o->args.batch_rows = 1000;
  o->args.batch_bytes = 1 << 20;
}

static const NbField fields[] = {
    {"s", NB_TYPE_UTF8, true, 0, 0, NULL},
    {"ls", NB_TYPE_LARGE_UTF8, true, 0, 0, NULL},
    {"i", NB_TYPE_INT64, true, 0, 0, NULL},
    {"f", NB_TYPE_FLOAT64, true, 0, 0, NULL},
    {"b", NB_TYPE_BOOL, true, 0, 0, NULL},
    {"d", NB_TYPE_DECIMAL128, true, 12, 3, NULL},
    {"day", NB_TYPE_DATE32, true, 0, 0, NULL},
    {"ts", NB_TYPE_TIMESTAMP, true, 0, 0, "UTC"},
    {"j", NB_TYPE_JSON, true, 0, 0, NULL},
};
#define N_FIELDS (sizeof fields / sizeof fields[0])
#define ROWS 21

/* Row r of the test data: null when r % 4 == 2. */
static void build_batch(struct ArrowArray *out) {
  NbBatchBuilder *b;
  assert_int_equal(nb_batch_builder_new(fields, N_FIELDS, ROWS, &b, NULL), NB_OK);
  for (int r = 0; r < ROWS; r++) {
    char text[32];
    for (size_t c = 0; c < N_FIELDS; c++) {
      NbColumnBuilder *col = nb_batch_builder_column(b, c);
      if (r % 4 == 2) {
        assert_int_equal(nb_column_append_null(col), NB_OK);
        continue;
      }
      switch (fields[c].type) {
      case NB_TYPE_UTF8: case NB_TYPE_LARGE_UTF8:
        snprintf(text, sizeof text, "v%d-é%s", r, c == 0 ? "x" : "");
        assert_int_equal(nb_column_append_utf8(col, text, strlen(text)), NB_OK);
        break;
      case NB_TYPE_JSON:
        snprintf(text, sizeof text, "{\"r\":%d}", r);
        assert_int_equal(nb_column_append_utf8(col, text, strlen(text)), NB_OK);
        break;
      case NB_TYPE_INT64: nb_column_append_int64(col, (int64_t)r * -1000003); break;
      case NB_TYPE_FLOAT64: nb_column_append_double(col, r / 8.0); break;
      case NB_TYPE_BOOL: nb_column_append_bool(col, r % 3 == 0); break;
      case NB_TYPE_DECIMAL128: nb_column_append_decimal128(col, (uint64_t)(r * 1234567), 0); break;
      case NB_TYPE_DATE32: nb_column_append_date32(col, r * 1000 - 5000); break;
      case NB_TYPE_TIMESTAMP: nb_column_append_timestamp(col, (int64_t)r * 1000001); break;
      default: fail();
      }
    }
  }
  assert_int_equal(nb_batch_builder_finish(b, out, NULL), NB_OK);
  nb_batch_builder_free(b);
}

/* A view of rows [first, first + n) of batch: children with an offset. */
typedef struct Slice {
  struct ArrowArray parent;
  struct ArrowArray kids[N_FIELDS];
  struct ArrowArray *kid_ptrs[N_FIELDS];
} Slice;

static void no_release(struct ArrowArray *a) { a->release = NULL; }

static void make_slice(Slice *s, const struct ArrowArray *batch, int64_t first, int64_t n) {
  s->parent = *batch;
  s->parent.length = n;
  s->parent.offset = 0;
  s->parent.release = no_release;
  s->parent.children = s->kid_ptrs;
  for (size_t c = 0; c < N_FIELDS; c++) {
    s->kids[c] = *batch->children[c];
    s->kids[c].offset = first;
    s->kids[c].length = n;
    s->kids[c].null_count = -1; /* unknown: the writer counts */
    s->kids[c].release = no_release;
    s->kid_ptrs[c] = &s->kids[c];
  }
}

/* Every value of rows [first, first+n) of want equals row i of got. */
static void assert_same_values(const struct ArrowSchema *schema, const struct ArrowArray *want,
                               int64_t first, const struct ArrowArray *got, int64_t got_first,
                               int64_t n) {
  NbColumnView *wv, *gv;
  size_t wn, gn;
  assert_int_equal(nb_batch_views(schema, want, &wv, &wn, NULL), NB_OK);
  assert_int_equal(nb_batch_views(schema, got, &gv, &gn, NULL), NB_OK);
  for (size_t c = 0; c < wn; c++) {
    const NbColumnView *a = nb_column_view_at(wv, c), *b = nb_column_view_at(gv, c);
    for (int64_t i = 0; i < n; i++) {
      bool an = nb_view_is_null(a, first + i), bn = nb_view_is_null(b, got_first + i);
      assert_int_equal(an, bn);
      if (an) continue;
      char x[NB_TEXT_SCRATCH], y[NB_TEXT_SCRATCH];
      const char *tx, *ty;
      size_t lx = nb_view_text_n(a, first + i, x, sizeof x, &tx);
      size_t ly = nb_view_text_n(b, got_first + i, y, sizeof y, &ty);
      if (lx != ly || memcmp(tx, ty, lx) != 0)
        fail_msg("column %zu row %lld: \"%.*s\" read back as \"%.*s\"", c, (long long)i, (int)lx,
                 tx, (int)ly, ty);
    }
  }
  free(wv);
  free(gv);
}

static void slices_round_trip(const char *path, const char *compression) {
  struct ArrowSchema schema;
  struct ArrowArray batch;
  Open o;
  void *dest = NULL, *src = NULL;
  uint32_t stream;
  const void *state;
  size_t state_len;
  NbError err;
  nb_error_init(&err);
  assert_int_equal(nb_schema_export(fields, N_FIELDS, &schema, NULL), NB_OK);
  build_batch(&batch);
  open_args(&o, path, compression);
  assert_int_equal(arrow_dest_open(&host, &o.args, &dest, &err), NB_OK);
  assert_int_equal(arrow_dest_prepare(dest, "t", &schema, &stream, &err), NB_OK);
  /* slices starting at odd bits: 3..9, 10..20, and the whole batch */
  static const int64_t cuts[][2] = {{3, 7}, {10, 11}, {0, ROWS}};
  for (size_t k = 0; k < 3; k++) {
    Slice s;
    make_slice(&s, &batch, cuts[k][0], cuts[k][1]);
    assert_int_equal(arrow_dest_write(dest, stream, &s.parent, &err), NB_OK);
  }
  assert_int_equal(arrow_dest_commit(dest, &state, &state_len, &err), NB_OK);
  assert_int_equal(arrow_dest_finish(dest, &err), NB_OK);
  arrow_dest_close(dest);

  open_args(&o, path, NULL);
  assert_int_equal(arrow_source_open(&host, &o.args, &src, &err), NB_OK);
  struct ArrowSchema got_schema;
  assert_int_equal(arrow_source_schema(src, 0, &got_schema, &err), NB_OK);
  for (size_t k = 0; k < 3; k++) {
    struct ArrowArray got;
    NbBatchInfo info = {sizeof info, NULL, 0, 0};
    int rc = arrow_source_next(src, 0, &got, &info, &err);
    if (rc != NB_OK) fail_msg("next: %s", err.message);
    assert_int_equal(got.length, cuts[k][1]);
    assert_int_equal(nb_arrow_validate(&got_schema, &got, NULL), NB_OK);
    assert_same_values(&schema, &batch, cuts[k][0], &got, 0, cuts[k][1]);
    got.release(&got);
  }
  struct ArrowArray end;
  NbBatchInfo info = {sizeof info, NULL, 0, 0};
  assert_int_equal(arrow_source_next(src, 0, &end, &info, &err), NB_END);
  got_schema.release(&got_schema);
  arrow_source_close(src);
  batch.release(&batch);
  schema.release(&schema);
  nb_error_release(&err);
  unlink(path);
}

static char dir[64];

static void test_slices_file(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/s.arrow", dir);
  slices_round_trip(path, NULL);
}

static void test_slices_stream_zstd(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/s.arrows", dir);
  slices_round_trip(path, "zstd");
}

static void test_slices_file_lz4(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/l.arrow", dir);
  slices_round_trip(path, "lz4_frame");
}

static void test_flatbuf_refuses_outside(void **state) {
  (void)state;
  FbTable t;
  uint8_t buf[16] = {0};
  buf[0] = 12; /* root table at 12: its soffset points outside */
  buf[12] = 0x80;
  buf[15] = 0x7f;
  assert_false(fb_root(buf, sizeof buf, &t));
  buf[0] = 200; /* root beyond the buffer */
  assert_false(fb_root(buf, sizeof buf, &t));
  assert_false(fb_root(buf, 4, &t));
}

static void test_flatbuf_builder_reads_back(void **state) {
  (void)state;
  FbBuilder b;
  FbTable t, sub;
  FbVector v;
  bool present;
  int64_t x;
  const char *s;
  size_t n;
  fb_builder_init(&b);
  size_t root = fb_begin(&b);
  fb_table_start(&b);
  fb_add_scalar(&b, 0, 8, (uint64_t)-5);
  fb_add_offset(&b, 1);
  fb_add_offset(&b, 3);
  size_t table = fb_table_end(&b);
  size_t s1 = b.slots[1], s3 = b.slots[3];
  fb_patch(&b, root, table);
  fb_patch(&b, s1, fb_string_write(&b, "héllo", strlen("héllo")));
  fb_table_start(&b);
  fb_add_offset(&b, 0);
  size_t inner = fb_table_end(&b);
  size_t s0 = b.slots[0];
  fb_patch(&b, s3, inner);
  fb_patch(&b, s0, fb_vector_write(&b, 8, 8, 2, (const int64_t[]){7, 9}));
  assert_false(b.failed);
  assert_true(fb_root(b.data, b.len, &t));
  assert_true(fb_i64(&t, 0, 0, &x));
  assert_int_equal(x, -5);
  assert_true(fb_string(&t, 1, &s, &n, &present));
  assert_true(present);
  assert_int_equal(n, strlen("héllo"));
  assert_memory_equal(s, "héllo", n);
  assert_true(fb_table(&t, 2, &sub, &present));
  assert_false(present);
  assert_true(fb_table(&t, 3, &sub, &present));
  assert_true(present);
  assert_true(fb_vector(&sub, 0, 8, &v, &present));
  assert_int_equal(v.count, 2);
  assert_int_equal(fb_read_i64(fb_vector_struct(&v, 1, 8)), 9);
  /* every shorter buffer either fails or reads in bounds (ASan) */
  for (size_t len = 0; len < b.len; len++) {
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, b.data, len);
    if (fb_root(copy, len, &t)) {
      fb_string(&t, 1, &s, &n, &present);
      if (fb_table(&t, 3, &sub, &present) && present) fb_vector(&sub, 0, 8, &v, &present);
    }
    free(copy);
  }
  fb_builder_free(&b);
}

static void test_dest_refuses_foreign_state(void **state) {
  (void)state;
  static const char *const bad[] = {
      "nebula-json-dest 1\n",
      "nebula-arrow-dest 1\n12 5 99999999 3 abc\n",
      "nebula-arrow-dest 1\n100 5 1 3 abc\n0 10 200\n",
      "nebula-arrow-dest 1\n100 5 0 30 abc\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    Open o;
    void *dest = NULL;
    NbError err;
    nb_error_init(&err);
    open_args(&o, "/nonexistent/x.arrow", NULL);
    o.args.state = bad[i];
    o.args.state_len = strlen(bad[i]);
    assert_int_equal(arrow_dest_open(&host, &o.args, &dest, &err), NB_INVALID);
    assert_null(dest);
    assert_non_null(strstr(err.message, "not understood"));
    nb_error_release(&err);
  }
}

int main(void) {
  host_init();
  snprintf(dir, sizeof dir, "%s/nebula-test-arrow.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (mkdtemp(dir) == NULL) return 99;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slices_file),
      cmocka_unit_test(test_slices_stream_zstd),
      cmocka_unit_test(test_slices_file_lz4),
      cmocka_unit_test(test_flatbuf_refuses_outside),
      cmocka_unit_test(test_flatbuf_builder_reads_back),
      cmocka_unit_test(test_dest_refuses_foreign_state),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  rmdir(dir);
  return rc;
}
