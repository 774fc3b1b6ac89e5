/*
 * connection.c - the host API of a connection and its bookkeeping; see
 * connection.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "connection.h"
#include "io.h"
#include "nebula/sdk.h"

/* ------------------------------------------------------------------------
 * Logging, cancellation, counters
 * ------------------------------------------------------------------------ */

static void host_log(void *host_data, int level, const char *message) {
  NbhConnection *c = host_data;
  if (level < NB_LOG_ERROR) level = NB_LOG_ERROR;
  if (level > NB_LOG_DEBUG) level = NB_LOG_DEBUG;
  nbh_log(c->logger, level, c->name, "%s", message != NULL ? message : "");
}

static int host_is_cancelled(void *host_data) {
  NbhConnection *c = host_data;
  return c->is_cancelled != NULL ? c->is_cancelled(c->owner) : 0;
}

static void host_counter_add(void *host_data, const char *name, int64_t delta) {
  NbhConnection *c = host_data;
  if (c->counter_add != NULL) c->counter_add(c->owner, name != NULL ? name : "unnamed", delta);
}

/* ------------------------------------------------------------------------
 * The file layer, one wrapper per handle
 *
 * The connector holds a pointer to a ConnFile (NbFile is opaque to it), so
 * that the connection hears of every error the layer reports.
 * ------------------------------------------------------------------------ */

typedef struct ConnFile {
  NbFile *inner;
  NbhConnection *conn;
} ConnFile;

static ConnFile *outer(NbFile *file) { return (ConnFile *)(void *)file; }

static int wrap(NbhConnection *c, NbFile *inner, NbFile **out, NbError *err) {
  ConnFile *f = malloc(sizeof *f);
  if (f == NULL) {
    nbh_file_close(inner, NULL);
    *out = NULL;
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  f->inner = inner;
  f->conn = c;
  *out = (NbFile *)(void *)f;
  return NB_OK;
}

/* NB_DATA from reading means corrupt or truncated input (abi.h). */
static int noticed(ConnFile *f, int rc) {
  if (rc == NB_DATA) atomic_store(&f->conn->input_broken, 1);
  return rc;
}

static int conn_open_read(void *host_data, const char *path, NbFile **out, NbError *err) {
  NbFile *inner = NULL;
  int rc = nbh_file_open_read(NULL, path, &inner, err);
  if (rc != NB_OK) {
    *out = NULL;
    return rc;
  }
  return wrap(host_data, inner, out, err);
}

static int conn_read(NbFile *file, void *buf, size_t capacity, size_t *n_read, NbError *err) {
  ConnFile *f = outer(file);
  return noticed(f, nbh_file_read(f->inner, buf, capacity, n_read, err));
}

static int conn_skip(NbFile *file, uint64_t n, NbError *err) {
  ConnFile *f = outer(file);
  return noticed(f, nbh_file_skip(f->inner, n, err));
}

/* `check`: prove that path can be opened for writing, without O_TRUNC, and
 * remove it again if this call created it. */
static int probe_write(const char *path, NbError *err) {
  struct stat st;
  bool existed;
  int fd;
  if (strcmp(path, "-") == 0) return NB_OK;
  existed = stat(path, &st) == 0;
  fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0)
    return nb_error_set(err, NB_IO, "could not open file \"%s\" for writing: %s", path,
                        strerror(errno));
  close(fd);
  if (!existed) unlink(path);
  return NB_OK;
}

static int conn_open_write(void *host_data, const char *path, const NbWriteOptions *options,
                           NbFile **out, NbError *err) {
  NbhConnection *c = host_data;
  NbFile *inner = NULL;
  int rc;
  *out = NULL;
  if (c->dry_write) {
    rc = probe_write(path, err);
    /* Compression and the other options are checked by a real open. */
    if (rc == NB_OK) rc = nbh_file_open_write(NULL, "/dev/null", options, &inner, err);
  } else {
    rc = nbh_file_open_write(NULL, path, options, &inner, err);
  }
  if (rc != NB_OK) return rc;
  return wrap(c, inner, out, err);
}

static int conn_write(NbFile *file, const void *buf, size_t len, NbError *err) {
  return nbh_file_write(outer(file)->inner, buf, len, err);
}

static int conn_commit(NbFile *file, uint64_t *durable_length, NbError *err) {
  return nbh_file_commit(outer(file)->inner, durable_length, err);
}

static int conn_close(NbFile *file, NbError *err) {
  ConnFile *f = outer(file);
  int rc;
  if (f == NULL) return NB_OK;
  rc = nbh_file_close(f->inner, err);
  free(f);
  return rc;
}

/* ------------------------------------------------------------------------
 * The connection
 * ------------------------------------------------------------------------ */

void nbh_connection_init(NbhConnection *c, const NbConnector *vt, const char *role,
                         NbhLogger *logger) {
  memset(c, 0, sizeof *c);
  c->vt = vt;
  c->name = vt->name != NULL ? vt->name : "(unnamed)";
  c->role = role;
  c->logger = logger;
  c->api.struct_size = (uint32_t)sizeof c->api;
  c->api.abi_version = NB_ABI_CURRENT;
  c->api.host_data = c;
  c->api.log = host_log;
  c->api.is_cancelled = host_is_cancelled;
  c->api.counter_add = host_counter_add;
  c->api.file_open_read = conn_open_read;
  c->api.file_read = conn_read;
  c->api.file_open_write = conn_open_write;
  c->api.file_write = conn_write;
  c->api.file_commit = conn_commit;
  c->api.file_close = conn_close;
  c->api.file_skip = conn_skip;
}

bool nbh_connection_input_broken(NbhConnection *c) {
  return atomic_load(&c->input_broken) != 0;
}

void nbh_connection_clear_input_broken(NbhConnection *c) {
  atomic_store(&c->input_broken, 0);
}

void nbh_connection_call_begin(NbhConnection *c, const char *slot) {
  atomic_store(&c->call_name, slot);
  atomic_store(&c->call_started_ns, nbh_monotonic_ns());
}

void nbh_connection_call_end(NbhConnection *c) {
  atomic_store(&c->call_started_ns, 0);
}

void nbh_connection_close(NbhConnection *c) {
  void *handle = c->handle;
  if (handle == NULL) return;
  c->handle = NULL;
  if (c->role != NULL && strcmp(c->role, "source") == 0)
    c->vt->source_close(handle);
  else
    c->vt->dest_close(handle);
}
