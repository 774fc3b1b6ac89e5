/*
 * pg_catalog.c - what the postgresql source learns from the catalog: the
 * streams (every table and view, or the named ones), every table's
 * primary key in key order (one query), and each stream's columns with
 * their Arrow types (from the base type, domains resolved), their binary
 * COPY wire and their type's output function.  See map_type and
 * docs/postgresql-connector.md for the mapping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_source_internal.h"

/* ---- streams ---------------------------------------------------------- */

int pg_cat_add_stream(PgSource *s, const char *name, const char *sql_name, unsigned oid,
                      NbError *err) {
  PgStream *grown = realloc(s->streams, (s->n + 1) * sizeof *grown);
  if (grown == NULL) return nomem(err);
  s->streams = grown;
  memset(&grown[s->n], 0, sizeof grown[s->n]);
  grown[s->n].name = strdup(name);
  grown[s->n].stream_name = strdup(name);
  grown[s->n].sql_name = strdup(sql_name);
  grown[s->n].oid = oid;
  grown[s->n].cursor = -1;
  if (grown[s->n].name == NULL || grown[s->n].stream_name == NULL ||
      grown[s->n].sql_name == NULL) {
    free(grown[s->n].name);
    free(grown[s->n].stream_name);
    free(grown[s->n].sql_name);
    return nomem(err);
  }
  s->n++;
  return NB_OK;
}

/* A table's stream: "schema/table" (see PgStream.stream_name). */
static int add_table_stream(PgSource *s, PGresult *res, int row, NbError *err) {
  const char *schema = PQgetvalue(res, row, 1), *table = PQgetvalue(res, row, 2);
  size_t n = strlen(schema) + strlen(table) + 2;
  char *name = malloc(n);
  int rc;
  if (name == NULL) return nomem(err);
  snprintf(name, n, "%s.%s", schema, table);
  rc = pg_cat_add_stream(s, name, PQgetvalue(res, row, 3), (unsigned)strtoul(PQgetvalue(res, row, 0), NULL, 10), err);
  free(name);
  if (rc == NB_OK) s->streams[s->n - 1].stream_name[strlen(schema)] = '/';
  return rc;
}


int pg_cat_list_all_tables(PgSource *s, NbError *err) {
  PGresult *res = PQexec(s->conn,
      "SELECT c.oid, n.nspname, c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition "
      "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
      "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' "
      "ORDER BY n.nspname, c.relname");
  int rc = NB_OK, i;
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = pg_fail(&s->server, s->conn, res, NB_IO, err, "could not list the tables");
    PQclear(res);
    return rc;
  }
  for (i = 0; i < PQntuples(res) && rc == NB_OK; i++)
    rc = add_table_stream(s, res, i, err);
  PQclear(res);
  return rc;
}

/* One name of the tables setting: must name an existing table or view. */
static int add_named_table(PgSource *s, const char *name, NbError *err) {
  const char *params[1] = {name};
  PGresult *res = PQexecParams(s->conn,
      "SELECT c.oid, n.nspname, c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
      1, NULL, params, NULL, NULL, 0);
  int rc;
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = pg_fail(&s->server, s->conn, res, NB_IO, err, "could not look up table \"%s\"", name);
  } else if (PQntuples(res) == 0) {
    rc = nb_error_set(err, NB_NOT_FOUND,
                      "table \"%s\" does not exist on PostgreSQL server %s", name, s->server.label);
    nb_error_hint(err, "Check the setting \"tables\" (schema.name, comma-separated); unquoted names are folded to lower case.");
  } else {
    rc = add_table_stream(s, res, 0, err);
  }
  PQclear(res);
  return rc;
}

int pg_cat_list_named_tables(PgSource *s, const char *tables, NbError *err) {
  char *copy = strdup(tables), *p, *next;
  int rc = NB_OK;
  if (copy == NULL) return nomem(err);
  for (p = copy; p != NULL && rc == NB_OK; p = next) {
    char *end;
    next = strchr(p, ',');
    if (next != NULL) *next++ = '\0';
    while (*p == ' ' || *p == '\t') p++;
    end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) *--end = '\0';
    if (*p == '\0') continue;
    rc = add_named_table(s, p, err);
  }
  free(copy);
  if (rc == NB_OK && s->n == 0)
    rc = nb_error_set(err, NB_INVALID, "setting \"tables\" names no table");
  return rc;
}

/* ---- primary keys ----------------------------------------------------- */

