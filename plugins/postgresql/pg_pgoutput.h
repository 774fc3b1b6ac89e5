/*
 * pg_pgoutput.h - the messages of PostgreSQL's logical replication output
 * plugin pgoutput (protocol version 1) and the replication stream's own
 * frames (XLogData 'w', keepalive 'k'), parsed from untrusted bytes.
 *
 * Every length and count is checked against the bytes left before it is
 * used; a message that does not fit its buffer is an error, never a read
 * past the end.  Parsed strings and values point into the message buffer
 * (valid while it is); per-column arrays live in the parser and are reused.
 */
#ifndef NEBULA_PG_PGOUTPUT_H
#define NEBULA_PG_PGOUTPUT_H

#include <stddef.h>
#include <stdint.h>

/* PostgreSQL's limit on the columns of a table (MaxTupleAttributeNumber). */
#define PGO_MAX_COLUMNS 1664

/* One column value of a TupleData: kind 'n' NULL, 'u' unchanged TOASTed
 * value (not sent), 't' text (data, len). */
typedef struct PgoValue {
  char kind;
  const char *data;
  uint32_t len;
} PgoValue;

typedef struct PgoTuple {
  uint16_t n;
  PgoValue *values; /* n entries, owned by the parser */
} PgoTuple;

typedef struct PgoColumn {
  uint8_t flags;    /* 1: part of the replica identity key */
  const char *name; /* NUL-terminated, in the message */
  uint32_t type_oid;
  int32_t typmod;
} PgoColumn;

typedef struct PgoMessage {
  char type;          /* 'B' 'C' 'R' 'Y' 'I' 'U' 'D' 'T' 'O' 'M' */
  uint64_t lsn;       /* B: final LSN; C: commit LSN */
  uint64_t end_lsn;   /* C: end LSN of the transaction */
  int64_t timestamp;  /* B, C: commit time, microseconds since 2000-01-01 */
  uint32_t xid;       /* B */
  uint32_t relid;     /* R, Y (type oid), I, U, D */
  const char *nspname, *relname; /* R, Y */
  char replident;     /* R: d n f i */
  uint16_t ncols;     /* R */
  PgoColumn *cols;    /* R: ncols entries, owned by the parser */
  char old_kind;      /* U, D: 'K' key, 'O' old row, 0 none */
  PgoTuple old_tuple; /* U, D when old_kind */
  PgoTuple new_tuple; /* I, U */
  uint32_t nrelids;   /* T */
  const unsigned char *relids; /* T: nrelids big-endian uint32 */
  uint8_t truncate_flags; /* T: 1 cascade, 2 restart identity */
} PgoMessage;

typedef struct PgoParser {
  PgoValue *old_values, *new_values; /* PGO_MAX_COLUMNS each */
  PgoColumn *cols;                   /* PGO_MAX_COLUMNS */
  char error[160];                   /* why the last parse failed */
} PgoParser;

/* 0 or -1 (out of memory). */
int pgo_parser_init(PgoParser *p);
void pgo_parser_free(PgoParser *p);

/* Parse one pgoutput message data[0..len).  0, or -1 with p->error set
 * (truncated, an unknown message type, a count over the limits...). */
int pgo_parse(PgoParser *p, const unsigned char *data, size_t len, PgoMessage *out);

/* Frames of the replication COPY stream. */
typedef struct PgoFrame {
  char type;           /* 'w' XLogData, 'k' keepalive */
  uint64_t start_lsn;  /* w */
  uint64_t wal_end;    /* w, k */
  int64_t send_time;   /* w, k */
  int reply_requested; /* k */
  const unsigned char *data; /* w: the pgoutput message */
  size_t len;
} PgoFrame;

/* 0, or -1 with why[] set (why has room for 160 bytes). */
int pgo_parse_frame(const unsigned char *data, size_t len, PgoFrame *out, char *why, size_t why_cap);

/* The 34-byte Standby Status Update ('r') into buf. */
void pgo_status_update(unsigned char buf[34], uint64_t write_lsn, uint64_t flush_lsn,
                       int64_t now_pg_micros, int reply);

uint64_t pgo_get_u64(const unsigned char *p);
uint32_t pgo_get_u32(const unsigned char *p);

#endif
