/*
 * block_codec.c - one-shot block compression (see block_codec.h).  Each
 * codec is a row of the table at the bottom: a bound, a compressor and a
 * decompressor over whole buffers.  Decompressors never write past
 * dst_capacity and refuse input that would: the capacity a format passes is
 * the size it recorded, so a block that inflates beyond it is corrupt, not
 * a reason to allocate more.
 *
 * zstd keeps its contexts in the caller's NbhBlockContexts when there is
 * one (the host gives each connection its own): making a context per
 * block cost more than compressing a 1 MiB Parquet page at level 3.
 */
#include "block_codec.h"

#include <limits.h>
#include <stdbool.h>
#include <lz4.h>
#include <lz4frame.h>
#include <lz4hc.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "nebula/sdk.h"

typedef struct BlockCodec {
  const char *name;
  int min_level; /* levels accepted besides 0; min > max: no levels */
  int max_level;
  size_t (*bound)(size_t src_len);
  /* ctx: the caller's reusable contexts, locked by the caller, or NULL
   * (make and free whatever the call needs). */
  int (*compress)(NbhBlockContexts *ctx, int level, const uint8_t *src, size_t src_len,
                  uint8_t *dst, size_t cap, size_t *out_len, NbError *err);
  int (*decompress)(NbhBlockContexts *ctx, const uint8_t *src, size_t src_len, uint8_t *dst,
                    size_t cap, size_t *out_len, NbError *err);
} BlockCodec;

static int too_small(const char *codec, size_t cap, NbError *err) {
  return nb_error_set(err, NB_INVALID,
                      "%s block compression: the output buffer of %zu bytes is too small "
                      "(give block_compress_bound bytes)",
                      codec, cap);
}

static int corrupt(const char *codec, const char *why, NbError *err) {
  return nb_error_set(err, NB_DATA, "corrupt %s block: %s", codec, why);
}

/* ---- snappy ------------------------------------------------------------ */

static size_t snappy_bound(size_t n) { return snappy_max_compressed_length(n); }

static int snappy_block_compress(NbhBlockContexts *ctx, int level, const uint8_t *src, size_t n, uint8_t *dst,
                                 size_t cap, size_t *out_len, NbError *err) {
  (void)ctx;
  (void)level;
  size_t len = cap;
  if (cap < snappy_max_compressed_length(n)) return too_small("snappy", cap, err);
  if (snappy_compress((const char *)src, n, (char *)dst, &len) != SNAPPY_OK)
    return nb_error_set(err, NB_INTERNAL, "snappy could not compress a block of %zu bytes", n);
  *out_len = len;
  return NB_OK;
}

static int snappy_block_decompress(NbhBlockContexts *ctx, const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                   size_t *out_len, NbError *err) {
  (void)ctx;
  size_t len = 0;
  if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK)
    return corrupt("snappy", "the length header is not valid", err);
  if (len > cap)
    return nb_error_set(err, NB_DATA,
                        "corrupt snappy block: it says %zu bytes, more than the %zu expected",
                        len, cap);
  if (snappy_validate_compressed_buffer((const char *)src, n) != SNAPPY_OK)
    return corrupt("snappy", "the compressed data is not valid", err);
  if (snappy_uncompress((const char *)src, n, (char *)dst, &len) != SNAPPY_OK)
    return corrupt("snappy", "the compressed data is not valid", err);
  *out_len = len;
  return NB_OK;
}

/* ---- gzip and raw deflate (zlib) --------------------------------------- */

/* zlib counts in uInt; blocks larger than that are refused by the bound. */
static size_t deflate_bound(size_t n) {
  if (n > UINT_MAX / 2) return 0;
  /* compressBound plus the gzip header and trailer (18 bytes) */
  return (size_t)compressBound((uLong)n) + 18;
}

/* zlib's status of deflateInit2/inflateInit2, as ours. */
static int zlib_started(const char *name, int zrc, NbError *err) {
  if (zrc == Z_MEM_ERROR) return nb_error_set(err, NB_NOMEM, "out of memory (%s)", name);
  if (zrc != Z_OK) return nb_error_set(err, NB_INTERNAL, "zlib refused to start %s", name);
  return NB_OK;
}

/* The whole input and output of one call (the callers checked that both
 * sizes fit zlib's counters). */
