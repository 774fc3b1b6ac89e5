/*
 * pg_cdc_internal.h - what the files of mode cdc share: the handle and
 * the functions one file calls in another.
 *   pg_cdc_slot.c     the replication connection, the slot, the
 *                     publication, the initial snapshot's start
 *   pg_cdc_records.c  pgoutput messages to rows of the batch
 *   pg_cdc.c          the stream: positions, batches, waits, open/close
 */
#ifndef NEBULA_PG_CDC_INTERNAL_H
#define NEBULA_PG_CDC_INTERNAL_H

#include <stdio.h>
#include <time.h>

#include "pg_cdc.h"
#include "pg_pgoutput.h"

/* Microseconds from the Unix epoch to PostgreSQL's (2000-01-01). */
#define PG_EPOCH_MICROS INT64_C(946684800000000)
enum { PHASE_SNAPSHOT = 0, PHASE_STREAM = 1 };
/* Extra columns after the table's: before, toasted_columns, lsn, xid, commit_ts. */
enum { EXTRA_COLUMNS = 5 };
enum { CDC_POS_LEN = 8 + 5 * 8 };

struct PgCdc {
  const NbHostApi *host;
  PgServer *server;       /* borrowed from the source */
  PgServer repl_server;   /* the replication connection's */
  PGconn *conn;           /* borrowed: catalog queries, the snapshot COPY */
  PGconn *repl;           /* replication=database */
  bool slot_exists;
  uint64_t slot_confirmed;
  char *table, *sql_name, *nspname, *relname;
  char *slot, *publication;
  bool create_slot, snapshot, stop_at_catchup;
  int64_t status_interval_ms;
  NbField *fields;        /* op, table columns, extras */
  size_t ncols;           /* the table's */
  NbBatchBuilder *builder;
  NbStringRef *copy_fields;
  uint64_t batch_rows, batch_bytes;
  PgoParser parser;

  /* Where we are. */
  bool started, streaming, copying, ended;
  int phase;
  uint64_t done_lsn, done_end_lsn;  /* last transaction handed over */
  bool in_txn, skip_txn;
  uint64_t txn_lsn, txn_rows;       /* current transaction: final LSN, records */
  uint32_t txn_xid;
  int64_t txn_ts;
  uint64_t snapshot_rows, consistent_lsn;
  /* Resume point from source_seek. */
  bool resumed;
  uint64_t resume_lsn, resume_end_lsn, resume_txn_lsn, resume_txn_rows;
  uint64_t ack_lsn;       /* flush LSN reported: durable downstream */
  uint64_t received_lsn;  /* highest WAL position seen */
  uint64_t catchup_lsn;   /* stop_at_catchup: the WAL end at the start */
  uint64_t keepalive_end; /* wal end of the last keepalive */
  uint64_t delivered_end; /* done_end_lsn of the last batch handed over */
  int64_t last_status_ms, last_probe_ms, last_deliver_ms;
  /* The table's relation in the stream. */
  uint32_t relid;
  bool have_rel;
  long *colmap;           /* relation column -> table column */
  uint8_t *colkey;        /* relation column is in the replica identity */
  uint16_t rel_ncols;
  bool waited;            /* idle() waited once for the pending batch */
  uint64_t messages;      /* frames read, for checks while busy */
  bool broken;            /* the replication connection was lost */
  /* The position of the last batch handed over: where a new replication
   * connection continues. */
  uint64_t d_done_lsn, d_done_end_lsn, d_txn_lsn, d_txn_rows;
  char *bad_message;      /* a value that does not fit, reported next */
  unsigned char pos[CDC_POS_LEN];
};

static inline int nomem(NbError *err) { return nb_error_set(err, NB_NOMEM, "out of memory"); }

static inline int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t now_pg_micros(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - PG_EPOCH_MICROS;
}

static inline void format_lsn(uint64_t lsn, char *buf, size_t cap) {
  snprintf(buf, cap, "%X/%X", (unsigned)(lsn >> 32), (unsigned)(lsn & 0xffffffffu));
}

static inline bool parse_lsn(const char *s, uint64_t *out) {
  unsigned hi, lo;
  if (s == NULL || sscanf(s, "%X/%X", &hi, &lo) != 2) return false;
  *out = ((uint64_t)hi << 32) | lo;
  return true;
}

/* pg_cdc_slot.c */
int pg_cdc_check_server(PgCdc *c, NbError *err);
int pg_cdc_check_publication(PgCdc *c, bool create, NbError *err);
int pg_cdc_read_slot(PgCdc *c, bool *exists, bool *active, uint64_t *confirmed, NbError *err);
int pg_cdc_slot_missing(PgCdc *c, NbError *err, const char *why);
int pg_cdc_send_status(PgCdc *c, bool reply, NbError *err);
int pg_cdc_start_streaming(PgCdc *c, NbError *err);
int pg_cdc_begin(PgCdc *c, NbError *err);
int pg_cdc_reconnect(PgCdc *c, NbError *err);

/* pg_cdc_records.c */
int pg_cdc_add_record(PgCdc *c, char op, const PgoTuple *image, const PgoTuple *before,
                      bool before_key_only, NbError *err);
int pg_cdc_on_message(PgCdc *c, const unsigned char *data, size_t len, NbError *err);

#endif
