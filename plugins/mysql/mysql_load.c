/*
 * mysql_load.c - bulk loading with LOAD DATA LOCAL INFILE served from
 * memory: the destination formats a batch's rows as tab-separated text and
 * the client library's local-infile callbacks hand that buffer to the
 * server.  The callbacks serve only this buffer, whatever file name the
 * server asks for, so a server cannot read the client's files.
 */
#include <stdio.h>
#include <string.h>

#include <mysqld_error.h>

#include "mysql_internal.h"

typedef struct LoadBuffer {
  const char *data;
  size_t len, at;
} LoadBuffer;

static int load_init(void **ptr, const char *filename, void *userdata) {
  (void)filename;
  ((LoadBuffer *)userdata)->at = 0;
  *ptr = userdata;
  return 0;
}

static int load_read(void *ptr, char *buf, unsigned int cap) {
  LoadBuffer *b = ptr;
  size_t n = b->len - b->at;
  if (n > cap) n = cap;
  memcpy(buf, b->data + b->at, n);
  b->at += n;
  return (int)n;
}

static void load_end(void *ptr) { (void)ptr; }

static int load_error(void *ptr, char *msg, unsigned int cap) {
  (void)ptr;
  snprintf(msg, cap, "nebula: no data");
  return 1;
}

int my_load_data(MYSQL *db, const MyConnConfig *cfg, const char *statement,
                 const char *data, size_t len, bool *refused, NbError *err) {
  LoadBuffer b = {data, len, 0};
  unsigned int no;
  *refused = false;
  mysql_set_local_infile_handler(db, load_init, load_read, load_end, load_error, &b);
  if (mysql_real_query(db, statement, (unsigned long)strlen(statement)) == 0) {
    mysql_set_local_infile_default(db);
    return NB_OK;
  }
  mysql_set_local_infile_default(db);
  no = mysql_errno(db);
  /* The server (local_infile = OFF) or the client refused LOCAL: the
   * caller falls back to INSERT statements. */
  if (no == ER_NOT_ALLOWED_COMMAND || no == 4166 /* ER_LOAD_INFILE_CAPABILITY_DISABLED */ ||
      no == 2068 /* CR_LOAD_DATA_LOCAL_INFILE_REJECTED */) {
    *refused = true;
    return NB_OK;
  }
  return my_fail(db, cfg, err, "LOAD DATA LOCAL INFILE failed");
}

/* Append text to a LOAD DATA field: \ tab newline CR and NUL escaped. */
size_t my_load_escape(char *out, const char *text, size_t n) {
  size_t i, j = 0;
  for (i = 0; i < n; i++) {
    char c = text[i];
    switch (c) {
      case '\\': out[j++] = '\\'; out[j++] = '\\'; break;
      case '\t': out[j++] = '\\'; out[j++] = 't'; break;
      case '\n': out[j++] = '\\'; out[j++] = 'n'; break;
      case '\r': out[j++] = '\\'; out[j++] = 'r'; break;
      case '\0': out[j++] = '\\'; out[j++] = '0'; break;
      default: out[j++] = c;
    }
  }
  return j;
}