static void zlib_buffers(z_stream *zs, const uint8_t *src, size_t n, uint8_t *dst, size_t cap) {
  zs->next_in = (Bytef *)(uintptr_t)src;
  zs->avail_in = (uInt)n;
  zs->next_out = dst;
  zs->avail_out = (uInt)cap;
}

/* window_bits: 31 for a gzip member, -15 for raw deflate. */
static int zlib_compress(const char *name, int window_bits, int level, const uint8_t *src,
                         size_t n, uint8_t *dst, size_t cap, size_t *out_len, NbError *err) {
  if (cap > UINT_MAX) cap = UINT_MAX; /* more room than zlib can count is not needed */
  if (n > UINT_MAX / 2)
    return nb_error_set(err, NB_INVALID, "%s block of %zu bytes is too large", name, n);
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  int rc = zlib_started(name, deflateInit2(&zs, level == 0 ? Z_DEFAULT_COMPRESSION : level,
                                           Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY),
                        err);
  if (rc != NB_OK) return rc;
  zlib_buffers(&zs, src, n, dst, cap);
  rc = deflate(&zs, Z_FINISH);
  size_t produced = (size_t)zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return too_small(name, cap, err);
  *out_len = produced;
  return NB_OK;
}

static int zlib_decompress(const char *name, int window_bits, const uint8_t *src, size_t n,
                           uint8_t *dst, size_t cap, size_t *out_len, NbError *err) {
  if (n > UINT_MAX || cap > UINT_MAX)
    return nb_error_set(err, NB_DATA, "%s block of %zu bytes is too large", name, n);
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  int rc = zlib_started(name, inflateInit2(&zs, window_bits), err);
  if (rc != NB_OK) return rc;
  zlib_buffers(&zs, src, n, dst, cap);
  rc = inflate(&zs, Z_FINISH);
  size_t produced = (size_t)zs.total_out;
  size_t left_in = zs.avail_in;
  const char *msg = zs.msg;
  inflateEnd(&zs);
  if (rc == Z_STREAM_END) {
    if (left_in != 0) return corrupt(name, "bytes follow the end of the compressed data", err);
    *out_len = produced;
    return NB_OK;
  }
  if (rc == Z_MEM_ERROR) return nb_error_set(err, NB_NOMEM, "out of memory (%s)", name);
  if (rc == Z_DATA_ERROR)
    return nb_error_set(err, NB_DATA, "corrupt %s block: %s", name, msg ? msg : "bad data");
  if (produced == cap && left_in != 0)
    return nb_error_set(err, NB_DATA,
                        "corrupt %s block: it inflates to more than the %zu bytes expected",
                        name, cap);
  return corrupt(name, "the compressed data ends early", err);
}

static int gzip_block_compress(NbhBlockContexts *ctx, int level, const uint8_t *src, size_t n, uint8_t *dst,
                               size_t cap, size_t *out_len, NbError *err) {
  (void)ctx;
  return zlib_compress("gzip", 15 + 16, level, src, n, dst, cap, out_len, err);
}
static int gzip_block_decompress(NbhBlockContexts *ctx, const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                 size_t *out_len, NbError *err) {
  (void)ctx;
  return zlib_decompress("gzip", 15 + 16, src, n, dst, cap, out_len, err);
}
static int deflate_block_compress(NbhBlockContexts *ctx, int level, const uint8_t *src, size_t n, uint8_t *dst,
                                  size_t cap, size_t *out_len, NbError *err) {
  (void)ctx;
  return zlib_compress("deflate", -15, level, src, n, dst, cap, out_len, err);
}
static int deflate_block_decompress(NbhBlockContexts *ctx, const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                    size_t *out_len, NbError *err) {
  (void)ctx;
  return zlib_decompress("deflate", -15, src, n, dst, cap, out_len, err);
}

/* ---- zstd -------------------------------------------------------------- */

static size_t zstd_bound(size_t n) {
  size_t b = ZSTD_compressBound(n);
  return ZSTD_isError(b) ? 0 : b;
}

/* The compression context: the caller's (made on first use, kept for the
 * next block: a context's tables cost more to set up than a small page
 * costs to compress) or NULL when there is none (*made: a new one, the
 * caller frees it).  Reuse changes no output byte: each block is a new
 * frame with the parameters of its level. */
