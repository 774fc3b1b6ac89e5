/*
 * mysql_statement.h - the QUERY_EVENTs of the binlog that mode cdc acts
 * on, from untrusted bytes: the event's layout (default database,
 * statement text) and the one statement read from it, TRUNCATE [TABLE]
 * name, which the binlog logs as a statement even with binlog_format =
 * ROW.  Every length is checked against the event; nothing is read past
 * it.  No client library calls: the fuzz harness (fuzz_mysql_rows) links
 * this file alone.
 */
#ifndef MYSQL_STATEMENT_H
#define MYSQL_STATEMENT_H

#include <stddef.h>
#include <stdint.h>

/* Longest database or table name kept, in bytes with the NUL (64
 * characters of up to 4 UTF-8 bytes each fit). */
#define MY_IDENT_MAX 260

/* A QUERY_EVENT's parts; both point into the event. */
typedef struct MyQueryEvent {
  const char *db;  /* the session's default database ("" none) */
  size_t db_len;
  const char *sql; /* the statement, not NUL-terminated */
  size_t sql_len;
} MyQueryEvent;

/* Split a whole QUERY_EVENT (19-byte common header first) of ev_len bytes,
 * checksum_len (0 or 4) of them the trailing checksum.  Returns 0, or -1
 * when a length in the event runs past its end. */
int my_query_event_parse(const uint8_t *ev, size_t ev_len, size_t checksum_len,
                         MyQueryEvent *out);

/* What a statement is, for mode cdc. */
enum {
  MY_STMT_OTHER = 0,      /* not a TRUNCATE: ignored */
  MY_STMT_TRUNCATE = 1,   /* TRUNCATE of db.table (db "" when unqualified) */
  MY_STMT_UNREADABLE = 2  /* starts with TRUNCATE, but its table cannot be
                             read (executable comment, name too long...) */
};

/* The table a statement truncates.  Accepts, in any letter case, after
 * whitespace and comments (slash-star, "-- ", "#"): TRUNCATE [TABLE]
 * [db.]name [WAIT n | NOWAIT] [;], names bare, `back-quoted` (`` is a `)
 * or "double-quoted" ("" is a ").  db and table get the unquoted names,
 * NUL-terminated (both "" unless MY_STMT_TRUNCATE). */
int my_truncate_target(const char *sql, size_t len, char db[MY_IDENT_MAX],
                       char table[MY_IDENT_MAX]);

#endif /* MYSQL_STATEMENT_H */
