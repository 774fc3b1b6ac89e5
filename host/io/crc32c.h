/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of the snappy framing
 * format: with the SSE4.2 instruction where the CPU has it, else a
 * slicing-by-8 table.
 */
#ifndef NBH_CRC32C_H
#define NBH_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 to start) with len bytes of data. */
uint32_t nbh_crc32c(uint32_t crc, const void *data, size_t len);

/* The same with the portable table code only (for tests). */
uint32_t nbh_crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif /* NBH_CRC32C_H */
