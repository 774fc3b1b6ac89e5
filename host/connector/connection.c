/*
 * connection.c - the host API of a connection and its bookkeeping; see
 * connection.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block_codec.h"
#include "clock.h"
#include "connection.h"
#include "invariant.h"
#include "io.h"
#include "nebula/sdk.h"
#include "report.h"

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

static int host_committed_position(void *host_data, uint32_t index, void *buf, size_t cap,
                                   size_t *len) {
  NbhConnection *c = host_data;
  size_t unused;
  if (len == NULL) len = &unused;
  *len = 0;
  if (c->committed_position == NULL) return NB_END;
  return c->committed_position(c->owner, index, buf, cap, len);
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
  struct ConnFile *next_object; /* the connection's open objects */
  bool object;                  /* written through a storage module */
} ConnFile;

static ConnFile *outer(NbFile *file) { return (ConnFile *)(void *)file; }

static int wrap(NbhConnection *c, NbFile *inner, NbFile **out, NbError *err) {
  ConnFile *f = calloc(1, sizeof *f); /* not an object until conn_open_write says so */
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

/* Whether a file this connection reads is checked against the run's files
 * (run_files.h: never an output of the run, a state or dead-letter file).
 * A source's reads are: an input that is also an output would be read
 * while it is written.  A destination's are not: it reads back only what
 * it wrote and committed itself (arrow's file format rereads its schema
 * for the footer of a resumed file), which is no pipeline input. */
static bool reads_checked(const NbhConnection *c) {
  return c->role == NULL || strcmp(c->role, "destination") != 0;
}

static int conn_open_read(void *host_data, const char *path, NbFile **out, NbError *err) {
  NbhConnection *c = host_data;
  NbFile *inner = NULL;
  NbhRoute route;
  int rc = nbh_storage_route(c->storages, path, &route, err);
  if (rc == NB_OK && route.module != NULL)
    rc = nbh_file_open_read_storage(route.module, &c->api, path, NULL, &inner, err);
  else if (rc == NB_OK)
    rc = nbh_file_open_read_in(reads_checked(c) ? c->files : NULL, route.local_path, &inner,
                               err);
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

int nbh_file_compression_read(const NbConnector *vt, const NbSettings *settings,
                              NbhFileCompression *out, NbError *err) {
  const char *codec = settings != NULL ? nb_settings_find(settings, "compression") : NULL;
  int64_t level = 0;
  memset(out, 0, sizeof *out);
  if (!(vt->capabilities & NB_CAP_HOST_FILE_COMPRESSION)) return NB_OK;
  if (codec == NULL) codec = "auto"; /* the default of NB_FILE_COMPRESSION_SETTINGS */
  if (strlen(codec) >= sizeof out->codec)
    return nb_error_set(err, NB_INVALID, "invalid value for setting \"compression\"");
  if (settings != NULL) {
    int rc = nb_setting_int(settings, "compression_level", 0, &level, err);
    if (rc != NB_OK) return rc;
  }
  if (level < INT32_MIN || level > INT32_MAX) {
    nb_error_set(err, NB_INVALID, "invalid value for setting \"compression_level\": %" PRId64,
                 level);
    nb_error_detail(err, "A codec level is a 32-bit integer; 0 is the codec's default.");
    return NB_INVALID;
  }
  memcpy(out->codec, codec, strlen(codec) + 1);
  out->level = (int32_t)level;
  out->on = true;
  return NB_OK;
}

static bool host_declares(const NbConnector *vt, const char *name) {
  return (vt->capabilities & NB_CAP_HOST_FILE_COMPRESSION) &&
         (strcmp(name, "compression") == 0 || strcmp(name, "compression_level") == 0);
}

int nbh_connector_settings_view(const NbConnector *vt, const NbSettings *all,
                                NbhSettingsView *view, NbError *err) {
  uint32_t n = all != NULL ? all->count : 0, kept = 0;
  memset(view, 0, sizeof *view);
  view->settings.struct_size = (uint32_t)sizeof view->settings;
  view->names = calloc((size_t)n + 1, sizeof *view->names);
  view->values = calloc((size_t)n + 1, sizeof *view->values);
  if (view->names == NULL || view->values == NULL) {
    nbh_connector_settings_view_free(view);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  for (uint32_t i = 0; i < n; i++) {
    if (host_declares(vt, all->names[i])) continue;
    view->names[kept] = all->names[i];
    view->values[kept++] = all->values[i];
  }
  view->settings.count = kept;
  view->settings.names = view->names;
  view->settings.values = view->values;
  return NB_OK;
}

void nbh_connector_settings_view_free(NbhSettingsView *view) {
  free(view->names);
  free(view->values);
  memset(view, 0, sizeof *view);
}

/* The options a file is opened with: the connector's, with the host's
 * compression when the host owns it and the connector left it NULL. */
static const NbWriteOptions *write_options(const NbhConnection *c, const NbWriteOptions *given,
                                           NbWriteOptions *local) {
  bool names_codec = given != NULL &&
                     given->struct_size >= offsetof(NbWriteOptions, compression) +
                                               sizeof given->compression &&
                     given->compression != NULL;
  if (!c->file_compression.on || names_codec) return given;
  memset(local, 0, sizeof *local);
  local->resume_length = -1; /* what NULL options mean: create or truncate */
  if (given != NULL)
    memcpy(local, given, given->struct_size < sizeof *local ? given->struct_size : sizeof *local);
  local->struct_size = (uint32_t)sizeof *local;
  local->compression = c->file_compression.codec;
  local->level = c->file_compression.level;
  return local;
}

/* Whether module has every writer slot (abi.h: a module without them is
 * read-only). */
static bool module_writes(const NbStorage *m) {
  return NB_STRUCT_HAS(NbStorage, m, writer_close) && m->writer_open != NULL &&
         m->writer_write != NULL && m->writer_commit != NULL && m->writer_finish != NULL &&
         m->writer_abort != NULL && m->writer_close != NULL;
}

/* Open an object for writing: a resume continues the upload whose state
 * the saved state file recorded with the same committed length. */
static int open_write_object(NbhConnection *c, const NbStorage *module, const char *path,
                             const NbWriteOptions *options, NbFile **inner, NbError *err) {
  int64_t resume = -1;
  uint64_t saved_length = 0;
  char *blob = NULL;
  int rc;
  if (!module_writes(module)) {
    nb_error_set(err, NB_INVALID, "could not open \"%s\" for writing: storage module \"%s\" "
                 "serves reading only", path, module->name);
    nb_error_hint(err, "Update the module, or write to a local file.");
    return NB_INVALID;
  }
  if (c->dry_write) /* compression and the other options, checked by a real open */
    return nbh_file_open_write(NULL, "/dev/null", options, inner, err);
  if (options != NULL &&
      options->struct_size >= offsetof(NbWriteOptions, resume_length) + sizeof options->resume_length)
    resume = options->resume_length;
  if (resume > 0 && c->files != NULL &&
      nbh_run_files_saved_object(c->files, path, &saved_length, &blob)) {
    if (blob == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    if (saved_length != (uint64_t)resume) {
      nb_error_set(err, NB_INVALID, "cannot resume writing object \"%s\" at byte %" PRId64
                   ": the state file recorded its upload at %" PRIu64 " bytes", path, resume,
                   saved_length);
      nb_error_hint(err, "The state file was edited or mixed up; delete it to start over.");
      free(blob);
      return NB_INVALID;
    }
  }
  rc = nbh_file_open_write_storage(module, &c->api, c->files, path, options, blob, inner, err);
  free(blob);
  return rc;
}

static int conn_open_write(void *host_data, const char *path, const NbWriteOptions *given,
                           NbFile **out, NbError *err) {
  NbhConnection *c = host_data;
  NbFile *inner = NULL;
  NbhRoute route;
  NbWriteOptions local;
  const NbWriteOptions *options = write_options(c, given, &local);
  int rc;
  *out = NULL;
  rc = nbh_storage_route(c->storages, path, &route, err);
  if (rc != NB_OK) return rc;
  if (route.module != NULL) {
    rc = open_write_object(c, route.module, path, options, &inner, err);
    if (rc == NB_OK) rc = wrap(c, inner, out, err);
    if (rc == NB_OK && !c->dry_write) {
      /* Remembered: a complete run completes it (nbh_connection_finish). */
      ConnFile *f = outer(*out);
      f->object = true;
      f->next_object = c->objects;
      c->objects = f;
    }
    return rc;
  }
  path = route.local_path;
  if (c->dry_write) {
    rc = probe_write(path, err);
    /* Compression and the other options are checked by a real open. */
    if (rc == NB_OK) rc = nbh_file_open_write(NULL, "/dev/null", options, &inner, err);
  } else {
    rc = nbh_file_open_write_in(c->files, path, options, &inner, err);
  }
  if (rc != NB_OK) return rc;
  return wrap(c, inner, out, err);
}

static int conn_file_list(void *host_data, const char *pattern,
                          int (*each)(void *cookie, const char *path, int64_t size_bytes),
                          void *cookie, NbError *err) {
  NbhConnection *c = host_data;
  return nbh_storage_file_list(c->storages, &c->api, pattern, each, cookie, err);
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
  if (f->object) {
    ConnFile **link = &f->conn->objects;
    while (*link != NULL && *link != f) link = &(*link)->next_object;
    if (*link == f) *link = f->next_object;
  }
  rc = nbh_file_close(f->inner, err);
  free(f);
  return rc;
}

/* ------------------------------------------------------------------------
 * Block compression with the connection's reusable codec contexts
 * ------------------------------------------------------------------------ */

static int conn_block_compress(void *host_data, const char *codec, int32_t level,
                               const void *src, size_t src_len, void *dst, size_t dst_capacity,
                               size_t *dst_len, NbError *err) {
  NbhConnection *c = host_data;
  return nbh_block_compress_with(&c->blocks, codec, level, src, src_len, dst, dst_capacity,
                                 dst_len, err);
}

static int conn_block_decompress(void *host_data, const char *codec, const void *src,
                                 size_t src_len, void *dst, size_t dst_capacity,
                                 size_t *dst_len, NbError *err) {
  NbhConnection *c = host_data;
  return nbh_block_decompress_with(&c->blocks, codec, src, src_len, dst, dst_capacity,
                                   dst_len, err);
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
  c->api.committed_position = host_committed_position;
  c->api.file_open_read = conn_open_read;
  c->api.file_read = conn_read;
  c->api.file_open_write = conn_open_write;
  c->api.file_write = conn_write;
  c->api.file_commit = conn_commit;
  c->api.file_close = conn_close;
  c->api.file_skip = conn_skip;
  c->api.block_compress_bound = nbh_block_compress_bound;
  c->api.block_compress = conn_block_compress;
  c->api.block_decompress = conn_block_decompress;
  c->api.file_list = conn_file_list;
  nbh_block_contexts_init(&c->blocks);
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

/* ------------------------------------------------------------------------
 * Calling: heartbeat and retries
 * ------------------------------------------------------------------------ */

typedef int (*CallFn)(NbhConnection *c, void *ctx, NbError *err);

static bool cancelled(NbhConnection *c) {
  return c->is_cancelled != NULL && c->is_cancelled(c->owner);
}

/* Sleep up to seconds in slices, waking early when cancelled.  Returns
 * false when woken for that reason. */
static bool pause_for(NbhConnection *c, double seconds) {
  uint64_t end = nbh_monotonic_ns() + (uint64_t)(seconds * 1e9);
  for (;;) {
    uint64_t now = nbh_monotonic_ns(), slice;
    struct timespec ts;
    if (cancelled(c)) return false;
    if (now >= end) return true;
    slice = end - now < 50000000ull ? end - now : 50000000ull;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)slice;
    nanosleep(&ts, NULL);
  }
}

/* After NB_UNAVAILABLE: log, count, wait.  Returns true to try again;
 * false when the retries are used up (err kept for the caller) or the
 * wait was cancelled (err released, *rc = NB_CANCELLED). */
static bool wait_before_retry(NbhConnection *c, const char *slot, NbhRetry *retry,
                              NbError *err, int *rc) {
  const NbhRetryPolicy *p = c->retry_policy;
  double delay = nbh_retry_next_delay(retry, nbh_monotonic_ns());
  if (delay < 0) {
    nbh_log(c->logger, NB_LOG_ERROR, "engine",
            "%s connector \"%s\": giving up on %s after %" PRIu32
            " retries in %.1f seconds (max_retries = %" PRIu32 ", retry_deadline = %g s)",
            c->role, c->name, slot, retry->retries,
            nbh_ns_to_seconds(nbh_monotonic_ns() - retry->first_failure_ns), p->max_retries,
            p->deadline_seconds);
    return false;
  }
  nbh_log(c->logger, NB_LOG_WARN, "engine",
          "%s connector \"%s\": %s failed transiently (%s); retry %" PRIu32 " of %" PRIu32
          " in %.3f s",
          c->role, c->name, slot, err->message != NULL ? err->message : "NB_UNAVAILABLE",
          retry->retries, p->max_retries, delay);
  if (c->on_retry != NULL) c->on_retry(c->owner);
  nb_error_release(err);
  if (!pause_for(c, delay)) {
    *rc = NB_CANCELLED;
    return false;
  }
  return true;
}

static int call(NbhConnection *c, const char *slot, CallFn fn, void *ctx, NbError *err) {
  NbhRetry retry;
  if (c->retry_policy != NULL) nbh_retry_start(&retry, c->retry_policy, &c->rng);
  for (;;) {
    int rc;
    nb_error_init(err);
    nbh_connection_call_begin(c, slot);
    rc = fn(c, ctx, err);
    nbh_connection_call_end(c);
    if (rc != NB_UNAVAILABLE || c->retry_policy == NULL) return rc;
    if (!wait_before_retry(c, slot, &retry, err, &rc)) return rc;
  }
}

/* ------------------------------------------------------------------------
 * One function per slot
 * ------------------------------------------------------------------------ */

void nbh_open_args_init(NbOpenArgs *args, const NbSettings *settings, uint64_t batch_rows,
                        uint64_t batch_bytes) {
  memset(args, 0, sizeof *args);
  args->struct_size = (uint32_t)sizeof *args;
  args->settings = settings;
  args->batch_rows = batch_rows;
  args->batch_bytes = batch_bytes;
}

static int do_source_open(NbhConnection *c, void *ctx, NbError *err) {
  c->handle = NULL;
  return c->vt->source_open(&c->api, ctx, &c->handle, err);
}

int nbh_connection_source_open(NbhConnection *c, const NbOpenArgs *args, NbError *err) {
  int rc = call(c, "source_open", do_source_open, (void *)args, err);
  if (rc != NB_OK) c->handle = NULL;
  return rc;
}

static int do_stream_count(NbhConnection *c, void *ctx, NbError *err) {
  return c->vt->source_stream_count(c->handle, ctx, err);
}

int nbh_connection_stream_count(NbhConnection *c, uint32_t *count, NbError *err) {
  *count = 0;
  return call(c, "source_stream_count", do_stream_count, count, err);
}

typedef struct InfoCall {
  uint32_t index;
  NbStreamInfo *info;
} InfoCall;

static int do_stream_info(NbhConnection *c, void *ctx, NbError *err) {
  InfoCall *a = ctx;
  memset(a->info, 0, sizeof *a->info);
  a->info->struct_size = (uint32_t)sizeof *a->info;
  a->info->size_bytes = -1;
  return c->vt->source_stream_info(c->handle, a->index, a->info, err);
}

int nbh_connection_stream_info(NbhConnection *c, uint32_t index, NbStreamInfo *info,
                               NbError *err) {
  InfoCall a = {index, info};
  return call(c, "source_stream_info", do_stream_info, &a, err);
}

typedef struct SchemaCall {
  uint32_t index;
  struct ArrowSchema *out;
} SchemaCall;

static int do_schema(NbhConnection *c, void *ctx, NbError *err) {
  SchemaCall *a = ctx;
  if (a->out->release != NULL) a->out->release(a->out);
  memset(a->out, 0, sizeof *a->out);
  return c->vt->source_schema(c->handle, a->index, a->out, err);
}

int nbh_connection_schema(NbhConnection *c, uint32_t index, struct ArrowSchema *out,
                          NbError *err) {
  SchemaCall a = {index, out};
  return call(c, "source_schema", do_schema, &a, err);
}

typedef struct SeekCall {
  uint32_t index;
  const void *position;
  size_t position_len;
} SeekCall;

static int do_seek(NbhConnection *c, void *ctx, NbError *err) {
  SeekCall *a = ctx;
  return c->vt->source_seek(c->handle, a->index, a->position, a->position_len, err);
}

int nbh_connection_seek(NbhConnection *c, uint32_t index, const void *position,
                        size_t position_len, NbError *err) {
  SeekCall a = {index, position, position_len};
  return call(c, "source_seek", do_seek, &a, err);
}

typedef struct NextCall {
  uint32_t index;
  struct ArrowArray *out;
  NbBatchInfo *info;
} NextCall;

static int do_next(NbhConnection *c, void *ctx, NbError *err) {
  NextCall *a = ctx;
  if (a->out->release != NULL) a->out->release(a->out);
  memset(a->out, 0, sizeof *a->out);
  memset(a->info, 0, sizeof *a->info);
  a->info->struct_size = (uint32_t)sizeof *a->info;
  a->info->bytes_read = -1;
  return c->vt->source_next(c->handle, a->index, a->out, a->info, err);
}

int nbh_connection_next(NbhConnection *c, uint32_t index, struct ArrowArray *out,
                        NbBatchInfo *info, NbError *err) {
  NextCall a = {index, out, info};
  return call(c, "source_next", do_next, &a, err);
}

static int do_dest_open(NbhConnection *c, void *ctx, NbError *err) {
  c->handle = NULL;
  return c->vt->dest_open(&c->api, ctx, &c->handle, err);
}

int nbh_connection_dest_open(NbhConnection *c, const NbOpenArgs *args, NbError *err) {
  NbhSettingsView view;
  NbOpenArgs own = *args;
  c->handle = NULL;
  nb_error_init(err);
  int rc = nbh_file_compression_read(c->vt, args->settings, &c->file_compression, err);
  if (rc != NB_OK) return rc;
  rc = nbh_connector_settings_view(c->vt, args->settings, &view, err);
  if (rc != NB_OK) return rc;
  own.settings = &view.settings;
  rc = call(c, "dest_open", do_dest_open, &own, err);
  nbh_connector_settings_view_free(&view);
  if (rc != NB_OK) c->handle = NULL;
  return rc;
}

typedef struct PrepareCall {
  const char *name;
  const struct ArrowSchema *schema;
  uint32_t *dest_stream;
} PrepareCall;

static int do_prepare(NbhConnection *c, void *ctx, NbError *err) {
  PrepareCall *a = ctx;
  return c->vt->dest_prepare(c->handle, a->name, a->schema, a->dest_stream, err);
}

int nbh_connection_prepare(NbhConnection *c, const char *stream_name,
                           const struct ArrowSchema *schema, uint32_t *dest_stream,
                           NbError *err) {
  PrepareCall a = {stream_name, schema, dest_stream};
  return call(c, "dest_prepare", do_prepare, &a, err);
}

typedef struct WriteCall {
  uint32_t dest_stream;
  const struct ArrowArray *batch;
} WriteCall;

static int do_write(NbhConnection *c, void *ctx, NbError *err) {
  WriteCall *a = ctx;
  return c->vt->dest_write(c->handle, a->dest_stream, a->batch, err);
}

int nbh_connection_write(NbhConnection *c, uint32_t dest_stream, const struct ArrowArray *batch,
                         NbError *err) {
  WriteCall a = {dest_stream, batch};
  return call(c, "dest_write", do_write, &a, err);
}

typedef struct CommitCall {
  const void **state;
  size_t *state_len;
} CommitCall;

static int do_commit(NbhConnection *c, void *ctx, NbError *err) {
  CommitCall *a = ctx;
  *a->state = NULL;
  *a->state_len = 0;
  return c->vt->dest_commit(c->handle, a->state, a->state_len, err);
}

int nbh_connection_commit(NbhConnection *c, const void **state, size_t *state_len,
                          NbError *err) {
  CommitCall a = {state, state_len};
  return call(c, "dest_commit", do_commit, &a, err);
}

static int do_finish(NbhConnection *c, void *ctx, NbError *err) {
  (void)ctx;
  return c->vt->dest_finish(c->handle, err);
}

/* A complete run: every object still open is completed (made visible);
 * the first failure fails the run, the others stay pending. */
static int complete_objects(NbhConnection *c, NbError *err) {
  for (ConnFile *f = c->objects; f != NULL; f = f->next_object) {
    int rc = nbh_file_finish_object(f->inner, err);
    if (rc != NB_OK) return rc;
  }
  return NB_OK;
}

int nbh_connection_finish(NbhConnection *c, NbError *err) {
  if (!NB_STRUCT_HAS(NbConnector, c->vt, dest_finish) || c->vt->dest_finish == NULL) {
    nb_error_init(err);
    return complete_objects(c, err);
  }
  int rc = call(c, "dest_finish", do_finish, NULL, err);
  if (rc == NB_OK) rc = complete_objects(c, err);
  return rc;
}

void nbh_connection_explain(const NbhConnection *c, const char *slot, int rc, NbError *err) {
  if (err->message != NULL) return;
  nb_error_set(err, rc, "%s connector \"%s\" failed in %s with %s", c->role, c->name, slot,
               nb_status_name(rc));
}

void nbh_connection_report(const NbhConnection *c, const char *slot, int rc, NbError *err) {
  nbh_connection_explain(c, slot, rc, err);
  nbh_log_report(c->logger, NB_LOG_ERROR, c->name,
                 err->message != NULL ? err->message : nb_status_name(rc), err->detail,
                 err->hint);
  nb_error_release(err);
}

void nbh_connection_close(NbhConnection *c) {
  void *handle = c->handle;
  c->handle = NULL;
  if (handle != NULL && strcmp(c->role, "source") == 0) c->vt->source_close(handle);
  /* A connection is for a source or a destination (nbh_connection_init). */
  else if (handle != NULL && NBH_ALWAYS(strcmp(c->role, "destination") == 0))
    c->vt->dest_close(handle);
  /* After the connector: it may compress its last pages while closing.
   * Also when it never opened (an open that failed may have used them). */
  nbh_block_contexts_release(&c->blocks);
}
