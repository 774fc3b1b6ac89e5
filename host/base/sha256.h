/*
 * sha256.h - SHA-256 (FIPS 180-4), for fingerprints the state file keeps
 * of values that must not be stored in clear (secret settings).  Not a
 * data path; no state beyond the context the caller owns.
 */
#ifndef NBH_SHA256_H
#define NBH_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define NBH_SHA256_BYTES 32

typedef struct NbhSha256 {
  uint32_t h[8];
  uint64_t total;            /* bytes fed so far */
  unsigned char block[64];
  size_t used;               /* bytes waiting in block */
} NbhSha256;

void nbh_sha256_init(NbhSha256 *ctx);
void nbh_sha256_update(NbhSha256 *ctx, const void *data, size_t len);
void nbh_sha256_final(NbhSha256 *ctx, unsigned char out[NBH_SHA256_BYTES]);

#endif /* NBH_SHA256_H */
