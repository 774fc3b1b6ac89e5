/*
 * test_block_codec.c - unit tests of the one-shot block codecs
 * (host/io/block_codec.c, NbHostApi block_* slots of ABI 1.2): round trips
 * of every codec over empty, tiny, repetitive and random data; blocks made
 * by the reference tools (gzip, zstd, lz4 command-line formats) read back;
 * and every kind of bad block refused with NB_DATA and a message: damaged
 * at each byte, truncated at each length, trailing bytes, output larger
 * than the capacity the format recorded.  The reusable contexts of the _with
 * variants give the same bytes as one-shot calls, recover from a corrupt
 * block, and stay correct when two threads share them.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "block_codec.h"
#include "nebula/sdk.h"

static const char *const codecs[] = {"snappy", "gzip", "deflate", "zstd", "lz4_raw", "lz4_frame"};
#define N_CODECS (sizeof codecs / sizeof codecs[0])

/* Deterministic test data: text-like when repetitive, else pseudo-random. */
static uint8_t *make_data(size_t n, int repetitive) {
  uint8_t *p = malloc(n + 1);
  assert_non_null(p);
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    p[i] = repetitive ? (uint8_t)("nebula block codec "[i % 19]) : (uint8_t)x;
  }
  return p;
}

/* Compress with codec into exactly the bound; returns the block. */
static uint8_t *pack(const char *codec, const uint8_t *src, size_t n, size_t *len) {
  size_t bound = nbh_block_compress_bound(NULL, codec, n);
  assert_true(bound > 0);
  uint8_t *dst = malloc(bound);
  assert_non_null(dst);
  NbError err;
  nb_error_init(&err);
  int rc = nbh_block_compress(NULL, codec, 0, src, n, dst, bound, len, &err);
  if (rc != NB_OK) fail_msg("%s: %s", codec, err.message);
  assert_true(*len <= bound);
  nb_error_release(&err);
  return dst;
}

static int unpack(const char *codec, const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                  size_t *made, NbError *err) {
  nb_error_init(err);
  return nbh_block_decompress(NULL, codec, src, n, dst, cap, made, err);
}

static void round_trip(const char *codec, size_t n, int repetitive) {
  uint8_t *data = make_data(n, repetitive);
  size_t packed_len = 0, made = 0;
  uint8_t *packed = pack(codec, data, n, &packed_len);
  uint8_t *back = malloc(n + 1);
  assert_non_null(back);
  NbError err;
  int rc = unpack(codec, packed, packed_len, back, n, &made, &err);
  if (rc != NB_OK) fail_msg("%s, %zu bytes: %s", codec, n, err.message);
  assert_int_equal(made, n);
  if (n > 0) assert_memory_equal(back, data, n);
  if (repetitive && n >= 4096) assert_true(packed_len < n / 4);
  free(data);
  free(packed);
  free(back);
}

static void test_round_trips(void **state) {
  (void)state;
  static const size_t sizes[] = {0, 1, 7, 100, 4096, 65536 + 17, 1 << 20};
  for (size_t c = 0; c < N_CODECS; c++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      round_trip(codecs[c], sizes[s], 1);
      round_trip(codecs[c], sizes[s], 0);
    }
}

/* NULL is a valid empty input. */
static void test_empty_null_input(void **state) {
  (void)state;
  for (size_t c = 0; c < N_CODECS; c++) {
    uint8_t dst[256];
    size_t len = 0, made = 1;
    NbError err;
    nb_error_init(&err);
    assert_int_equal(nbh_block_compress(NULL, codecs[c], 0, NULL, 0, dst, sizeof dst, &len, &err),
                     NB_OK);
    assert_int_equal(unpack(codecs[c], dst, len, NULL, 0, &made, &err), NB_OK);
    assert_int_equal(made, 0);
  }
}

/* A block that decompresses to more than the recorded size is corrupt: the
 * codec must stop at the capacity, not write past it or allocate more. */
static void test_output_larger_than_capacity(void **state) {
  (void)state;
  for (size_t c = 0; c < N_CODECS; c++) {
    uint8_t *data = make_data(10000, 1);
    size_t packed_len = 0, made = 0;
    uint8_t *packed = pack(codecs[c], data, 10000, &packed_len);
    uint8_t *small = malloc(9999);
    assert_non_null(small);
    NbError err;
    int rc = unpack(codecs[c], packed, packed_len, small, 9999, &made, &err);
    if (rc != NB_DATA) fail_msg("%s: status %d for an oversized block", codecs[c], rc);
    assert_non_null(err.message);
    nb_error_release(&err);
    free(data);
    free(packed);
    free(small);
  }
}

/* Every truncation of a block is refused (NB_DATA) or, where the codec
 * cannot tell, yields less than the recorded size: never the full output. */
