/*
 * pg_cdc.c - change data capture: one table's inserts, updates, deletes
 * and truncates from a logical replication slot (pgoutput, protocol 1),
 * as records with op c/u/d/t (r for the rows of the initial snapshot).
 *
 * Exactly once.  The position is the last transaction fully handed over
 * (its commit LSN and end LSN) plus, when a batch ends inside a
 * transaction, that transaction's final LSN and how many of its records
 * were handed over.  Replaying the slot from an older point repeats whole
 * transactions in the same order with the same records, so a resume skips
 * transactions whose commit LSN is at or before the saved one and the
 * first records of a partly delivered one.  The slot's confirmed flush
 * LSN is what makes the server forget WAL: the ABI gives a source no word
 * of the destination's commits, so the only position known durable is the
 * one the host hands back to source_seek (the last saved state).  That is
 * the flush LSN reported in every Standby Status Update, so a crash never
 * loses a change the destination did not commit; the price is that the
 * server keeps the WAL of one run until the next run starts.
 */
#include "pg_cdc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "pg_copytext.h"
#include "pg_pgoutput.h"
#include "pg_values.h"

/* Microseconds from the Unix epoch to PostgreSQL's (2000-01-01). */
#define PG_EPOCH_MICROS INT64_C(946684800000000)
enum { POS_LEN = 8 + 5 * 8, IDLE_WAIT_MS = 50, FILL_WAIT_MS = 20, PROBE_MS = 200,
       BUSY_CHECK_MESSAGES = 1024 };
static const char POS_MAGIC[8] = {'N', 'B', 'P', 'G', 'C', 'D', 'C', '1'};
enum { PHASE_SNAPSHOT = 0, PHASE_STREAM = 1 };
/* Extra columns after the table's: before, toasted_columns, lsn, xid, commit_ts. */
enum { EXTRA_COLUMNS = 5 };

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
  unsigned char pos[POS_LEN];
};

static int nomem(NbError *err) { return nb_error_set(err, NB_NOMEM, "out of memory"); }

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_pg_micros(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - PG_EPOCH_MICROS;
}

static void format_lsn(uint64_t lsn, char *buf, size_t cap) {
  snprintf(buf, cap, "%X/%X", (unsigned)(lsn >> 32), (unsigned)(lsn & 0xffffffffu));
}

static bool parse_lsn(const char *s, uint64_t *out) {
  unsigned hi, lo;
  if (s == NULL || sscanf(s, "%X/%X", &hi, &lo) != 2) return false;
  *out = ((uint64_t)hi << 32) | lo;
  return true;
}

/* ---- checks and setup ------------------------------------------------- */

/* One value of a one-row query, or NULL (no row).  *res must be cleared. */
static int query_value(PgCdc *c, const char *sql, const char *param, PGresult **res,
                       const char **value, const char *what, NbError *err) {
  const char *params[1] = {param};
  *res = PQexecParams(c->conn, sql, param != NULL ? 1 : 0, NULL, params, NULL, NULL, 0);
  *value = NULL;
  if (PQresultStatus(*res) != PGRES_TUPLES_OK)
    return pg_fail(c->server, c->conn, *res, NB_IO, err, "%s", what);
  if (PQntuples(*res) > 0 && !PQgetisnull(*res, 0, 0)) *value = PQgetvalue(*res, 0, 0);
  return NB_OK;
}

static int check_server(PgCdc *c, NbError *err) {
  PGresult *res;
  const char *v;
  int rc = query_value(c, "SELECT current_setting('wal_level')", NULL, &res, &v,
                       "could not read wal_level", err);
  if (rc == NB_OK && (v == NULL || strcmp(v, "logical") != 0)) {
    rc = nb_error_set(err, NB_INVALID, "PostgreSQL server %s has wal_level = %s: mode cdc needs wal_level = logical",
                      c->server->label, v != NULL ? v : "?");
    nb_error_hint(err, "Set wal_level = logical in postgresql.conf (ALTER SYSTEM SET wal_level = logical) and restart the server.");
  }
  PQclear(res);
  if (rc != NB_OK) return rc;
  rc = query_value(c, "SELECT (rolreplication OR rolsuper)::text FROM pg_roles WHERE rolname = current_user",
                   NULL, &res, &v, "could not read the user's attributes", err);
  if (rc == NB_OK && (v == NULL || strcmp(v, "true") != 0)) {
    rc = nb_error_set(err, NB_IO, "the user of PostgreSQL server %s lacks the REPLICATION attribute that mode cdc needs",
                      c->server->label);
    nb_error_hint(err, "ALTER ROLE <user> WITH REPLICATION (as a superuser), or connect as a user that has it.");
  }
  PQclear(res);
  return rc;
}

static int check_publication(PgCdc *c, bool create, NbError *err) {
  PGresult *res;
  const char *v;
  int rc = query_value(c, "SELECT pubname FROM pg_publication WHERE pubname = $1", c->publication, &res, &v,
                       "could not look up the publication", err);
  bool exists = v != NULL;
  PQclear(res);
  if (rc != NB_OK || exists) return rc;
  if (!create) {
    nb_error_set(err, NB_NOT_FOUND, "publication \"%s\" does not exist on PostgreSQL server %s",
                 c->publication, c->server->label);
    nb_error_hint(err, "Create it (CREATE PUBLICATION ... FOR TABLE %s) or set create_publication = true.", c->table);
    return NB_NOT_FOUND;
  }
  {
    char *pub = PQescapeIdentifier(c->conn, c->publication, strlen(c->publication));
    size_t n = (pub != NULL ? strlen(pub) : 0) + strlen(c->sql_name) + 64;
    char *sql = malloc(n);
    if (pub == NULL || sql == NULL) {
      PQfreemem(pub);
      free(sql);
      return nomem(err);
    }
    snprintf(sql, n, "CREATE PUBLICATION %s FOR TABLE %s", pub, c->sql_name);
    rc = pg_exec(c->server, c->conn, sql, "could not create the publication", err);
    PQfreemem(pub);
    free(sql);
    if (rc == NB_OK) nb_log(c->host, NB_LOG_INFO, "created publication \"%s\" for table \"%s\"", c->publication, c->table);
  }
  return rc;
}

