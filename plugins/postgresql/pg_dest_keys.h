/*
 * pg_dest_keys.h - upsert with apply_deletes: an update that changed the
 * row's key.  The staged CDC records of a commit get, for each such
 * update, a synthetic delete of the old key with the update's own
 * nebula_ord, so that the merge's "last record of a key wins" removes
 * the row under the old key unless a later record of that key revives it.
 */
#ifndef NEBULA_PG_DEST_KEYS_H
#define NEBULA_PG_DEST_KEYS_H

#include <libpq-fe.h>

#include "nebula/sdk.h"
#include "pg_conn.h"

/* Where the old key of an update is found in the records. */
enum {
  PG_OLD_KEY_NONE = 0,    /* nowhere: an update upserts its new key only */
  PG_OLD_KEY_COLUMNS = 1, /* mysql source: typed before_<key> columns */
  PG_OLD_KEY_JSON = 2     /* postgresql source: "before", JSON of text */
};

/* Which of the kinds above the stream's fields carry, for the key
 * columns keys (unquoted names) and the op column op_name ("_op": the
 * mysql source, "op": the postgresql source). */
int pg_old_key_kind(const NbField *fields, size_t n, const char *op_name,
                    char *const *keys, size_t nkeys);

/* The staging table of one stream in one commit. */
typedef struct PgStage {
  const PgServer *server;
  PGconn *conn;
  const char *load;     /* the staging table (a plain temp table name) */
  const char *op;       /* the op column, quoted */
  const char *table;    /* the target as the user reads it */
  const char *stream;   /* the stream's name */
  char *const *keys;    /* the key columns, unquoted */
  size_t nkeys;
  uint64_t base;        /* stream rows before the stage's nebula_ord 1 */
} PgStage;

/* Add the synthetic deletes of the old keys to the staging table.  A
 * before image that is not a JSON object, or lacks a key column's text
 * value, is an error (NB_INVALID) naming the table, stream and record. */
int pg_stage_old_keys(const PgStage *s, int kind, NbError *err);

#endif
