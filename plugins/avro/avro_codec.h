/*
 * avro_codec.h - the block codecs of Avro object container files, through
 * the host's ABI 1.2 block slots: null, deflate (raw RFC 1951), snappy (a
 * raw snappy block followed by the big-endian CRC-32 of the uncompressed
 * bytes, as the Avro specification defines) and zstandard (one frame).
 */
#ifndef AVRO_CODEC_H
#define AVRO_CODEC_H

#include "avro_buf.h"
#include "nebula/sdk.h"

typedef enum AvroCodec {
  AVRO_CODEC_NULL = 0,
  AVRO_CODEC_DEFLATE,
  AVRO_CODEC_SNAPPY,
  AVRO_CODEC_ZSTD
} AvroCodec;

/* The setting's choices, in AvroCodec order. */
#define AVRO_CODEC_CHOICES "null|deflate|snappy|zstandard"

/* The name written in avro.codec ("null", "deflate", "snappy",
 * "zstandard"). */
const char *avro_codec_name(AvroCodec codec);
/* The codec of an avro.codec value (len bytes); false if unknown. */
bool avro_codec_parse(const char *name, size_t len, AvroCodec *out);

/* Compress src into out (cleared first).  NB_OK, NB_INVALID (the host has
 * no block slots), NB_NOMEM, or the host's error. */
int avro_codec_compress(const NbHostApi *host, AvroCodec codec, int32_t level,
                        const uint8_t *src, size_t len, AvroBuf *out,
                        NbError *err);

/* Decompress one block src into out (cleared first), producing at most
 * limit bytes.  NB_OK, NB_DATA (corrupt, or larger than limit: err says
 * which, without location: the caller adds it), NB_NOMEM. */
int avro_codec_decompress(const NbHostApi *host, AvroCodec codec,
                          const uint8_t *src, size_t len, size_t limit,
                          AvroBuf *out, NbError *err);

#endif
