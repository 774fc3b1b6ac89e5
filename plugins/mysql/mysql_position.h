/*
 * mysql_position.h - the source's resume positions: the row count and the
 * ordering values (cursor, primary key) of the last row handed over, as
 * bytes in the host's state file.  No client library needed, so the
 * decoder is fuzzed on its own (tests/fuzz/fuzz_mysql_position.c).
 *
 * Layout: "NBMYSQL1", u64 rows, u32 count, then per value: u8 is_null
 * (0 or 1), u32 length (0 when null), the bytes.  Little-endian.
 */
#ifndef MYSQL_POSITION_H
#define MYSQL_POSITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nebula/sdk.h"

#define MY_MAX_KEY_COLUMNS 16

/* One ordering value, as the server sent it. */
typedef struct MyKeyValue {
  char *data;  /* NULL for SQL NULL; else points into buf, NUL-terminated */
  unsigned long len;
  char *buf;   /* storage reused from value to value (free it) */
  size_t cap;
} MyKeyValue;

/* Copy value (NULL: SQL NULL) into kv.  Returns NB_OK or NB_NOMEM. */
int my_key_value_set(MyKeyValue *kv, const char *value, unsigned long n);

/* Encode rows and keys[0..n) into *buf (grown as needed, capacity *cap);
 * *len is the encoded length.  Returns NB_OK or NB_NOMEM. */
int my_position_encode(uint64_t rows, const MyKeyValue *keys, size_t n, unsigned char **buf,
                       size_t *cap, size_t *len);

/* Decode a position of a stream whose ordering has n_keys columns (at most
 * MY_MAX_KEY_COLUMNS): *count is 0 (no row yet) or n_keys.  Checked
 * completely before anything is stored: on failure *rows, keys and *count
 * are unchanged and err (NB_INVALID) names the stream and the defect. */
int my_position_decode(const char *stream, const unsigned char *p, size_t len, size_t n_keys,
                       uint64_t *rows, MyKeyValue *keys, size_t *count, NbError *err);

#endif /* MYSQL_POSITION_H */