static ZSTD_CCtx *zstd_cctx(NbhBlockContexts *ctx, bool *made) {
  *made = ctx == NULL;
  if (ctx == NULL) return ZSTD_createCCtx();
  if (ctx->zstd_cctx == NULL) ctx->zstd_cctx = ZSTD_createCCtx();
  return ctx->zstd_cctx;
}

static ZSTD_DCtx *zstd_dctx(NbhBlockContexts *ctx, bool *made) {
  *made = ctx == NULL;
  if (ctx == NULL) return ZSTD_createDCtx();
  if (ctx->zstd_dctx == NULL) ctx->zstd_dctx = ZSTD_createDCtx();
  return ctx->zstd_dctx;
}

static int zstd_block_compress(NbhBlockContexts *ctx, int level, const uint8_t *src, size_t n,
                               uint8_t *dst, size_t cap, size_t *out_len, NbError *err) {
  bool made = false;
  ZSTD_CCtx *cctx = zstd_cctx(ctx, &made);
  if (cctx == NULL) return nb_error_set(err, NB_NOMEM, "out of memory (zstd)");
  size_t rc = ZSTD_compressCCtx(cctx, dst, cap, src, n, level == 0 ? ZSTD_CLEVEL_DEFAULT : level);
  if (made) ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(rc)) {
    if (ZSTD_getErrorCode(rc) == ZSTD_error_dstSize_tooSmall) return too_small("zstd", cap, err);
    return nb_error_set(err, NB_INTERNAL, "zstd could not compress a block: %s",
                        ZSTD_getErrorName(rc));
  }
  *out_len = rc;
  return NB_OK;
}

static int zstd_block_decompress(NbhBlockContexts *ctx, const uint8_t *src, size_t n,
                                 uint8_t *dst, size_t cap, size_t *out_len, NbError *err) {
  bool made = false;
  ZSTD_DCtx *dctx = zstd_dctx(ctx, &made);
  if (dctx == NULL) return nb_error_set(err, NB_NOMEM, "out of memory (zstd)");
  /* Every call starts a new frame: an error left in a reused context by
   * a corrupt block does not carry over. */
  size_t rc = ZSTD_decompressDCtx(dctx, dst, cap, src, n);
  if (made) ZSTD_freeDCtx(dctx);
  if (ZSTD_isError(rc)) {
    if (ZSTD_getErrorCode(rc) == ZSTD_error_dstSize_tooSmall)
      return nb_error_set(err, NB_DATA,
                          "corrupt zstd block: it decompresses to more than the %zu bytes "
                          "expected",
                          cap);
    if (ZSTD_getErrorCode(rc) == ZSTD_error_memory_allocation)
      return nb_error_set(err, NB_NOMEM, "out of memory (zstd)");
    return nb_error_set(err, NB_DATA, "corrupt zstd block: %s", ZSTD_getErrorName(rc));
  }
  *out_len = rc;
  return NB_OK;
}

/* ---- lz4 block --------------------------------------------------------- */

static size_t lz4_raw_bound(size_t n) {
  if (n > (size_t)LZ4_MAX_INPUT_SIZE) return 0;
  return (size_t)LZ4_compressBound((int)n);
}

static int lz4_raw_compress(NbhBlockContexts *ctx, int level, const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                            size_t *out_len, NbError *err) {
  (void)ctx;
  if (n > (size_t)LZ4_MAX_INPUT_SIZE)
    return nb_error_set(err, NB_INVALID, "lz4_raw block of %zu bytes is too large", n);
  int cap_i = cap > (size_t)INT_MAX ? INT_MAX : (int)cap;
  int rc = level <= 1 ? LZ4_compress_default((const char *)src, (char *)dst, (int)n, cap_i)
                      : LZ4_compress_HC((const char *)src, (char *)dst, (int)n, cap_i, level);
  if (rc <= 0) return too_small("lz4_raw", cap, err);
  *out_len = (size_t)rc;
  return NB_OK;
}

static int lz4_raw_decompress(NbhBlockContexts *ctx, const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                              size_t *out_len, NbError *err) {
  (void)ctx;
  if (n > (size_t)INT_MAX) return corrupt("lz4_raw", "the block is larger than 2 GiB", err);
  int cap_i = cap > (size_t)INT_MAX ? INT_MAX : (int)cap;
  /* LZ4_decompress_safe never reads or writes out of bounds; a negative
   * result means malformed input or output larger than cap. */
  int rc = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, cap_i);
  if (rc < 0)
    return corrupt("lz4_raw",
                   "malformed data, or it decompresses to more than the size expected", err);
  *out_len = (size_t)rc;
  return NB_OK;
}