/* The slot's state: *exists, *active, its confirmed flush LSN. */
static int read_slot(PgCdc *c, bool *exists, bool *active, uint64_t *confirmed, NbError *err) {
  const char *params[1] = {c->slot};
  PGresult *res = PQexecParams(c->conn,
      "SELECT active::text, confirmed_flush_lsn::text, plugin, coalesce(active_pid::text, '?'), "
      "database = current_database() FROM pg_replication_slots WHERE slot_name = $1",
      1, NULL, params, NULL, NULL, 0);
  int rc = NB_OK;
  *exists = *active = false;
  *confirmed = 0;
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = pg_fail(c->server, c->conn, res, NB_IO, err, "could not look up replication slot \"%s\"", c->slot);
  } else if (PQntuples(res) == 1) {
    *exists = true;
    *active = strcmp(PQgetvalue(res, 0, 0), "true") == 0;
    parse_lsn(PQgetvalue(res, 0, 1), confirmed);
    if (strcmp(PQgetvalue(res, 0, 2), "pgoutput") != 0 || strcmp(PQgetvalue(res, 0, 4), "t") != 0) {
      rc = nb_error_set(err, NB_INVALID, "replication slot \"%s\" on PostgreSQL server %s is not a pgoutput slot of this database",
                        c->slot, c->server->label);
      nb_error_hint(err, "Name another slot (setting \"slot\"); mode cdc creates it with create_slot = true.");
    } else if (*active) {
      rc = nb_error_set(err, NB_IO, "replication slot \"%s\" on PostgreSQL server %s is active (used by process %s)",
                        c->slot, c->server->label, PQgetvalue(res, 0, 3));
      nb_error_hint(err, "Another consumer reads the slot: stop it, or give this pipeline its own slot.");
    }
  }
  PQclear(res);
  return rc;
}

static int slot_missing(PgCdc *c, NbError *err, const char *why) {
  nb_error_set(err, NB_NOT_FOUND, "replication slot \"%s\" does not exist on PostgreSQL server %s%s",
               c->slot, c->server->label, why);
  nb_error_hint(err, "Set create_slot = true to create it (on a fresh run), or name the slot in setting \"slot\".");
  return NB_NOT_FOUND;
}

/* CREATE_REPLICATION_SLOT; with a snapshot, its name in *snapshot_name. */
static int create_slot(PgCdc *c, char **snapshot_name, NbError *err) {
  char *slot = PQescapeIdentifier(c->repl, c->slot, strlen(c->slot));
  char sql[256];
  PGresult *res;
  int rc = NB_OK;
  if (slot == NULL || strlen(slot) > 150) {
    PQfreemem(slot);
    return nb_error_set(err, NB_INVALID, "setting \"slot\" is not a valid slot name");
  }
  snprintf(sql, sizeof sql, "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput %s", slot,
           c->snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
  PQfreemem(slot);
  res = PQexec(c->repl, sql);
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) < 3) {
    rc = pg_fail(&c->repl_server, c->repl, res, NB_IO, err, "could not create replication slot \"%s\"", c->slot);
  } else if (!parse_lsn(PQgetvalue(res, 0, 1), &c->consistent_lsn)) {
    rc = nb_error_set(err, NB_IO, "replication slot \"%s\": the server's consistent point is not an LSN", c->slot);
  } else if (c->snapshot && (*snapshot_name = strdup(PQgetvalue(res, 0, 2))) == NULL) {
    rc = nomem(err);
  }
  PQclear(res);
  if (rc == NB_OK) nb_log(c->host, NB_LOG_INFO, "created replication slot \"%s\"", c->slot);
  return rc;
}

/* The initial snapshot: COPY the table as of the slot's consistent point. */
static int start_snapshot(PgCdc *c, const char *snapshot_name, NbError *err) {
  char *lit = PQescapeLiteral(c->conn, snapshot_name, strlen(snapshot_name));
  size_t n, i;
  char *sql;
  PGresult *res;
  int rc;
  if (lit == NULL) return nomem(err);
  rc = pg_exec(c->server, c->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "could not start the snapshot", err);
  n = strlen(lit) + 64;
  if (rc == NB_OK && (sql = malloc(n)) != NULL) {
    snprintf(sql, n, "SET TRANSACTION SNAPSHOT %s", lit);
    rc = pg_exec(c->server, c->conn, sql, "could not use the slot's snapshot", err);
    free(sql);
  } else if (rc == NB_OK) {
    rc = nomem(err);
  }
  PQfreemem(lit);
  if (rc != NB_OK) return rc;
  {
    PgBuf q = {0};
    rc = pg_buf_add(&q, "COPY (SELECT ", 13);
    for (i = 0; rc == NB_OK && i < c->ncols; i++) {
      char *id = PQescapeIdentifier(c->conn, c->fields[i + 1].name, strlen(c->fields[i + 1].name));
      if (id == NULL) rc = NB_NOMEM;
      if (rc == NB_OK && i > 0) rc = pg_buf_add(&q, ", ", 2);
      if (rc == NB_OK) rc = pg_buf_add(&q, id, strlen(id));
      PQfreemem(id);
    }
    if (rc == NB_OK) rc = pg_buf_add(&q, " FROM ", 6);
    if (rc == NB_OK) rc = pg_buf_add(&q, c->sql_name, strlen(c->sql_name));
    if (rc == NB_OK) rc = pg_buf_add(&q, ") TO STDOUT", 12);
    if (rc != NB_OK) {
      pg_buf_free(&q);
      return nomem(err);
    }
    res = PQexec(c->conn, q.data);
    pg_buf_free(&q);
  }
  if (PQresultStatus(res) != PGRES_COPY_OUT) {
    rc = pg_fail(c->server, c->conn, res, NB_IO, err, "could not read the snapshot of table \"%s\"", c->table);
    PQclear(res);
    return rc;
  }
  PQclear(res);
  c->copying = true;
  c->phase = PHASE_SNAPSHOT;
  c->done_lsn = c->done_end_lsn = c->consistent_lsn;
  return NB_OK;
}

static int send_status(PgCdc *c, bool reply, NbError *err) {
  unsigned char msg[34];
  pgo_status_update(msg, c->received_lsn > c->ack_lsn ? c->received_lsn : c->ack_lsn, c->ack_lsn,
                    now_pg_micros(), reply);
  if (PQputCopyData(c->repl, (const char *)msg, sizeof msg) != 1 || PQflush(c->repl) != 0)
    return pg_fail(&c->repl_server, c->repl, NULL, NB_UNAVAILABLE, err,
                   "could not send a status update on replication slot \"%s\"", c->slot);
  c->last_status_ms = now_ms();
  return NB_OK;
}

