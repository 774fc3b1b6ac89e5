/*
 * mysql_conn.c - connection settings and connecting: one place that turns
 * settings into a MYSQL handle with the session the rest of the connector
 * relies on (utf8mb4, UTC, strict mode), and client errors into NbErrors
 * that name the server and the cause but never the password.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "mysql_internal.h"

static int copy_setting(const NbSettings *settings, const char *name, const char *fallback,
                        char **out, NbError *err) {
  const char *v = NULL;
  int rc = nb_setting_string(settings, name, fallback, &v, err);
  *out = NULL;
  if (rc != NB_OK) return rc;
  if (v == NULL) return NB_OK;
  *out = strdup(v);
  return *out != NULL ? NB_OK : nb_error_set(err, NB_NOMEM, "out of memory");
}

int my_conn_config_load(const NbSettings *settings, MyConnConfig *cfg, NbError *err) {
  int rc;
  memset(cfg, 0, sizeof *cfg);
  if ((rc = copy_setting(settings, "host", "127.0.0.1", &cfg->host, err)) != NB_OK ||
      (rc = copy_setting(settings, "socket", NULL, &cfg->socket, err)) != NB_OK ||
      (rc = copy_setting(settings, "user", "root", &cfg->user, err)) != NB_OK ||
      (rc = copy_setting(settings, "password", NULL, &cfg->password, err)) != NB_OK ||
      (rc = copy_setting(settings, "database", NULL, &cfg->database, err)) != NB_OK ||
      (rc = copy_setting(settings, "ssl_ca", NULL, &cfg->ssl_ca, err)) != NB_OK ||
      (rc = nb_setting_int(settings, "port", 3306, &cfg->port, err)) != NB_OK ||
      (rc = nb_setting_int(settings, "connect_timeout", 10, &cfg->connect_timeout, err)) !=
          NB_OK ||
      (rc = nb_setting_enum(settings, "ssl_mode", "disable|prefer|require|verify_full",
                            MY_SSL_PREFER, &cfg->ssl_mode, err)) != NB_OK) {
    my_conn_config_free(cfg);
    return rc;
  }
  if (cfg->port < 1 || cfg->port > 65535) {
    nb_error_set(err, NB_INVALID, "setting \"port\": %lld is not a TCP port",
                 (long long)cfg->port);
    nb_error_hint(err, "Give a port between 1 and 65535 (MariaDB listens on 3306).");
    my_conn_config_free(cfg);
    return NB_INVALID;
  }
  if (cfg->connect_timeout < 1 || cfg->connect_timeout > 3600) {
    nb_error_set(err, NB_INVALID, "setting \"connect_timeout\": %lld is outside 1 .. 3600 seconds",
                 (long long)cfg->connect_timeout);
    my_conn_config_free(cfg);
    return NB_INVALID;
  }
  if (cfg->database == NULL || cfg->database[0] == '\0') {
    nb_error_set(err, NB_INVALID, "setting \"database\" is required");
    nb_error_hint(err, "Name the database (schema) that holds the tables.");
    my_conn_config_free(cfg);
    return NB_INVALID;
  }
  return NB_OK;
}

void my_conn_config_free(MyConnConfig *cfg) {
  if (cfg == NULL) return;
  free(cfg->host);
  free(cfg->socket);
  free(cfg->user);
  if (cfg->password != NULL) {
    /* Do not leave the secret in freed memory. */
    volatile char *p = cfg->password;
    while (*p != '\0') *p++ = '\0';
    free(cfg->password);
  }
  free(cfg->database);
  free(cfg->ssl_ca);
  memset(cfg, 0, sizeof *cfg);
}

const char *my_server_name(const MyConnConfig *cfg, char *buf, size_t cap) {
  if (cfg->socket != NULL && cfg->socket[0] != '\0')
    snprintf(buf, cap, "%s", cfg->socket);
  else
    snprintf(buf, cap, "%s:%lld", cfg->host, (long long)cfg->port);
  return buf;
}

/* Which NbStatus a server or client error number means. */
static int status_of_errno(unsigned int no) {
  switch (no) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_UNKNOWN_HOST:
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_LOCK_DEADLOCK:
    case ER_SERVER_SHUTDOWN:
    case ER_CON_COUNT_ERROR:
#ifdef ER_CONNECTION_KILLED /* MariaDB: KILL of our connection, a reset */
    case ER_CONNECTION_KILLED:
#endif
      return NB_UNAVAILABLE;
    case ER_NO_SUCH_TABLE:
    case ER_BAD_DB_ERROR:
      return NB_NOT_FOUND;
    case CR_OUT_OF_MEMORY:
      return NB_NOMEM;
    default:
      return no >= 2000 && no < 3000 ? NB_IO : NB_INVALID;
  }
}