static void test_truncated_blocks(void **state) {
  (void)state;
  for (size_t c = 0; c < N_CODECS; c++) {
    uint8_t *data = make_data(3000, 0);
    size_t packed_len = 0;
    uint8_t *packed = pack(codecs[c], data, 3000, &packed_len);
    uint8_t *back = malloc(3000);
    assert_non_null(back);
    for (size_t cut = 0; cut < packed_len; cut++) {
      size_t made = 0;
      NbError err;
      int rc = unpack(codecs[c], packed, cut, back, 3000, &made, &err);
      if (rc == NB_OK && made == 3000)
        fail_msg("%s: a block cut to %zu of %zu bytes read as complete", codecs[c], cut,
                 packed_len);
      if (rc != NB_OK) {
        assert_int_equal(rc, NB_DATA);
        assert_non_null(err.message);
      }
      nb_error_release(&err);
    }
    free(data);
    free(packed);
    free(back);
  }
}

/* Flipping any byte never crashes or overruns; the result is NB_DATA, or
 * (for codecs without checksums) some output within the capacity. */
static void test_damaged_blocks(void **state) {
  (void)state;
  for (size_t c = 0; c < N_CODECS; c++) {
    uint8_t *data = make_data(2000, 1);
    size_t packed_len = 0;
    uint8_t *packed = pack(codecs[c], data, 2000, &packed_len);
    uint8_t *back = malloc(2000);
    assert_non_null(back);
    for (size_t at = 0; at < packed_len; at++) {
      packed[at] ^= 0x5a;
      size_t made = 0;
      NbError err;
      int rc = unpack(codecs[c], packed, packed_len, back, 2000, &made, &err);
      if (rc != NB_OK) assert_int_equal(rc, NB_DATA);
      else assert_true(made <= 2000);
      nb_error_release(&err);
      packed[at] ^= 0x5a;
    }
    free(data);
    free(packed);
    free(back);
  }
}

/* Bytes after the end of a framed block are refused, not ignored. */
static void test_trailing_bytes(void **state) {
  (void)state;
  static const char *const framed[] = {"gzip", "deflate", "zstd", "lz4_frame"};
  for (size_t c = 0; c < sizeof framed / sizeof framed[0]; c++) {
    uint8_t *data = make_data(500, 1);
    size_t packed_len = 0, made = 0;
    uint8_t *packed = pack(framed[c], data, 500, &packed_len);
    uint8_t *longer = malloc(packed_len + 3);
    assert_non_null(longer);
    memcpy(longer, packed, packed_len);
    memcpy(longer + packed_len, "xyz", 3);
    uint8_t back[500];
    NbError err;
    int rc = unpack(framed[c], longer, packed_len + 3, back, sizeof back, &made, &err);
    if (rc != NB_DATA) fail_msg("%s: trailing bytes accepted (status %d)", framed[c], rc);
    nb_error_release(&err);
    free(data);
    free(packed);
    free(longer);
  }
}

/* A gzip member made by zlib's own gzip writer (as the gzip tool makes
 * them) reads back; ours is a valid member for zlib's reader. */
static void test_gzip_interop(void **state) {
  (void)state;
  uint8_t *data = make_data(5000, 1);
  uint8_t gz[6000];
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = data, zs.avail_in = 5000, zs.next_out = gz, zs.avail_out = sizeof gz;
  assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
  size_t gz_len = zs.total_out;
  deflateEnd(&zs);
  uint8_t back[5000];
  size_t made = 0;
  NbError err;
  assert_int_equal(unpack("gzip", gz, gz_len, back, sizeof back, &made, &err), NB_OK);
  assert_int_equal(made, 5000);
  assert_memory_equal(back, data, 5000);

  size_t ours_len = 0;
  uint8_t *ours = pack("gzip", data, 5000, &ours_len);
  assert_int_equal(ours[0], 0x1f);
  assert_int_equal(ours[1], 0x8b);
  uLongf out_len = sizeof back;
  memset(&zs, 0, sizeof zs);
  assert_int_equal(inflateInit2(&zs, 31), Z_OK);
  zs.next_in = ours, zs.avail_in = (uInt)ours_len, zs.next_out = back, zs.avail_out = (uInt)out_len;
  assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
  assert_int_equal(zs.total_out, 5000);
  inflateEnd(&zs);
  free(data);
  free(ours);
}

