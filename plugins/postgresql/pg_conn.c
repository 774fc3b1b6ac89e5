/*
 * pg_conn.c - connections and errors.
 *
 * libpq's messages can quote the connection string (a malformed dsn is
 * reported with the text around the mistake), so a dsn is parsed first
 * with PQconninfoParse and its errors are replaced by our own, and every
 * message that reaches an NbError has the password cut out.
 */
#include "pg_conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_MAX_PARAMS 16

static void add_param(const char **keys, const char **values, int *n,
                      const char *key, const char *value) {
  if (value == NULL || value[0] == '\0' || *n >= PG_MAX_PARAMS - 1) return;
  keys[*n] = key;
  values[*n] = value;
  (*n)++;
}

/* The password of a dsn, if it has one, so it can be redacted too. */
static char *dsn_password(const char *dsn) {
  PQconninfoOption *opts = PQconninfoParse(dsn, NULL), *o;
  char *found = NULL;
  if (opts == NULL) return NULL;
  for (o = opts; o->keyword != NULL; o++)
    if (strcmp(o->keyword, "password") == 0 && o->val != NULL && o->val[0])
      found = strdup(o->val);
  PQconninfoFree(opts);
  return found;
}

static int check_dsn(const char *dsn, NbError *err) {
  char *msg = NULL;
  PQconninfoOption *opts = PQconninfoParse(dsn, &msg);
  if (opts != NULL) {
    PQconninfoFree(opts);
    return NB_OK;
  }
  /* msg may quote the dsn, password included: never pass it on. */
  PQfreemem(msg);
  nb_error_set(err, NB_INVALID, "setting \"dsn\" is not a valid libpq connection string or URI");
  nb_error_hint(err, "Write key=value pairs (host=db.example port=5432 dbname=app) or a URI (postgresql://user@host/db); see \"Connection Strings\" in the libpq documentation.");
  return NB_INVALID;
}

static void make_label(PGconn *conn, PgServer *server) {
  const char *host = PQhost(conn), *port = PQport(conn), *db = PQdb(conn);
  snprintf(server->label, sizeof server->label, "%s%s%s/%s",
           host != NULL ? host : "?", port != NULL && host != NULL && host[0] != '/' ? ":" : "",
           port != NULL && host != NULL && host[0] != '/' ? port : "", db != NULL ? db : "?");
  if (host != NULL && host[0] == '/')
    snprintf(server->label, sizeof server->label, "socket %s port %s/%s", host,
             port != NULL ? port : "?", db != NULL ? db : "?");
}

/* Copy msg into a malloc'ed string with every occurrence of secret cut out. */
static char *redact(const char *msg, const char *secret) {
  size_t slen = secret != NULL ? strlen(secret) : 0, cap = strlen(msg) + 1, n = 0;
  char *out;
  const char *p = msg, *hit;
  if (slen > 0) {
    size_t count = 0;
    for (hit = strstr(p, secret); hit != NULL; hit = strstr(hit + slen, secret)) count++;
    cap += count * 8;
  }
  out = malloc(cap);
  if (out == NULL) return NULL;
  while (slen > 0 && (hit = strstr(p, secret)) != NULL) {
    memcpy(out + n, p, (size_t)(hit - p));
    n += (size_t)(hit - p);
    memcpy(out + n, "********", 8);
    n += 8;
    p = hit + slen;
  }
  strcpy(out + n, p);
  return out;
}

/* libpq's messages end with a newline and may hold several lines. */
static void one_line(char *s) {
  size_t n = strlen(s);
  char *c;
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ')) s[--n] = '\0';
  for (c = s; *c; c++)
    if (*c == '\n' || *c == '\t') *c = ' ';
}

int pg_fail(const PgServer *server, PGconn *conn, const PGresult *res,
            int code, NbError *err, const char *what, ...) {
  char head[512];
  const char *raw = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *pw = server != NULL ? server->password : NULL;
  char *msg;
  va_list ap;
  va_start(ap, what);
  vsnprintf(head, sizeof head, what, ap);
  va_end(ap);
  if (raw == NULL && res != NULL) raw = PQresultErrorMessage(res);
  if ((raw == NULL || raw[0] == '\0') && conn != NULL) raw = PQerrorMessage(conn);
  if (raw == NULL || raw[0] == '\0') raw = "unknown error";
  msg = redact(raw, pw);
  if (msg == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  one_line(msg);
  if (conn != NULL && PQstatus(conn) == CONNECTION_BAD) code = NB_UNAVAILABLE;
  /* 08xxx connection exceptions, 57P0x shutdown: transient. */
  if (state != NULL && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0))
    code = NB_UNAVAILABLE;
  nb_error_set(err, code, "%s on PostgreSQL server %s: %s%s%s%s", head,
               server != NULL ? server->label : "?", msg,
               state != NULL ? " (SQLSTATE " : "", state != NULL ? state : "",
               state != NULL ? ")" : "");
  free(msg);
  if (res != NULL) {
    const char *d = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    const char *h = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    if (d != NULL && (msg = redact(d, pw)) != NULL) {
      one_line(msg);
      nb_error_detail(err, "%s", msg);
      free(msg);
    }
    if (h != NULL && (msg = redact(h, pw)) != NULL) {
      one_line(msg);
      nb_error_hint(err, "%s", msg);
      free(msg);
    }
  }
  return code;
}

