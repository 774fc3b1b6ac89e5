/*
 * mysql_cdc.c - mode "cdc" (see mysql_cdc.h and docs/mysql-connector.md).
 *
 * The binary log is read with mariadb_rpl_* as a replica: the library
 * frames the events and parses their headers, TABLE_MAP and ROWS events;
 * the row images themselves are decoded by mysql_rows.c (bounds-checked),
 * and a QUERY event's TRUNCATE of the table (op "t") by mysql_statement.c.
 * Column names, signedness, character sets and ENUM/SET members come from
 * the schema (information_schema) when the stream starts: MariaDB's
 * TABLE_MAP carries them only with binlog_row_metadata = FULL.
 *
 * Exactly once.  A position is (file, pos, skip): re-read from file:pos,
 * the start of a transaction (GTID event) or the end of the last one, and
 * drop the first `skip` records of that transaction.  Batches end at a
 * transaction end (XID) unless one transaction alone exceeds batch_rows:
 * then it is cut, and the position says how many of its records went.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mysql_cdc.h"

#include <errmsg.h>
#include <mariadb_rpl.h>

#include "mysql_rows.h"
#include "mysql_snapshot.h"
#include "mysql_statement.h"

#define EXTRA_FIELDS 5 /* _op ... before, then file, pos, gtid, ts */

/* The phases of a stream with snapshot = true (docs/mysql-connector.md):
 * CATCHUP - resumed after an interrupted snapshot whose position says the
 *   destination holds the table as of binlog point P for keys <= K: a new
 *   snapshot is opened (point P2), the binlog is read from P to P2 keeping
 *   only changes of keys <= K (a key crossing K becomes a c or d);
 * SNAPSHOT - the snapshot's rows with keys > K (all on a first run) as op
 *   "r"; at its end the stream position is P2;
 * STREAM - the binlog from there on. */
enum { PH_STREAM = 0, PH_CATCHUP, PH_SNAPSHOT };

struct MyCdc {
  const NbHostApi *host;
  const MyConnConfig *cfg;
  MyCdcSettings set;
  char *start_file;
  char *start_gtid;
  bool from_gtid; /* the reader starts at start_gtid (first run, nothing handed over) */
  uint32_t index;
  uint64_t batch_rows, batch_bytes;
  char *table;
  char database[256];
  /* The table, from the schema. */
  MyColumn *cols;
  size_t n_cols;
  MyBinCol *bcols;
  uint8_t *schema_types; /* MYSQL_FIELD type of each column, when loaded */
  char **members;
  char **before_names;
  NbBatchBuilder *builder;
  MyRowVal *before, *after;
  char *scratch; /* latin1 -> UTF-8 */
  size_t scratch_cap;
  /* The reader. */
  MYSQL *meta;
  MYSQL *conn;
  MARIADB_RPL *rpl;
  MARIADB_RPL_EVENT *ev;
  int64_t batch_since; /* monotonic ns of the batch's first record, 0: none */
  bool checksums;  /* the server's binlog_checksum is not NONE */
  bool have_start; /* resume (or start) position known */
  MyCdcPos resume; /* where a (re)opened reader starts */
  MyCdcPos emitted; /* the position of the last batch handed over */
  bool have_emitted;
  uint64_t skip_left;
  char cur_file[256];
  char txn_file[256];
  uint64_t txn_start, txn_records;
  bool in_txn, standalone;
  char gtid[64];
  uint64_t table_id;
  bool table_mapped;
  MyCdcPos boundary; /* end of the last whole transaction read */
  bool have_boundary;
  bool done;
  bool at_end; /* stop_at_catchup: the dump ended, its last batch is out */
  bool schema_pending; /* a TABLE_MAP disagreed with the schema: reload */
  bool just_reloaded;  /* ... and the schema was reloaded since */
  uint8_t pos_buf[MY_CDC_POS_MAX];
  /* The initial snapshot (mysql_snapshot.c). */
  int phase;             /* PH_* */
  MySnapshot *snap;      /* open from snapshot start until its last row */
  MyCdcPos snap_point;   /* the binlog point consistent with it */
  int64_t snap_time;     /* the server's clock then: _ts of "r" records */
  char snap_key[24];     /* last key the destination holds ("" none) */
  uint64_t snap_rows;    /* snapshot rows handed over, over all runs */
  size_t key_col;        /* the key's column */
  bool caught_up;        /* CATCHUP reached snap_point */
};

/* ---- Schema ----------------------------------------------------------- */

static int meta_connect(MyCdc *c, NbError *err) {
  if (c->meta != NULL && mysql_ping(c->meta) == 0) return NB_OK;
  if (c->meta != NULL) mysql_close(c->meta);
  c->meta = NULL;
  return my_connect(c->cfg, &c->meta, err);
}

static int meta_rows(MyCdc *c, const char *sql, MYSQL_RES **res, NbError *err) {
  int rc = meta_connect(c, err);
  if (rc != NB_OK) return rc;
  if (mysql_query(c->meta, sql) != 0 || (*res = mysql_store_result(c->meta)) == NULL)
    return my_fail(c->meta, c->cfg, err, "CDC query failed (table \"%s\")", c->table);
  return NB_OK;
}

/* ENUM('a','b''c') / SET(...) member names, '\0'-separated. */
static char *parse_members(const char *type, size_t *n) {
  const char *p = strchr(type, '(');
  char *out = malloc(strlen(type) + 1), *o = out;
  *n = 0;
  if (out == NULL || p == NULL) return out;
  p++;
  while (*p == '\'') {
    p++;
    for (;;) {
      if (*p == '\0') return out;
      if (*p == '\'' && p[1] == '\'') {
        *o++ = '\'';
        p += 2;
      } else if (*p == '\'') {
        p++;
        break;
      } else {
        *o++ = *p++;
      }
    }
    *o++ = '\0';
    (*n)++;
    if (*p == ',') p++;
  }
  return out;
}

