/*
 * block_codec.h - one-shot compression of a whole block in memory, for file
 * formats that compress their own pages or bodies (Parquet pages, Arrow IPC
 * buffers).  The streaming codecs in codec.h compress a file; these compress
 * one buffer whose size the format records.  They are the NbHostApi slots
 * block_compress_bound, block_compress and block_decompress (ABI 1.2).
 *
 * Codec names:
 *   "snappy"     a raw snappy block (no framing)
 *   "gzip"       one gzip member (RFC 1952)
 *   "deflate"    raw deflate (RFC 1951, no header)
 *   "zstd"       one zstd frame (concatenated frames are read too)
 *   "lz4_raw"    one LZ4 block, no frame (Parquet's LZ4_RAW)
 *   "lz4_frame"  the LZ4 frame format (Arrow IPC's LZ4_FRAME)
 *
 * nbh_block_compress / nbh_block_decompress keep nothing between calls.
 * The _with variants reuse the codec contexts (zstd) kept in an
 * NbhBlockContexts the caller owns: the host gives each connection one, so
 * a connector compressing page after page does not build a context per
 * page.  Every function is thread-safe: a call that finds the contexts in
 * use by another thread makes its own for that call (no waiting, no
 * global state).
 */
#ifndef NBH_BLOCK_CODEC_H
#define NBH_BLOCK_CODEC_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "nebula/abi.h"

/* The most bytes block_compress can produce from src_len bytes with codec;
 * 0 when the codec is unknown or src_len is too large for it. */
size_t nbh_block_compress_bound(void *host_data, const char *codec, size_t src_len);

/* Compress src[0..src_len) into dst[0..dst_capacity); *dst_len is the size
 * written.  level 0 is the codec's default; otherwise it must be in the
 * codec's range (zstd: its levels, gzip/deflate: 1..9, lz4_raw/lz4_frame:
 * 1..12, snappy: none).  Returns NB_OK; NB_INVALID with err set for an
 * unknown codec, a level out of range, or dst_capacity smaller than the
 * compressed data (give nbh_block_compress_bound bytes to be safe); NB_NOMEM
 * or NB_INTERNAL when the library fails.  src may be NULL when src_len is 0. */
int nbh_block_compress(void *host_data, const char *codec, int32_t level,
                       const void *src, size_t src_len, void *dst, size_t dst_capacity,
                       size_t *dst_len, NbError *err);

/* Decompress src[0..src_len) into dst[0..dst_capacity); *dst_len is the size
 * produced.  The whole input must be one complete compressed block (no
 * trailing bytes) whose output fits dst_capacity: a format that records the
 * uncompressed size passes it as dst_capacity and compares *dst_len.
 * Returns NB_OK; NB_INVALID for an unknown codec; NB_DATA with err saying
 * why for corrupt, truncated or oversized input; NB_NOMEM. */
int nbh_block_decompress(void *host_data, const char *codec, const void *src,
                         size_t src_len, void *dst, size_t dst_capacity, size_t *dst_len,
                         NbError *err);

/* Codec contexts reused from one call to the next.  Made by the first call
 * that needs them, freed by nbh_block_contexts_release.  The fields are
 * private to block_codec.c. */
typedef struct NbhBlockContexts {
  pthread_mutex_t lock;  /* held during a call that uses the contexts */
  void *zstd_cctx;       /* ZSTD_CCtx *, or NULL until the first use */
  void *zstd_dctx;       /* ZSTD_DCtx *, or NULL until the first use */
} NbhBlockContexts;

/* Empty contexts (nothing allocated). */
void nbh_block_contexts_init(NbhBlockContexts *ctx);

/* Free the codec contexts; ctx stays usable (the next call makes new
 * ones).  No call may be running on ctx. */
void nbh_block_contexts_release(NbhBlockContexts *ctx);

/* nbh_block_compress / nbh_block_decompress reusing the contexts in ctx
 * (NULL: none).  The output bytes are the same either way. */
int nbh_block_compress_with(NbhBlockContexts *ctx, const char *codec, int32_t level,
                            const void *src, size_t src_len, void *dst, size_t dst_capacity,
                            size_t *dst_len, NbError *err);
int nbh_block_decompress_with(NbhBlockContexts *ctx, const char *codec, const void *src,
                              size_t src_len, void *dst, size_t dst_capacity, size_t *dst_len,
                              NbError *err);

#endif /* NBH_BLOCK_CODEC_H */