/* The stream of table oid, NULL if none. */
static PgStream *stream_of(PgSource *s, unsigned oid) {
  uint32_t i;
  for (i = 0; i < s->n; i++)
    if (s->streams[i].oid == oid && oid != 0) return &s->streams[i];
  return NULL;
}

static int add_key_name(PgStream *st, const char *name, NbError *err) {
  char **grown;
  if (st->nkey_names >= POS_MAX_VALUES - 1) {
    nb_error_set(err, NB_INVALID, "table \"%s\": primary key of more than %d columns", st->name,
                 POS_MAX_VALUES - 1);
    return NB_INVALID;
  }
  grown = realloc(st->key_names, (st->nkey_names + 1) * sizeof *grown);
  if (grown == NULL) return nomem(err);
  st->key_names = grown;
  if ((grown[st->nkey_names] = strdup(name)) == NULL) return nomem(err);
  st->nkey_names++;
  return NB_OK;
}

/* The "{oid,oid,...}" array of the tables' oids, for one query. */
static int oid_array(const PgSource *s, PgBuf *b) {
  uint32_t i;
  int rc = pg_buf_add(b, "{", 1);
  for (i = 0; rc == NB_OK && i < s->n; i++) {
    char num[16];
    if (s->streams[i].oid == 0) continue;
    snprintf(num, sizeof num, b->len > 1 ? ",%u" : "%u", s->streams[i].oid);
    rc = pg_buf_add(b, num, strlen(num));
  }
  if (rc == NB_OK) rc = pg_buf_add(b, "}", 2); /* with the NUL */
  return rc;
}

/* Every table's primary key columns in key order, in one query (views and
 * the query have none).  They order full refreshes, tell apart equal
 * cursor values and are shown by discover (NbStreamInfo.key_columns). */
int pg_cat_load_primary_keys(PgSource *s, NbError *err) {
  PgBuf oids = {0};
  const char *params[1];
  PgStream *st = NULL;
  PGresult *res;
  int rc = oid_array(s, &oids), i;
  if (rc != NB_OK) {
    pg_buf_free(&oids);
    return nomem(err);
  }
  params[0] = oids.data;
  res = PQexecParams(s->conn,
      "SELECT i.indrelid, a.attname FROM pg_index i "
      "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
      "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
      "WHERE i.indisprimary AND i.indrelid = ANY($1::oid[]) ORDER BY i.indrelid, k.ord",
      1, NULL, params, NULL, NULL, 0);
  pg_buf_free(&oids);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = pg_fail(&s->server, s->conn, res, NB_IO, err, "could not read the primary keys of the tables");
    PQclear(res);
    return rc;
  }
  for (i = 0; rc == NB_OK && i < PQntuples(res); i++) {
    unsigned oid = (unsigned)strtoul(PQgetvalue(res, i, 0), NULL, 10);
    /* Rows come grouped by table: look the stream up once per table. */
    if (st == NULL || st->oid != oid) st = stream_of(s, oid);
    if (st != NULL) rc = add_key_name(st, PQgetvalue(res, i, 1), err);
  }
  PQclear(res);
  return rc;
}

/* ---- types ------------------------------------------------------------ */

/* The base type of a domain (domains of domains too) and its category.
 * A column of a domain has no typmod of its own (-1): the domain's
 * (`CREATE DOMAIN money2 AS numeric(12,2)`), the nearest one that has
 * one, is the column's, so that such a column maps as its base type with
 * that modifier would. */
static void map_type(PgColumn *c, char category, int32_t typmod);

static int resolve_type(PgSource *s, unsigned oid, unsigned *base, char *category,
                        char **output_fn, int32_t *typmod, NbError *err) {
  int depth;
  for (depth = 0; depth < 32; depth++) {
    char buf[16];
    const char *params[1] = {buf};
    PGresult *res;
    snprintf(buf, sizeof buf, "%u", oid);
    res = PQexecParams(s->conn, "SELECT typtype, typbasetype, typcategory, typoutput::regproc::text, typtypmod FROM pg_type WHERE oid = $1::oid",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
      int rc = pg_fail(&s->server, s->conn, res, NB_IO, err, "could not look up type %u", oid);
      PQclear(res);
      return rc;
    }
    if (PQgetvalue(res, 0, 0)[0] != 'd') {
      *base = oid;
      *category = PQgetvalue(res, 0, 2)[0];
      *output_fn = strdup(PQgetvalue(res, 0, 3));
      PQclear(res);
      return *output_fn != NULL ? NB_OK : nomem(err);
    }
    if (*typmod < 0) *typmod = (int32_t)strtol(PQgetvalue(res, 0, 4), NULL, 10);
    oid = (unsigned)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
  }
  return nb_error_set(err, NB_DATA, "type %u: domains nested too deep", oid);
}