/* ---- lz4 frame --------------------------------------------------------- */

static size_t lz4_frame_bound(size_t n) {
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  return LZ4F_compressFrameBound(n, &prefs);
}

static int lz4_frame_compress(NbhBlockContexts *ctx, int level, const uint8_t *src, size_t n, uint8_t *dst,
                              size_t cap, size_t *out_len, NbError *err) {
  (void)ctx;
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  prefs.compressionLevel = level;
  prefs.frameInfo.contentSize = n;
  /* A bound computed without the content size field is 8 bytes short of
   * one with it: ask for the exact bound of these preferences. */
  if (cap < LZ4F_compressFrameBound(n, &prefs)) {
    prefs.frameInfo.contentSize = 0;
    if (cap < LZ4F_compressFrameBound(n, &prefs)) return too_small("lz4_frame", cap, err);
  }
  size_t rc = LZ4F_compressFrame(dst, cap, src, n, &prefs);
  if (LZ4F_isError(rc)) return too_small("lz4_frame", cap, err);
  *out_len = rc;
  return NB_OK;
}

static int lz4_frame_decompress(NbhBlockContexts *ctx, const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                size_t *out_len, NbError *err) {
  (void)ctx;
  LZ4F_dctx *dctx = NULL;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
    return nb_error_set(err, NB_NOMEM, "out of memory (lz4_frame)");
  size_t in_pos = 0, out_pos = 0;
  int rc = NB_OK;
  for (;;) {
    size_t in_len = n - in_pos, made = cap - out_pos;
    size_t hint = LZ4F_decompress(dctx, dst + out_pos, &made, src + in_pos, &in_len, NULL);
    if (LZ4F_isError(hint)) {
      rc = nb_error_set(err, NB_DATA, "corrupt lz4_frame block: %s", LZ4F_getErrorName(hint));
      break;
    }
    in_pos += in_len;
    out_pos += made;
    if (hint == 0) { /* the frame is complete */
      if (in_pos != n) rc = corrupt("lz4_frame", "bytes follow the end of the frame", err);
      break;
    }
    if (in_len == 0 && made == 0) { /* no progress: out of input or of room */
      if (out_pos == cap && in_pos < n)
        rc = nb_error_set(err, NB_DATA,
                          "corrupt lz4_frame block: it decompresses to more than the %zu "
                          "bytes expected",
                          cap);
      else
        rc = corrupt("lz4_frame", "the frame ends early", err);
      break;
    }
  }
  LZ4F_freeDecompressionContext(dctx);
  if (rc == NB_OK) *out_len = out_pos;
  return rc;
}

/* ---- the table --------------------------------------------------------- */

static const BlockCodec block_codecs[] = {
    {"snappy", 1, 0, snappy_bound, snappy_block_compress, snappy_block_decompress},
    {"gzip", 1, 9, deflate_bound, gzip_block_compress, gzip_block_decompress},
    {"deflate", 1, 9, deflate_bound, deflate_block_compress, deflate_block_decompress},
    {"zstd", -131072, 22, zstd_bound, zstd_block_compress, zstd_block_decompress},
    {"lz4_raw", 1, 12, lz4_raw_bound, lz4_raw_compress, lz4_raw_decompress},
    {"lz4_frame", 1, 12, lz4_frame_bound, lz4_frame_compress, lz4_frame_decompress},
};

static const BlockCodec *block_codec_find(const char *name) {
  if (name == NULL) return NULL;
  for (size_t i = 0; i < sizeof block_codecs / sizeof block_codecs[0]; i++)
    if (strcmp(block_codecs[i].name, name) == 0) return &block_codecs[i];
  return NULL;
}

static int unknown_codec(const char *name, NbError *err) {
  return nb_error_set(err, NB_INVALID,
                      "unknown block codec \"%s\" (known: snappy, gzip, deflate, zstd, "
                      "lz4_raw, lz4_frame)",
                      name ? name : "(null)");
}

/* An empty buffer may come as NULL; the libraries want a real pointer. */
static const uint8_t *non_null(const void *p) {
  static const uint8_t empty[1] = {0};
  return p != NULL ? (const uint8_t *)p : empty;
}

