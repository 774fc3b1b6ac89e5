/*
 * pg_conn.h - connecting to PostgreSQL from the connector's settings, and
 * turning libpq's errors into NbErrors that name the server and never
 * quote the password.
 */
#ifndef NEBULA_PG_CONN_H
#define NEBULA_PG_CONN_H

#include <libpq-fe.h>

#include "nebula/sdk.h"

/* What a connection was made from, kept for error messages.  The password
 * is kept only to redact it from server and libpq messages. */
typedef struct PgServer {
  char label[256];     /* "host:port/dbname" or "socket dir/dbname" */
  char *password;      /* NULL if none given; never printed */
} PgServer;

/* Connect with the settings dsn, host, port, dbname, user, password,
 * sslmode, connect_timeout; set the session to UTF8, ISO dates, UTC.
 * The server's notices go to the host's log (debug level), never stderr.
 * Returns NB_OK (*out connected), NB_INVALID (a malformed dsn),
 * NB_UNAVAILABLE (server down, refused, timed out), NB_IO (authentication
 * or another refusal by the server), NB_NOMEM. */
int pg_connect(const NbSettings *settings, const NbHostApi *host,
               PgServer *server, PGconn **out, NbError *err);

/* The same, as a logical replication connection (replication=database):
 * replication commands and simple SQL. */
int pg_connect_replication(const NbSettings *settings, const NbHostApi *host,
                           PgServer *server, PGconn **out, NbError *err);

/* Free what pg_connect kept in server. */
void pg_server_clear(PgServer *server);

/* Set err from the connection's last error or from res (may be NULL):
 * "what" on server: message, with SQLSTATE, detail and hint of the server,
 * the password replaced by "********".  Returns code, except that a lost
 * connection becomes NB_UNAVAILABLE. */
int pg_fail(const PgServer *server, PGconn *conn, const PGresult *res,
            int code, NbError *err, const char *what, ...) NB_PRINTF(6, 7);

/* Run a command that returns no rows; NB_OK or pg_fail's code (NB_IO). */
int pg_exec(const PgServer *server, PGconn *conn, const char *sql,
            const char *what, NbError *err);

/* PQescapeIdentifier of a "schema.name" or "name": each part quoted.
 * malloc'ed (free()); NULL when out of memory or on bad encoding. */
char *pg_quote_qualified(PGconn *conn, const char *name);

#endif