/* The Arrow type of a column, from its base type, and its wire. */
static void map_column(PgColumn *c, char category, int32_t typmod) {
  map_type(c, category, typmod);
  c->wire = c->as_json ? PG_WIRE_TEXT : pg_wire_of(c->base_oid, c->field.type);
}

/* numeric(p,s) with 1 <= p <= 38 and 0 <= s <= p is exactly a
 * decimal128(p,s); unconstrained numeric (typmod -1), wider ones and the
 * negative or larger-than-precision scales of PostgreSQL 15 stay exact
 * text.  The typmod is ((p << 16) | (s & 0x7ff)) + 4, s an 11-bit signed
 * field. */
static bool numeric_as_decimal(PgColumn *c, int32_t typmod) {
  int32_t p, sc;
  if (typmod < 4) return false;
  p = ((typmod - 4) >> 16) & 0xffff;
  sc = (typmod - 4) & 0x7ff;
  if (sc & 0x400) sc -= 0x800;
  if (p < 1 || p > 38 || sc < 0 || sc > p) return false;
  c->field.type = NB_TYPE_DECIMAL128;
  c->field.precision = p;
  c->field.scale = sc;
  return true;
}

static void map_type(PgColumn *c, char category, int32_t typmod) {
  c->field.name = c->name;
  c->field.timezone = NULL;
  if (c->base_oid == 1700 && numeric_as_decimal(c, typmod)) return; /* numeric */
  switch (c->base_oid) {
    case 16: c->field.type = NB_TYPE_BOOL; break;                 /* bool */
    case 20: case 21: case 23: case 26:                           /* int8 int2 int4 oid */
      c->field.type = NB_TYPE_INT64; break;
    case 700: case 701: c->field.type = NB_TYPE_FLOAT64; break;   /* float4 float8 */
    case 1082: c->field.type = NB_TYPE_DATE32; break;             /* date */
    case 1114: c->field.type = NB_TYPE_TIMESTAMP; c->field.timezone = ""; break;
    case 1184: c->field.type = NB_TYPE_TIMESTAMP; c->field.timezone = "UTC"; break;
    case 114: case 3802: c->field.type = NB_TYPE_JSON; break;     /* json jsonb */
    default:
      if (category == 'A') {
        c->field.type = NB_TYPE_JSON;
        c->as_json = true;
      } else {
        c->field.type = NB_TYPE_UTF8; /* numeric, text, time, interval, uuid, bytea, enums... */
      }
  }
}

/* st->key: the columns named by st->key_names.  A key column missing
 * from the columns means the table changed between open and now. */
static int key_indexes(PgStream *st, NbError *err) {
  uint32_t k;
  size_t i;
  if (st->nkey_names > st->ncols)
    return nb_error_set(err, NB_INVALID, "table \"%s\" changed while opened: its primary key has more columns than the table",
                        st->name);
  for (k = 0; k < st->nkey_names; k++) {
    for (i = 0; i < st->ncols; i++)
      if (strcmp(st->cols[i].name, st->key_names[k]) == 0) break;
    if (i == st->ncols) {
      nb_error_set(err, NB_INVALID, "table \"%s\" changed while opened: its primary key column \"%s\" is gone",
                   st->name, st->key_names[k]);
      nb_error_hint(err, "Run again.");
      return NB_INVALID;
    }
    st->key[k] = i;
  }
  st->nkey = st->nkey_names;
  return NB_OK;
}


/* The stream's column and key arrays for n columns (one more, zeroed, so
 * an empty table still has arrays). */
static int alloc_columns(PgStream *st, size_t n, NbError *err) {
  st->ncols = n;
  st->cols = calloc(n + 1, sizeof *st->cols);
  st->key = calloc(n + 1, sizeof *st->key);
  return st->cols == NULL || st->key == NULL ? nomem(err) : NB_OK;
}

