/*
 * mysql_snapshot.h - the initial snapshot of mode cdc (snapshot = true):
 * one table read inside START TRANSACTION WITH CONSISTENT SNAPSHOT, with
 * the binlog position consistent with that snapshot (MariaDB's
 * Binlog_snapshot_file / Binlog_snapshot_position status, no global lock).
 * mysql_cdc.c turns the rows into records with op "r" and then streams the
 * binlog from exactly that position.
 */
#ifndef MYSQL_SNAPSHOT_H
#define MYSQL_SNAPSHOT_H

#include "mysql_internal.h"

typedef struct MySnapshot MySnapshot;

/* Connect, learn the table's primary key, start the consistent snapshot
 * and read its binlog position into file (256 bytes) and *pos, and the
 * server's clock (Unix seconds) into *taken_at.  The key
 * is usable for resuming (my_snapshot_key) only when it is one integer
 * column.  On failure *out is NULL. */
int my_snapshot_open(const MyConnConfig *cfg, const char *table, MySnapshot **out,
                     char *file, uint64_t *pos, int64_t *taken_at, NbError *err);

/* The name of the single integer primary key column, or NULL (no primary
 * key, a composite or non-integer one: the snapshot cannot be resumed). */
const char *my_snapshot_key(const MySnapshot *s);

/* Start reading the rows, ordered by the key when there is a usable one;
 * after_key (checked decimal text, NULL = all rows) keeps only larger
 * keys.  n_cols: the columns the stream's schema has (checked). */
int my_snapshot_query(MySnapshot *s, const char *after_key, size_t n_cols, NbError *err);

/* The next row in *row / *lens (*row NULL at the end); NB_OK or an
 * NbError code. */
int my_snapshot_fetch(MySnapshot *s, MYSQL_ROW *row, unsigned long **lens, NbError *err);

/* End the transaction and close the connection (NULL is fine). */
void my_snapshot_close(MySnapshot *s);

#endif /* MYSQL_SNAPSHOT_H */