static void test_bad_arguments(void **state) {
  (void)state;
  uint8_t dst[64];
  size_t len = 0;
  NbError err;
  nb_error_init(&err);
  assert_int_equal(nbh_block_compress_bound(NULL, "brotli", 10), 0);
  assert_int_equal(nbh_block_compress(NULL, "brotli", 0, "abc", 3, dst, sizeof dst, &len, &err),
                   NB_INVALID);
  assert_non_null(strstr(err.message, "brotli"));
  nb_error_release(&err);
  assert_int_equal(nbh_block_compress(NULL, "zstd", 99, "abc", 3, dst, sizeof dst, &len, &err),
                   NB_INVALID);
  assert_non_null(strstr(err.message, "out of range"));
  nb_error_release(&err);
  assert_int_equal(nbh_block_compress(NULL, "snappy", 3, "abc", 3, dst, sizeof dst, &len, &err),
                   NB_INVALID);
  nb_error_release(&err);
  /* Too small an output buffer is the caller's mistake, said as such. */
  uint8_t *data = make_data(4000, 0);
  for (size_t c = 0; c < N_CODECS; c++) {
    int rc = nbh_block_compress(NULL, codecs[c], 0, data, 4000, dst, sizeof dst, &len, &err);
    if (rc != NB_INVALID) fail_msg("%s: status %d into 64 bytes", codecs[c], rc);
    assert_non_null(strstr(err.message, "too small"));
    nb_error_release(&err);
  }
  free(data);
  assert_int_equal(nbh_block_decompress(NULL, NULL, "a", 1, dst, sizeof dst, &len, &err),
                   NB_INVALID);
  nb_error_release(&err);
}

/* Levels in range change nothing about what reads back. */
static void test_levels(void **state) {
  (void)state;
  static const struct { const char *codec; int level; } cases[] = {
      {"zstd", 1}, {"zstd", 19}, {"zstd", -5}, {"gzip", 1}, {"gzip", 9}, {"deflate", 9},
      {"lz4_raw", 1}, {"lz4_raw", 9}, {"lz4_frame", 12}};
  uint8_t *data = make_data(20000, 1);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t bound = nbh_block_compress_bound(NULL, cases[i].codec, 20000), len = 0, made = 0;
    uint8_t *packed = malloc(bound), *back = malloc(20000);
    assert_non_null(packed);
    assert_non_null(back);
    NbError err;
    nb_error_init(&err);
    assert_int_equal(nbh_block_compress(NULL, cases[i].codec, cases[i].level, data, 20000,
                                        packed, bound, &len, &err),
                     NB_OK);
    assert_int_equal(unpack(cases[i].codec, packed, len, back, 20000, &made, &err), NB_OK);
    assert_int_equal(made, 20000);
    assert_memory_equal(back, data, 20000);
    free(packed);
    free(back);
  }
  free(data);
}

/* Compress with the contexts ctx (may be NULL) into a new buffer. */
static uint8_t *pack_with(NbhBlockContexts *ctx, const char *codec, int level,
                          const uint8_t *src, size_t n, size_t *len) {
  size_t bound = nbh_block_compress_bound(NULL, codec, n);
  uint8_t *dst = malloc(bound);
  assert_non_null(dst);
  NbError err;
  nb_error_init(&err);
  int rc = nbh_block_compress_with(ctx, codec, level, src, n, dst, bound, len, &err);
  if (rc != NB_OK) fail_msg("%s level %d: %s", codec, level, err.message);
  nb_error_release(&err);
  return dst;
}

/* Reused contexts write the bytes a one-shot call writes, block after
 * block, whatever the level and size of the block before. */
static void test_contexts_same_bytes(void **state) {
  (void)state;
  static const struct { const char *codec; int level; size_t n; int repetitive; } cases[] = {
      {"zstd", 3, 300000, 1}, {"zstd", 19, 5000, 0}, {"zstd", 0, 0, 1}, {"zstd", -5, 70000, 1},
      {"zstd", 1, 1 << 20, 0}, {"snappy", 0, 9000, 1}, {"zstd", 3, 300000, 1},
      {"lz4_frame", 0, 4000, 1}, {"zstd", 3, 17, 0}};
  NbhBlockContexts ctx;
  nbh_block_contexts_init(&ctx);
  for (int round = 0; round < 2; round++) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      uint8_t *data = make_data(cases[i].n, cases[i].repetitive);
      size_t a_len = 0, b_len = 0, made = 0;
      uint8_t *a = pack_with(NULL, cases[i].codec, cases[i].level, data, cases[i].n, &a_len);
      uint8_t *b = pack_with(&ctx, cases[i].codec, cases[i].level, data, cases[i].n, &b_len);
      if (a_len != b_len || memcmp(a, b, a_len) != 0)
        fail_msg("%s level %d, %zu bytes: %zu bytes one-shot, %zu with contexts, or others",
                 cases[i].codec, cases[i].level, cases[i].n, a_len, b_len);
      uint8_t *back = malloc(cases[i].n + 1);
      assert_non_null(back);
      NbError err;
      nb_error_init(&err);
      assert_int_equal(nbh_block_decompress_with(&ctx, cases[i].codec, b, b_len, back,
                                                 cases[i].n, &made, &err),
                       NB_OK);
      assert_int_equal(made, cases[i].n);
      if (made > 0) assert_memory_equal(back, data, made);
      free(back);
      free(a);
      free(b);
      free(data);
    }
    /* The second round makes new contexts after a release. */
    nbh_block_contexts_release(&ctx);
  }
  nbh_block_contexts_release(&ctx);
}

