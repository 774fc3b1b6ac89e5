/*
 * avro_codec.c - block codecs of Avro container files (see avro_codec.h).
 *
 * deflate and zstandard blocks do not record their uncompressed size, and
 * the host's block_decompress refuses output beyond the capacity given, so
 * decompression starts with a buffer of 4 x the compressed size and
 * doubles it while the host says the output did not fit, up to the
 * caller's limit (max_block_bytes): a lying block never makes us allocate
 * more than that.  snappy records the size in its preamble; it is checked
 * against the limit before anything is allocated.
 */
#include "avro_codec.h"

#include <zlib.h>

const char *avro_codec_name(AvroCodec codec) {
  switch (codec) {
  case AVRO_CODEC_DEFLATE: return "deflate";
  case AVRO_CODEC_SNAPPY: return "snappy";
  case AVRO_CODEC_ZSTD: return "zstandard";
  default: return "null";
  }
}

bool avro_codec_parse(const char *name, size_t len, AvroCodec *out) {
  static const AvroCodec all[] = {AVRO_CODEC_NULL, AVRO_CODEC_DEFLATE, AVRO_CODEC_SNAPPY,
                                  AVRO_CODEC_ZSTD};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    const char *n = avro_codec_name(all[i]);
    if (strlen(n) == len && memcmp(n, name, len) == 0) {
      *out = all[i];
      return true;
    }
  }
  return false;
}

static const char *host_codec(AvroCodec codec) {
  switch (codec) {
  case AVRO_CODEC_DEFLATE: return "deflate";
  case AVRO_CODEC_SNAPPY: return "snappy";
  case AVRO_CODEC_ZSTD: return "zstd";
  default: return NULL;
  }
}

static bool host_has_blocks(const NbHostApi *host) {
  return NB_HOST_HAS(host, block_compress_bound) && NB_HOST_HAS(host, block_compress) &&
         NB_HOST_HAS(host, block_decompress);
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* zlib's crc32 takes a uInt length: feed it in slices. */
static uint32_t crc32_of(const uint8_t *p, size_t len) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (len > 0) {
    uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
    crc = crc32(crc, p, n);
    p += n;
    len -= n;
  }
  return (uint32_t)crc;
}

int avro_codec_compress(const NbHostApi *host, AvroCodec codec, int32_t level,
                        const uint8_t *src, size_t len, AvroBuf *out,
                        NbError *err) {
  out->len = 0;
  if (codec == AVRO_CODEC_NULL) {
    if (!avro_buf_bytes(out, src, len)) return nb_error_set(err, NB_NOMEM, "out of memory compressing an Avro block");
    return NB_OK;
  }
  if (!host_has_blocks(host))
    return nb_error_set(err, NB_INVALID, "codec \"%s\" needs a host of ABI 1.2 (block compression)",
                        avro_codec_name(codec));
  const char *name = host_codec(codec);
  size_t bound = host->block_compress_bound(host->host_data, name, len);
  if (bound == 0)
    return nb_error_set(err, NB_INVALID, "an Avro block of %zu bytes is too large for codec \"%s\"",
                        len, avro_codec_name(codec));
  if (!avro_buf_reserve(out, bound + 4))
    return nb_error_set(err, NB_NOMEM, "out of memory compressing an Avro block");
  size_t n = 0;
  int rc = host->block_compress(host->host_data, name, codec == AVRO_CODEC_SNAPPY ? 0 : level,
                                src, len, out->data, bound, &n, err);
  if (rc != NB_OK) return rc;
  out->len = n;
  if (codec == AVRO_CODEC_SNAPPY) {
    put_be32(out->data + out->len, crc32_of(src, len));
    out->len += 4;
  }
  return NB_OK;
}

/* The uncompressed length in a raw snappy block's preamble (a varint of
 * at most 32 bits). */
static bool snappy_length(const uint8_t *p, size_t len, uint64_t *out) {
  uint64_t v = 0;
  for (size_t i = 0; i < len && i < 5; i++) {
    v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
    if ((p[i] & 0x80) == 0) {
      *out = v;
      return true;
    }
  }
  return false;
}

static int decompress_snappy(const NbHostApi *host, const uint8_t *src, size_t len,
                             size_t limit, AvroBuf *out, NbError *err) {
  uint64_t want;
  if (len < 4 || !snappy_length(src, len - 4, &want))
    return nb_error_set(err, NB_DATA, "the snappy block is truncated (no length or no CRC-32)");
  if (want > limit)
    return nb_error_set(err, NB_DATA, "the snappy block claims %llu uncompressed bytes, more than max_block_bytes (%zu)",
                        (unsigned long long)want, limit);
  if (!avro_buf_reserve(out, (size_t)want + 1))
    return nb_error_set(err, NB_NOMEM, "out of memory decompressing an Avro block");
  size_t n = 0;
  int rc = host->block_decompress(host->host_data, "snappy", src, len - 4, out->data,
                                  (size_t)want, &n, err);
  if (rc != NB_OK) return rc;
  if (n != want)
    return nb_error_set(err, NB_DATA, "the snappy block gave %zu bytes, its preamble says %llu", n,
                        (unsigned long long)want);
  uint32_t stored = (uint32_t)src[len - 4] << 24 | (uint32_t)src[len - 3] << 16 |
                    (uint32_t)src[len - 2] << 8 | src[len - 1];
  if (stored != crc32_of(out->data, n))
    return nb_error_set(err, NB_DATA, "the CRC-32 of the snappy block does not match its data");
  out->len = n;
  return NB_OK;
}

