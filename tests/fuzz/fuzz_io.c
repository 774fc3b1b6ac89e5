/*
 * fuzz_io.c - the host's file layer (host/io) reading arbitrary files:
 * codec detection and every decoder (gzip, zstd, lz4 frame, snappy
 * framing, skippable frames), through 4 KiB buffers, with reads of varying
 * size and skips.
 *
 * Input: byte 0 chooses what the file starts with (the input as it is, or
 * one codec's magic bytes put in front so every decoder is reached at
 * once) and the read piece size; the rest is the file.
 * Invariants: a read never returns more than asked; once a read fails,
 * every later read fails the same way (errors are sticky: a corrupt
 * stream is never retried); the data ends (0 bytes) or fails within a
 * bounded number of calls.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "io.h"
#include "nebula/sdk.h"

/* Decoded bytes read before giving up on an input (a small file may
 * decompress to a lot: that is allowed, and not worth the time). */
#define OUTPUT_LIMIT ((size_t)8 << 20)

static const struct {
  const char *bytes;
  size_t len;
} prefixes[] = {
    {"", 0},
    {"\x1f\x8b", 2},                   /* gzip */
    {"\x28\xb5\x2f\xfd", 4},           /* zstd */
    {"\x04\x22\x4d\x18", 4},           /* lz4 frame */
    {"\xff\x06\x00\x00sNaPpY", 10},    /* snappy framing */
    {"\x50\x2a\x4d\x18", 4},           /* skippable frame */
    {"\x1f\x8b\x08\x00", 4},           /* gzip, deflate method */
    {"\x04\x22\x4d\x18\x64\x40\xa7", 7}, /* lz4 frame, a valid header */
};

static void read_pieces(NbFile *f, uint8_t *buf, size_t piece, bool skips);

static void read_all(NbFile *f, size_t piece, bool skips) {
  /* Exactly piece bytes, so a read past what was asked is caught. */
  uint8_t *buf = malloc(piece);
  if (buf == NULL) return;
  read_pieces(f, buf, piece, skips);
  free(buf);
}

static void read_pieces(NbFile *f, uint8_t *buf, size_t piece, bool skips) {
  /* A small file may legitimately decode to megabytes; read at most
   * 65536 pieces of it so one-byte pieces stay fast.  Every successful
   * call moves at least one byte, so more calls than bytes allowed means
   * a call reported success without progress. */
  size_t limit = piece << 16 < OUTPUT_LIMIT ? piece << 16 : OUTPUT_LIMIT;
  size_t total = 0;
  int failed = NB_OK;
  for (size_t calls = 0;; calls++) {
    if (calls > limit + 2) fuzz_fail("io: no end after %zu reads", calls);
    NbError err;
    nb_error_init(&err);
    size_t n = (size_t)-1;
    int rc;
    if (skips && calls % 3 == 1) {
      rc = nbh_file_skip(f, piece, &err);
      n = rc == NB_OK ? piece : 0;
      if (rc == NB_END) rc = NB_OK, n = 0;
    } else {
      rc = nbh_file_read(f, buf, piece, &n, &err);
      if (rc == NB_OK && n > piece) fuzz_fail("io: read %zu bytes into %zu", n, piece);
    }
    if (failed != NB_OK) {
      if (rc != failed) fuzz_fail("io: status %d after a failure with %d", rc, failed);
      nb_error_release(&err);
      return;
    }
    if (rc != NB_OK) {
      if (err.message == NULL) fuzz_fail("io: failure %d without a message", rc);
      failed = rc;
      nb_error_release(&err);
      continue; /* once more: it must fail again */
    }
    nb_error_release(&err);
    if (n == 0) return;
    total += n;
    if (total > limit) return;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t a = fuzz_take(&data, &size);
  size_t which = a % (sizeof prefixes / sizeof prefixes[0]);
  size_t piece = 1 + (size_t)((a >> 3) & 7) * 587;
  bool skips = (a & 0x80) != 0;
  uint8_t *file = malloc(prefixes[which].len + size + 1);
  if (file == NULL) return 0;
  memcpy(file, prefixes[which].bytes, prefixes[which].len);
  if (size > 0) memcpy(file + prefixes[which].len, data, size);
  char path[64];
  int fd = fuzz_memfile(file, prefixes[which].len + size, path, sizeof path);
  free(file);
  if (fd < 0) return 0;
  NbhIoSizes sizes = {.read_buffer = 4096, .write_buffer = 4096};
  NbFile *f = NULL;
  NbError err;
  nb_error_init(&err);
  if (nbh_file_open_read_ex(path, &sizes, &f, &err) == NB_OK) {
    read_all(f, piece, skips);
    nbh_file_close(f, NULL);
  }
  nb_error_release(&err);
  close(fd);
  return 0;
}
