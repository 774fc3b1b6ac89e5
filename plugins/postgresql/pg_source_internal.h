/*
 * pg_source_internal.h - the postgresql source's handle, shared by the
 * source (pg_source.c: open, positions, reading) and the catalog
 * (pg_catalog.c: the tables, their primary keys, columns and types).
 */
#ifndef NEBULA_PG_SOURCE_INTERNAL_H
#define NEBULA_PG_SOURCE_INTERNAL_H

#include "pg_cdc.h"
#include "pg_conn.h"
#include "pg_copybin.h"
#include "pg_copytext.h"

enum { MODE_FULL = 0, MODE_INCREMENTAL = 1, MODE_CDC = 2 };
/* A position holds at most the cursor and a key of 32 columns (the most
 * an index has). */
enum { POS_MAX_VALUES = 33 };

typedef struct PgColumn {
  char *name;
  char *type_name;  /* format_type, for casts of saved key values */
  NbField field;
  unsigned base_oid;
  bool as_json;     /* arrays: selected through to_json */
  char *output_fn;  /* the type's output function (binary COPY: the text
                       of the types that do not travel binary) */
  PgWire wire;      /* how the value travels in a binary COPY */
} PgColumn;

typedef struct PgStream {
  char *name;       /* schema.table, or "query": for SQL and messages */
  char *sql_name;   /* quoted schema.table */
  char *stream_name; /* schema/table: file destinations take the part
                        after the last '/' as {stream}, and would take a
                        '.' for the start of an extension */
  unsigned oid;     /* 0 for the query */
  PgColumn *cols;
  size_t ncols;
  bool described;
  size_t *key;      /* primary key column indexes (once described) */
  size_t nkey;
  char **key_names; /* primary key column names in key order, read at
                       open for every table (NbStreamInfo.key_columns) */
  uint32_t nkey_names;
  long cursor;      /* column index of the cursor, -1 if none */
  uint64_t rows;    /* rows delivered (and skipped on resume) */
  PgBuf saved[POS_MAX_VALUES]; /* last cursor and key values, as text */
  size_t nsaved;    /* 0: no saved values yet */
  bool started, done;
} PgStream;

typedef struct PgSource {
  const NbHostApi *host;
  PGconn *conn;
  PgServer server;
  int mode;
  bool binary;      /* copy_format = binary */
  bool header_seen; /* binary COPY: the stream's header was read */
  bool trailer_seen; /* binary COPY: and its trailer: nothing may follow */
  PgBuf scratch;    /* binary COPY: a bytea's hex text */
  char *query;
  char *cursor_name;
  PgStream *streams;
  uint32_t n;
  long copying;     /* stream whose COPY is in progress, -1 if none */
  long builder_stream; /* stream the builder's columns are for */
  NbBatchBuilder *builder;
  NbStringRef *fields;
  uint64_t batch_rows, batch_bytes;
  PgBuf position;
  char *bad_message; /* a bad value met after rows pending: reported next */
  PgBuf bad_saved[POS_MAX_VALUES]; /* the bad row's cursor and key text */
  PgCdc *cdc;        /* mode cdc: the one stream is read by pg_cdc.c */
} PgSource;

static inline int nomem(NbError *err) { return nb_error_set(err, NB_NOMEM, "out of memory"); }

/* pg_catalog.c */
int pg_cat_add_stream(PgSource *s, const char *name, const char *sql_name, unsigned oid,
                      NbError *err);
/* Every table, view, materialized view and foreign table outside the
 * system schemas; or the comma-separated names of setting "tables". */
int pg_cat_list_all_tables(PgSource *s, NbError *err);
int pg_cat_list_named_tables(PgSource *s, const char *tables, NbError *err);
int pg_cat_load_primary_keys(PgSource *s, NbError *err);
/* The stream's columns, types and key (once); in incremental mode the
 * cursor checked. */
int pg_cat_describe(PgSource *s, PgStream *st, NbError *err);

#endif
