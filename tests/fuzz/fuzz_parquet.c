/*
 * fuzz_parquet.c - the parquet source (plugins/parquet: footer, schema,
 * page headers, codecs through the host's block slots, every encoding) on
 * arbitrary files.
 *
 * Input: byte 0 chooses the batch size and whether a projection is used;
 * the rest is the file, given to the source as a memory file.
 * Invariants: every call returns a status with a message on failure, the
 * batches validate as Arrow, and the stream ends (no more batches than
 * the input could describe).
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "block_codec.h"
#include "nebula/sdk.h"
#include "parquet_connector.h"

static void quiet_log(void *h, int level, const char *message) {
  (void)h;
  (void)level;
  (void)message;
}
static int never_cancelled(void *h) {
  (void)h;
  return 0;
}

static void check(int rc, const NbError *err, const char *what) {
  if (rc != NB_OK && rc != NB_END && err->message == NULL) fuzz_fail("%s: status %d without a message", what, rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t a = fuzz_take(&data, &size);
  int fd = memfd_create("fuzz.parquet", 0);
  if (fd < 0) return 0;
  if (size > 0 && write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  NbHostApi host;
  memset(&host, 0, sizeof host);
  host.struct_size = sizeof host;
  host.abi_version = NB_ABI_CURRENT;
  host.log = quiet_log;
  host.is_cancelled = never_cancelled;
  host.block_compress_bound = nbh_block_compress_bound;
  host.block_compress = nbh_block_compress;
  host.block_decompress = nbh_block_decompress;
  const char *names[] = {"path", "max_page_bytes", "columns"};
  const char *values[] = {path, "1048576", "a"};
  NbSettings settings = {sizeof settings, (a & 1) ? 3u : 2u, names, values};
  NbOpenArgs args;
  memset(&args, 0, sizeof args);
  args.struct_size = sizeof args;
  args.settings = &settings;
  args.batch_rows = 1 + (a >> 1);
  args.batch_bytes = 1 << 20;
  NbError err;
  nb_error_init(&err);
  void *src = NULL;
  int rc = parquet_source_open(&host, &args, &src, &err);
  check(rc, &err, "open");
  nb_error_release(&err);
  if (rc == NB_OK) {
    struct ArrowSchema schema;
    memset(&schema, 0, sizeof schema);
    rc = parquet_source_schema(src, 0, &schema, &err);
    check(rc, &err, "schema");
    nb_error_release(&err);
    /* A small file may hold many rows (run-length encoded levels, 1-row
     * batches): read at most 100000 rows of it.  Empty batches in a row
     * are no progress. */
    int64_t rows = 0;
    for (int empty = 0; rc == NB_OK && rows < 100000;) {
      if (empty > 1000) fuzz_fail("%d empty batches in a row", empty);
      struct ArrowArray array;
      memset(&array, 0, sizeof array);
      NbBatchInfo info;
      memset(&info, 0, sizeof info);
      info.struct_size = sizeof info;
      rc = parquet_source_next(src, 0, &array, &info, &err);
      check(rc, &err, "next");
      nb_error_release(&err);
      if (rc == NB_OK) {
        if (nb_arrow_validate(&schema, &array, &err) != NB_OK)
          fuzz_fail("an invalid batch: %s", err.message ? err.message : "?");
        rows += array.length;
        empty = array.length == 0 ? empty + 1 : 0;
        array.release(&array);
      }
    }
    if (schema.release != NULL) schema.release(&schema);
  }
  parquet_source_close(src);
  close(fd);
  return 0;
}
