/*
 * s3_md5.h - MD5 (RFC 1321) for the Content-MD5 header of every uploaded
 * part, and base64 (RFC 4648) to send it.  Not for security: S3 uses it
 * only to detect a part damaged in transit.
 */
#ifndef S3_MD5_H
#define S3_MD5_H

#include <stddef.h>
#include <stdint.h>

/* The MD5 of data[0..len) into digest. */
void s3_md5(const uint8_t *data, size_t len, uint8_t digest[16]);

/* base64 of the 16 digest bytes into out (25 bytes with the NUL). */
void s3_md5_base64(const uint8_t digest[16], char out[25]);

#endif