static int load_schema_details(MyCdc *c, NbError *err) {
  char sql[700], lit[520];
  MYSQL_RES *res;
  MYSQL_ROW row;
  size_t i = 0;
  int rc;
  mysql_real_escape_string(c->meta, lit, c->table, (unsigned long)strnlen(c->table, 255));
  snprintf(sql, sizeof sql,
           "SELECT character_set_name, column_type, DATABASE() FROM information_schema.columns"
           " WHERE table_schema = DATABASE() AND table_name = '%s' ORDER BY ordinal_position",
           lit);
  if ((rc = meta_rows(c, sql, &res, err)) != NB_OK) return rc;
  while ((row = mysql_fetch_row(res)) != NULL && i < c->n_cols) {
    const char *cs = row[0], *type = row[1] != NULL ? row[1] : "";
    MyBinCol *b = &c->bcols[i];
    if (row[2] != NULL) snprintf(c->database, sizeof c->database, "%s", row[2]);
    b->is_unsigned = strstr(type, "unsigned") != NULL;
    if (cs == NULL || strcmp(cs, "binary") == 0)
      b->charset = MY_CS_BINARY;
    else if (strcmp(cs, "latin1") == 0)
      b->charset = MY_CS_LATIN1;
    else if (strncmp(cs, "utf8", 4) == 0 || strcmp(cs, "ascii") == 0)
      b->charset = MY_CS_UTF8;
    else {
      mysql_free_result(res);
      nb_error_set(err, NB_NOT_IMPLEMENTED,
                   "table \"%s\" column \"%s\": character set %s is not supported by mode cdc",
                   c->table, c->cols[i].name, cs);
      nb_error_hint(err, "Mode cdc reads utf8mb4, utf8mb3, ascii, latin1 and binary columns.");
      return NB_NOT_IMPLEMENTED;
    }
    if (strncmp(type, "enum(", 5) == 0 || strncmp(type, "set(", 4) == 0) {
      if ((c->members[i] = parse_members(type, &b->n_members)) == NULL) {
        mysql_free_result(res);
        return nb_error_set(err, NB_NOMEM, "out of memory");
      }
      b->members = c->members[i];
    }
    i++;
  }
  mysql_free_result(res);
  if (i != c->n_cols)
    return nb_error_set(err, NB_DATA, "table \"%s\": the schema lists %zu columns, not %zu",
                        c->table, i, c->n_cols);
  return NB_OK;
}

/* The record's fields: _op, the columns, before_<column>..., _binlog_file,
 * _binlog_pos, _gtid, _ts (2 * n_cols + EXTRA_FIELDS). */
static void record_fields(const MyCdc *c, NbField *fields) {
  size_t i, n = c->n_cols;
  fields[0] = (NbField){.name = "_op", .type = NB_TYPE_UTF8};
  for (i = 0; i < n; i++) {
    fields[1 + i] = c->cols[i].field;
    fields[1 + n + i] = c->cols[i].field;
    fields[1 + n + i].name = c->before_names[i];
    fields[1 + n + i].nullable = true;
  }
  fields[1 + 2 * n] = (NbField){.name = "_binlog_file", .type = NB_TYPE_UTF8};
  fields[2 + 2 * n] = (NbField){.name = "_binlog_pos", .type = NB_TYPE_INT64};
  fields[3 + 2 * n] = (NbField){.name = "_gtid", .type = NB_TYPE_UTF8, .nullable = true};
  fields[4 + 2 * n] = (NbField){.name = "_ts", .type = NB_TYPE_TIMESTAMP, .timezone = "UTC"};
}

/* Forget the table's schema (ALTER TABLE): load_schema reads it again. */
static void free_schema(MyCdc *c) {
  size_t i;
  for (i = 0; c->members != NULL && i < c->n_cols; i++) free(c->members[i]);
  for (i = 0; c->before_names != NULL && i < c->n_cols; i++) free(c->before_names[i]);
  free(c->members);
  free(c->before_names);
  free(c->bcols);
  free(c->schema_types);
  free(c->before);
  free(c->after);
  my_columns_free(c->cols, c->n_cols);
  nb_batch_builder_free(c->builder);
  c->schema_types = NULL;
  c->members = NULL;
  c->before_names = NULL;
  c->bcols = NULL;
  c->before = c->after = NULL;
  c->cols = NULL;
  c->n_cols = 0;
  c->builder = NULL;
}