size_t nbh_block_compress_bound(void *host_data, const char *codec, size_t src_len) {
  (void)host_data;
  const BlockCodec *c = block_codec_find(codec);
  return c == NULL ? 0 : c->bound(src_len);
}

void nbh_block_contexts_init(NbhBlockContexts *ctx) {
  memset(ctx, 0, sizeof *ctx);
  pthread_mutex_init(&ctx->lock, NULL);
}

void nbh_block_contexts_release(NbhBlockContexts *ctx) {
  pthread_mutex_lock(&ctx->lock);
  ZSTD_freeCCtx(ctx->zstd_cctx);
  ZSTD_freeDCtx(ctx->zstd_dctx);
  ctx->zstd_cctx = NULL;
  ctx->zstd_dctx = NULL;
  pthread_mutex_unlock(&ctx->lock);
}

/* The contexts for one call, locked, or NULL when there are none or
 * another thread is using them (that call makes its own: slower, never
 * blocked). */
static NbhBlockContexts *contexts_take(NbhBlockContexts *ctx) {
  if (ctx == NULL || pthread_mutex_trylock(&ctx->lock) != 0) return NULL;
  return ctx;
}

static void contexts_give_back(NbhBlockContexts *ctx) {
  if (ctx != NULL) pthread_mutex_unlock(&ctx->lock);
}

static int check_level(const BlockCodec *c, int32_t level, NbError *err) {
  if (level == 0 || (level >= c->min_level && level <= c->max_level)) return NB_OK;
  if (c->min_level > c->max_level)
    return nb_error_set(err, NB_INVALID, "the %s codec takes no level (got %d)", c->name,
                        (int)level);
  return nb_error_set(err, NB_INVALID, "%s level %d is out of range (%d..%d, 0 for default)",
                      c->name, (int)level, c->min_level, c->max_level);
}

int nbh_block_compress_with(NbhBlockContexts *ctx, const char *codec, int32_t level,
                            const void *src, size_t src_len, void *dst, size_t dst_capacity,
                            size_t *dst_len, NbError *err) {
  const BlockCodec *c = block_codec_find(codec);
  if (c == NULL) return unknown_codec(codec, err);
  if (dst_len == NULL || (dst == NULL && dst_capacity > 0))
    return nb_error_set(err, NB_INVALID, "block_compress: dst_len or dst is NULL");
  int rc = check_level(c, level, err);
  if (rc != NB_OK) return rc;
  uint8_t scratch[1];
  uint8_t *out = dst != NULL ? (uint8_t *)dst : scratch;
  *dst_len = 0;
  NbhBlockContexts *held = contexts_take(ctx);
  rc = c->compress(held, level, non_null(src), src_len, out, dst != NULL ? dst_capacity : 0,
                   dst_len, err);
  contexts_give_back(held);
  return rc;
}

int nbh_block_decompress_with(NbhBlockContexts *ctx, const char *codec, const void *src,
                              size_t src_len, void *dst, size_t dst_capacity, size_t *dst_len,
                              NbError *err) {
  const BlockCodec *c = block_codec_find(codec);
  if (c == NULL) return unknown_codec(codec, err);
  if (dst_len == NULL || (dst == NULL && dst_capacity > 0))
    return nb_error_set(err, NB_INVALID, "block_decompress: dst_len or dst is NULL");
  uint8_t scratch[1];
  uint8_t *out = dst != NULL ? (uint8_t *)dst : scratch;
  *dst_len = 0;
  NbhBlockContexts *held = contexts_take(ctx);
  int rc = c->decompress(held, non_null(src), src_len, out, dst != NULL ? dst_capacity : 0,
                         dst_len, err);
  contexts_give_back(held);
  return rc;
}

int nbh_block_compress(void *host_data, const char *codec, int32_t level, const void *src,
                       size_t src_len, void *dst, size_t dst_capacity, size_t *dst_len,
                       NbError *err) {
  (void)host_data;
  return nbh_block_compress_with(NULL, codec, level, src, src_len, dst, dst_capacity, dst_len,
                                 err);
}

int nbh_block_decompress(void *host_data, const char *codec, const void *src, size_t src_len,
                         void *dst, size_t dst_capacity, size_t *dst_len, NbError *err) {
  (void)host_data;
  return nbh_block_decompress_with(NULL, codec, src, src_len, dst, dst_capacity, dst_len, err);
}
