/*
 * pg_cdc_slot.c - mode cdc's connections and slot: the server's checks
 * (wal_level, REPLICATION), the publication and the slot (created on
 * request, checked against the saved position), the initial snapshot's
 * start, START_REPLICATION and the Standby Status Updates that report the
 * flush LSN, and connecting again after a lost replication connection.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_cdc_internal.h"
#include "pg_copytext.h"

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

int pg_cdc_check_server(PgCdc *c, NbError *err) {
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

int pg_cdc_check_publication(PgCdc *c, bool create, NbError *err) {
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
int pg_cdc_read_slot(PgCdc *c, bool *exists, bool *active, uint64_t *confirmed, NbError *err) {
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

int pg_cdc_slot_missing(PgCdc *c, NbError *err, const char *why) {
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

int pg_cdc_send_status(PgCdc *c, bool reply, NbError *err) {
  unsigned char msg[34];
  pgo_status_update(msg, c->received_lsn > c->ack_lsn ? c->received_lsn : c->ack_lsn, c->ack_lsn,
                    now_pg_micros(), reply);
  if (PQputCopyData(c->repl, (const char *)msg, sizeof msg) != 1 || PQflush(c->repl) != 0)
    return pg_fail(&c->repl_server, c->repl, NULL, NB_UNAVAILABLE, err,
                   "could not send a status update on replication slot \"%s\"", c->slot);
  c->last_status_ms = now_ms();
  return NB_OK;
}

int pg_cdc_start_streaming(PgCdc *c, NbError *err) {
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
  return pg_cdc_send_status(c, false, err);
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
  int rc = pg_cdc_read_slot(c, &exists, &active, &confirmed, err);
  if (rc != NB_OK) return rc;
  if (c->resumed && c->phase == PHASE_SNAPSHOT) {
    nb_error_set(err, NB_INVALID, "the initial snapshot of table \"%s\" was interrupted and cannot be resumed", c->table);
    nb_error_detail(err, "The snapshot exported with the slot lives only as long as the run that created it.");
    nb_error_hint(err, "Drop replication slot \"%s\" (pg_drop_replication_slot), delete the state file and the rows loaded, and run again.", c->slot);
    return NB_INVALID;
  }
  if (!exists && c->resumed) return pg_cdc_slot_missing(c, err, ", but the saved state was read from it: changes since may be lost");
  if (!exists && !c->create_slot) return pg_cdc_slot_missing(c, err, "");
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

int pg_cdc_begin(PgCdc *c, NbError *err) {
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
  return pg_cdc_start_streaming(c, err);
}

/* After a lost replication connection (a server restart): connect again
 * with the same parameters and continue after the last batch handed over,
 * as a resume from that position would.  Records read after it and not
 * handed over are dropped: the server sends them again. */
int pg_cdc_reconnect(PgCdc *c, NbError *err) {
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
  return pg_cdc_start_streaming(c, err);
}
