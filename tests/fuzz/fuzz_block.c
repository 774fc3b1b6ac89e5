/*
 * fuzz_block.c - the host's one-shot block codecs (host/io/block_codec.c,
 * the NbHostApi block_* slots of ABI 1.2) on arbitrary input.
 *
 * Input: byte 0 chooses the codec and the output capacity; the rest is a
 * "compressed block" to decompress, and also plain data to compress.
 * Invariants: decompression never reports more output than the capacity
 * and fails with a message or succeeds; compressing the data into the
 * bound always succeeds and decompresses back to exactly the data.  Both
 * run once without and once with reusable contexts (NbhBlockContexts), the
 * round trip after the hostile block went through the same contexts.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "block_codec.h"
#include "nebula/sdk.h"

static const char *const codecs[] = {"snappy", "gzip", "deflate", "zstd", "lz4_raw", "lz4_frame"};

static void check_decompress(NbhBlockContexts *ctx, const char *codec, const uint8_t *data, size_t size, size_t cap) {
  uint8_t *out = malloc(cap + 1);
  if (out == NULL) return;
  size_t made = (size_t)-1;
  NbError err;
  nb_error_init(&err);
  int rc = nbh_block_decompress_with(ctx, codec, data, size, out, cap, &made, &err);
  if (rc == NB_OK && made > cap) fuzz_fail("%s: %zu bytes into %zu", codec, made, cap);
  if (rc != NB_OK && err.message == NULL) fuzz_fail("%s: failure %d without a message", codec, rc);
  if (rc != NB_OK && rc != NB_DATA && rc != NB_NOMEM) fuzz_fail("%s: status %d", codec, rc);
  nb_error_release(&err);
  free(out);
}

static void check_round_trip(NbhBlockContexts *ctx, const char *codec, const uint8_t *data, size_t size) {
  size_t bound = nbh_block_compress_bound(NULL, codec, size);
  if (bound == 0) fuzz_fail("%s: no bound for %zu bytes", codec, size);
  uint8_t *packed = malloc(bound);
  uint8_t *back = malloc(size + 1);
  if (packed == NULL || back == NULL) goto done;
  size_t packed_len = 0, back_len = 0;
  NbError err;
  nb_error_init(&err);
  if (nbh_block_compress_with(ctx, codec, 0, data, size, packed, bound, &packed_len, &err) != NB_OK)
    fuzz_fail("%s: compressing %zu bytes into the bound failed: %s", codec, size, err.message);
  if (packed_len > bound) fuzz_fail("%s: %zu bytes past the bound %zu", codec, packed_len, bound);
  if (nbh_block_decompress_with(ctx, codec, packed, packed_len, back, size, &back_len, &err) != NB_OK)
    fuzz_fail("%s: own block does not decompress: %s", codec, err.message);
  if (back_len != size || (size > 0 && memcmp(back, data, size) != 0))
    fuzz_fail("%s: round trip changed the data", codec);
  nb_error_release(&err);
done:
  free(packed);
  free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t a = fuzz_take(&data, &size);
  const char *codec = codecs[a % (sizeof codecs / sizeof codecs[0])];
  size_t cap = (size_t)(a >> 3) * 1024; /* 0 .. 31 KiB */
  check_decompress(NULL, codec, data, size, cap);
  check_round_trip(NULL, codec, data, size);
  NbhBlockContexts ctx;
  nbh_block_contexts_init(&ctx);
  check_decompress(&ctx, codec, data, size, cap);
  check_round_trip(&ctx, codec, data, size);
  nbh_block_contexts_release(&ctx);
  return 0;
}