static int start_streaming(PgCdc *c, NbError *err) {
  char *slot = PQescapeIdentifier(c->repl, c->slot, strlen(c->slot));
  char *pub = PQescapeIdentifier(c->repl, c->publication, strlen(c->publication));
  char *publit = NULL, lsn[40];
  size_t n;
  char *sql;
  PGresult *res;
  int rc = NB_OK;
  if (slot != NULL && pub != NULL) publit = PQescapeLiteral(c->repl, pub, strlen(pub));
  n = (slot ? strlen(slot) : 0) + (publit ? strlen(publit) : 0) + 128;
  sql = malloc(n);
  if (slot == NULL || pub == NULL || publit == NULL || sql == NULL) {
    rc = nomem(err);
  } else {
    format_lsn(c->done_end_lsn, lsn, sizeof lsn);
    snprintf(sql, n, "START_REPLICATION SLOT %s LOGICAL %s (proto_version '1', publication_names %s)",
             slot, lsn, publit);
    res = PQexec(c->repl, sql);
    if (PQresultStatus(res) != PGRES_COPY_BOTH) {
      rc = pg_fail(&c->repl_server, c->repl, res, NB_IO, err, "could not start streaming from replication slot \"%s\"", c->slot);
      if (strstr(err->message != NULL ? err->message : "", "is active") != NULL)
        nb_error_hint(err, "Another consumer reads the slot: stop it, or give this pipeline its own slot.");
    }
    PQclear(res);
  }
  PQfreemem(slot);
  PQfreemem(pub);
  PQfreemem(publit);
  free(sql);
  if (rc != NB_OK) return rc;
  c->streaming = true;
  c->phase = PHASE_STREAM;
  nb_log(c->host, NB_LOG_INFO, "streaming table \"%s\" from replication slot \"%s\" after LSN %s",
         c->table, c->slot, lsn);
  return send_status(c, false, err);
}

static int read_catchup_target(PgCdc *c, NbError *err) {
  PGresult *res;
  const char *v;
  int rc = query_value(c, "SELECT pg_current_wal_lsn()::text", NULL, &res, &v, "could not read the WAL position", err);
  if (rc == NB_OK && !parse_lsn(v, &c->catchup_lsn))
    rc = nb_error_set(err, NB_IO, "PostgreSQL server %s: pg_current_wal_lsn() is not an LSN", c->server->label);
  PQclear(res);
  return rc;
}

/* First call of next: the slot (created, or checked against the saved
 * position), the snapshot or the stream. */
static int start(PgCdc *c, NbError *err) {
  bool exists, active;
  uint64_t confirmed;
  int rc = read_slot(c, &exists, &active, &confirmed, err);
  if (rc != NB_OK) return rc;
  if (c->resumed && c->phase == PHASE_SNAPSHOT) {
    nb_error_set(err, NB_INVALID, "the initial snapshot of table \"%s\" was interrupted and cannot be resumed", c->table);
    nb_error_detail(err, "The snapshot exported with the slot lives only as long as the run that created it.");
    nb_error_hint(err, "Drop replication slot \"%s\" (pg_drop_replication_slot), delete the state file and the rows loaded, and run again.", c->slot);
    return NB_INVALID;
  }
  if (!exists && c->resumed) return slot_missing(c, err, ", but the saved state was read from it: changes since may be lost");
  if (!exists && !c->create_slot) return slot_missing(c, err, "");
  if (exists && !c->resumed && c->snapshot) {
    nb_error_set(err, NB_INVALID, "replication slot \"%s\" exists: an initial snapshot needs a slot this run creates", c->slot);
    nb_error_hint(err, "Drop the slot, or set snapshot = false to stream its changes only.");
    return NB_INVALID;
  }
  if (exists && c->resumed && confirmed > c->resume_end_lsn) {
    char a[40], b[40];
    format_lsn(confirmed, a, sizeof a);
    format_lsn(c->resume_end_lsn, b, sizeof b);
    nb_error_set(err, NB_INVALID, "replication slot \"%s\" was advanced to %s, past the saved position %s",
                 c->slot, a, b);
    nb_error_detail(err, "Another consumer confirmed changes this pipeline has not loaded: they cannot be read again.");
    nb_error_hint(err, "Give each pipeline its own slot; delete the state file (and the rows loaded) to start over.");
    return NB_INVALID;
  }
  c->slot_exists = exists;
  c->slot_confirmed = confirmed;
  return NB_OK;
}

/* ---- records ---------------------------------------------------------- */

static size_t col_before(const PgCdc *c) { return c->ncols + 1; }
static size_t col_toasted(const PgCdc *c) { return c->ncols + 2; }
static size_t col_lsn(const PgCdc *c) { return c->ncols + 3; }
static size_t col_xid(const PgCdc *c) { return c->ncols + 4; }
static size_t col_ts(const PgCdc *c) { return c->ncols + 5; }

static NbColumnBuilder *column(PgCdc *c, size_t i) { return nb_batch_builder_column(c->builder, i); }

/* A table value from text; false when it does not fit the column's type. */
static bool append_text_value(NbColumnBuilder *b, const NbField *f, const char *s, size_t len, int *rc) {
  int64_t i64;
  double d;
  bool flag;
  int32_t days;
  switch (f->type) {
    case NB_TYPE_INT64:
      if (!pg_parse_int64(s, len, &i64)) return false;
      *rc = nb_column_append_int64(b, i64);
      return true;
    case NB_TYPE_FLOAT64:
      if (!pg_parse_double(s, len, &d)) return false;
      *rc = nb_column_append_double(b, d);
      return true;
    case NB_TYPE_BOOL:
      if (!pg_parse_bool(s, len, &flag)) return false;
      *rc = nb_column_append_bool(b, flag);
      return true;
    case NB_TYPE_DATE32:
      if (!pg_parse_date(s, len, &days)) return false;
      *rc = nb_column_append_date32(b, days);
      return true;
    case NB_TYPE_TIMESTAMP:
      if (!pg_parse_timestamp(s, len, &i64)) return false;
      *rc = nb_column_append_timestamp(b, i64);
      return true;
    default:
      *rc = nb_column_append_utf8(b, s, len);
      return true;
  }
}

/* JSON string of text (escaped) into buf. */
static int json_string(PgBuf *buf, const char *s, size_t len) {
  size_t i;
  int rc = pg_buf_add(buf, "\"", 1);
  for (i = 0; rc == NB_OK && i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    char esc[8];
    if (ch == '"' || ch == '\\') {
      esc[0] = '\\';
      esc[1] = (char)ch;
      rc = pg_buf_add(buf, esc, 2);
    } else if (ch < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", ch);
      rc = pg_buf_add(buf, esc, 6);
    } else {
      rc = pg_buf_add(buf, (const char *)&s[i], 1);
    }
  }
  if (rc == NB_OK) rc = pg_buf_add(buf, "\"", 1);
  return rc;
}