int my_fail(MYSQL *db, const MyConnConfig *cfg, NbError *err, const char *fmt, ...) {
  char what[512], server[300];
  va_list ap;
  unsigned int no = db != NULL ? mysql_errno(db) : 0;
  int code = no != 0 ? status_of_errno(no) : NB_IO;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  nb_error_set(err, code, "%s on MariaDB/MySQL server %s: %s (error %u)", what,
               my_server_name(cfg, server, sizeof server),
               db != NULL ? mysql_error(db) : "out of memory", no);
  if (no == ER_LOCK_WAIT_TIMEOUT || no == ER_LOCK_DEADLOCK)
    nb_error_hint(err, "Another session holds locks on the table; the transaction was rolled back.");
  else if (code == NB_UNAVAILABLE)
    nb_error_hint(err, "Check that the server is running and reachable.");
  return code;
}

int my_exec(MYSQL *db, const MyConnConfig *cfg, const char *sql, NbError *err) {
  if (mysql_real_query(db, sql, (unsigned long)strlen(sql)) != 0)
    return my_fail(db, cfg, err, "statement failed");
  return NB_OK;
}

static int set_options(MYSQL *db, const MyConnConfig *cfg) {
  unsigned int timeout = (unsigned int)cfg->connect_timeout;
  my_bool yes = 1, no = 0;
  int rc = 0;
  rc |= mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  rc |= mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  rc |= mysql_options(db, MYSQL_INIT_COMMAND,
                      "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,"
                      "NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO'");
  if (cfg->local_infile) {
    unsigned int one = 1;
    rc |= mysql_options(db, MYSQL_OPT_LOCAL_INFILE, &one);
  }
  if (cfg->ssl_mode != MY_SSL_DISABLE) {
    if (cfg->ssl_ca != NULL) rc |= mysql_options(db, MYSQL_OPT_SSL_CA, cfg->ssl_ca);
    rc |= mysql_options(db, MYSQL_OPT_SSL_ENFORCE,
                        cfg->ssl_mode >= MY_SSL_REQUIRE ? &yes : &no);
    rc |= mysql_options(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT,
                        cfg->ssl_mode == MY_SSL_VERIFY_FULL ? &yes : &no);
  }
  return rc;
}

int my_connect(const MyConnConfig *cfg, MYSQL **out, NbError *err) {
  MYSQL *db = mysql_init(NULL);
  bool use_socket = cfg->socket != NULL && cfg->socket[0] != '\0';
  *out = NULL;
  if (db == NULL) return nb_error_set(err, NB_NOMEM, "out of memory (mysql_init)");
  if (set_options(db, cfg) != 0) {
    mysql_close(db);
    return nb_error_set(err, NB_INTERNAL, "the MariaDB client library refused an option");
  }
  if (mysql_real_connect(db, use_socket ? "localhost" : cfg->host, cfg->user, cfg->password,
                         cfg->database, (unsigned int)cfg->port,
                         use_socket ? cfg->socket : NULL,
                         CLIENT_FOUND_ROWS) == NULL) {
    unsigned int no = mysql_errno(db);
    int code = my_fail(db, cfg, err, "could not connect as user \"%s\" to database \"%s\"",
                       cfg->user, cfg->database);
    if (no == ER_ACCESS_DENIED_ERROR || no == ER_DBACCESS_DENIED_ERROR) {
      code = NB_INVALID;
      err->code = NB_INVALID;
      nb_error_hint(err, "Check the settings \"user\" and \"password\".");
    } else if (no == ER_BAD_DB_ERROR) {
      nb_error_hint(err, "Check the setting \"database\".");
    }
    mysql_close(db);
    return err != NULL ? err->code : code;
  }
  *out = db;
  return NB_OK;
}

char *my_quote_ident(const char *name) {
  size_t n = strlen(name), i, j = 0;
  char *q = malloc(2 * n + 3);
  if (q == NULL) return NULL;
  q[j++] = '`';
  for (i = 0; i < n; i++) {
    if (name[i] == '`') q[j++] = '`';
    q[j++] = name[i];
  }
  q[j++] = '`';
  q[j] = '\0';
  return q;
}
