/*
 * pg_cdc_records.c - mode cdc's conversion of pgoutput messages into rows
 * of the batch: op, the table's columns (text values parsed to their
 * Arrow type), the before image as JSON, the TOASTed columns left
 * unchanged, the commit LSN, transaction id and commit time; the
 * Relation messages that map the stream's columns to the table's, and
 * the skipping of records a resume already handed over.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_cdc_internal.h"
#include "pg_copytext.h"
#include "pg_values.h"

/* ---- records ---------------------------------------------------------- */

static size_t col_before(const PgCdc *c) { return c->ncols + 1; }
static size_t col_toasted(const PgCdc *c) { return c->ncols + 2; }
static size_t col_lsn(const PgCdc *c) { return c->ncols + 3; }
static size_t col_xid(const PgCdc *c) { return c->ncols + 4; }
static size_t col_ts(const PgCdc *c) { return c->ncols + 5; }

static NbColumnBuilder *column(PgCdc *c, size_t i) { return nb_batch_builder_column(c->builder, i); }

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
  char head[48], lsn[40], type[64];
  size_t n = len < 40 ? len : 40;
  int need;
  memcpy(head, s, n);
  head[n] = '\0';
  format_lsn(c->txn_lsn, lsn, sizeof lsn);
  nb_type_name(&c->fields[col + 1], type, sizeof type);
  free(c->bad_message);
  need = snprintf(NULL, 0, "table \"%s\", column \"%s\", transaction %u (commit LSN %s): value \"%s\" does not fit the column's Arrow type %s",
                  c->table, c->fields[col + 1].name, c->txn_xid, lsn, head, type);
  c->bad_message = malloc((size_t)need + 1);
  if (c->bad_message != NULL)
    snprintf(c->bad_message, (size_t)need + 1, "table \"%s\", column \"%s\", transaction %u (commit LSN %s): value \"%s\" does not fit the column's Arrow type %s",
             c->table, c->fields[col + 1].name, c->txn_xid, lsn, head, type);
}

/* Append one record.  image: the tuple whose values fill the table's
 * columns (NULL: none, e.g. truncate); before: the old image for the
 * before column (NULL: null).  NB_DATA (row not added, c->bad_message
 * set) for a value that does not fit. */
int pg_cdc_add_record(PgCdc *c, char op, const PgoTuple *image, const PgoTuple *before,
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
    } else if (!pg_append_text_value(b, c->fields[col + 1].type, v->data, v->len, &rc)) {
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
  return pg_cdc_add_record(c, op, image, before, m->old_kind == 'K', err);
}

static int on_truncate(PgCdc *c, const PgoMessage *m, NbError *err) {
  uint32_t i;
  if (!c->in_txn) return nb_error_set(err, NB_IO, "replication slot \"%s\": a truncate outside a transaction", c->slot);
  for (i = 0; i < m->nrelids; i++) {
    if (!c->have_rel || pgo_get_u32(m->relids + 4 * (size_t)i) != c->relid) continue;
    if (already_delivered(c)) continue;
    return pg_cdc_add_record(c, 't', NULL, NULL, false, err);
  }
  return NB_OK;
}

int pg_cdc_on_message(PgCdc *c, const unsigned char *data, size_t len, NbError *err) {
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
