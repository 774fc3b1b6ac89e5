/*
 * codec.h - the file layer's internal codec interface.  A decoder turns the
 * compressed bytes of one file into plain bytes, a frame (member, stream)
 * after another; an encoder does the reverse into a sink that io.c empties
 * into the file.  Each codec lives in its own codec_<name>.c and knows
 * nothing about files, errors or threads: io.c adds those.
 */
#ifndef NBH_CODEC_H
#define NBH_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Results of the codec functions. */
enum {
  NBH_CODEC_OK = 0,
  NBH_CODEC_CORRUPT = 1, /* bad input; the message says why */
  NBH_CODEC_NOMEM = 2,   /* an allocation failed */
  NBH_CODEC_SINK = 3,    /* the sink could not be emptied (its errno) */
  NBH_CODEC_FAILED = 4   /* the library refused (a bug or a bad option) */
};

/* Room for a library's message. */
#define NBH_CODEC_MSG_SIZE 256

/* Where an encoder puts its output.  buf[0..len) holds bytes not yet in the
 * file; flush empties it (len = 0) and returns 0, or returns -1 with errno
 * set.  The encoder writes straight into buf[len..cap). */
typedef struct NbhSink {
  uint8_t *buf;
  size_t len;
  size_t cap;
  int (*flush)(struct NbhSink *sink);
  void *owner;
} NbhSink;

/* p + n without undefined behaviour when p is NULL and n is 0 (an empty
 * input may be given as NULL, and C does not define NULL + 0; clang's
 * UBSan reports it).  Every codec offsets its input and output pointers
 * with this. */
static inline const uint8_t *nbh_at(const uint8_t *p, size_t n) {
  return n == 0 ? p : p + n;
}
static inline uint8_t *nbh_at_mut(uint8_t *p, size_t n) {
  return n == 0 ? p : p + n;
}

/* Make sure the sink has at least `room` free bytes (room <= cap). */
static inline int nbh_sink_reserve(NbhSink *sink, size_t room) {
  if (sink->cap - sink->len >= room) return 0;
  return sink->flush(sink);
}

typedef struct NbhDecoderOps {
  const char *name; /* "gzip", "zstd", ... as in error messages */

  /* Allocate a decoder; NULL when out of memory. */
  void *(*create)(void);

  /* Decode from in[0..in_len) into out[0..out_cap).  *in_used and
   * *out_made say how much was consumed and produced.  A call with input
   * and room for output always consumes or produces something, so the
   * caller never has to offer the same bytes twice; in_len may be 0 (and
   * in NULL) to drain output still held inside the decoder.  Returns
   * NBH_CODEC_OK, NBH_CODEC_CORRUPT or NBH_CODEC_NOMEM with msg filled. */
  int (*decode)(void *dec, const uint8_t *in, size_t in_len, size_t *in_used,
                uint8_t *out, size_t out_cap, size_t *out_made, char *msg);

  /* True when the input consumed so far ends exactly after a complete
   * frame and no output is pending: the place where end of file is clean. */
  bool (*at_frame_end)(const void *dec);

  /* Optional (NULL: the error is where decoding stopped).  After
   * NBH_CODEC_CORRUPT, the offset of the bad byte counted from the first
   * byte ever given to this decoder, for codecs whose library stops before
   * the bytes it refuses (lz4 frame headers). */
  uint64_t (*error_offset)(const void *dec);

  void (*destroy)(void *dec);
} NbhDecoderOps;

typedef struct NbhEncoderOps {
  const char *name;

  /* Level range accepted besides 0 (the codec's default); min > max means
   * the codec takes no level. */
  int min_level;
  int max_level;

  /* Allocate an encoder; level 0 is the default, threads is a hint (zstd
   * worker threads).  NULL with msg filled on failure. */
  void *(*create)(int level, int threads, char *msg);

  /* Compress len bytes into the sink (the encoder may keep some inside
   * until end_frame).  Returns NBH_CODEC_OK, NBH_CODEC_SINK or
   * NBH_CODEC_FAILED with msg filled. */
  int (*write)(void *enc, const uint8_t *in, size_t len, NbhSink *sink, char *msg);

  /* End the current frame so the sink holds a complete, self-contained
   * frame; the next write starts a new one.  With nothing written since the
   * last frame, writes nothing unless `always` (a valid empty frame). */
  int (*end_frame)(void *enc, bool always, NbhSink *sink, char *msg);

  /* Bytes that must begin a file written with this codec before any frame
   * (the snappy stream identifier), NULL / 0 for none. */
  const uint8_t *file_header;
  size_t file_header_len;

  void (*destroy)(void *enc);
} NbhEncoderOps;

extern const NbhDecoderOps nbh_gzip_decoder;
extern const NbhDecoderOps nbh_zstd_decoder;
extern const NbhDecoderOps nbh_lz4_decoder;
extern const NbhDecoderOps nbh_snappy_decoder;

extern const NbhEncoderOps nbh_gzip_encoder;
extern const NbhEncoderOps nbh_zstd_encoder;
extern const NbhEncoderOps nbh_lz4_encoder;
extern const NbhEncoderOps nbh_snappy_encoder;

/* The snappy framing format's stream identifier chunk. */
#define NBH_SNAPPY_STREAM_ID "\xff\x06\x00\x00sNaPpY"
#define NBH_SNAPPY_STREAM_ID_LEN 10

#endif /* NBH_CODEC_H */
