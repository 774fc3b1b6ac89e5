/*
 * pg_copybin.h - PostgreSQL's binary COPY format (COPY ... TO STDOUT
 * (FORMAT binary)) read into Arrow values: the stream's header, tuples
 * and fields, and the binary send format of the types that travel binary.
 * Every other type is selected as col::text, whose binary form is its
 * text output, and parsed as the text format would be (pg_values.h), so a
 * value is the same whichever format carried it.
 *
 * The server is trusted to speak the protocol, not to send sane bytes:
 * every length is checked against what remains before it is used.
 */
#ifndef NEBULA_PG_COPYBIN_H
#define NEBULA_PG_COPYBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nebula/sdk.h"
#include "pg_copytext.h"

/* How a column travels in the binary COPY. */
typedef enum PgWire {
  PG_WIRE_TEXT = 0,  /* selected as col::text: its text output */
  PG_WIRE_INT2,
  PG_WIRE_INT4,
  PG_WIRE_INT8,
  PG_WIRE_FLOAT8,
  PG_WIRE_BOOL,
  PG_WIRE_DATE,
  PG_WIRE_TIMESTAMP, /* timestamp and timestamptz: microseconds from 2000 */
  PG_WIRE_TIME,      /* microseconds since midnight, given as text */
  PG_WIRE_BYTES,     /* text, varchar, bpchar, name: the bytes */
  PG_WIRE_BYTEA,     /* given as "\x" and hex digits, as bytea_output hex */
  PG_WIRE_UUID       /* 16 bytes, given as 8-4-4-4-12 hex */
} PgWire;

/* The wire of a column of base type oid mapped to Arrow type `type`;
 * PG_WIRE_TEXT for everything not sent binary. */
PgWire pg_wire_of(unsigned base_oid, NbType type);

/* What one CopyData message of the stream held. */
enum {
  PG_BIN_ROW = 0,    /* a tuple: fields[0..n) filled */
  PG_BIN_HEADER = 1, /* only the header */
  PG_BIN_END = 2,    /* the trailer: no more tuples */
  PG_BIN_BAD = 3     /* malformed: see PgBinError */
};

typedef struct PgBinError {
  char why[160];     /* what is wrong, e.g. "field length 70 exceeds the 3 bytes left" */
  size_t column;     /* 1-based column at fault, 0 for the tuple or header */
} PgBinError;

/* Decode one CopyData message: the header when *header_seen is false
 * (it sets it), then one tuple of exactly n fields, or the trailer.  A
 * field's data points into msg (NULL for SQL NULL).  Returns one of the
 * PG_BIN_* codes. */
int pg_bin_decode_message(const char *msg, size_t len, bool *header_seen,
                          NbStringRef *fields, size_t n, PgBinError *e);

/* The outcome of pg_bin_append. */
enum {
  PG_APPEND_OK = 0,
  PG_APPEND_NOMEM = 1,
  PG_APPEND_NOFIT = 2,    /* a valid value that the Arrow type cannot hold
                             (date infinity, a year BC): text[] says which */
  PG_APPEND_MALFORMED = 3 /* not a value of the wire (wrong length, a bool
                             of 7): text[] says why */
};

/* Append field v (not NULL) of wire `wire` to column b of Arrow type
 * `type` (the one pg_wire_of was given).  scratch holds the hex text of a
 * bytea.  On PG_APPEND_NOFIT and PG_APPEND_MALFORMED, text (cap bytes,
 * cap >= 64) gets the value's text form or the reason. */
int pg_bin_append(NbColumnBuilder *b, NbType type, PgWire wire, const NbStringRef *v,
                  PgBuf *scratch, char *text, size_t cap);

#endif
