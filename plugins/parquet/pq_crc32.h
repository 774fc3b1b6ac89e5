/*
 * pq_crc32.h - CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as
 * zlib and gzip compute it): the checksum Parquet's PageHeader.crc holds
 * over a page's (compressed) bytes.
 */
#ifndef PQ_CRC32_H
#define PQ_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t pq_crc32(const void *data, size_t len);

#endif /* PQ_CRC32_H */
