/*
 * fuzz_avro.c - the avro source (plugins/avro) on an arbitrary "file".
 *
 * Input: the bytes of an Avro object container file, served by a memory
 * host (file_open_read, file_read, file_skip; the block_* slots are the
 * host's own codecs).  The source opens it, exports the schema and reads
 * batches until the end or an error.  Invariants: every failure has a
 * message; a batch validates as Arrow; reading ends (NB_END or an error
 * repeated without progress) within a bounded number of calls.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "avro_connector.h"
#include "block_codec.h"
#include "nebula/sdk.h"

typedef struct MemFile {
  const uint8_t *data;
  size_t size, pos;
  int open;
} MemFile;

static void host_log(void *h, int level, const char *m) { (void)h, (void)level, (void)m; }
static int host_cancelled(void *h) { (void)h; return 0; }
static void host_counter(void *h, const char *n, int64_t d) { (void)h, (void)n, (void)d; }

static int mem_open(void *h, const char *path, NbFile **out, NbError *err) {
  MemFile *f = h;
  (void)path;
  if (f->open) return nb_error_set(err, NB_IO, "opened twice");
  f->open = 1;
  f->pos = 0;
  *out = (NbFile *)f;
  return NB_OK;
}

static int mem_read(NbFile *file, void *buf, size_t cap, size_t *n, NbError *err) {
  MemFile *f = (MemFile *)file;
  (void)err;
  size_t left = f->size - f->pos;
  *n = cap < left ? cap : left;
  memcpy(buf, f->data + f->pos, *n);
  f->pos += *n;
  return NB_OK;
}

static int mem_skip(NbFile *file, uint64_t n, NbError *err) {
  MemFile *f = (MemFile *)file;
  (void)err;
  if (n > f->size - f->pos) {
    f->pos = f->size;
    return NB_END;
  }
  f->pos += (size_t)n;
  return NB_OK;
}

static int mem_close(NbFile *file, NbError *err) {
  (void)err;
  ((MemFile *)file)->open = 0;
  return NB_OK;
}

static void must_have_message(int rc, const NbError *err, const char *what) {
  if (rc != NB_OK && rc != NB_END && err->message == NULL) fuzz_fail("%s: status %d without a message", what, rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MemFile mem = {data, size, 0, 0};
  NbHostApi host;
  memset(&host, 0, sizeof host);
  host.struct_size = (uint32_t)sizeof host;
  host.abi_version = NB_ABI_CURRENT;
  host.host_data = &mem;
  host.log = host_log;
  host.is_cancelled = host_cancelled;
  host.counter_add = host_counter;
  host.file_open_read = mem_open;
  host.file_read = mem_read;
  host.file_close = mem_close;
  host.file_skip = mem_skip;
  host.block_compress_bound = nbh_block_compress_bound;
  host.block_compress = nbh_block_compress;
  host.block_decompress = nbh_block_decompress;

  const char *names[] = {"path", "max_block_bytes"};
  const char *values[] = {"mem.avro", "1048576"};
  NbSettings settings = {(uint32_t)sizeof settings, 2, names, values};
  NbOpenArgs args;
  memset(&args, 0, sizeof args);
  args.struct_size = (uint32_t)sizeof args;
  args.settings = &settings;
  args.batch_rows = 64;
  args.batch_bytes = 1 << 20;

  NbError err;
  nb_error_init(&err);
  void *src = NULL;
  int rc = avro_source_open(&host, &args, &src, &err);
  must_have_message(rc, &err, "open");
  nb_error_release(&err);
  if (rc != NB_OK) return 0;

  struct ArrowSchema schema;
  memset(&schema, 0, sizeof schema);
  rc = avro_source_schema(src, 0, &schema, &err);
  must_have_message(rc, &err, "schema");
  nb_error_release(&err);
  for (int calls = 0; rc == NB_OK; calls++) {
    if (calls > 100000) fuzz_fail("no end after %d batches", calls);
    struct ArrowArray batch;
    memset(&batch, 0, sizeof batch);
    NbBatchInfo info;
    memset(&info, 0, sizeof info);
    info.struct_size = (uint32_t)sizeof info;
    rc = avro_source_next(src, 0, &batch, &info, &err);
    must_have_message(rc, &err, "next");
    nb_error_release(&err);
    if (rc == NB_OK) {
      if (nb_arrow_validate(&schema, &batch, &err) != NB_OK) fuzz_fail("invalid batch: %s", err.message);
      batch.release(&batch);
    }
  }
  if (schema.release != NULL) schema.release(&schema);
  avro_source_close(src);
  return 0;
}
