/*
 * mysql_internal.h - what the files of the mysql connector share: the
 * connection settings and connect helper (mysql_conn.c), the type mapping
 * (mysql_types.c), and the source and destination slots that
 * mysql_connector.c puts in the vtable.
 */
#ifndef MYSQL_INTERNAL_H
#define MYSQL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "nebula/sdk.h"

/* Connection settings, copied out of NbSettings (which lives only during
 * open).  password is a secret: it is passed to the client library and
 * never formatted into a message. */
typedef struct MyConnConfig {
  char *host;
  int64_t port;
  char *socket;
  char *user;
  char *password;
  char *database;
  int64_t connect_timeout;
  int ssl_mode; /* MY_SSL_* */
  char *ssl_ca;
  bool local_infile; /* the destination allows LOAD DATA LOCAL INFILE */
} MyConnConfig;

enum { MY_SSL_DISABLE = 0, MY_SSL_PREFER, MY_SSL_REQUIRE, MY_SSL_VERIFY_FULL };

int my_conn_config_load(const NbSettings *settings, MyConnConfig *cfg, NbError *err);
void my_conn_config_free(MyConnConfig *cfg);

/* "host:port" or the socket path, for messages (never the password). */
const char *my_server_name(const MyConnConfig *cfg, char *buf, size_t cap);

/* Connect with utf8mb4, UTC session time zone and strict SQL mode.  On
 * failure *out is NULL and err names the server, the user and the cause
 * (NB_INVALID for refused credentials or an unknown database,
 * NB_UNAVAILABLE when the server cannot be reached). */
int my_connect(const MyConnConfig *cfg, MYSQL **out, NbError *err);

/* Map a failed client call to an NbError: code from the server error
 * number, message "what on server: error text".  Returns the code. */
int my_fail(MYSQL *db, const MyConnConfig *cfg, NbError *err, const char *fmt, ...)
    NB_PRINTF(4, 5);

/* Run one statement that returns no rows. */
int my_exec(MYSQL *db, const MyConnConfig *cfg, const char *sql, NbError *err);

/* Quote an identifier with backticks into a new string (NULL: no memory). */
char *my_quote_ident(const char *name);

/* ---- Source type mapping ---------------------------------------------- */

/* How one result column becomes an Arrow column. */
typedef enum MyConv {
  MY_CONV_INT64 = 1,   /* TINYINT..BIGINT signed, unsigned up to INT, YEAR */
  MY_CONV_NUMBER,      /* BIGINT UNSIGNED, DECIMAL: exact text */
  MY_CONV_DOUBLE,      /* FLOAT, DOUBLE */
  MY_CONV_BIT,         /* BIT(n): big-endian bytes to an integer */
  MY_CONV_TEXT,        /* character data, ENUM, SET, TIME: UTF-8 text */
  MY_CONV_HEX,         /* BINARY, VARBINARY, BLOB, GEOMETRY: upper-case hex */
  MY_CONV_JSON,        /* JSON */
  MY_CONV_DATE,        /* DATE */
  MY_CONV_DATETIME,    /* DATETIME: no zone */
  MY_CONV_TIMESTAMP    /* TIMESTAMP: UTC */
} MyConv;

typedef struct MyColumn {
  char *name;
  MyConv conv;
  NbField field; /* name points at this->name */
} MyColumn;

/* Columns of a result's metadata.  *cols is calloc'ed (my_columns_free). */
int my_columns_from_result(MYSQL_RES *res, MyColumn **cols, size_t *n, NbError *err);
void my_columns_free(MyColumn *cols, size_t n);

/* What to do with a zero date ("0000-00-00", "2024-00-10"). */
enum { MY_ZERO_NULL = 0, MY_ZERO_ERROR = 1 };

/* Append one text-protocol value (NULL data: SQL NULL).  Returns NB_OK,
 * NB_DATA (err says why; *zero set when the value was a zero date), or
 * NB_NOMEM.  *zero_nulled is set when a zero date became a null. */
int my_append_value(NbColumnBuilder *col, const MyColumn *c, const char *data,
                    unsigned long len, int zero_dates, bool *zero_nulled, NbError *err);

/* ---- Bulk load (mysql_load.c) ------------------------------------------ */

/* Run statement, a LOAD DATA LOCAL INFILE, serving data[0..len) as the
 * file.  *refused is set (and NB_OK returned) when the server or client
 * does not allow LOCAL INFILE.  Other failures return the server's error. */
int my_load_data(MYSQL *db, const MyConnConfig *cfg, const char *statement,
                 const char *data, size_t len, bool *refused, NbError *err);

/* text escaped for a LOAD DATA field into out (room for 2 * n bytes);
 * returns the bytes written. */
size_t my_load_escape(char *out, const char *text, size_t n);

/* ---- Source and destination slots ------------------------------------ */

int my_source_open(const NbHostApi *host, const NbOpenArgs *args, void **source, NbError *err);
int my_source_stream_count(void *source, uint32_t *count, NbError *err);
int my_source_stream_info(void *source, uint32_t index, NbStreamInfo *out, NbError *err);
int my_source_schema(void *source, uint32_t index, struct ArrowSchema *out, NbError *err);
int my_source_seek(void *source, uint32_t index, const void *position, size_t position_len,
                   NbError *err);
int my_source_next(void *source, uint32_t index, struct ArrowArray *out, NbBatchInfo *info,
                   NbError *err);
void my_source_close(void *source);

int my_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest, NbError *err);
int my_dest_prepare(void *dest, const char *stream_name, const struct ArrowSchema *schema,
                    uint32_t *dest_stream, NbError *err);
int my_dest_write(void *dest, uint32_t dest_stream, const struct ArrowArray *batch,
                  NbError *err);
int my_dest_commit(void *dest, const void **state, size_t *state_len, NbError *err);
void my_dest_close(void *dest);
int my_dest_finish(void *dest, NbError *err);

/* ---- CDC records for apply_deletes (mysql_cdc_apply.c) ------------------ */

typedef enum MyOpKind {
  MY_OP_UPSERT = 0, /* c, u, r: insert or update the key's row */
  MY_OP_DELETE,     /* d: delete the key's row */
  MY_OP_TRUNCATE,   /* t: empty the table */
  MY_OP_UNKNOWN
} MyOpKind;

/* The op column of CDC records: "_op" (mysql source) or else "op"
 * (postgresql source).  NB_OK with *index, NB_NOT_FOUND, or NB_INVALID when
 * the column is not text. */
int my_cdc_op_column(const NbField *fields, size_t n, size_t *index);

/* What an op value asks for (MY_OP_UNKNOWN for anything else). */
MyOpKind my_cdc_op_kind(const char *text, size_t n);

/* Column i is the record's metadata, not a column of the table. */
bool my_cdc_is_metadata(const NbField *fields, size_t n, size_t op_index, size_t i);

/* The index of "before_<name of column>" in mysql-source records, or
 * SIZE_MAX. */
size_t my_cdc_before_column(const NbField *fields, size_t n, size_t op_index, size_t column);

#endif /* MYSQL_INTERNAL_H */
