/*
 * pg_cdc.c - change data capture, the stream: one table's inserts,
 * updates, deletes and truncates from a logical replication slot
 * (pgoutput, protocol 1), as records with op c/u/d/t (r for the rows of
 * the initial snapshot).  The slot and connections are pg_cdc_slot.c's,
 * the conversion of messages into rows pg_cdc_records.c's.
 *
 * Exactly once.  The position is the last transaction fully handed over
 * (its commit LSN and end LSN) plus, when a batch ends inside a
 * transaction, that transaction's final LSN and how many of its records
 * were handed over.  Replaying the slot from an older point repeats whole
 * transactions in the same order with the same records, so a resume skips
 * transactions whose commit LSN is at or before the saved one and the
 * first records of a partly delivered one.  The slot's confirmed flush
 * LSN is what makes the server forget WAL, so it only ever covers what is
 * durable downstream: the position handed back to source_seek (the last
 * saved state) and, during the run, the position the host reports
 * committed (committed_position, ABI 1.2).  That is the flush LSN of every
 * Standby Status Update, so a crash never loses a change the destination
 * did not commit, and a long run does not make the server keep its WAL.
 */
#include "pg_cdc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "pg_cdc_internal.h"
#include "pg_copytext.h"

enum { IDLE_WAIT_MS = 50, FILL_WAIT_MS = 20, PROBE_MS = 200, BUSY_CHECK_MESSAGES = 1024 };
static const char POS_MAGIC[8] = {'N', 'B', 'P', 'G', 'C', 'D', 'C', '1'};

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
  info->position_len = CDC_POS_LEN;
  info->bytes_read = -1;
}

/* Whether position is one of ours (magic, length, phase); err says why not. */
static bool valid_position(PgCdc *c, const void *position, size_t len, NbError *err) {
  const unsigned char *p = position;
  if (position != NULL && len == CDC_POS_LEN && memcmp(p, POS_MAGIC, 8) == 0 &&
      get64(p + 8) <= PHASE_STREAM)
    return true;
  nb_error_set(err, NB_INVALID, "saved position of table \"%s\" is not a postgresql cdc position", c->table);
  nb_error_hint(err, "Delete the state file to start over (mode cdc positions are not those of full or incremental).");
  return false;
}

int pg_cdc_seek(PgCdc *c, const void *position, size_t len, NbError *err) {
  const unsigned char *p = position;
  if (!valid_position(c, position, len, err)) return NB_INVALID;
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

/* Ask the host which position is durable downstream (ABI 1.2
 * committed_position): the transactions it covers whole may be confirmed
 * to the server, so the slot releases their WAL during the run.  The one
 * table of mode cdc is stream 0.  A position that is not ours, or past
 * what was read, is ignored with a warning: confirming it could lose
 * changes. */
static void refresh_ack(PgCdc *c) {
  unsigned char pos[CDC_POS_LEN];
  size_t len = 0;
  uint64_t end;
  NbError err;
  if (!NB_HOST_HAS(c->host, committed_position) ||
      c->host->committed_position(c->host->host_data, 0, pos, sizeof pos, &len) != NB_OK)
    return;
  nb_error_init(&err);
  if (!valid_position(c, pos, len, &err)) {
    nb_log(c->host, NB_LOG_WARN, "ignoring the committed position: %s", err.message);
    nb_error_release(&err);
    return;
  }
  if (get64(pos + 8) != PHASE_STREAM) return; /* snapshot rows: nothing streamed yet */
  end = get64(pos + 24);
  if (end > c->delivered_end) {
    nb_log(c->host, NB_LOG_WARN, "ignoring a committed position of table \"%s\" past what was read", c->table);
    return;
  }
  if (end > c->ack_lsn) c->ack_lsn = end;
}

/* A Standby Status Update with the latest durable position as flush LSN. */
static int send_status(PgCdc *c, bool reply, NbError *err) {
  refresh_ack(c);
  return pg_cdc_send_status(c, reply, err);
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
  return pg_cdc_on_message(c, f.data, f.len, err);
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
      if ((rc = pg_cdc_start_streaming(c, err)) != NB_OK) return rc;
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
    if (rc == NB_OK) rc = pg_cdc_add_record(c, 'r', &t, NULL, false, err);
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


int pg_cdc_next(PgCdc *c, struct ArrowArray *out, NbBatchInfo *info, NbError *err) {
  int rc;
  if (c->ended) return NB_END;
  if (c->bad_message != NULL) return report_bad(c, info, err);
  if (!c->started && (rc = pg_cdc_begin(c, err)) != NB_OK) return rc;
  if (c->copying) return snapshot_next(c, out, info, err);
  if (c->broken && (rc = pg_cdc_reconnect(c, err)) != NB_OK) return rc;
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
  if (rc == NB_OK) rc = pg_cdc_check_server(c, err);
  if (rc == NB_OK) rc = pg_cdc_check_publication(c, create_publication, err);
  if (rc == NB_OK) rc = pg_cdc_read_slot(c, &exists, &active, &confirmed, err);
  if (rc == NB_OK && !exists && !c->create_slot) rc = pg_cdc_slot_missing(c, err, "");
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