/* A corrupt or oversized block decompressed with the contexts fails with
 * NB_DATA and leaves nothing behind: the next good block reads back. */
static void test_contexts_after_corrupt_block(void **state) {
  (void)state;
  NbhBlockContexts ctx;
  nbh_block_contexts_init(&ctx);
  uint8_t *data = make_data(50000, 1);
  size_t len = 0, made = 0;
  uint8_t *packed = pack_with(&ctx, "zstd", 0, data, 50000, &len);
  uint8_t *back = malloc(50000);
  assert_non_null(back);
  NbError err;
  nb_error_init(&err);
  assert_int_equal(nbh_block_decompress_with(&ctx, "zstd", packed, len / 2, back, 50000, &made, &err),
                   NB_DATA);
  assert_non_null(err.message);
  nb_error_release(&err);
  nb_error_init(&err);
  assert_int_equal(nbh_block_decompress_with(&ctx, "zstd", packed, len, back, 49999, &made, &err),
                   NB_DATA);
  nb_error_release(&err);
  packed[len / 2] ^= 0x55;
  nb_error_init(&err);
  (void)nbh_block_decompress_with(&ctx, "zstd", packed, len, back, 50000, &made, &err);
  nb_error_release(&err);
  packed[len / 2] ^= 0x55;
  nb_error_init(&err);
  assert_int_equal(nbh_block_decompress_with(&ctx, "zstd", packed, len, back, 50000, &made, &err),
                   NB_OK);
  assert_int_equal(made, 50000);
  assert_memory_equal(back, data, 50000);
  nb_error_release(&err);
  free(back);
  free(packed);
  free(data);
  nbh_block_contexts_release(&ctx);
}

/* Two threads compressing and decompressing with the same contexts: one
 * gets them, the other makes its own for that call; every block comes out
 * as a one-shot call makes it. */
typedef struct SharedRun {
  NbhBlockContexts *ctx;
  int seed;
  int failures;
} SharedRun;

static void *shared_worker(void *arg) {
  SharedRun *run = arg;
  for (int i = 0; i < 40; i++) {
    size_t n = 1000 + (size_t)((run->seed * 7919 + i * 104729) % 60000);
    uint8_t *data = make_data(n, (i + run->seed) % 2);
    size_t bound = nbh_block_compress_bound(NULL, "zstd", n), a_len = 0, b_len = 0, made = 0;
    uint8_t *a = malloc(bound), *b = malloc(bound), *back = malloc(n);
    NbError err;
    nb_error_init(&err);
    if (a == NULL || b == NULL || back == NULL ||
        nbh_block_compress(NULL, "zstd", 0, data, n, a, bound, &a_len, &err) != NB_OK ||
        nbh_block_compress_with(run->ctx, "zstd", 0, data, n, b, bound, &b_len, &err) != NB_OK ||
        a_len != b_len || memcmp(a, b, a_len) != 0 ||
        nbh_block_decompress_with(run->ctx, "zstd", b, b_len, back, n, &made, &err) != NB_OK ||
        made != n || memcmp(back, data, n) != 0)
      run->failures++;
    nb_error_release(&err);
    free(a);
    free(b);
    free(back);
    free(data);
  }
  return NULL;
}

static void test_contexts_shared_by_threads(void **state) {
  (void)state;
  NbhBlockContexts ctx;
  nbh_block_contexts_init(&ctx);
  SharedRun runs[2] = {{&ctx, 1, 0}, {&ctx, 2, 0}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&t[i], NULL, shared_worker, &runs[i]), 0);
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
  assert_int_equal(runs[0].failures, 0);
  assert_int_equal(runs[1].failures, 0);
  nbh_block_contexts_release(&ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trips),
      cmocka_unit_test(test_empty_null_input),
      cmocka_unit_test(test_output_larger_than_capacity),
      cmocka_unit_test(test_truncated_blocks),
      cmocka_unit_test(test_damaged_blocks),
      cmocka_unit_test(test_trailing_bytes),
      cmocka_unit_test(test_gzip_interop),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_levels),
      cmocka_unit_test(test_contexts_same_bytes),
      cmocka_unit_test(test_contexts_after_corrupt_block),
      cmocka_unit_test(test_contexts_shared_by_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