/* The old image as a JSON object {"column": "text" | null}. */
static int append_before(PgCdc *c, const PgoTuple *t, bool key_only, int *rc) {
  PgBuf buf = {0};
  uint16_t i;
  int r = pg_buf_add(&buf, "{", 1);
  bool first = true;
  for (i = 0; r == NB_OK && i < t->n && i < c->rel_ncols; i++) {
    const PgoValue *v = &t->values[i];
    const char *name = c->fields[c->colmap[i] + 1].name;
    /* A 'K' tuple sends NULL for the columns outside the key. */
    if (v->kind == 'u' || (key_only && c->colkey != NULL && !c->colkey[i])) continue;
    if (!first) r = pg_buf_add(&buf, ",", 1);
    first = false;
    if (r == NB_OK) r = json_string(&buf, name, strlen(name));
    if (r == NB_OK) r = pg_buf_add(&buf, ":", 1);
    if (r == NB_OK) r = v->kind == 'n' ? pg_buf_add(&buf, "null", 4) : json_string(&buf, v->data, v->len);
  }
  if (r == NB_OK) r = pg_buf_add(&buf, "}", 1);
  if (r == NB_OK) r = nb_column_append_utf8(column(c, col_before(c)), buf.data, buf.len);
  pg_buf_free(&buf);
  *rc = r;
  return r;
}

static void note_bad(PgCdc *c, size_t col, const char *s, size_t len) {
  char head[48], lsn[40];
  size_t n = len < 40 ? len : 40;
  int need;
  memcpy(head, s, n);
  head[n] = '\0';
  format_lsn(c->txn_lsn, lsn, sizeof lsn);
  free(c->bad_message);
  need = snprintf(NULL, 0, "table \"%s\", column \"%s\", transaction %u (commit LSN %s): value \"%s\" does not fit the column's Arrow type",
                  c->table, c->fields[col + 1].name, c->txn_xid, lsn, head);
  c->bad_message = malloc((size_t)need + 1);
  if (c->bad_message != NULL)
    snprintf(c->bad_message, (size_t)need + 1, "table \"%s\", column \"%s\", transaction %u (commit LSN %s): value \"%s\" does not fit the column's Arrow type",
             c->table, c->fields[col + 1].name, c->txn_xid, lsn, head);
}

/* Append one record.  image: the tuple whose values fill the table's
 * columns (NULL: none, e.g. truncate); before: the old image for the
 * before column (NULL: null).  NB_DATA (row not added, c->bad_message
 * set) for a value that does not fit. */
static int add_record(PgCdc *c, char op, const PgoTuple *image, const PgoTuple *before,
                      bool before_key_only, NbError *err) {
  size_t base = nb_batch_builder_rows(c->builder), i, total = c->ncols + 1 + EXTRA_COLUMNS;
  PgBuf toasted = {0};
  char lsn[40];
  int rc = nb_column_append_utf8(column(c, 0), &op, 1);
  bool *set = NULL;
  if (c->ncols > 0 && (set = calloc(c->ncols, sizeof *set)) == NULL) rc = NB_NOMEM;
  for (i = 0; rc == NB_OK && image != NULL && i < image->n && i < c->rel_ncols; i++) {
    const PgoValue *v = &image->values[i];
    size_t col = (size_t)c->colmap[i];
    NbColumnBuilder *b = column(c, col + 1);
    set[col] = true;
    if (v->kind == 'n') {
      rc = nb_column_append_null(b);
    } else if (v->kind == 'u') {
      const char *name = c->fields[col + 1].name;
      rc = pg_buf_add(&toasted, toasted.len == 0 ? "[" : ",", 1);
      if (rc == NB_OK) rc = json_string(&toasted, name, strlen(name));
      if (rc == NB_OK) rc = nb_column_append_null(b);
    } else if (!append_text_value(b, &c->fields[col + 1], v->data, v->len, &rc)) {
      note_bad(c, col, v->data, v->len);
      rc = c->bad_message != NULL ? NB_DATA : NB_NOMEM;
    }
  }
  for (i = 0; rc == NB_OK && i < c->ncols; i++)
    if (!set[i]) rc = nb_column_append_null(column(c, i + 1));
  free(set);
  if (rc == NB_OK) rc = before != NULL ? append_before(c, before, before_key_only, &rc) : nb_column_append_null(column(c, col_before(c)));
  if (rc == NB_OK && toasted.len > 0) rc = pg_buf_add(&toasted, "]", 1);
  if (rc == NB_OK)
    rc = toasted.len > 0 ? nb_column_append_utf8(column(c, col_toasted(c)), toasted.data, toasted.len)
                         : nb_column_append_null(column(c, col_toasted(c)));
  pg_buf_free(&toasted);
  if (rc == NB_OK) {
    format_lsn(op == 'r' ? c->consistent_lsn : c->txn_lsn, lsn, sizeof lsn);
    rc = nb_column_append_utf8(column(c, col_lsn(c)), lsn, strlen(lsn));
  }
  if (rc == NB_OK) rc = op == 'r' ? nb_column_append_null(column(c, col_xid(c)))
                                  : nb_column_append_int64(column(c, col_xid(c)), (int64_t)c->txn_xid);
  if (rc == NB_OK) rc = op == 'r' ? nb_column_append_null(column(c, col_ts(c)))
                                  : nb_column_append_timestamp(column(c, col_ts(c)), c->txn_ts + PG_EPOCH_MICROS);
  if (rc != NB_OK) {
    for (i = 0; i < total; i++) nb_column_truncate(column(c, i), base);
    if (rc == NB_DATA) return NB_DATA;
    return nomem(err);
  }
  return NB_OK;
}

/* ---- positions -------------------------------------------------------- */

static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t get64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static void encode_position(PgCdc *c, NbBatchInfo *info) {
  memcpy(c->pos, POS_MAGIC, 8);
  put64(c->pos + 8, (uint64_t)c->phase);
  put64(c->pos + 16, c->done_lsn);
  put64(c->pos + 24, c->done_end_lsn);
  put64(c->pos + 32, c->phase == PHASE_SNAPSHOT ? c->consistent_lsn : (c->in_txn ? c->txn_lsn : 0));
  put64(c->pos + 40, c->phase == PHASE_SNAPSHOT ? c->snapshot_rows : (c->in_txn ? c->txn_rows : 0));
  info->position = c->pos;
  info->position_len = POS_LEN;
  info->bytes_read = -1;
}

