/*
 * copy_exact.h - the one short-copy primitive of the tree, shared by the
 * SDK's column builders (builder.c) and the json destination's formatter
 * (plugins/json/json_format.c); internal, not installed.
 */
#ifndef NEBULA_SDK_COPY_EXACT_H
#define NEBULA_SDK_COPY_EXACT_H

#include <stddef.h>
#include <string.h>

/* Copy exactly len bytes from src to dst.  Up to 64 bytes (most CSV and
 * JSON values) it takes two possibly overlapping fixed-size moves, never
 * reading or writing outside [src, src + len) and [dst, dst + len):
 * cheaper than a call to memcpy per value, which the compiler cannot
 * inline for a variable length. */
static inline __attribute__((always_inline)) void nb_copy_exact(char *dst, const char *src,
                                                                size_t len) {
  if (len >= 16) {
    if (len > 64) {
      memcpy(dst, src, len);
    } else if (len > 32) {
      memcpy(dst, src, 32);
      memcpy(dst + len - 32, src + len - 32, 32);
    } else {
      memcpy(dst, src, 16);
      memcpy(dst + len - 16, src + len - 16, 16);
    }
  } else if (len >= 8) {
    memcpy(dst, src, 8);
    memcpy(dst + len - 8, src + len - 8, 8);
  } else if (len >= 4) {
    memcpy(dst, src, 4);
    memcpy(dst + len - 4, src + len - 4, 4);
  } else if (len > 0) {
    dst[0] = src[0];
    dst[len / 2] = src[len / 2];
    dst[len - 1] = src[len - 1];
  }
}

#endif /* NEBULA_SDK_COPY_EXACT_H */
