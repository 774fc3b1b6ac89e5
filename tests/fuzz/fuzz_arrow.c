/*
 * fuzz_arrow.c - the arrow source (plugins/arrow: flatbuffers reader, IPC
 * messages, column decoding, dictionaries, compressed bodies through the
 * host's block codecs) on arbitrary input, through its vtable functions
 * with a host whose one file is the input in memory.
 *
 * Invariants: open, schema and next return a status (never crash, never
 * read outside a buffer: ASan); a failure carries a message; every batch
 * returned passes nb_arrow_validate, and every value of every column is
 * read as text (so a buffer shorter than the array claims is caught by
 * ASan); the stream ends within a bounded number of calls.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "arrow_connector.h"
#include "block_codec.h"
#include "nebula/sdk.h"

typedef struct MemFile {
  const uint8_t *data;
  size_t size, pos;
} MemFile;

typedef struct Input {
  const uint8_t *data;
  size_t size;
  MemFile file;
  int opened;
} Input;

static void host_log(void *h, int level, const char *m) { (void)h; (void)level; (void)m; }
static int host_cancelled(void *h) { (void)h; return 0; }
static void host_counter(void *h, const char *n, int64_t d) { (void)h; (void)n; (void)d; }

static int host_open_read(void *h, const char *path, NbFile **out, NbError *err) {
  Input *in = h;
  (void)path;
  if (in->opened > 8) return nb_error_set(err, NB_IO, "too many opens");
  in->opened++;
  in->file.data = in->data;
  in->file.size = in->size;
  in->file.pos = 0;
  *out = (NbFile *)&in->file;
  return NB_OK;
}

static int host_read(NbFile *f, void *buf, size_t cap, size_t *n, NbError *err) {
  MemFile *m = (MemFile *)f;
  (void)err;
  size_t left = m->size - m->pos;
  *n = cap < left ? cap : left;
  memcpy(buf, m->data + m->pos, *n);
  m->pos += *n;
  return NB_OK;
}

static int host_skip(NbFile *f, uint64_t n, NbError *err) {
  MemFile *m = (MemFile *)f;
  (void)err;
  if (n > m->size - m->pos) {
    m->pos = m->size;
    return NB_END;
  }
  m->pos += (size_t)n;
  return NB_OK;
}

static int host_close(NbFile *f, NbError *err) { (void)f; (void)err; return NB_OK; }

static void touch_batch(const struct ArrowSchema *schema, const struct ArrowArray *batch) {
  NbError err;
  nb_error_init(&err);
  if (nb_arrow_validate(schema, batch, &err) != NB_OK)
    fuzz_fail("a batch does not validate: %s", err.message ? err.message : "?");
  NbColumnView *views = NULL;
  size_t n = 0;
  if (nb_batch_views(schema, batch, &views, &n, &err) != NB_OK)
    fuzz_fail("no views of a batch: %s", err.message ? err.message : "?");
  char buf[NB_TEXT_SCRATCH];
  volatile size_t sum = 0;
  for (size_t c = 0; c < n; c++) {
    const NbColumnView *v = nb_column_view_at(views, c);
    for (int64_t r = 0; r < batch->length; r++) {
      const char *text;
      if (nb_view_is_null(v, r)) continue;
      size_t len = nb_view_text_n(v, r, buf, sizeof buf, &text);
      if (text != NULL && len > 0) sum += (unsigned char)text[0] + (unsigned char)text[len - 1];
    }
  }
  free(views);
  nb_error_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Input in;
  memset(&in, 0, sizeof in);
  in.data = data;
  in.size = size;
  NbHostApi host;
  memset(&host, 0, sizeof host);
  host.struct_size = (uint32_t)sizeof host;
  host.abi_version = NB_ABI_CURRENT;
  host.host_data = &in;
  host.log = host_log;
  host.is_cancelled = host_cancelled;
  host.counter_add = host_counter;
  host.file_open_read = host_open_read;
  host.file_read = host_read;
  host.file_close = host_close;
  host.file_skip = host_skip;
  host.block_compress_bound = nbh_block_compress_bound;
  host.block_compress = nbh_block_compress;
  host.block_decompress = nbh_block_decompress;

  /* A path that is no file: the footer of a file-format input without a
   * schema message cannot be read, which is an error like any other. */
  const char *names[] = {"path", "max_batch_bytes"};
  const char *values[] = {"/nonexistent/fuzz.arrows", "1048576"};
  NbSettings settings = {sizeof settings, 2, names, values};
  NbOpenArgs args;
  memset(&args, 0, sizeof args);
  args.struct_size = (uint32_t)sizeof args;
  args.settings = &settings;
  args.batch_rows = 1024;
  args.batch_bytes = 1 << 20;

  NbError err;
  nb_error_init(&err);
  void *src = NULL;
  if (arrow_source_open(&host, &args, &src, &err) != NB_OK) fuzz_fail("open failed");
  struct ArrowSchema schema;
  memset(&schema, 0, sizeof schema);
  int rc = arrow_source_schema(src, 0, &schema, &err);
  if (rc == NB_OK) {
    for (int calls = 0; calls < 10000; calls++) {
      struct ArrowArray batch;
      NbBatchInfo info;
      memset(&batch, 0, sizeof batch);
      memset(&info, 0, sizeof info);
      info.struct_size = (uint32_t)sizeof info;
      rc = arrow_source_next(src, 0, &batch, &info, &err);
      if (rc == NB_OK) {
        touch_batch(&schema, &batch);
        batch.release(&batch);
        continue;
      }
      break;
    }
    schema.release(&schema);
  }
  if (rc != NB_OK && rc != NB_END && err.message == NULL) fuzz_fail("status %d without a message", rc);
  nb_error_release(&err);
  arrow_source_close(src);
  return 0;
}