static int describe_table(PgSource *s, PgStream *st, NbError *err) {
  char oidbuf[16];
  const char *params[1] = {oidbuf};
  PGresult *res;
  int i, rc = NB_OK;
  snprintf(oidbuf, sizeof oidbuf, "%u", st->oid);
  res = PQexecParams(s->conn,
      "SELECT a.attname, a.atttypid, a.attnotnull, format_type(a.atttypid, a.atttypmod), a.atttypmod "
      "FROM pg_attribute a WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped "
      "ORDER BY a.attnum",
      1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = pg_fail(&s->server, s->conn, res, NB_IO, err, "could not read the columns of table \"%s\"", st->name);
    PQclear(res);
    return rc;
  }
  rc = alloc_columns(st, (size_t)PQntuples(res), err);
  for (i = 0; rc == NB_OK && i < (int)st->ncols; i++) {
    PgColumn *c = &st->cols[i];
    char category = 'U';
    int32_t typmod;
    c->name = strdup(PQgetvalue(res, i, 0));
    c->type_name = strdup(PQgetvalue(res, i, 3));
    if (c->name == NULL || c->type_name == NULL) { rc = nomem(err); break; }
    c->field.nullable = PQgetvalue(res, i, 2)[0] != 't';
    typmod = (int32_t)strtol(PQgetvalue(res, i, 4), NULL, 10);
    rc = resolve_type(s, (unsigned)strtoul(PQgetvalue(res, i, 1), NULL, 10), &c->base_oid, &category,
                      &c->output_fn, &typmod, err);
    if (rc == NB_OK) map_column(c, category, typmod);
  }
  PQclear(res);
  if (rc == NB_OK) rc = key_indexes(st, err);
  return rc;
}

static int describe_query(PgSource *s, PgStream *st, NbError *err) {
  PGresult *res = PQprepare(s->conn, "", s->query, 0, NULL), *desc;
  int i, rc = NB_OK;
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    rc = pg_fail(&s->server, s->conn, res, NB_INVALID, err, "setting \"query\" does not prepare");
    PQclear(res);
    return rc;
  }
  PQclear(res);
  desc = PQdescribePrepared(s->conn, "");
  if (PQresultStatus(desc) != PGRES_COMMAND_OK) {
    rc = pg_fail(&s->server, s->conn, desc, NB_IO, err, "could not describe setting \"query\"");
    PQclear(desc);
    return rc;
  }
  rc = alloc_columns(st, (size_t)PQnfields(desc), err);
  for (i = 0; rc == NB_OK && i < (int)st->ncols; i++) {
    PgColumn *c = &st->cols[i];
    char category = 'U';
    int32_t typmod;
    c->name = strdup(PQfname(desc, i));
    c->type_name = strdup("text");
    if (c->name == NULL || c->type_name == NULL) { rc = nomem(err); break; }
    c->field.nullable = true;
    typmod = (int32_t)PQfmod(desc, i);
    rc = resolve_type(s, (unsigned)PQftype(desc, i), &c->base_oid, &category, &c->output_fn, &typmod, err);
    if (rc == NB_OK) map_column(c, category, typmod);
  }
  PQclear(desc);
  return rc;
}

static int check_incremental(PgSource *s, PgStream *st, NbError *err) {
  size_t i;
  if (s->mode != MODE_INCREMENTAL) return NB_OK;
  for (i = 0; i < st->ncols; i++)
    if (strcmp(st->cols[i].name, s->cursor_name) == 0) st->cursor = (long)i;
  if (st->cursor < 0) {
    nb_error_set(err, NB_INVALID, "table \"%s\" has no column \"%s\" (setting \"cursor\")", st->name, s->cursor_name);
    return NB_INVALID;
  }
  if (st->cols[st->cursor].field.nullable) {
    nb_error_set(err, NB_INVALID, "cursor column \"%s\" of table \"%s\" allows NULL", s->cursor_name, st->name);
    nb_error_detail(err, "Rows whose cursor is NULL would never be read in incremental mode.");
    nb_error_hint(err, "Declare the column NOT NULL, or choose another cursor.");
    return NB_INVALID;
  }
  if (st->nkey == 0) {
    nb_error_set(err, NB_INVALID, "table \"%s\" has no primary key: incremental mode needs one", st->name);
    nb_error_detail(err, "The primary key tells apart rows with equal cursor values.");
    return NB_INVALID;
  }
  if (st->nkey + 1 > POS_MAX_VALUES)
    return nb_error_set(err, NB_INVALID, "table \"%s\": primary key of too many columns", st->name);
  return NB_OK;
}

int pg_cat_describe(PgSource *s, PgStream *st, NbError *err) {
  int rc;
  if (st->described) return NB_OK;
  rc = st->oid != 0 ? describe_table(s, st, err) : describe_query(s, st, err);
  if (rc == NB_OK && st->ncols == 0)
    rc = nb_error_set(err, NB_INVALID, "\"%s\" has no columns", st->name);
  if (rc == NB_OK) rc = check_incremental(s, st, err);
  if (rc == NB_OK) st->described = true;
  return rc;
}

