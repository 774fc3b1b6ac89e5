/*
 * position.c - resume positions and destination states as a small versioned
 * binary record: the magic "NBP1", a little-endian uint32 count, then count
 * little-endian uint64 values.  The magic and the exact length let a source
 * recognise a position it did not write (another connector's, a corrupt
 * state file) instead of seeking to a wrong offset.
 */
#include <string.h>

#include "sdk_internal.h"

static const unsigned char magic[4] = {'N', 'B', 'P', '1'};

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

size_t nb_position_encode(void *buf, size_t cap, const uint64_t *values,
                          size_t n) {
  unsigned char *p = buf;
  size_t need = 8 + 8 * n;
  if (n > NB_POSITION_MAX_VALUES || buf == NULL || cap < need ||
      (n > 0 && values == NULL))
    return 0;
  memcpy(p, magic, 4);
  put_u32(p + 4, (uint32_t)n);
  for (size_t i = 0; i < n; i++) put_u64(p + 8 + 8 * i, values[i]);
  return need;
}

int nb_position_decode(const void *position, size_t len, uint64_t *values,
                       size_t n, NbError *err) {
  const unsigned char *p = position;
  uint32_t count;
  if (n > NB_POSITION_MAX_VALUES)
    return nb_error_set(err, NB_INTERNAL,
                        "a position holds at most %d values, %zu requested",
                        NB_POSITION_MAX_VALUES, n);
  if (p == NULL || len < 8 || memcmp(p, magic, 4) != 0) {
    nb_error_set(err, NB_INVALID, "unrecognized resume position");
    nb_error_detail(err,
                    "The saved position (%zu bytes) does not begin with the "
                    "\"NBP1\" format marker: it was written by another "
                    "connector or program, or the state file is corrupt.",
                    len);
    nb_error_hint(err, "Remove the state file to start from the beginning.");
    return NB_INVALID;
  }
  count = get_u32(p + 4);
  if (count != n) {
    nb_error_set(err, NB_INVALID, "unrecognized resume position");
    nb_error_detail(err,
                    "The saved position holds %u values; this connector "
                    "expects %zu.  It was probably written by another "
                    "connector or another version of this one.",
                    (unsigned)count, n);
    nb_error_hint(err, "Remove the state file to start from the beginning.");
    return NB_INVALID;
  }
  if (len != 8 + 8 * (size_t)count) {
    nb_error_set(err, NB_INVALID, "corrupt resume position");
    nb_error_detail(err,
                    "The saved position is %zu bytes long; %u values take "
                    "%zu bytes.",
                    len, (unsigned)count, 8 + 8 * (size_t)count);
    nb_error_hint(err, "Remove the state file to start from the beginning.");
    return NB_INVALID;
  }
  for (size_t i = 0; i < n; i++) values[i] = get_u64(p + 8 + 8 * i);
  return NB_OK;
}