int pg_cdc_seek(PgCdc *c, const void *position, size_t len, NbError *err) {
  const unsigned char *p = position;
  if (position == NULL || len != POS_LEN || memcmp(p, POS_MAGIC, 8) != 0 || get64(p + 8) > PHASE_STREAM) {
    nb_error_set(err, NB_INVALID, "saved position of table \"%s\" is not a postgresql cdc position", c->table);
    nb_error_hint(err, "Delete the state file to start over (mode cdc positions are not those of full or incremental).");
    return NB_INVALID;
  }
  c->phase = (int)get64(p + 8);
  c->resume_lsn = get64(p + 16);
  c->resume_end_lsn = get64(p + 24);
  c->resume_txn_lsn = get64(p + 32);
  c->resume_txn_rows = get64(p + 40);
  if (c->phase == PHASE_STREAM && c->resume_txn_lsn != 0 && c->resume_txn_lsn <= c->resume_lsn) {
    nb_error_set(err, NB_INVALID, "saved position of table \"%s\" is inconsistent (open transaction before the last commit)", c->table);
    return NB_INVALID;
  }
  c->resumed = true;
  if (c->phase == PHASE_STREAM && c->resume_txn_lsn != 0) {
    char lsn[40];
    format_lsn(c->resume_txn_lsn, lsn, sizeof lsn);
    nb_log(c->host, NB_LOG_INFO, "table \"%s\" resumes inside the transaction committed at LSN %s, after %llu of its records",
           c->table, lsn, (unsigned long long)c->resume_txn_rows);
  }
  c->done_lsn = c->resume_lsn;
  c->done_end_lsn = c->delivered_end = c->ack_lsn = c->resume_end_lsn;
  return NB_OK;
}

static int deliver(PgCdc *c, struct ArrowArray *out, NbBatchInfo *info, NbError *err) {
  encode_position(c, info);
  c->d_done_lsn = c->done_lsn;
  c->d_done_end_lsn = c->done_end_lsn;
  c->d_txn_lsn = c->in_txn ? c->txn_lsn : 0;
  c->d_txn_rows = c->in_txn ? c->txn_rows : 0;
  c->delivered_end = c->done_end_lsn;
  c->last_deliver_ms = now_ms();
  return nb_batch_builder_finish(c->builder, out, err);
}

/* ---- the stream ------------------------------------------------------- */

static int on_relation(PgCdc *c, const PgoMessage *m, NbError *err) {
  uint16_t i;
  if (strcmp(m->nspname, c->nspname) != 0 || strcmp(m->relname, c->relname) != 0) return NB_OK;
  free(c->colmap);
  free(c->colkey);
  c->colmap = calloc(m->ncols + 1u, sizeof *c->colmap);
  c->colkey = calloc(m->ncols + 1u, sizeof *c->colkey);
  if (c->colmap == NULL || c->colkey == NULL) return nomem(err);
  for (i = 0; i < m->ncols; i++) {
    size_t k;
    c->colmap[i] = -1;
    c->colkey[i] = m->cols[i].flags & 1;
    for (k = 0; k < c->ncols; k++)
      if (strcmp(c->fields[k + 1].name, m->cols[i].name) == 0) c->colmap[i] = (long)k;
    if (c->colmap[i] < 0) {
      nb_error_set(err, NB_IO, "table \"%s\" gained column \"%s\" while streaming", c->table, m->cols[i].name);
      nb_error_detail(err, "Mode cdc reads the columns the table had when the run started.");
      nb_error_hint(err, "Run again: the run reads the new columns and resumes after the last commit.");
      return NB_IO;
    }
  }
  c->relid = m->relid;
  c->rel_ncols = m->ncols;
  c->have_rel = true;
  return NB_OK;
}

/* Whether the next record of the transaction is one a resume already
 * handed over; counts it either way. */
static bool already_delivered(PgCdc *c) {
  bool skip = c->skip_txn || (c->resume_txn_lsn != 0 && c->txn_lsn == c->resume_txn_lsn &&
                              c->txn_rows < c->resume_txn_rows);
  c->txn_rows++;
  return skip;
}

static int on_change(PgCdc *c, const PgoMessage *m, NbError *err) {
  const PgoTuple *image, *before = NULL;
  char op;
  if (!c->in_txn) return nb_error_set(err, NB_IO, "replication slot \"%s\": a change outside a transaction", c->slot);
  if (!c->have_rel || m->relid != c->relid) return NB_OK; /* another table of the publication */
  if (already_delivered(c)) return NB_OK;
  switch (m->type) {
    case 'I': op = 'c'; image = &m->new_tuple; break;
    case 'U': op = 'u'; image = &m->new_tuple; if (m->old_kind != 0) before = &m->old_tuple; break;
    default: op = 'd'; image = &m->old_tuple; break;
  }
  if ((image->n > c->rel_ncols) || (before != NULL && before->n > c->rel_ncols))
    return nb_error_set(err, NB_IO, "replication slot \"%s\": a tuple of %u columns for a relation of %u",
                        c->slot, image->n, c->rel_ncols);
  return add_record(c, op, image, before, m->old_kind == 'K', err);
}

static int on_truncate(PgCdc *c, const PgoMessage *m, NbError *err) {
  uint32_t i;
  if (!c->in_txn) return nb_error_set(err, NB_IO, "replication slot \"%s\": a truncate outside a transaction", c->slot);
  for (i = 0; i < m->nrelids; i++) {
    if (!c->have_rel || pgo_get_u32(m->relids + 4 * (size_t)i) != c->relid) continue;
    if (already_delivered(c)) continue;
    return add_record(c, 't', NULL, NULL, false, err);
  }
  return NB_OK;
}

static int on_message(PgCdc *c, const unsigned char *data, size_t len, NbError *err) {
  PgoMessage m;
  char lsn[40];
  if (pgo_parse(&c->parser, data, len, &m) != 0) {
    format_lsn(c->received_lsn, lsn, sizeof lsn);
    return nb_error_set(err, NB_IO, "replication slot \"%s\" on PostgreSQL server %s: malformed pgoutput message near LSN %s: %s",
                        c->slot, c->server->label, lsn, c->parser.error);
  }
  switch (m.type) {
    case 'B':
      c->in_txn = true;
      c->txn_lsn = m.lsn;
      c->txn_xid = m.xid;
      c->txn_ts = m.timestamp;
      c->txn_rows = 0;
      c->skip_txn = m.lsn <= c->done_lsn && c->done_lsn != 0;
      return NB_OK;
    case 'C':
      if (!c->in_txn) return nb_error_set(err, NB_IO, "replication slot \"%s\": a commit without a begin", c->slot);
      c->in_txn = false;
      if (!c->skip_txn) {
        c->done_lsn = m.lsn;
        c->done_end_lsn = m.end_lsn;
      }
      return NB_OK;
    case 'R':
      return on_relation(c, &m, err);
    case 'I': case 'U': case 'D':
      return on_change(c, &m, err);
    case 'T':
      return on_truncate(c, &m, err);
    default: /* 'Y' types, 'O' origins, 'M' messages: nothing to record */
      return NB_OK;
  }
}