int pg_exec(const PgServer *server, PGconn *conn, const char *sql,
            const char *what, NbError *err) {
  PGresult *res = PQexec(conn, sql);
  int rc = NB_OK;
  if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
    rc = pg_fail(server, conn, res, NB_IO, err, "%s", what);
  PQclear(res);
  return rc;
}

static int connect_failed(PgServer *server, PGconn *conn, NbError *err) {
  const char *raw = PQerrorMessage(conn);
  /* Authentication and authorization refusals are not worth retrying. */
  int code = strstr(raw, "authentication") != NULL || strstr(raw, "does not exist") != NULL ||
                     strstr(raw, "permission denied") != NULL || strstr(raw, "no pg_hba.conf") != NULL
                 ? NB_IO
                 : NB_UNAVAILABLE;
  char *msg = redact(raw, server->password);
  if (msg == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  one_line(msg);
  make_label(conn, server);
  nb_error_set(err, code, "could not connect to PostgreSQL server %s: %s", server->label, msg);
  free(msg);
  if (code == NB_UNAVAILABLE)
    nb_error_hint(err, "Check that the server is running and accepts connections on that address (settings host, port or dsn).");
  else
    nb_error_hint(err, "Check the settings user and password (or the dsn) and the server's pg_hba.conf.");
  return code;
}

/* Notices ("relation already exists, skipping") are for the log only. */
static void forward_notice(void *arg, const char *message) {
  const NbHostApi *host = arg;
  char line[512];
  size_t n;
  snprintf(line, sizeof line, "%s", message);
  n = strlen(line);
  while (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
  nb_log(host, NB_LOG_DEBUG, "server notice: %s", line);
}

static int connect_params(const NbSettings *settings, const NbHostApi *host, bool replication,
                          PgServer *server, PGconn **out, NbError *err) {
  const char *keys[PG_MAX_PARAMS], *values[PG_MAX_PARAMS];
  const char *dsn = nb_settings_find(settings, "dsn");
  const char *password = nb_settings_find(settings, "password");
  const char *timeout = nb_settings_find(settings, "connect_timeout");
  int n = 0;
  PGconn *conn;

  memset(server, 0, sizeof *server);
  *out = NULL;
  snprintf(server->label, sizeof server->label, "(not connected)");
  if (dsn != NULL && dsn[0] != '\0') {
    int rc = check_dsn(dsn, err);
    if (rc != NB_OK) return rc;
    add_param(keys, values, &n, "dbname", dsn);
    server->password = dsn_password(dsn);
  }
  add_param(keys, values, &n, "host", nb_settings_find(settings, "host"));
  add_param(keys, values, &n, "port", nb_settings_find(settings, "port"));
  if (dsn == NULL || dsn[0] == '\0')
    add_param(keys, values, &n, "dbname", nb_settings_find(settings, "dbname"));
  add_param(keys, values, &n, "user", nb_settings_find(settings, "user"));
  add_param(keys, values, &n, "password", password);
  add_param(keys, values, &n, "sslmode", nb_settings_find(settings, "sslmode"));
  add_param(keys, values, &n, "connect_timeout", timeout != NULL ? timeout : "10");
  add_param(keys, values, &n, "client_encoding", "UTF8");
  add_param(keys, values, &n, "application_name", "nebula");
  if (replication) add_param(keys, values, &n, "replication", "database");
  add_param(keys, values, &n, "options",
            "-c DateStyle=ISO,YMD -c TimeZone=UTC -c IntervalStyle=postgres -c extra_float_digits=1 "
            "-c bytea_output=hex");
  keys[n] = NULL;
  values[n] = NULL;
  if (password != NULL && password[0] != '\0') {
    free(server->password);
    server->password = strdup(password);
    if (server->password == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  conn = PQconnectdbParams(keys, values, 1);
  if (conn == NULL) {
    pg_server_clear(server);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    int rc = connect_failed(server, conn, err);
    PQfinish(conn);
    pg_server_clear(server);
    return rc;
  }
  make_label(conn, server);
  PQsetNoticeProcessor(conn, forward_notice, (void *)host);
  *out = conn;
  return NB_OK;
}

int pg_connect(const NbSettings *settings, const NbHostApi *host,
               PgServer *server, PGconn **out, NbError *err) {
  return connect_params(settings, host, false, server, out, err);
}

int pg_connect_replication(const NbSettings *settings, const NbHostApi *host,
                           PgServer *server, PGconn **out, NbError *err) {
  return connect_params(settings, host, true, server, out, err);
}

void pg_server_clear(PgServer *server) {
  if (server == NULL) return;
  free(server->password);
  server->password = NULL;
}

char *pg_quote_qualified(PGconn *conn, const char *name) {
  const char *dot = strchr(name, '.');
  char *a, *b, *out;
  if (dot == NULL) {
    a = PQescapeIdentifier(conn, name, strlen(name));
    if (a == NULL) return NULL;
    out = strdup(a);
    PQfreemem(a);
    return out;
  }
  a = PQescapeIdentifier(conn, name, (size_t)(dot - name));
  b = PQescapeIdentifier(conn, dot + 1, strlen(dot + 1));
  out = NULL;
  if (a != NULL && b != NULL && (out = malloc(strlen(a) + strlen(b) + 2)) != NULL)
    sprintf(out, "%s.%s", a, b);
  PQfreemem(a);
  PQfreemem(b);
  return out;
}