/* deflate with zlib itself, not the host's slot: Apache's Python writer
 * stores zlib.compress(data)[2:-1], raw deflate followed by three bytes of
 * the zlib trailer, and the host refuses bytes after the end of the
 * stream.  Bytes after the final deflate block are ignored, as Java's
 * Inflater does.  Output grows as it comes, up to limit. */
static int inflate_raw(const uint8_t *src, size_t len, size_t limit, AvroBuf *out, NbError *err) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, -15) != Z_OK) return nb_error_set(err, NB_NOMEM, "out of memory decompressing an Avro block");
  int zrc = Z_OK;
  size_t consumed = 0;
  while (zrc != Z_STREAM_END) {
    size_t want = out->len < 65536 ? 65536 : out->len;
    if (out->len >= limit) {
      inflateEnd(&z);
      return nb_error_set(err, NB_DATA, "the deflate block is larger than max_block_bytes (%zu) after decompression", limit);
    }
    if (want > limit - out->len) want = limit - out->len;
    if (!avro_buf_reserve(out, want)) {
      inflateEnd(&z);
      return nb_error_set(err, NB_NOMEM, "out of memory decompressing an Avro block");
    }
    size_t in_now = len - consumed > (1u << 30) ? (1u << 30) : len - consumed;
    uInt out_now = want > (1u << 30) ? (1u << 30) : (uInt)want;
    /* An empty block has no bytes at all (src may be NULL). */
    z.next_in = len > 0 ? (Bytef *)(uintptr_t)(src + consumed) : Z_NULL;
    z.avail_in = (uInt)in_now;
    z.next_out = out->data + out->len;
    z.avail_out = out_now;
    zrc = inflate(&z, Z_NO_FLUSH);
    consumed += in_now - z.avail_in;
    out->len += out_now - z.avail_out;
    if (zrc == Z_BUF_ERROR && consumed == len) zrc = Z_DATA_ERROR; /* truncated */
    if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
      inflateEnd(&z);
      return nb_error_set(err, NB_DATA, "corrupt deflate block: %s", z.msg ? z.msg : "truncated");
    }
  }
  inflateEnd(&z);
  return NB_OK;
}

int avro_codec_decompress(const NbHostApi *host, AvroCodec codec,
                          const uint8_t *src, size_t len, size_t limit,
                          AvroBuf *out, NbError *err) {
  out->len = 0;
  if (codec == AVRO_CODEC_NULL) {
    if (!avro_buf_bytes(out, src, len)) return nb_error_set(err, NB_NOMEM, "out of memory reading an Avro block");
    return NB_OK;
  }
  if (codec == AVRO_CODEC_DEFLATE) return inflate_raw(src, len, limit, out, err);
  if (!host_has_blocks(host))
    return nb_error_set(err, NB_DATA, "codec \"%s\" needs a host of ABI 1.2 (block compression)",
                        avro_codec_name(codec));
  if (codec == AVRO_CODEC_SNAPPY) return decompress_snappy(host, src, len, limit, out, err);
  size_t cap = len < limit / 4 ? len * 4 + 64 : limit;
  if (cap > limit) cap = limit;
  for (;;) {
    if (!avro_buf_reserve(out, cap + 1))
      return nb_error_set(err, NB_NOMEM, "out of memory decompressing an Avro block");
    size_t n = 0;
    NbError local;
    nb_error_init(&local);
    int rc = host->block_decompress(host->host_data, host_codec(codec), src, len, out->data,
                                    cap, &n, &local);
    if (rc == NB_OK) {
      nb_error_release(&local);
      out->len = n;
      return NB_OK;
    }
    /* Not knowing whether it did not fit or is corrupt, try a larger
     * buffer until the limit; the last error is the one reported. */
    if (rc != NB_DATA || cap >= limit) {
      int code = nb_error_set(err, rc, "%s", local.message ? local.message : "corrupt block");
      if (rc == NB_DATA && cap >= limit)
        nb_error_detail(err, "A %s block larger than max_block_bytes (%zu) after decompression is refused.",
                        avro_codec_name(codec), limit);
      nb_error_release(&local);
      return code;
    }
    nb_error_release(&local);
    cap = cap > limit / 2 ? limit : cap * 2;
  }
}