static int load_schema(MyCdc *c, NbError *err) {
  char sql[600];
  char *q;
  MYSQL_RES *res;
  NbField *fields;
  size_t i, n;
  int rc;
  if (c->cols != NULL) return NB_OK;
  if ((q = my_quote_ident(c->table)) == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  snprintf(sql, sizeof sql, "SELECT * FROM %s LIMIT 0", q);
  free(q);
  if ((rc = meta_rows(c, sql, &res, err)) != NB_OK) return rc;
  rc = my_columns_from_result(res, &c->cols, &c->n_cols, err);
  n = c->n_cols;
  if (rc == NB_OK && (c->schema_types = calloc(n + 1, 1)) == NULL)
    rc = nb_error_set(err, NB_NOMEM, "out of memory");
  if (rc == NB_OK) {
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    for (i = 0; i < n; i++) c->schema_types[i] = (uint8_t)f[i].type;
  }
  mysql_free_result(res);
  if (rc != NB_OK) return rc;
  c->bcols = calloc(n + 1, sizeof *c->bcols);
  c->members = calloc(n + 1, sizeof *c->members);
  c->before_names = calloc(n + 1, sizeof *c->before_names);
  c->before = calloc(n + 1, sizeof *c->before);
  c->after = calloc(n + 1, sizeof *c->after);
  fields = calloc(2 * n + EXTRA_FIELDS, sizeof *fields);
  if (c->bcols == NULL || c->members == NULL || c->before_names == NULL || c->before == NULL ||
      c->after == NULL || fields == NULL) {
    free(fields);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  if ((rc = load_schema_details(c, err)) != NB_OK) {
    free(fields);
    return rc;
  }
  for (i = 0; i < n; i++) {
    size_t len = strlen(c->cols[i].name) + 8;
    if ((c->before_names[i] = malloc(len)) == NULL) {
      free(fields);
      return nb_error_set(err, NB_NOMEM, "out of memory");
    }
    snprintf(c->before_names[i], len, "before_%s", c->cols[i].name);
  }
  record_fields(c, fields);
  rc = nb_batch_builder_new(fields, 2 * n + EXTRA_FIELDS,
                            c->batch_rows < 65536 ? (size_t)c->batch_rows : 65536, &c->builder,
                            err);
  free(fields);
  return rc;
}

int my_cdc_schema(MyCdc *c, struct ArrowSchema *out, NbError *err) {
  NbField *fields;
  int rc = load_schema(c, err);
  if (rc != NB_OK) return rc;
  fields = calloc(2 * c->n_cols + EXTRA_FIELDS, sizeof *fields);
  if (fields == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  record_fields(c, fields);
  rc = nb_schema_export(fields, 2 * c->n_cols + EXTRA_FIELDS, out, err);
  free(fields);
  return rc;
}

/* ---- Lifetime --------------------------------------------------------- */

int my_cdc_new(const NbHostApi *host, const MyConnConfig *cfg, const MyCdcSettings *set,
               const char *table, uint32_t index, uint64_t batch_rows, uint64_t batch_bytes,
               MyCdc **out, NbError *err) {
  MyCdc *c = calloc(1, sizeof *c);
  *out = NULL;
  if (c == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  c->host = host;
  c->cfg = cfg;
  c->set = *set;
  c->index = index;
  c->batch_rows = batch_rows;
  c->batch_bytes = batch_bytes;
  c->table = strdup(table);
  if (set->start_file != NULL) c->start_file = strdup(set->start_file);
  c->set.start_file = c->start_file;
  if (set->start_gtid != NULL) c->start_gtid = strdup(set->start_gtid);
  c->set.start_gtid = c->start_gtid;
  if (c->table == NULL || (set->start_file != NULL && c->start_file == NULL) ||
      (set->start_gtid != NULL && c->start_gtid == NULL)) {
    my_cdc_free(c);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  *out = c;
  return NB_OK;
}

static void reader_stop(MyCdc *c) {
  if (c->ev != NULL) mariadb_free_rpl_event(c->ev);
  c->ev = NULL;
  if (c->rpl != NULL) mariadb_rpl_close(c->rpl);
  c->rpl = NULL;
  if (c->conn != NULL) mysql_close(c->conn);
  c->conn = NULL;
}

void my_cdc_free(MyCdc *c) {
  if (c == NULL) return;
  reader_stop(c);
  my_snapshot_close(c->snap);
  if (c->meta != NULL) mysql_close(c->meta);
  free_schema(c);
  free(c->scratch);
  free(c->table);
  free(c->start_file);
  free(c->start_gtid);
  free(c);
}

int my_cdc_seek(MyCdc *c, const void *position, size_t len, NbError *err) {
  if (my_cdc_pos_decode(position, len, &c->resume) != 0) {
    nb_error_set(err, NB_DATA, "table \"%s\": the saved CDC position (%zu bytes) is not one"
                 " this connector wrote", c->table, len);
    nb_error_hint(err, "Reset the pipeline's state to start from the current binlog position.");
    return NB_DATA;
  }
  c->have_start = true;
  c->emitted = c->resume;
  c->have_emitted = true;
  return NB_OK;
}

/* ---- Server checks and the start position ------------------------------ */

static int check_server(MyCdc *c, NbError *err) {
  MYSQL_RES *res;
  MYSQL_ROW row;
  char server[300];
  int rc = meta_rows(c, "SELECT @@log_bin, @@binlog_format, @@binlog_row_image,"
                                " @@global.binlog_checksum", &res, err);
  if (rc != NB_OK) return rc;
  row = mysql_fetch_row(res);
  my_server_name(c->cfg, server, sizeof server);
  if (row == NULL || row[0] == NULL || strcmp(row[0], "1") != 0) {
    mysql_free_result(res);
    nb_error_set(err, NB_INVALID, "mode cdc: the binary log is off on server %s", server);
    nb_error_hint(err, "Start the server with log_bin, binlog_format = ROW and binlog_row_image = FULL.");
    return NB_INVALID;
  }
  if (row[1] == NULL || strcmp(row[1], "ROW") != 0 || row[2] == NULL ||
      strcmp(row[2], "FULL") != 0) {
    nb_error_set(err, NB_INVALID,
                 "mode cdc: server %s logs binlog_format = %s, binlog_row_image = %s", server,
                 row[1] != NULL ? row[1] : "?", row[2] != NULL ? row[2] : "?");
    mysql_free_result(res);
    nb_error_hint(err, "Mode cdc needs binlog_format = ROW and binlog_row_image = FULL.");
    return NB_INVALID;
  }
  c->checksums = row[3] != NULL && strcmp(row[3], "NONE") != 0;
  mysql_free_result(res);
  return NB_OK;
}

/* First run: start_file/start_pos, else the server's current position. */
static int find_start(MyCdc *c, NbError *err) {
  MYSQL_RES *res;
  MYSQL_ROW row;
  int rc;
  if (c->have_start) return NB_OK;
  memset(&c->resume, 0, sizeof c->resume);
  if (c->set.start_gtid != NULL) {
    /* The file and position are learned from the first transaction end. */
    c->from_gtid = true;
    c->have_start = true;
    c->resume.pos = 4;
    nb_log(c->host, NB_LOG_INFO, "table \"%s\": CDC starts after GTID %s", c->table,
           c->set.start_gtid);
    return NB_OK;
  }
  if (c->set.start_file != NULL) {
    snprintf(c->resume.file, sizeof c->resume.file, "%s", c->set.start_file);
    c->resume.pos = c->set.start_pos >= 4 ? (uint64_t)c->set.start_pos : 4;
  } else {
    if ((rc = meta_rows(c, "SHOW MASTER STATUS", &res, err)) != NB_OK) return rc;
    row = mysql_fetch_row(res);
    if (row == NULL || row[0] == NULL || row[1] == NULL) {
      mysql_free_result(res);
      return nb_error_set(err, NB_INVALID, "mode cdc: SHOW MASTER STATUS returns no binlog"
                          " position (is the binary log on? does the user have REPLICATION"
                          " CLIENT / BINLOG MONITOR?)");
    }
    snprintf(c->resume.file, sizeof c->resume.file, "%s", row[0]);
    c->resume.pos = strtoull(row[1], NULL, 10);
    mysql_free_result(res);
  }
  c->have_start = true;
  nb_log(c->host, NB_LOG_INFO, "table \"%s\": CDC starts at binlog %s:%llu", c->table,
         c->resume.file, (unsigned long long)c->resume.pos);
  return NB_OK;
}

static int rpl_fail(MyCdc *c, const char *what, NbError *err) {
  char server[300];
  unsigned int no = c->conn != NULL ? mysql_errno(c->conn) : 0;
  const char *msg = c->conn != NULL ? mysql_error(c->conn) : "";
  int code = NB_UNAVAILABLE;
  if (c->rpl != NULL && mariadb_rpl_errno(c->rpl) != 0) msg = mariadb_rpl_error(c->rpl);
  /* 1236: the dump thread refused the position (purged, bad file). */
  if (no == 1236 || no == 1045 || no == 1227 || no == 1044) code = NB_INVALID;
  nb_error_set(err, code, "%s (table \"%s\", binlog %s:%llu) on MariaDB/MySQL server %s: %s"
               " (error %u)", what, c->table, c->resume.file, (unsigned long long)c->resume.pos,
               my_server_name(c->cfg, server, sizeof server), msg, no);
  if (no == 1236)
    nb_error_hint(err, "The binlog may have been purged past the saved position: reset the state.");
  else if (code == NB_INVALID)
    nb_error_hint(err, "The user needs REPLICATION SLAVE and REPLICATION CLIENT privileges.");
  return code;
}

static int reader_start(MyCdc *c, NbError *err) {
  char sql[200];
  /* The catch-up after an interrupted snapshot ends at the binlog's end
   * at the latest (the new snapshot's point is before it). */
  unsigned int flags = c->set.stop_at_catchup || c->phase == PH_CATCHUP
                           ? MARIADB_RPL_BINLOG_DUMP_NON_BLOCK
                           : 0;
  int rc;
  if ((rc = my_connect(c->cfg, &c->conn, err)) != NB_OK) return rc;
  /* The dump thread sends checksummed events only to a replica that says
   * it handles them; capability 4 asks for MariaDB GTID events; the
   * heartbeat (nanoseconds) wakes an idle reader to check cancellation. */
  snprintf(sql, sizeof sql,
           "SET @master_binlog_checksum = @@global.binlog_checksum,"
           " @mariadb_slave_capability = 4, @master_heartbeat_period = %lld",
           (long long)c->set.heartbeat_seconds * 1000000000ll);
  if (mysql_query(c->conn, sql) != 0) return rpl_fail(c, "preparing the binlog dump failed", err);
  if (c->from_gtid && !c->have_emitted) {
    /* MariaDB's GTID dump: the server finds the file and position. */
    snprintf(sql, sizeof sql,
             "SET @slave_connect_state = '%s', @slave_gtid_strict_mode = 0,"
             " @slave_gtid_ignore_duplicates = 0", c->set.start_gtid);
    if (mysql_query(c->conn, sql) != 0)
      return rpl_fail(c, "setting the GTID start position failed", err);
  }
  if ((c->rpl = mariadb_rpl_init(c->conn)) == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory (mariadb_rpl_init)");
  if (mariadb_rpl_optionsv(c->rpl, MARIADB_RPL_SERVER_ID,
                           (unsigned int)(c->set.server_id + c->index)) != 0 ||
      mariadb_rpl_optionsv(c->rpl, MARIADB_RPL_FILENAME, c->resume.file,
                           strlen(c->resume.file)) != 0 ||
      mariadb_rpl_optionsv(c->rpl, MARIADB_RPL_START, (unsigned long)c->resume.pos) != 0 ||
      mariadb_rpl_optionsv(c->rpl, MARIADB_RPL_FLAGS, flags) != 0)
    return nb_error_set(err, NB_INTERNAL, "the MariaDB client refused a replication option");
  if (mariadb_rpl_open(c->rpl) != 0) return rpl_fail(c, "starting the binlog dump failed", err);
  snprintf(c->cur_file, sizeof c->cur_file, "%s", c->resume.file);
  c->skip_left = c->resume.skip;
  c->in_txn = false;
  c->table_mapped = false;
  c->boundary = c->resume;
  c->boundary.skip = 0;
  c->boundary.snapshot = false;
  c->have_boundary = c->resume.skip == 0 && !(c->from_gtid && !c->have_emitted);
  return NB_OK;
}

/* After a failure: drop what was read since the last batch handed over;
 * the next call starts a new reader there. */
static void rewind_to_emitted(MyCdc *c) {
  reader_stop(c);
  my_snapshot_close(c->snap);
  c->snap = NULL;
  c->phase = PH_STREAM;
  c->caught_up = false;
  nb_batch_builder_reset(c->builder);
  c->batch_since = 0;
  if (c->have_emitted) {
    c->resume = c->emitted;
    c->have_start = true;
  }
}

/* ---- Events ------------------------------------------------------------ */

static int corrupt(MyCdc *c, const char *what, NbError *err) {
  nb_error_set(err, NB_IO, "table \"%s\": binlog %s at position %llu: %s", c->table, c->cur_file,
               c->ev != NULL ? (unsigned long long)(c->ev->next_event_pos - c->ev->event_length)
                             : 0ull,
               what);
  return NB_IO;
}

static bool same(const MARIADB_STRING *s, const char *text) {
  return s->str != NULL && s->length == strlen(text) && memcmp(s->str, text, s->length) == 0;
}

/* A column type class: the binlog and result metadata name the same
 * column differently (VARCHAR / VAR_STRING, DATETIME2 / DATETIME ...). */
static int type_class(unsigned t) {
  switch (t) {
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
      return 1000;
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
#ifdef MYSQL_TYPE_JSON
    case MYSQL_TYPE_JSON:
#endif
      return 1001;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2:
      return 1002;
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2:
      return 1003;
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_TIME2:
      return 1004;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
      return 1005;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
      return 1006;
    default:
      return (int)t;
  }
}

/* Whether a TABLE_MAP describes the table as the loaded schema does. */
static bool map_matches(const MyCdc *c, const struct st_mariadb_rpl_table_map_event *tm) {
  size_t i;
  if (tm->column_count != c->n_cols || tm->column_types.length < c->n_cols) return false;
  for (i = 0; i < c->n_cols; i++)
    if (type_class((uint8_t)tm->column_types.str[i]) != type_class(c->schema_types[i]))
      return false;
  return true;
}

static int on_table_map(MyCdc *c, NbError *err) {
  const struct st_mariadb_rpl_table_map_event *tm = &c->ev->event.table_map;
  uint16_t *meta;
  size_t i, bad = 0;
  if (!same(&tm->database, c->database) || !same(&tm->table, c->table)) return NB_OK;
  if (!map_matches(c, tm) && !c->just_reloaded) {
    /* ALTER TABLE: hand over what was read, then reload the schema. */
    c->schema_pending = true;
    return NB_OK;
  }
  if (!map_matches(c, tm)) {
    nb_error_set(err, NB_NOT_IMPLEMENTED,
                 "table \"%s\": the binlog's %u columns differ from the table's %zu columns"
                 " now (types or count) at %s:%llu"
                 " (an older definition: resuming before an ALTER TABLE is not supported)",
                 c->table, tm->column_count, c->n_cols, c->cur_file,
                 (unsigned long long)c->ev->next_event_pos);
    nb_error_hint(err, "Start the pipeline again from a position after the last ALTER TABLE.");
    return NB_NOT_IMPLEMENTED;
  }
  if ((meta = calloc(c->n_cols + 1, sizeof *meta)) == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  if (my_rows_parse_meta((const uint8_t *)tm->column_types.str, c->n_cols,
                         (const uint8_t *)tm->metadata.str, tm->metadata.length, meta,
                         &bad) != 0) {
    free(meta);
    nb_error_set(err, NB_NOT_IMPLEMENTED, "table \"%s\" column \"%s\": binlog type %u is not"
                 " supported by mode cdc", c->table, c->cols[bad].name,
                 (unsigned)(uint8_t)tm->column_types.str[bad]);
    return NB_NOT_IMPLEMENTED;
  }
  for (i = 0; i < c->n_cols; i++) {
    c->bcols[i].type = (uint8_t)tm->column_types.str[i];
    c->bcols[i].meta = meta[i];
  }
  free(meta);
  c->table_id = tm->table_id;
  c->table_mapped = true;
  c->just_reloaded = false;
  return NB_OK;
}

/* text (latin1) as UTF-8 in c->scratch.  MariaDB's latin1 is cp1252:
 * 0x80..0x9F are the Windows characters. */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178};

static int latin1_to_utf8(MyCdc *c, const char *in, size_t n, size_t *out_len) {
  size_t i, o = 0;
  if (3 * n + 1 > c->scratch_cap) {
    char *p = realloc(c->scratch, 3 * n + 1);
    if (p == NULL) return NB_NOMEM;
    c->scratch = p;
    c->scratch_cap = 3 * n + 1;
  }
  for (i = 0; i < n; i++) {
    unsigned ch = (unsigned char)in[i];
    if (ch >= 0x80 && ch < 0xA0) ch = cp1252_high[ch - 0x80];
    if (ch < 0x80) {
      c->scratch[o++] = (char)ch;
    } else if (ch < 0x800) {
      c->scratch[o++] = (char)(0xC0 | (ch >> 6));
      c->scratch[o++] = (char)(0x80 | (ch & 0x3F));
    } else {
      c->scratch[o++] = (char)(0xE0 | (ch >> 12));
      c->scratch[o++] = (char)(0x80 | ((ch >> 6) & 0x3F));
      c->scratch[o++] = (char)(0x80 | (ch & 0x3F));
    }
  }
  *out_len = o;
  return NB_OK;
}

static int append_image(MyCdc *c, size_t first_col, const MyRowVal *vals, NbError *err) {
  size_t i;
  for (i = 0; i < c->n_cols; i++) {
    NbColumnBuilder *col = nb_batch_builder_column(c->builder, first_col + i);
    const char *data = vals == NULL || vals[i].null ? NULL : vals[i].data;
    size_t len = vals == NULL ? 0 : vals[i].len;
    bool zero = false;
    int rc;
    if (data != NULL && vals[i].latin1) {
      if (latin1_to_utf8(c, data, len, &len) != NB_OK)
        return nb_error_set(err, NB_NOMEM, "out of memory");
      data = c->scratch;
    }
    if (data == NULL) data = vals == NULL || vals[i].null ? NULL : "";
    rc = my_append_value(col, &c->cols[i], data, (unsigned long)len, MY_ZERO_NULL, &zero, err);
    if (rc != NB_OK) return rc;
  }
  return NB_OK;
}

static int append_record(MyCdc *c, const char *op, const MyRowVal *main_image,
                         const MyRowVal *before, NbError *err) {
  size_t rows = nb_batch_builder_rows(c->builder), n = c->n_cols, i;
  uint64_t at = c->ev->next_event_pos - c->ev->event_length;
  int rc = nb_column_append_utf8(nb_batch_builder_column(c->builder, 0), op, 1);
  if (rc == NB_OK) rc = append_image(c, 1, main_image, err);
  if (rc == NB_OK) rc = append_image(c, 1 + n, before, err);
  if (rc == NB_OK)
    rc = nb_column_append_utf8(nb_batch_builder_column(c->builder, 1 + 2 * n), c->cur_file,
                               strlen(c->cur_file));
  if (rc == NB_OK)
    rc = nb_column_append_int64(nb_batch_builder_column(c->builder, 2 + 2 * n), (int64_t)at);
  if (rc == NB_OK)
    rc = c->gtid[0] != '\0'
             ? nb_column_append_utf8(nb_batch_builder_column(c->builder, 3 + 2 * n), c->gtid,
                                     strlen(c->gtid))
             : nb_column_append_null(nb_batch_builder_column(c->builder, 3 + 2 * n));
  if (rc == NB_OK)
    rc = nb_column_append_timestamp(nb_batch_builder_column(c->builder, 4 + 2 * n),
                                    (int64_t)c->ev->timestamp * 1000000);
  if (rc != NB_OK) {
    for (i = 0; i < nb_batch_builder_columns(c->builder); i++)
      nb_column_truncate(nb_batch_builder_column(c->builder, i), rows);
    if (rc == NB_NOMEM) return nb_error_set(err, NB_NOMEM, "out of memory");
    nb_error_detail(err, "Table \"%s\", binlog %s:%llu.", c->table, c->cur_file,
                    (unsigned long long)at);
  }
  return rc;
}

static int read_image(MyCdc *c, const uint8_t *present, const uint8_t *p, size_t avail,
                      size_t *used, MyRowVal *vals, NbError *err) {
  char why[160];
  size_t absent = 0, bad = 0;
  if (my_rows_read_image(c->bcols, c->n_cols, present, p, avail, used, vals, &absent, &bad, why,
                         sizeof why) != 0) {
    char what[300];
    snprintf(what, sizeof what, "column \"%s\": %s", c->cols[bad].name, why);
    return corrupt(c, what, err);
  }
  if (absent > 0) {
    nb_error_set(err, NB_INVALID, "table \"%s\": a row image without %zu of its columns"
                 " (binlog_row_image is not FULL)", c->table, absent);
    nb_error_hint(err, "Set binlog_row_image = FULL on the server.");
    return NB_INVALID;
  }
  return NB_OK;
}

/* Whether a row image's key is one the destination holds (<= snap_key). */
static bool held(const MyCdc *c, const MyRowVal *vals) {
  const MyRowVal *k = &vals[c->key_col];
  return !k->null && k->data != NULL &&
         my_cdc_key_cmp(k->data, k->len, c->snap_key, strlen(c->snap_key)) <= 0;
}

/* A change read in the catch-up (PH_CATCHUP): only what concerns rows the
 * destination holds; rows beyond the key come with the new snapshot.  An
 * update moving a row across the key is a delete (it leaves what the
 * destination holds) or an insert (it enters it). */
static int append_caught_up(MyCdc *c, int type, NbError *err) {
  bool was = held(c, c->before);
  if (type == WRITE_ROWS) return was ? append_record(c, "c", c->before, NULL, err) : NB_OK;
  if (type != UPDATE_ROWS) return was ? append_record(c, "d", c->before, NULL, err) : NB_OK;
  if (was && held(c, c->after)) return append_record(c, "u", c->after, c->before, err);
  if (was) return append_record(c, "d", c->before, NULL, err);
  if (held(c, c->after)) return append_record(c, "c", c->after, NULL, err);
  return NB_OK;
}

static int on_rows(MyCdc *c, NbError *err) {
  const struct st_mariadb_rpl_rows_event *r = &c->ev->event.rows;
  const uint8_t *p = r->row_data;
  size_t left = r->row_data_size, used;
  int rc;
  if (!c->table_mapped || r->table_id != c->table_id) return NB_OK;
  if (r->column_count != c->n_cols) return corrupt(c, "a ROWS event with another column count", err);
  if (p == NULL && left > 0) return corrupt(c, "a ROWS event without row data", err);
  while (left > 0) {
    const char *op = r->type == WRITE_ROWS ? "c" : r->type == UPDATE_ROWS ? "u" : "d";
    bool keep;
    if ((rc = read_image(c, r->column_bitmap, p, left, &used, c->before, err)) != NB_OK)
      return rc;
    p += used;
    left -= used;
    if (r->type == UPDATE_ROWS) {
      if ((rc = read_image(c, r->column_update_bitmap, p, left, &used, c->after, err)) != NB_OK)
        return rc;
      p += used;
      left -= used;
    }
    c->txn_records++;
    keep = c->skip_left == 0;
    if (!keep) c->skip_left--;
    if (!keep) continue;
    if (c->phase == PH_CATCHUP)
      rc = append_caught_up(c, r->type, err);
    else if (r->type == UPDATE_ROWS)
      rc = append_record(c, op, c->after, c->before, err);
    else
      rc = append_record(c, op, c->before, NULL, err);
    if (rc != NB_OK) return rc;
  }
  return NB_OK;
}

static void on_gtid(MyCdc *c) {
  const struct st_mariadb_rpl_gtid_event *g = &c->ev->event.gtid;
  c->in_txn = true;
  /* Table ids are only valid after their TABLE_MAP in the same group (a
   * restarted server hands the same ids to other tables). */
  c->table_mapped = false;
  c->standalone = (g->flags & FL_STANDALONE) != 0;
  snprintf(c->txn_file, sizeof c->txn_file, "%s", c->cur_file);
  c->txn_start = c->ev->next_event_pos - c->ev->event_length;
  c->txn_records = 0;
  snprintf(c->gtid, sizeof c->gtid, "%u-%u-%llu", g->domain_id, c->ev->server_id,
           (unsigned long long)g->sequence_nr);
}

static void on_txn_end(MyCdc *c) {
  c->in_txn = false;
  snprintf(c->boundary.file, sizeof c->boundary.file, "%s", c->cur_file);
  c->boundary.pos = c->ev->next_event_pos;
  c->boundary.skip = 0;
  c->have_boundary = true;
  c->skip_left = 0;
}

static bool is_commit_query(const MARIADB_RPL_EVENT *ev) {
  const MARIADB_STRING *s = &ev->event.query.statement;
  return s->str != NULL && s->length == 6 && strncmp(s->str, "COMMIT", 6) == 0;
}

/* Whether a TRUNCATE's table (db "" when unqualified: the event's
 * default database) is the streamed one.  Names compare byte for byte, as
 * the server does with lower_case_table_names = 0 (Linux's default). */
static bool is_our_table(const MyCdc *c, const MyQueryEvent *q, const char *db,
                         const char *table) {
  if (strcmp(table, c->table) != 0) return false;
  if (db[0] != '\0') return strcmp(db, c->database) == 0;
  return q->db_len == strlen(c->database) && memcmp(q->db, c->database, q->db_len) == 0;
}

/* QUERY_EVENT: a TRUNCATE of the table is logged as a statement even with
 * binlog_format = ROW (no row events): it becomes one record, op "t",
 * every column NULL, in binlog order with the row changes.
 *
 * Exactly once: the record is not replayed after a commit.  It counts in
 * txn_records like a row, so a position cut inside its group skips it;
 * and TRUNCATE commits implicitly, so the point after its event is a
 * transaction end: the boundary (the position of a batch that ends with
 * it) moves past it even where no GTID event opened the group.  (A
 * replay would not be harmless: it would empty a destination that has
 * since received the rows inserted after the TRUNCATE.) */
static int on_query(MyCdc *c, NbError *err) {
  const MARIADB_RPL_EVENT *ev = c->ev;
  size_t cs = c->checksums ? 4 : 0;
  char db[MY_IDENT_MAX], table[MY_IDENT_MAX];
  MyQueryEvent q;
  int kind, rc;
  if (ev->raw_data == NULL || ev->raw_data_ofs > ev->raw_data_size ||
      ev->event_length > ev->raw_data_size - ev->raw_data_ofs ||
      my_query_event_parse(ev->raw_data + ev->raw_data_ofs, ev->event_length, cs, &q) != 0)
    return corrupt(c, "a QUERY event whose lengths run past its end", err);
  kind = my_truncate_target(q.sql, q.sql_len, db, table);
  if (kind == MY_STMT_OTHER) return NB_OK;
  if (kind == MY_STMT_UNREADABLE) {
    nb_log(c->host, NB_LOG_WARN, "table \"%s\": binlog %s:%llu: a TRUNCATE statement this"
           " connector cannot read (an executable comment, a name longer than %d bytes or an"
           " unknown clause) is ignored: if it truncated \"%s\", the destination keeps its rows",
           c->table, c->cur_file, (unsigned long long)(ev->next_event_pos - ev->event_length),
           MY_IDENT_MAX - 1, c->table);
    return NB_OK;
  }
  if (!is_our_table(c, &q, db, table)) return NB_OK;
  c->txn_records++;
  if (c->skip_left > 0) {
    c->skip_left--;
  } else if ((rc = append_record(c, "t", NULL, NULL, err)) != NB_OK) {
    return rc;
  }
  if (!c->in_txn) on_txn_end(c);
  return NB_OK;
}

/* ROTATE: the next file's name.  Parsed from the raw event: Connector/C
 * 3.3 misreads the name of a real (not artificial) ROTATE event.  Layout:
 * 19-byte header, 8-byte position, the name, a 4-byte checksum when the
 * binlog has them. */
static int on_rotate(MyCdc *c, NbError *err) {
  const MARIADB_RPL_EVENT *ev = c->ev;
  size_t cs = c->checksums ? 4 : 0, len; /* the dump sends what it logs */
  const unsigned char *name;
  if (ev->raw_data == NULL || ev->raw_data_ofs > ev->raw_data_size ||
      ev->event_length > ev->raw_data_size - ev->raw_data_ofs || ev->event_length < 19 + 8 + cs)
    return corrupt(c, "a ROTATE event shorter than its header", err);
  len = ev->event_length - 19 - 8 - cs;
  name = ev->raw_data + ev->raw_data_ofs + 19 + 8;
  if (len == 0 || len >= sizeof c->cur_file || memchr(name, '\0', len) != NULL ||
      memchr(name, '/', len) != NULL)
    return corrupt(c, "a ROTATE event with a bad file name", err);
  memcpy(c->cur_file, name, len);
  c->cur_file[len] = '\0';
  return NB_OK;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Whether whole transactions were read past the last position handed
 * over: an empty batch then moves the position (other tables' changes are
 * not read again, and a first run keeps its start position). */
static bool boundary_moved(const MyCdc *c) {
  if (!c->have_boundary) return false;
  if (!c->have_emitted || c->emitted.snapshot) return true;
  return c->boundary.pos != c->emitted.pos || c->boundary.skip != c->emitted.skip ||
         strcmp(c->boundary.file, c->emitted.file) != 0;
}

/* Whether file:pos is before point in binlog order (binlog.000009 <
 * binlog.000010 < binlog.1000000: longer numbers are later). */
static bool pos_before(const char *file, uint64_t pos, const MyCdcPos *point) {
  size_t a = strlen(file), b = strlen(point->file);
  int cmp = a != b ? (a < b ? -1 : 1) : strcmp(file, point->file);
  return cmp < 0 || (cmp == 0 && pos < point->pos);
}

/* Handle one event; *cut is set when a batch should be handed over now. */
static int on_event(MyCdc *c, bool *cut, NbError *err) {
  MARIADB_RPL_EVENT *ev = c->ev;
  size_t rows;
  int rc = NB_OK;
  *cut = false;
  switch (ev->event_type) {
    case ROTATE_EVENT:
      return on_rotate(c, err);
    case GTID_EVENT:
      if (c->phase == PH_CATCHUP && !pos_before(c->cur_file, ev->next_event_pos - ev->event_length,
                                                &c->snap_point)) {
        /* The first transaction after the snapshot's point. */
        c->caught_up = true;
        return NB_OK;
      }
      on_gtid(c);
      return NB_OK;
    case TABLE_MAP_EVENT:
      rc = on_table_map(c, err);
      /* A batch (maybe empty) that ends right before the new definition. */
      if (rc == NB_OK && c->schema_pending) *cut = true;
      return rc;
    case WRITE_ROWS_EVENT_V1:
    case UPDATE_ROWS_EVENT_V1:
    case DELETE_ROWS_EVENT_V1:
    case WRITE_ROWS_EVENT:
    case UPDATE_ROWS_EVENT:
    case DELETE_ROWS_EVENT:
      rc = on_rows(c, err);
      break;
    case WRITE_ROWS_COMPRESSED_EVENT_V1:
    case UPDATE_ROWS_COMPRESSED_EVENT_V1:
    case DELETE_ROWS_COMPRESSED_EVENT_V1:
    case WRITE_ROWS_COMPRESSED_EVENT:
    case UPDATE_ROWS_COMPRESSED_EVENT:
    case DELETE_ROWS_COMPRESSED_EVENT:
      if (c->table_mapped && ev->event.rows.table_id == c->table_id) {
        nb_error_set(err, NB_NOT_IMPLEMENTED, "table \"%s\": compressed ROWS events"
                     " (log_bin_compress) are not supported by mode cdc", c->table);
        return NB_NOT_IMPLEMENTED;
      }
      return NB_OK;
    case XID_EVENT:
      on_txn_end(c);
      break;
    case QUERY_EVENT:
      rc = on_query(c, err);
      if (rc == NB_OK && c->in_txn && (c->standalone || is_commit_query(ev))) on_txn_end(c);
      break;
    case HEARTBEAT_LOG_EVENT:
      *cut = !c->in_txn && (nb_batch_builder_rows(c->builder) > 0 || boundary_moved(c));
      return NB_OK;
    default:
      return NB_OK;
  }
  if (rc != NB_OK) return rc;
  rows = nb_batch_builder_rows(c->builder);
  if (rows > 0 && c->batch_since == 0) c->batch_since = now_ns();
  /* Full batches are cut anywhere (inside one large transaction too);
   * at a transaction end also when the first record has waited for
   * heartbeat_seconds: a steady trickle of events (no heartbeat) must not
   * hold changes back until a batch fills. */
  *cut = rows >= c->batch_rows || nb_batch_builder_bytes(c->builder) >= c->batch_bytes ||
         (!c->in_txn && rows > 0 &&
          now_ns() - c->batch_since >= c->set.heartbeat_seconds * 1000000000ll);
  return NB_OK;
}

/* ---- Batches ----------------------------------------------------------- */

/* Where a batch handed over now would resume. */
static MyCdcPos current_pos(const MyCdc *c) {
  MyCdcPos pos;
  memset(&pos, 0, sizeof pos);
  if (c->phase == PH_SNAPSHOT) {
    pos = c->snap_point;
  } else if (c->in_txn) {
    snprintf(pos.file, sizeof pos.file, "%s", c->txn_file);
    pos.pos = c->txn_start;
    pos.skip = c->txn_records;
  } else {
    snprintf(pos.file, sizeof pos.file, "%s", c->boundary.file);
    pos.pos = c->boundary.pos;
    pos.skip = c->boundary.skip;
  }
  pos.snapshot = c->phase != PH_STREAM;
  if (pos.snapshot) {
    pos.rows = c->snap_rows;
    snprintf(pos.key, sizeof pos.key, "%s", c->snap_key);
  }
  return pos;
}

static int hand_over(MyCdc *c, struct ArrowArray *out, NbBatchInfo *info, NbError *err) {
  MyCdcPos pos = current_pos(c);
  int rc;
  if ((rc = nb_batch_builder_finish(c->builder, out, err)) != NB_OK) return rc;
  c->batch_since = 0;
  c->emitted = pos;
  c->have_emitted = true;
  info->position = c->pos_buf;
  info->position_len = my_cdc_pos_encode(&pos, c->pos_buf);
  info->bytes_read = -1;
  return NB_OK;
}

/* ---- The initial snapshot ---------------------------------------------- */

/* Whether this start is (or resumes) the initial snapshot. */
static bool wants_snapshot(const MyCdc *c) {
  return c->have_start ? c->resume.snapshot : c->set.snapshot;
}

static int snapshot_not_resumable(MyCdc *c, NbError *err) {
  nb_error_set(err, NB_INVALID, "the initial snapshot of table \"%s\" was interrupted after"
               " %llu rows and cannot be resumed: the table's primary key is not one integer"
               " column", c->table, (unsigned long long)c->resume.rows);
  nb_error_detail(err, "A snapshot is resumed after the last primary key the destination holds.");
  nb_error_hint(err, "Reset the pipeline's state and empty the destination, then run again.");
  return NB_INVALID;
}

/* Open the snapshot; a resumed one first catches up from the saved point
 * (PH_CATCHUP), a new one reads its rows at once (PH_SNAPSHOT). */
static int snapshot_begin(MyCdc *c, NbError *err) {
  bool resumed = c->have_start;
  const char *key;
  int rc;
  memset(&c->snap_point, 0, sizeof c->snap_point);
  rc = my_snapshot_open(c->cfg, c->table, &c->snap, c->snap_point.file, &c->snap_point.pos,
                        &c->snap_time, err);
  if (rc != NB_OK) return rc;
  key = my_snapshot_key(c->snap);
  for (c->key_col = 0; key != NULL && c->key_col < c->n_cols; c->key_col++)
    if (strcmp(c->cols[c->key_col].name, key) == 0) break;
  if (key == NULL || c->key_col == c->n_cols) key = NULL;
  c->snap_rows = resumed ? c->resume.rows : 0;
  snprintf(c->snap_key, sizeof c->snap_key, "%s", resumed ? c->resume.key : "");
  /* Rows handed over without a key to continue after (no usable primary
   * key), or a key the table no longer has as its integer primary key. */
  if ((resumed && c->snap_rows > 0 && c->snap_key[0] == '\0') ||
      (c->snap_key[0] != '\0' && key == NULL))
    return snapshot_not_resumable(c, err);
  nb_log(c->host, NB_LOG_INFO, "table \"%s\": initial snapshot at binlog %s:%llu%s%s%s",
         c->table, c->snap_point.file, (unsigned long long)c->snap_point.pos,
         c->snap_key[0] != '\0' ? ", resumed after key " : "", c->snap_key,
         c->snap_key[0] != '\0' ? " (catching up from the saved point first)" : "");
  if (c->snap_key[0] == '\0') {
    c->phase = PH_SNAPSHOT;
    return my_snapshot_query(c->snap, NULL, c->n_cols, err);
  }
  c->phase = PH_CATCHUP;
  c->caught_up = false;
  return reader_start(c, err);
}

/* The catch-up reached the snapshot's point: read the snapshot's rows. */
static int end_catchup(MyCdc *c, NbError *err) {
  reader_stop(c);
  c->caught_up = false;
  c->phase = PH_SNAPSHOT;
  return my_snapshot_query(c->snap, c->snap_key[0] != '\0' ? c->snap_key : NULL, c->n_cols,
                           err);
}

static int append_snapshot_row(MyCdc *c, MYSQL_ROW row, const unsigned long *lens,
                               NbError *err) {
  size_t rows = nb_batch_builder_rows(c->builder), n = c->n_cols, i;
  int rc = nb_column_append_utf8(nb_batch_builder_column(c->builder, 0), "r", 1);
  for (i = 0; rc == NB_OK && i < n; i++) {
    bool zero = false;
    rc = my_append_value(nb_batch_builder_column(c->builder, 1 + i), &c->cols[i], row[i],
                         lens[i], MY_ZERO_NULL, &zero, err);
  }
  for (i = 0; rc == NB_OK && i < n; i++)
    rc = nb_column_append_null(nb_batch_builder_column(c->builder, 1 + n + i));
  if (rc == NB_OK)
    rc = nb_column_append_utf8(nb_batch_builder_column(c->builder, 1 + 2 * n),
                               c->snap_point.file, strlen(c->snap_point.file));
  if (rc == NB_OK)
    rc = nb_column_append_int64(nb_batch_builder_column(c->builder, 2 + 2 * n),
                                (int64_t)c->snap_point.pos);
  if (rc == NB_OK) rc = nb_column_append_null(nb_batch_builder_column(c->builder, 3 + 2 * n));
  if (rc == NB_OK)
    rc = nb_column_append_timestamp(nb_batch_builder_column(c->builder, 4 + 2 * n),
                                    c->snap_time * 1000000);
  if (rc != NB_OK) {
    for (i = 0; i < nb_batch_builder_columns(c->builder); i++)
      nb_column_truncate(nb_batch_builder_column(c->builder, i), rows);
    if (rc == NB_NOMEM) return nb_error_set(err, NB_NOMEM, "out of memory");
    nb_error_detail(err, "Table \"%s\", initial snapshot row %llu.", c->table,
                    (unsigned long long)c->snap_rows + 1);
  }
  return rc;
}

/* The key of a snapshot row, kept for the position. */
static int remember_key(MyCdc *c, MYSQL_ROW row, const unsigned long *lens, NbError *err) {
  const char *k = row[c->key_col];
  size_t n = lens[c->key_col];
  if (k == NULL || !my_cdc_key_valid(k, n))
    return nb_error_set(err, NB_DATA, "table \"%s\": the snapshot's key column \"%s\" is"
                        " not an integer in row %llu", c->table, c->cols[c->key_col].name,
                        (unsigned long long)c->snap_rows + 1);
  memcpy(c->snap_key, k, n);
  c->snap_key[n] = '\0';
  return NB_OK;
}

/* The snapshot is read: from now on the binlog from its point. */
static void end_snapshot(MyCdc *c) {
  my_snapshot_close(c->snap);
  c->snap = NULL;
  nb_log(c->host, NB_LOG_INFO, "table \"%s\": initial snapshot done, %llu rows; streaming from"
         " binlog %s:%llu", c->table, (unsigned long long)c->snap_rows, c->snap_point.file,
         (unsigned long long)c->snap_point.pos);
  c->phase = PH_STREAM;
  c->resume = c->snap_point;
  c->have_start = true;
  c->boundary = c->snap_point;
  c->have_boundary = true;
  c->in_txn = false;
}

/* Rows of the snapshot as op "r", a batch at a time; the last batch
 * (maybe empty) carries the stream's start position. */
static int snapshot_next(MyCdc *c, struct ArrowArray *out, NbBatchInfo *info, NbError *err) {
  bool keyed = my_snapshot_key(c->snap) != NULL && c->key_col < c->n_cols;
  int rc;
  while (nb_batch_builder_rows(c->builder) < c->batch_rows &&
         nb_batch_builder_bytes(c->builder) < c->batch_bytes) {
    MYSQL_ROW row;
    unsigned long *lens;
    if ((c->snap_rows & 1023) == 0 && c->host->is_cancelled(c->host->host_data)) {
      rewind_to_emitted(c);
      return nb_error_set(err, NB_CANCELLED, "cancelled");
    }
    rc = my_snapshot_fetch(c->snap, &row, &lens, err);
    if (rc == NB_OK && row == NULL) {
      end_snapshot(c);
      return hand_over(c, out, info, err);
    }
    if (rc == NB_OK) rc = append_snapshot_row(c, row, lens, err);
    if (rc == NB_OK && keyed) rc = remember_key(c, row, lens, err);
    if (rc != NB_OK) {
      rewind_to_emitted(c);
      return rc;
    }
    c->snap_rows++;
  }
  return hand_over(c, out, info, err);
}

int my_cdc_next(MyCdc *c, struct ArrowArray *out, NbBatchInfo *info, NbError *err) {
  int rc;
  if (c->at_end) {
    reader_stop(c);
    c->done = true;
  }
  if (c->done) return NB_END;
  if (c->schema_pending) {
    /* Read again from the last position handed over, with the new schema. */
    rewind_to_emitted(c);
    free_schema(c);
    c->schema_pending = false;
    c->just_reloaded = true;
    if ((rc = load_schema(c, err)) != NB_OK) return rc;
    nb_log(c->host, NB_LOG_INFO, "table \"%s\": the table's definition changed (ALTER TABLE)"
           " at binlog %s: new schema of %zu columns", c->table, c->cur_file, c->n_cols);
    return NB_SCHEMA_CHANGED;
  }
  if ((rc = load_schema(c, err)) != NB_OK) return rc;
  if (c->rpl == NULL && c->snap == NULL) {
    rc = check_server(c, err);
    if (rc == NB_OK && wants_snapshot(c))
      rc = snapshot_begin(c, err);
    else if (rc == NB_OK && (rc = find_start(c, err)) == NB_OK)
      rc = reader_start(c, err);
    if (rc != NB_OK) {
      reader_stop(c);
      my_snapshot_close(c->snap);
      c->snap = NULL;
      c->phase = PH_STREAM;
      return rc;
    }
  }
  for (;;) {
    if (c->phase == PH_SNAPSHOT) return snapshot_next(c, out, info, err);
    bool cut = false;
    if (c->host->is_cancelled(c->host->host_data)) {
      rewind_to_emitted(c);
      return nb_error_set(err, NB_CANCELLED, "cancelled");
    }
    if (c->caught_up) {
      if ((rc = end_catchup(c, err)) != NB_OK) {
        rewind_to_emitted(c);
        return rc;
      }
      continue;
    }
    c->ev = mariadb_rpl_fetch(c->rpl, c->ev);
    if (c->ev == NULL && mysql_errno(c->conn) == 0 && c->phase == PH_CATCHUP) {
      c->caught_up = true; /* the binlog's end: the snapshot's point is behind */
      continue;
    }
    if (c->ev == NULL) {
      if (mysql_errno(c->conn) == 0 && c->set.stop_at_catchup) {
        /* The end of the binlog: what was read ends at a transaction end. */
        if (!c->in_txn && (nb_batch_builder_rows(c->builder) > 0 || boundary_moved(c))) {
          c->at_end = true;
          return hand_over(c, out, info, err);
        }
        reader_stop(c);
        c->done = true;
        return NB_END;
      }
      rc = rpl_fail(c, "reading the binlog failed", err);
      rewind_to_emitted(c);
      return rc;
    }
    if ((rc = on_event(c, &cut, err)) != NB_OK) {
      rewind_to_emitted(c);
      return rc;
    }
    if (cut) return hand_over(c, out, info, err);
    if (c->schema_pending) return my_cdc_next(c, out, info, err);
  }
}