static bool caught_up(const PgCdc *c) {
  return c->stop_at_catchup && !c->in_txn &&
         (c->keepalive_end >= c->catchup_lsn || c->done_end_lsn >= c->catchup_lsn);
}

static int on_frame(PgCdc *c, const unsigned char *data, size_t len, NbError *err) {
  PgoFrame f;
  char why[160];
  if (pgo_parse_frame(data, len, &f, why, sizeof why) != 0)
    return nb_error_set(err, NB_IO, "replication slot \"%s\" on PostgreSQL server %s: %s", c->slot, c->server->label, why);
  if (f.wal_end > c->received_lsn) c->received_lsn = f.wal_end;
  if (f.type == 'k') {
    c->keepalive_end = f.wal_end;
    return f.reply_requested ? send_status(c, false, err) : NB_OK;
  }
  return on_message(c, f.data, f.len, err);
}

/* Wait up to ms for the replication socket; read what came. */
static int wait_input(PgCdc *c, int ms, NbError *err) {
  int fd = PQsocket(c->repl);
  fd_set rd;
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  if (fd < 0 || fd >= FD_SETSIZE)
    return pg_fail(&c->repl_server, c->repl, NULL, NB_UNAVAILABLE, err, "replication connection lost");
  FD_ZERO(&rd);
  FD_SET(fd, &rd);
  if (select(fd + 1, &rd, NULL, NULL, &tv) < 0 && errno != EINTR)
    return nb_error_set(err, NB_IO, "waiting for the replication stream: %s", strerror(errno));
  if (PQconsumeInput(c->repl) != 1)
    return pg_fail(&c->repl_server, c->repl, NULL, NB_UNAVAILABLE, err,
                   "replication stream of slot \"%s\" broke", c->slot);
  return NB_OK;
}

static bool cancelled(const PgCdc *c) {
  return c->host != NULL && c->host->is_cancelled(c->host->host_data);
}

/* Nothing to read now: deliver what is pending, stop when caught up, keep
 * the connection alive, or wait. */
static int idle(PgCdc *c, struct ArrowArray *out, NbBatchInfo *info, NbError *err, bool *returned) {
  int64_t t = now_ms();
  int rc;
  *returned = true;
  if (nb_batch_builder_rows(c->builder) > 0) {
    /* A short wait before a partial batch: under load the next message
     * is usually on its way, and full batches are much cheaper. */
    if (!c->waited) {
      c->waited = true;
      *returned = false;
      return wait_input(c, FILL_WAIT_MS, err);
    }
    return deliver(c, out, info, err);
  }
  if (caught_up(c)) {
    if (c->delivered_end != c->done_end_lsn) return deliver(c, out, info, err);
    c->ended = true;
    nb_log(c->host, NB_LOG_INFO, "replication slot \"%s\" caught up", c->slot);
    return NB_END;
  }
  if (cancelled(c)) return nb_error_set(err, NB_CANCELLED, "streaming table \"%s\" cancelled", c->table);
  /* An empty batch that moves the position past transactions of other
   * tables, so a resume need not decode them again. */
  if (!c->in_txn && c->delivered_end != c->done_end_lsn && t - c->last_deliver_ms >= 1000)
    return deliver(c, out, info, err);
  *returned = false;
  if (t - c->last_status_ms >= c->status_interval_ms && (rc = send_status(c, false, err)) != NB_OK) return rc;
  if (c->stop_at_catchup && t - c->last_probe_ms >= PROBE_MS) {
    c->last_probe_ms = t;
    if ((rc = send_status(c, true, err)) != NB_OK) return rc;
  }
  return wait_input(c, IDLE_WAIT_MS, err);
}

/* The bad record noted by add_record, counted as read: the position moves
 * past it. */
static int report_bad(PgCdc *c, NbBatchInfo *info, NbError *err) {
  nb_error_set(err, NB_DATA, "%s", c->bad_message);
  free(c->bad_message);
  c->bad_message = NULL;
  if (c->phase == PHASE_SNAPSHOT) c->snapshot_rows++;
  else c->txn_rows++;
  encode_position(c, info);
  return NB_DATA;
}

static int stream_next(PgCdc *c, struct ArrowArray *out, NbBatchInfo *info, NbError *err) {
  for (;;) {
    char *buf = NULL;
    int n, rc;
    if (nb_batch_builder_rows(c->builder) >= c->batch_rows ||
        nb_batch_builder_bytes(c->builder) >= c->batch_bytes)
      return deliver(c, out, info, err);
    if (++c->messages % BUSY_CHECK_MESSAGES == 0) {
      /* A stream that never idles still stops when asked and still
       * reports its status. */
      if (cancelled(c)) {
        if (nb_batch_builder_rows(c->builder) > 0) return deliver(c, out, info, err);
        return nb_error_set(err, NB_CANCELLED, "streaming table \"%s\" cancelled", c->table);
      }
      if (now_ms() - c->last_status_ms >= c->status_interval_ms && (rc = send_status(c, false, err)) != NB_OK)
        return rc;
    }
    n = PQgetCopyData(c->repl, &buf, 1);
    if (n == 0) {
      bool returned;
      rc = idle(c, out, info, err, &returned);
      if (returned || rc != NB_OK) return rc;
      continue;
    }
    if (n == -1) {
      PGresult *res = PQgetResult(c->repl);
      rc = pg_fail(&c->repl_server, c->repl, res, NB_UNAVAILABLE, err,
                   "the server ended the replication stream of slot \"%s\"", c->slot);
      PQclear(res);
      return rc;
    }
    if (n < 0)
      return pg_fail(&c->repl_server, c->repl, NULL, NB_UNAVAILABLE, err,
                     "replication stream of slot \"%s\" broke", c->slot);
    c->waited = false;
    rc = on_frame(c, (const unsigned char *)buf, (size_t)n, err);
    PQfreemem(buf);
    if (rc == NB_DATA) {
      if (nb_batch_builder_rows(c->builder) > 0) {
        c->txn_rows--; /* the bad record is reported (and counted) next */
        c->skip_txn = false;
        return deliver(c, out, info, err);
      }
      c->txn_rows--; /* report_bad counts it */
      return report_bad(c, info, err);
    }
    if (rc != NB_OK) return rc;
  }
}

