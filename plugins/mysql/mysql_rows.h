/*
 * mysql_rows.h - decoding of binlog row images (ROWS events v1/v2) and of
 * the per-column metadata of TABLE_MAP events, from untrusted bytes: every
 * length is checked against what is left, nothing is read past `avail`.
 * No client library calls: the fuzz harness links this file alone.
 *
 * A decoded value is handed over as the text the server's text protocol
 * would send for it (numbers, decimals, dates), or as the stored bytes
 * (strings, blobs, BIT), so the source's type mapping (my_append_value)
 * applies unchanged.
 */
#ifndef MYSQL_ROWS_H
#define MYSQL_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Character data kinds the decoder knows; the caller converts latin1. */
enum { MY_CS_UTF8 = 0, MY_CS_LATIN1 = 1, MY_CS_BINARY = 2 };

/* One column of a table map, with what the schema adds (signedness). */
typedef struct MyBinCol {
  uint8_t type;      /* binlog column type (MYSQL_TYPE_*) */
  uint16_t meta;     /* its TABLE_MAP metadata, 0 when it has none */
  bool is_unsigned;  /* from information_schema: binlog v1 maps omit it */
  uint8_t charset;   /* MY_CS_* */
  /* ENUM / SET member names ('\0'-separated), from the column type. */
  const char *members;
  size_t n_members;
} MyBinCol;

/* One decoded value.  data points into the row image or into buf. */
typedef struct MyRowVal {
  bool null;
  const char *data;
  size_t len;
  bool latin1; /* data is latin1 text still to convert to UTF-8 */
  char buf[96];
} MyRowVal;

/* The metadata of each of n columns from a TABLE_MAP's metadata block.
 * Returns 0, or -1 when the block is too short or a type is unknown
 * (*bad_col names the column). */
int my_rows_parse_meta(const uint8_t *types, size_t n, const uint8_t *meta, size_t meta_len,
                       uint16_t *out, size_t *bad_col);

/* Decode one row image: the null bitmap over the present columns, then
 * their values.  present is the ROWS event's column bitmap (NULL: all).
 * vals[i].null is set for absent columns too (*absent counts them).
 * Returns 0 and *used bytes, or -1 with a message in why (cap bytes) and
 * *bad_col. */
int my_rows_read_image(const MyBinCol *cols, size_t n, const uint8_t *present,
                       const uint8_t *p, size_t avail, size_t *used, MyRowVal *vals,
                       size_t *absent, size_t *bad_col, char *why, size_t why_cap);

#endif /* MYSQL_ROWS_H */

/* ---- CDC positions ------------------------------------------------------ */

/* Where a CDC stream resumes: re-read the binlog from file:pos (the start
 * of a transaction, or the end of the last one) and skip the first `skip`
 * change records of that transaction (already handed over).
 *
 * During the initial snapshot (snapshot = true) the position also says
 * what the destination holds: the table as of file:pos for every row whose
 * primary key is at most `key` (decimal text; "" = no row yet), none of the
 * others; `rows` counts the snapshot rows handed over. */
typedef struct MyCdcPos {
  char file[256];
  uint64_t pos;
  uint64_t skip;
  bool snapshot;   /* in the initial snapshot (or its catch-up) */
  uint64_t rows;   /* snapshot: rows handed over so far */
  char key[24];    /* snapshot: last primary key handed over, "" = none */
} MyCdcPos;

/* 3 + file + pos, skip (v1); v2 adds rows, key length and key. */
#define MY_CDC_POS_MAX (3 + 255 + 16 + 8 + 1 + 23)

/* Encode into out (MY_CDC_POS_MAX bytes); returns the length. */
size_t my_cdc_pos_encode(const MyCdcPos *p, uint8_t *out);
/* Decode an untrusted position; -1 when it is not one this version wrote
 * (a snapshot key must be a canonical decimal integer). */
int my_cdc_pos_decode(const uint8_t *in, size_t len, MyCdcPos *p);

/* Whether k[0..n) is a canonical decimal integer (-?[1-9][0-9]* or 0, at
 * most 21 bytes), as the server prints integer keys. */
bool my_cdc_key_valid(const char *k, size_t n);

/* Compare two canonical decimal integers by value: <0, 0, >0. */
int my_cdc_key_cmp(const char *a, size_t an, const char *b, size_t bn);