/* The snapshot's rows as op r; at the end of the COPY, the stream. */
static int snapshot_next(PgCdc *c, struct ArrowArray *out, NbBatchInfo *info, NbError *err) {
  static const PgoValue none = {'n', NULL, 0};
  PgoValue *vals = c->parser.new_values;
  PgoTuple t = {(uint16_t)c->ncols, vals};
  for (;;) {
    char *line = NULL;
    int n = PQgetCopyData(c->conn, &line, 0), rc;
    size_t i;
    if (n == -1) {
      PGresult *res;
      rc = NB_OK;
      while ((res = PQgetResult(c->conn)) != NULL) {
        if (rc == NB_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
          rc = pg_fail(c->server, c->conn, res, NB_IO, err, "reading the snapshot of table \"%s\" failed", c->table);
        PQclear(res);
      }
      c->copying = false;
      if (rc == NB_OK) rc = pg_exec(c->server, c->conn, "COMMIT", "could not end the snapshot", err);
      if (rc != NB_OK) return rc;
      nb_log(c->host, NB_LOG_INFO, "snapshot of table \"%s\": %llu rows", c->table, (unsigned long long)c->snapshot_rows);
      c->phase = PHASE_STREAM;
      if ((rc = start_streaming(c, err)) != NB_OK) return rc;
      return deliver(c, out, info, err); /* possibly empty: it moves the position */
    }
    if (n < 0) return pg_fail(c->server, c->conn, NULL, NB_IO, err, "reading the snapshot of table \"%s\" failed", c->table);
    rc = pg_copy_decode_row(line, (size_t)n, c->copy_fields, c->ncols, err);
    for (i = 0; rc == NB_OK && i < c->ncols; i++) {
      vals[i] = none;
      if (c->copy_fields[i].data != NULL) {
        vals[i].kind = 't';
        vals[i].data = c->copy_fields[i].data;
        vals[i].len = (uint32_t)c->copy_fields[i].len;
      }
    }
    if (rc == NB_OK) rc = add_record(c, 'r', &t, NULL, false, err);
    PQfreemem(line);
    if (rc == NB_DATA) {
      /* Rows before it go first; the bad row is reported next. */
      if (nb_batch_builder_rows(c->builder) > 0) return deliver(c, out, info, err);
      return report_bad(c, info, err);
    }
    if (rc != NB_OK) return rc;
    c->snapshot_rows++;
    if (nb_batch_builder_rows(c->builder) >= c->batch_rows || nb_batch_builder_bytes(c->builder) >= c->batch_bytes)
      return deliver(c, out, info, err);
  }
}

static int begin(PgCdc *c, NbError *err) {
  char *snapshot_name = NULL;
  int rc = start(c, err);
  size_t i;
  if (rc != NB_OK) return rc;
  c->started = true;
  c->last_deliver_ms = now_ms();
  /* The identity map: relation columns in the table's order until the
   * first Relation message says otherwise (the snapshot uses it). */
  c->colmap = calloc(c->ncols + 1, sizeof *c->colmap);
  if (c->colmap == NULL) return nomem(err);
  for (i = 0; i < c->ncols; i++) c->colmap[i] = (long)i;
  c->rel_ncols = (uint16_t)c->ncols;
  if (c->stop_at_catchup && (rc = read_catchup_target(c, err)) != NB_OK) return rc;
  if (!c->slot_exists) {
    rc = create_slot(c, &snapshot_name, err);
    if (rc == NB_OK && snapshot_name != NULL) rc = start_snapshot(c, snapshot_name, err);
    free(snapshot_name);
    if (rc != NB_OK) return rc;
    c->ack_lsn = c->consistent_lsn;
    if (c->copying) return NB_OK;
    c->done_lsn = c->done_end_lsn = c->consistent_lsn;
  } else if (!c->resumed) {
    c->ack_lsn = c->done_end_lsn = c->slot_confirmed;
    c->done_lsn = 0;
  }
  c->delivered_end = c->done_end_lsn;
  c->d_done_lsn = c->done_lsn;
  c->d_done_end_lsn = c->done_end_lsn;
  c->d_txn_lsn = c->resume_txn_lsn;
  c->d_txn_rows = c->resume_txn_rows;
  return start_streaming(c, err);
}

/* After a lost replication connection (a server restart): connect again
 * with the same parameters and continue after the last batch handed over,
 * as a resume from that position would.  Records read after it and not
 * handed over are dropped: the server sends them again. */
static int reconnect(PgCdc *c, NbError *err) {
  PQreset(c->repl);
  if (PQstatus(c->repl) != CONNECTION_OK)
    return pg_fail(&c->repl_server, c->repl, NULL, NB_UNAVAILABLE, err,
                   "could not connect again to stream replication slot \"%s\"", c->slot);
  nb_batch_builder_free(c->builder);
  c->builder = NULL;
  if (nb_batch_builder_new(c->fields, c->ncols + 1 + EXTRA_COLUMNS,
                           c->batch_rows < 65536 ? (size_t)c->batch_rows : 65536, &c->builder, err) != NB_OK)
    return NB_NOMEM;
  free(c->bad_message);
  c->bad_message = NULL;
  c->resume_lsn = c->done_lsn = c->d_done_lsn;
  c->resume_end_lsn = c->done_end_lsn = c->delivered_end = c->d_done_end_lsn;
  c->resume_txn_lsn = c->d_txn_lsn;
  c->resume_txn_rows = c->d_txn_rows;
  c->in_txn = c->skip_txn = c->have_rel = false;
  c->broken = false;
  nb_log(c->host, NB_LOG_WARN, "connected again to stream replication slot \"%s\"", c->slot);
  return start_streaming(c, err);
}

int pg_cdc_next(PgCdc *c, struct ArrowArray *out, NbBatchInfo *info, NbError *err) {
  int rc;
  if (c->ended) return NB_END;
  if (c->bad_message != NULL) return report_bad(c, info, err);
  if (!c->started && (rc = begin(c, err)) != NB_OK) return rc;
  if (c->copying) return snapshot_next(c, out, info, err);
  if (c->broken && (rc = reconnect(c, err)) != NB_OK) return rc;
  rc = stream_next(c, out, info, err);
  if (rc == NB_UNAVAILABLE) c->broken = true;
  return rc;
}

/* ---- open / close ----------------------------------------------------- */

void pg_cdc_close(PgCdc *c) {
  size_t i;
  if (c == NULL) return;
  if (c->repl != NULL) PQfinish(c->repl);
  pg_server_clear(&c->repl_server);
  if (c->fields != NULL)
    for (i = 0; i < c->ncols; i++) free((char *)c->fields[i + 1].name);
  free(c->fields);
  nb_batch_builder_free(c->builder);
  free(c->copy_fields);
  pgo_parser_free(&c->parser);
  free(c->table);
  free(c->sql_name);
  free(c->nspname);
  free(c->relname);
  free(c->slot);
  free(c->publication);
  free(c->colmap);
  free(c->colkey);
  free(c->bad_message);
  free(c);
}

static int read_cdc_settings(PgCdc *c, const NbSettings *s, bool *create_publication, NbError *err) {
  const char *slot = nb_settings_find(s, "slot"), *pub = nb_settings_find(s, "publication");
  int64_t interval;
  int rc = NB_OK;
  if (slot == NULL || slot[0] == '\0' || pub == NULL || pub[0] == '\0') {
    nb_error_set(err, NB_INVALID, "mode cdc needs the settings \"slot\" and \"publication\"");
    nb_error_hint(err, "e.g. slot = \"nebula_orders\", publication = \"nebula_orders\", with create_slot and create_publication = true on the first run.");
    return NB_INVALID;
  }
  if ((c->slot = strdup(slot)) == NULL || (c->publication = strdup(pub)) == NULL) return nomem(err);
  if (rc == NB_OK) rc = nb_setting_bool(s, "create_slot", false, &c->create_slot, err);
  if (rc == NB_OK) rc = nb_setting_bool(s, "create_publication", false, create_publication, err);
  if (rc == NB_OK) rc = nb_setting_bool(s, "snapshot", false, &c->snapshot, err);
  if (rc == NB_OK) rc = nb_setting_bool(s, "stop_at_catchup", false, &c->stop_at_catchup, err);
  if (rc == NB_OK) rc = nb_setting_int(s, "status_interval", 10, &interval, err);
  if (rc == NB_OK && (interval < 1 || interval > 3600))
    rc = nb_error_set(err, NB_INVALID, "setting \"status_interval\" must be 1 to 3600 seconds");
  c->status_interval_ms = interval * 1000;
  return rc;
}

static int make_fields(PgCdc *c, const PgCdcColumn *cols, size_t ncols, NbError *err) {
  static const char *const extra[EXTRA_COLUMNS] = {"before", "toasted_columns", "lsn", "xid", "commit_ts"};
  size_t i, k;
  c->ncols = ncols;
  c->fields = calloc(ncols + 1 + EXTRA_COLUMNS, sizeof *c->fields);
  if (c->fields == NULL) return nomem(err);
  c->fields[0].name = "op";
  c->fields[0].type = NB_TYPE_UTF8;
  for (i = 0; i < ncols; i++) {
    c->fields[i + 1] = cols[i].field;
    c->fields[i + 1].nullable = true; /* deletes carry the key only */
    if ((c->fields[i + 1].name = strdup(cols[i].name)) == NULL) return nomem(err);
    if (strcmp(cols[i].name, "op") == 0) goto clash;
    for (k = 0; k < EXTRA_COLUMNS; k++)
      if (strcmp(cols[i].name, extra[k]) == 0) goto clash;
  }
  for (k = 0; k < EXTRA_COLUMNS; k++) {
    NbField *f = &c->fields[ncols + 1 + k];
    f->name = extra[k];
    f->nullable = true;
    f->type = k < 2 ? NB_TYPE_JSON : k == 2 ? NB_TYPE_UTF8 : k == 3 ? NB_TYPE_INT64 : NB_TYPE_TIMESTAMP;
    if (k == 4) f->timezone = "UTC";
  }
  c->fields[ncols + 3].nullable = false;
  return NB_OK;
clash:
  c->ncols = i + 1;
  nb_error_set(err, NB_INVALID, "table \"%s\" has a column \"%s\": mode cdc adds a column of that name", c->table, cols[i].name);
  nb_error_hint(err, "Mode cdc adds op, before, toasted_columns, lsn, xid and commit_ts; rename the column or read the table in mode full.");
  return NB_INVALID;
}

int pg_cdc_open(const NbHostApi *host, const NbSettings *settings, PgServer *server,
                PGconn *conn, const char *table, const char *sql_name,
                const PgCdcColumn *cols, size_t ncols, uint64_t batch_rows,
                uint64_t batch_bytes, PgCdc **out, NbError *err) {
  PgCdc *c = calloc(1, sizeof *c);
  bool create_publication = false, exists, active;
  uint64_t confirmed;
  const char *dot;
  int rc;
  *out = NULL;
  if (c == NULL) return nomem(err);
  c->host = host;
  c->server = server;
  c->conn = conn;
  c->batch_rows = batch_rows;
  c->batch_bytes = batch_bytes;
  c->phase = PHASE_STREAM;
  dot = strchr(table, '.');
  c->table = strdup(table);
  c->sql_name = strdup(sql_name);
  c->nspname = dot != NULL ? strndup(table, (size_t)(dot - table)) : strdup("public");
  c->relname = strdup(dot != NULL ? dot + 1 : table);
  if (c->table == NULL || c->sql_name == NULL || c->nspname == NULL || c->relname == NULL ||
      pgo_parser_init(&c->parser) != 0 || (c->copy_fields = calloc(ncols + 1, sizeof *c->copy_fields)) == NULL)
    rc = nomem(err);
  else if (ncols + 1 + EXTRA_COLUMNS > PGO_MAX_COLUMNS)
    rc = nb_error_set(err, NB_INVALID, "table \"%s\" has too many columns for mode cdc", table);
  else
    rc = read_cdc_settings(c, settings, &create_publication, err);
  if (rc == NB_OK) rc = make_fields(c, cols, ncols, err);
  if (rc == NB_OK) rc = check_server(c, err);
  if (rc == NB_OK) rc = check_publication(c, create_publication, err);
  if (rc == NB_OK) rc = read_slot(c, &exists, &active, &confirmed, err);
  if (rc == NB_OK && !exists && !c->create_slot) rc = slot_missing(c, err, "");
  if (rc == NB_OK) rc = pg_connect_replication(settings, host, &c->repl_server, &c->repl, err);
  if (rc == NB_OK)
    rc = nb_batch_builder_new(c->fields, c->ncols + 1 + EXTRA_COLUMNS,
                              batch_rows < 65536 ? (size_t)batch_rows : 65536, &c->builder, err);
  if (rc != NB_OK) {
    pg_cdc_close(c);
    return rc;
  }
  *out = c;
  return NB_OK;
}

int pg_cdc_schema(PgCdc *c, struct ArrowSchema *out, NbError *err) {
  return nb_schema_export(c->fields, c->ncols + 1 + EXTRA_COLUMNS, out, err);
}
