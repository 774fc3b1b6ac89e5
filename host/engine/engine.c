/*
 * engine.c - runs one pipeline: a source thread reads batches and pushes
 * them, with their positions, into a bounded queue; a destination thread
 * writes them, commits, and only then saves the state file; the calling
 * thread supervises (signals, watchdog, progress, metrics gauges).
 *
 * Who touches what:
 *   - the source thread owns the source handle and the stream list it
 *     builds before pushing NBH_ITEM_OPEN;
 *   - the destination thread owns the destination handle, the dead-letter
 *     file and every stream's pending state (positions of what it wrote),
 *     which it saves after each dest_commit;
 *   - the supervisor reads atomics only, and closes both handles after
 *     joining the threads.
 * Everything the destination must apply in order travels through the
 * queue, so a committed position always describes exactly what the
 * destination made durable.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "advance.h"
#include "arrow_bytes.h"
#include "clock.h"
#include "connection.h"
#include "deadletter.h"
#include "engine.h"
#include "io.h"
#include "metrics.h"
#include "nebula/sdk.h"
#include "progress.h"
#include "queue.h"
#include "report.h"
#include "retry.h"
#include "state.h"
#include "watchdog.h"

#define POLL_MS 100                      /* signals and watchdog */
#define STALL_GRACE_NS 2000000000ull     /* after cancelling a stuck call */
#define STOP_GRACE_NS 1000000000ull      /* a signal waits this long for the source */
#define MAX_LOGGED_REJECTS 10            /* then only the count */
#define MIB (1024ull * 1024ull)

typedef struct Engine Engine;

/* One stage: a connection (connector, handle, host API, heartbeat) with
 * its random generator for retries and its thread. */
typedef struct Side {
  Engine *engine;
  NbhConnection conn;
  const char *role;                    /* "source" or "destination" */
  atomic_int done;
  pthread_t thread;
  int started;
} Side;

typedef struct StreamRun {
  char *name;
  int64_t size_bytes;
  NbhStreamState pending;     /* destination thread: state after what it
                                 wrote (name borrowed from `name`) */
  uint32_t dest_index;
  int prepared;
  char labels_read[512];
  char labels_written[512];
  char labels_stream[512];
} StreamRun;

struct Engine {
  const NbhEndpoint *source_ep;
  const NbhEndpoint *dest_ep;
  const NbhEngineOptions *opt;
  NbhLogger *logger;
  volatile sig_atomic_t *stop_signal;
  NbhQueue queue;
  NbhMetrics *metrics;
  NbhRetryPolicy retry_policy;
  Side source;
  Side dest;

  volatile sig_atomic_t no_signal;  /* stands in for a NULL stop_signal */
  atomic_int stop_reading;   /* graceful: the source stops, the rest drains */
  atomic_int dest_started;   /* the destination took the first item */
  atomic_int source_failed;  /* the source stops, the rest drains, exit 1 */
  atomic_int cancelled;      /* fatal: everything stops, nothing commits */
  int stop_signo;            /* supervisor only */

  pthread_mutex_t lock;      /* failure fields and the wake-up below */
  pthread_cond_t wake;       /* a stage finished */
  int failed;
  int exit_code;

  NbhState saved;            /* the state file read at start */
  int have_saved;

  StreamRun *streams;        /* set by the source thread before OPEN */
  uint32_t n_streams;
  int64_t input_total;
  atomic_int streams_listed; /* the three fields above are set */
  atomic_int source_complete;

  _Atomic uint64_t records_read, records_written, rejected, bytes_read,
      bytes_written, batches, commits, retries, input_done;

  /* Destination thread only. */
  NbhDeadLetter *dead_letter;
  NbhStreamState *commit_streams;  /* scratch for the state file */
  void *dest_state;
  size_t dest_state_len;
  uint64_t last_commit_ns;
  uint64_t rows_since_commit;
  uint64_t bytes_since_commit;
  int dirty;
  uint64_t commits_this_run;
};

/* ------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------ */

void nbh_engine_options_init(NbhEngineOptions *o) {
  memset(o, 0, sizeof *o);
  /* Small batches win: a batch of ~4k rows (~0.5 MiB of taxi data) stays in
   * L2 between the source that builds it and the destination that reads
   * it, and its buffers stay below the mmap threshold.  Measured on 1M taxi
   * rows, csv -> json lines: 4096-row batches take 0.6x the wall time and
   * 0.4x the peak RSS of 65536-row batches (bench/RESULTS.md). */
  o->batch_rows = 4096;
  o->batch_bytes = 1 * MIB;
  o->buffer_bytes = 64 * MIB;
  o->buffer_batches = 16;
  o->commit_seconds = 5.0;
  o->on_error = NBH_ON_ERROR_FAIL;
  o->max_retries = 5;
  o->retry_deadline_seconds = 300.0;
  /* A source that spins calls source_next millions of times a second; one
   * that polls an idle input typically waits in the call.  Ten thousand
   * empty batches without moving is a spin, not a wait. */
  o->max_empty_batches = 10000;
}

static int invalid_option(NbhLogger *logger, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int invalid_option(NbhLogger *logger, const char *fmt, ...) {
  char message[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  nbh_log_report(logger, NB_LOG_ERROR, "engine", message, NULL, NULL);
  return NBH_EXIT_USAGE;
}

static int check_options(const NbhEndpoint *source, const NbhEndpoint *dest,
                         const NbhEngineOptions *o, NbhLogger *logger) {
  if (o->batch_rows == 0)
    return invalid_option(logger, "engine setting \"batch_rows\" must be greater than 0");
  if (o->batch_bytes == 0)
    return invalid_option(logger, "engine setting \"batch_bytes\" must be greater than 0");
  if (o->buffer_bytes == 0)
    return invalid_option(logger, "engine setting \"buffer_bytes\" must be greater than 0");
  if (o->buffer_batches == 0)
    return invalid_option(logger, "engine setting \"buffer_batches\" must be greater than 0");
  if (!(o->commit_seconds >= 0))
    return invalid_option(logger, "engine setting \"commit_interval\" must not be negative");
  if (!(o->retry_deadline_seconds >= 0))
    return invalid_option(logger, "engine setting \"retry_deadline\" must not be negative");
  if (!(o->stall_timeout_seconds >= 0))
    return invalid_option(logger, "engine setting \"stall_timeout\" must not be negative");
  if (o->on_error > NBH_ON_ERROR_DEAD_LETTER)
    return invalid_option(logger, "engine setting \"on_error\" has an unrecognized value");
  if (o->on_error == NBH_ON_ERROR_DEAD_LETTER &&
      (o->dead_letter_path == NULL || o->dead_letter_path[0] == '\0'))
    return invalid_option(logger,
                          "engine setting \"dead_letter\" is required when on_error is \"dead_letter\"");
  if (source == NULL || source->plugin == NULL ||
      !(source->plugin->vtable.capabilities & NB_CAP_SOURCE) ||
      source->plugin->vtable.source_open == NULL)
    return invalid_option(logger, "connector \"%s\" cannot be a source",
                          source && source->plugin && source->plugin->vtable.name
                              ? source->plugin->vtable.name
                              : "(none)");
  if (dest == NULL || dest->plugin == NULL ||
      !(dest->plugin->vtable.capabilities & NB_CAP_DESTINATION) ||
      dest->plugin->vtable.dest_open == NULL)
    return invalid_option(logger, "connector \"%s\" cannot be a destination",
                          dest && dest->plugin && dest->plugin->vtable.name
                              ? dest->plugin->vtable.name
                              : "(none)");
  return NBH_EXIT_OK;
}

/* ------------------------------------------------------------------------
 * Failures
 * ------------------------------------------------------------------------ */

static void log_error(Engine *e, const char *component, const NbError *err) {
  nbh_log_report(e->logger, NB_LOG_ERROR, component,
                 err->message != NULL ? err->message : "unspecified error",
                 err->detail, err->hint);
}

/* How far a failure reaches.  A failure of the source only stops reading:
 * what was read before it is still written and committed, so the next run
 * resumes right there.  Anything else (the destination, a stuck call, the
 * state file) is fatal: both stages stop and nothing more is committed. */
typedef enum Reach { SOURCE_ONLY = 0, FATAL = 1 } Reach;

/* Record the run's failure (the first one is the cause and is logged; the
 * others are consequences) and stop what it reaches. */
static void fail_run(Engine *e, int exit_code, Reach reach, const char *component,
                     const NbError *err) {
  int first;
  pthread_mutex_lock(&e->lock);
  first = !e->failed;
  if (first) {
    e->failed = 1;
    e->exit_code = exit_code;
  }
  pthread_mutex_unlock(&e->lock);
  if (first)
    log_error(e, component, err);
  else if (err->message != NULL)
    nbh_log(e->logger, NB_LOG_DEBUG, component, "also: %s", err->message);
  if (reach == SOURCE_ONLY) {
    atomic_store(&e->source_failed, 1);
    return;
  }
  atomic_store(&e->cancelled, 1);
  nbh_queue_abort(&e->queue);
}

static void fail_with(Engine *e, int exit_code, Reach reach, int code,
                      const char *detail, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void fail_with(Engine *e, int exit_code, Reach reach, int code,
                      const char *detail, const char *hint, const char *fmt, ...) {
  NbError err;
  va_list ap;
  nb_error_init(&err);
  va_start(ap, fmt);
  nb_error_setv(&err, code, fmt, ap);
  va_end(ap);
  if (detail != NULL) nb_error_detail(&err, "%s", detail);
  if (hint != NULL) nb_error_hint(&err, "%s", hint);
  fail_run(e, exit_code, reach, "engine", &err);
  nb_error_release(&err);
}

static int stopping(const Engine *e, const Side *side) {
  if (atomic_load(&e->cancelled)) return 1;
  return side == &e->source &&
         (atomic_load(&e->stop_reading) || atomic_load(&e->source_failed));
}

static Reach reach_of(const Engine *e, const Side *side) {
  return side == &e->source ? SOURCE_ONLY : FATAL;
}

/* A connector call returned rc with err.  NB_CANCELLED after a stop or a
 * failure elsewhere is expected and not an error of this stage. */
static void connector_failed(Engine *e, Side *side, const char *what, int rc,
                             NbError *err) {
  if (rc == NB_CANCELLED && stopping(e, side)) return;
  nbh_log(e->logger, NB_LOG_DEBUG, "engine", "%s connector \"%s\": %s returned %s",
          side->role, side->conn.name, what, nb_status_name(rc));
  nbh_connection_explain(&side->conn, what, rc, err);
  fail_run(e, NBH_EXIT_FAILED, reach_of(e, side), side->conn.name, err);
}

/* ------------------------------------------------------------------------
 * The host API given to connectors
 * ------------------------------------------------------------------------ */

static int side_is_cancelled(void *owner) {
  Side *side = owner;
  return stopping(side->engine, side);
}

static void side_counter_add(void *owner, const char *name, int64_t delta) {
  Side *side = owner;
  nbh_metrics_connector_add(side->engine->metrics, side->conn.name, side->role, name, delta);
}

static void side_on_retry(void *owner) {
  Side *side = owner;
  char labels[64];
  const char *pairs[2] = {"side", side->role};
  atomic_fetch_add(&side->engine->retries, 1);
  nbh_metrics_labels(labels, sizeof labels, pairs, 1);
  nbh_metrics_add(side->engine->metrics, "nebula_retries_total", labels, 1);
}

static void side_init(Engine *e, Side *side, const NbhEndpoint *ep,
                      const char *role, uint64_t salt) {
  side->engine = e;
  side->role = role;
  nbh_connection_init(&side->conn, &ep->plugin->vtable, role, e->logger);
  side->conn.is_cancelled = side_is_cancelled;
  side->conn.counter_add = side_counter_add;
  side->conn.on_retry = side_on_retry;
  side->conn.owner = side;
  side->conn.retry_policy = &e->retry_policy;
  nbh_rng_seed(&side->conn.rng, salt);
}

/* ------------------------------------------------------------------------
 * Source thread
 * ------------------------------------------------------------------------ */

/* What one source_next produced. */
typedef struct NextCall {
  struct ArrowArray array;
  NbBatchInfo info;
} NextCall;

static int push(Engine *e, NbhItem *item) {
  if (nbh_queue_push(&e->queue, item) == NBH_QUEUE_OK) return 1;
  nbh_item_free(item);
  return 0;
}

static int push_marker(Engine *e, NbhItemKind kind, uint32_t stream) {
  NbhItem *item = nbh_item_new(kind, stream);
  if (item == NULL) {
    fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
    return 0;
  }
  return push(e, item);
}

/* Copy a position reported by the source into item. */
static int take_position(Engine *e, NbhItem *item, const NbBatchInfo *info) {
  if (info->position == NULL) return 1;
  item->position = malloc(info->position_len > 0 ? info->position_len : 1);
  if (item->position == NULL) {
    fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
    return 0;
  }
  if (info->position_len > 0)
    memcpy(item->position, info->position, info->position_len);
  item->position_len = info->position_len;
  return 1;
}

static void label_stream(StreamRun *st) {
  const char *read_pairs[4] = {"stream", st->name, "direction", "read"};
  const char *written_pairs[4] = {"stream", st->name, "direction", "written"};
  nbh_metrics_labels(st->labels_read, sizeof st->labels_read, read_pairs, 2);
  nbh_metrics_labels(st->labels_written, sizeof st->labels_written,
                     written_pairs, 2);
  nbh_metrics_labels(st->labels_stream, sizeof st->labels_stream, read_pairs, 1);
}

static int check_resumable(Engine *e) {
  uint32_t i;
  for (i = 0; i < e->n_streams; i++) {
    const NbhStreamState *s = &e->saved.streams[i];
    if (s->finished || s->position == NULL) continue;
    if ((e->source.conn.vt->capabilities & NB_CAP_RESUMABLE) &&
        e->source.conn.vt->source_seek != NULL)
      continue;
    {
      char detail[512];
      snprintf(detail, sizeof detail,
               "The state file has a position in stream \"%s\", and the "
               "connector does not declare that it can resume.",
               s->name);
      fail_with(e, NBH_EXIT_USAGE, SOURCE_ONLY, NB_INVALID, detail,
                "Delete the state file to run the pipeline from the start.",
                "source connector \"%s\" cannot resume from state file \"%s\"",
                e->source.conn.name, e->opt->state_file);
    }
    return 0;
  }
  return 1;
}

/* The stream list, and the state each stream starts from. */
static int list_streams(Engine *e) {
  NbError err;
  uint32_t count = 0, i;
  const char **names;
  int rc;
  int64_t total = 0;

  rc = nbh_connection_stream_count(&e->source.conn, &count, &err);
  if (rc != NB_OK) {
    connector_failed(e, &e->source, "source_stream_count", rc, &err);
    nb_error_release(&err);
    return 0;
  }
  e->streams = calloc(count > 0 ? count : 1, sizeof *e->streams);
  names = calloc(count > 0 ? count : 1, sizeof *names);
  if (e->streams == NULL || names == NULL) {
    free(names);
    fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
    return 0;
  }
  for (i = 0; i < count; i++) {
    NbStreamInfo info;
    rc = nbh_connection_stream_info(&e->source.conn, i, &info, &err);
    if (rc != NB_OK) {
      connector_failed(e, &e->source, "source_stream_info", rc, &err);
      nb_error_release(&err);
      free(names);
      return 0;
    }
    e->streams[i].name = strdup(info.name != NULL ? info.name : "");
    if (e->streams[i].name == NULL) {
      free(names);
      fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
      return 0;
    }
    e->n_streams = i + 1;
    e->streams[i].size_bytes = info.size_bytes;
    e->streams[i].pending.name = e->streams[i].name;
    names[i] = e->streams[i].name;
    label_stream(&e->streams[i]);
    if (total >= 0 && info.size_bytes >= 0)
      total += info.size_bytes;
    else
      total = -1;
  }
  e->input_total = count > 0 ? total : -1;
  atomic_store(&e->streams_listed, 1);

  if (e->have_saved) {
    rc = nbh_state_check_identity(&e->saved, e->opt->state_file,
                                  e->source.conn.name, e->dest.conn.name,
                                  names, count, &err);
    free(names);
    if (rc != NB_OK) {
      fail_run(e, NBH_EXIT_USAGE, SOURCE_ONLY, "engine", &err);
      nb_error_release(&err);
      return 0;
    }
    if (!check_resumable(e)) return 0;
    for (i = 0; i < count; i++) {
      NbhStreamState *from = &e->saved.streams[i], *to = &e->streams[i].pending;
      to->finished = from->finished;
      to->records = from->records;
      to->rejected = from->rejected;
      to->position = from->position;       /* moved */
      to->position_len = from->position_len;
      from->position = NULL;
      if (to->finished && e->streams[i].size_bytes > 0)
        atomic_fetch_add(&e->input_done, (uint64_t)e->streams[i].size_bytes);
    }
  } else {
    free(names);
  }
  return 1;
}

static int open_source(Engine *e) {
  NbOpenArgs args;
  NbError err;
  int rc;

  nbh_open_args_init(&args, e->source_ep->settings, e->opt->batch_rows, e->opt->batch_bytes);
  rc = nbh_connection_source_open(&e->source.conn, &args, &err);
  if (rc != NB_OK) {
    connector_failed(e, &e->source, "source_open", rc, &err);
    nb_error_release(&err);
    return 0;
  }
  return list_streams(e);
}

static NbhSchemaRef *fetch_schema(Engine *e, uint32_t index) {
  struct {
    struct ArrowSchema schema;
  } c;
  NbError err;
  NbhSchemaRef *ref;
  int rc;

  memset(&c, 0, sizeof c);
  rc = nbh_connection_schema(&e->source.conn, index, &c.schema, &err);
  if (rc != NB_OK || c.schema.release == NULL) {
    if (rc == NB_OK)
      fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_INTERNAL, NULL, NULL,
                "source connector \"%s\" returned no schema for stream \"%s\"",
                e->source.conn.name, e->streams[index].name);
    else
      connector_failed(e, &e->source, "source_schema", rc, &err);
    if (c.schema.release != NULL) c.schema.release(&c.schema);
    nb_error_release(&err);
    return NULL;
  }
  ref = nbh_schema_ref_new(&c.schema);
  if (ref == NULL) {
    c.schema.release(&c.schema);
    fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
  }
  return ref;
}

static int push_schema(Engine *e, uint32_t index, NbhSchemaRef *schema) {
  NbhItem *item = nbh_item_new(NBH_ITEM_SCHEMA, index);
  if (item == NULL) {
    fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
    return 0;
  }
  item->schema = nbh_schema_ref_get(schema);
  item->bytes = 1;
  return push(e, item);
}

static int push_batch(Engine *e, uint32_t index, const NbhSchemaRef *schema,
                      NextCall *c, uint64_t input_base) {
  StreamRun *st = &e->streams[index];
  NbhItem *item;
  uint64_t rows, bytes;

  if (c->array.release == NULL) {
    fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_INTERNAL, NULL, NULL,
              "source connector \"%s\" returned NB_OK without a batch in stream \"%s\"",
              e->source.conn.name, st->name);
    return 0;
  }
  rows = c->array.length > 0 ? (uint64_t)c->array.length : 0;
  if (c->info.bytes_read >= 0)
    atomic_store(&e->input_done, input_base + (uint64_t)c->info.bytes_read);
  if (rows == 0 && c->info.position == NULL) {
    c->array.release(&c->array);
    return 1;
  }
  bytes = nbh_arrow_bytes(&schema->schema, &c->array);
  item = nbh_item_new(NBH_ITEM_BATCH, index);
  if (item == NULL || !take_position(e, item, &c->info)) {
    nbh_item_free(item);
    if (item == NULL) fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
    c->array.release(&c->array);
    return 0;
  }
  item->array = c->array;               /* moved */
  c->array.release = NULL;
  item->rows = rows;
  item->bytes = bytes + item->position_len + 1;
  item->stream_bytes_read = c->info.bytes_read;
  item->produced_ns = nbh_monotonic_ns();

  atomic_fetch_add(&e->records_read, rows);
  atomic_fetch_add(&e->bytes_read, bytes);
  atomic_fetch_add(&e->batches, 1);
  nbh_metrics_add(e->metrics, "nebula_records_total", st->labels_read, (double)rows);
  nbh_metrics_add(e->metrics, "nebula_bytes_total", st->labels_read, (double)bytes);
  return push(e, item);
}

static void describe_bad_record(char *buf, size_t cap, const char *stream,
                                const NbError *err) {
  const char *why = err->message != NULL ? err->message : "bad record";
  /* Our connectors already name file, line and column in the message;
   * others may only fill the fields.  Say the location once either way. */
  if (err->location != NULL && err->message != NULL && strstr(why, err->location) != NULL)
    snprintf(buf, cap, "bad record: %s", why);
  else if (err->location != NULL && err->line > 0 && err->column > 0)
    snprintf(buf, cap, "bad record in \"%s\", line %" PRId64 ", column %" PRId64 ": %s",
             err->location, err->line, err->column, why);
  else if (err->location != NULL && err->line > 0)
    snprintf(buf, cap, "bad record in \"%s\", line %" PRId64 ": %s",
             err->location, err->line, why);
  else if (err->location != NULL)
    snprintf(buf, cap, "bad record in \"%s\": %s", err->location, why);
  else
    snprintf(buf, cap, "bad record in stream \"%s\": %s", stream, why);
}

/* NB_DATA from source_next: apply on_error and max_errors. */
static int reject_record(Engine *e, uint32_t index, NextCall *c, NbError *err) {
  const NbhEngineOptions *o = e->opt;
  StreamRun *st = &e->streams[index];
  char what[1024];
  NbhItem *item;
  uint64_t n;

  describe_bad_record(what, sizeof what, st->name, err);
  if (o->on_error == NBH_ON_ERROR_FAIL) {
    NbError copy;
    nb_error_init(&copy);
    nb_error_set(&copy, NB_DATA, "%s", what);
    if (err->detail != NULL) nb_error_detail(&copy, "%s", err->detail);
    nb_error_hint(&copy, "%s",
                  err->hint != NULL
                      ? err->hint
                      : "Fix the record, or set the engine's on_error to \"skip\" or "
                        "\"dead_letter\" to go on without it.");
    fail_run(e, NBH_EXIT_FAILED, SOURCE_ONLY, e->source.conn.name, &copy);
    nb_error_release(&copy);
    return 0;
  }
  n = atomic_fetch_add(&e->rejected, 1) + 1;
  nbh_metrics_add(e->metrics, "nebula_records_rejected_total", st->labels_stream, 1);
  if (o->max_errors > 0 && n > o->max_errors) {
    char detail[1200];
    snprintf(detail, sizeof detail, "The last one: %s.", what);
    fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_DATA, detail,
              "Raise the engine's max_errors, or fix the input.",
              "too many bad records: more than max_errors = %" PRIu64, o->max_errors);
    return 0;
  }
  if (n <= MAX_LOGGED_REJECTS)
    nbh_log(e->logger, NB_LOG_WARN, "engine", "%s %s", what,
            o->on_error == NBH_ON_ERROR_SKIP ? "(skipped)" : "(sent to the dead-letter file)");
  if (n == MAX_LOGGED_REJECTS)
    nbh_log(e->logger, NB_LOG_WARN, "engine",
            "further bad records are counted but not logged one by one");

  item = nbh_item_new(NBH_ITEM_REJECT, index);
  if (item == NULL || !take_position(e, item, &c->info)) {
    nbh_item_free(item);
    if (item == NULL) fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
    return 0;
  }
  if (o->on_error == NBH_ON_ERROR_DEAD_LETTER) {
    item->dead_letter = nbh_dead_letter_format(st->name, err, &item->dead_letter_len);
    if (item->dead_letter == NULL) {
      nbh_item_free(item);
      fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
      return 0;
    }
  }
  item->bytes = item->position_len + item->dead_letter_len + 1;
  return push(e, item);
}

/* NB_DATA from source_next after the file layer reported corrupt or
 * truncated input, or a rejected record that leaves the source where it
 * was, twice in a row: the stream is broken, the source is not looking at
 * one bad record after another.  on_error cannot skip that; the stream ends
 * with the error, after what was read before it is written. */
static void stream_broken(Engine *e, uint32_t index, const NbError *err) {
  NbError copy;
  nb_error_init(&copy);
  nb_error_set(&copy, NB_DATA, "source connector \"%s\" cannot go on reading stream \"%s\": %s",
               e->source.conn.name, e->streams[index].name,
               err->message != NULL ? err->message : "bad data");
  nb_error_detail(&copy, "%s%sThe input is corrupt or truncated (the source cannot move past "
                  "it), which on_error cannot skip.  Records read before it are written and "
                  "committed.",
                  err->detail != NULL ? err->detail : "", err->detail != NULL ? "  " : "");
  nb_error_hint(&copy, "%s", err->hint != NULL ? err->hint : "Repair or replace the input.");
  fail_run(e, NBH_EXIT_FAILED, SOURCE_ONLY, e->source.conn.name, &copy);
  nb_error_release(&copy);
}

/* Note what source_next reported (rc is NB_OK or NB_DATA) and apply the
 * rules of advance.h.  Returns 1 to go on, 0 after failing the run. */
static int check_advance(Engine *e, uint32_t index, NbhAdvance *adv, int rc,
                         const NextCall *c, const NbError *err) {
  const NbhEngineOptions *o = e->opt;
  int moved = nbh_advance_note(adv, c->info.position, c->info.position_len,
                               c->info.bytes_read);
  if (moved < 0) {
    fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
    return 0;
  }
  if (rc == NB_DATA) {
    adv->idle = 0;
    adv->stuck = moved ? 0 : adv->stuck + 1;
    if (adv->stuck < 2 && !nbh_connection_input_broken(&e->source.conn)) return 1;
    stream_broken(e, index, err);
    return 0;
  }
  adv->stuck = 0;
  if (c->array.release != NULL && c->array.length > 0) {
    adv->idle = 0;
    return 1;
  }
  adv->idle = moved ? 0 : adv->idle + 1;
  if (o->max_empty_batches == 0 || adv->idle < o->max_empty_batches) return 1;
  fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_INTERNAL,
            "An empty batch that does not move the source's position or bytes_read is no "
            "progress; a source that returns nothing else never ends.",
            "Report the problem to the connector's author; the engine's max_empty_batches "
            "(0 for no limit) allows a source that polls an idle input.",
            "source connector \"%s\" made no progress in stream \"%s\": %" PRIu64
            " empty batches in a row without moving (max_empty_batches = %" PRIu64 ")",
            e->source.conn.name, e->streams[index].name, adv->idle, o->max_empty_batches);
  return 0;
}

/* Read one stream to its end.  Returns 1 when it ended (or was already
 * finished), 0 when the source stopped or failed. */
static int read_stream(Engine *e, uint32_t index) {
  StreamRun *st = &e->streams[index];
  NbhSchemaRef *schema;
  NextCall c;
  NbhAdvance adv;
  NbError err;
  uint64_t input_base = atomic_load(&e->input_done);
  int rc, ok = 0;

  nb_error_init(&err);
  if (st->pending.finished) {
    nbh_log(e->logger, NB_LOG_DEBUG, "engine",
            "stream \"%s\" is already finished according to the state file", st->name);
    return 1;
  }
  if (stopping(e, &e->source)) return 0;
  schema = fetch_schema(e, index);
  if (schema == NULL) return 0;
  if (st->pending.position != NULL) {
    rc = nbh_connection_seek(&e->source.conn, index, st->pending.position,
                             st->pending.position_len, &err);
    if (rc != NB_OK) {
      connector_failed(e, &e->source, "source_seek", rc, &err);
      nb_error_release(&err);
      nbh_schema_ref_put(schema);
      return 0;
    }
    nbh_log(e->logger, NB_LOG_INFO, "engine",
            "resuming stream \"%s\" after %" PRIu64 " committed records",
            st->name, st->pending.records);
  }
  if (!push_schema(e, index, schema)) {
    nbh_schema_ref_put(schema);
    return 0;
  }

  memset(&c, 0, sizeof c);
  nbh_connection_clear_input_broken(&e->source.conn);
  if (nbh_advance_init(&adv, st->pending.position, st->pending.position_len) != 0) {
    fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
    nbh_schema_ref_put(schema);
    return 0;
  }
  for (;;) {
    if (stopping(e, &e->source)) break;
    rc = nbh_connection_next(&e->source.conn, index, &c.array, &c.info, &err);
    if ((rc == NB_OK || rc == NB_DATA) && !check_advance(e, index, &adv, rc, &c, &err)) break;
    if (rc == NB_OK) {
      if (!push_batch(e, index, schema, &c, input_base)) break;
    } else if (rc == NB_END) {
      if (st->size_bytes > 0)
        atomic_store(&e->input_done, input_base + (uint64_t)st->size_bytes);
      ok = push_marker(e, NBH_ITEM_STREAM_END, index);
      break;
    } else if (rc == NB_SCHEMA_CHANGED) {
      NbhSchemaRef *changed = fetch_schema(e, index);
      if (changed == NULL) break;
      nbh_schema_ref_put(schema);
      schema = changed;
      if (!push_schema(e, index, schema)) break;
    } else if (rc == NB_DATA) {
      if (!reject_record(e, index, &c, &err)) break;
    } else {
      connector_failed(e, &e->source, "source_next", rc, &err);
      break;
    }
    nb_error_release(&err);
  }
  nb_error_release(&err);
  nbh_advance_free(&adv);
  if (c.array.release != NULL) c.array.release(&c.array);
  nbh_schema_ref_put(schema);
  return ok;
}

static void stage_done(Engine *e, Side *side) {
  pthread_mutex_lock(&e->lock);
  atomic_store(&side->done, 1);
  pthread_cond_broadcast(&e->wake);
  pthread_mutex_unlock(&e->lock);
}

static void *source_main(void *arg) {
  Engine *e = arg;
  uint32_t i;
  int complete = 1, ended = 0;

  if (open_source(e) && push_marker(e, NBH_ITEM_OPEN, 0)) {
    for (i = 0; complete && i < e->n_streams; i++) complete = read_stream(e, i);
    if (complete) atomic_store(&e->source_complete, 1);
    /* After a graceful stop too: the destination drains and commits. */
    if (!atomic_load(&e->cancelled)) ended = push_marker(e, NBH_ITEM_INPUT_END, 0);
  }
  /* Stopped before the destination could be told to finish (a signal
   * during source_open): nothing to commit, let it go. */
  if (!ended) nbh_queue_abort(&e->queue);
  stage_done(e, &e->source);
  return NULL;
}

/* ------------------------------------------------------------------------
 * Destination thread
 * ------------------------------------------------------------------------ */

static int open_destination(Engine *e) {
  NbOpenArgs args;
  NbError err;
  int rc;

  nbh_open_args_init(&args, e->dest_ep->settings, e->opt->batch_rows, e->opt->batch_bytes);
  if (e->have_saved && e->saved.dest_state != NULL) {
    args.state = e->saved.dest_state;
    args.state_len = e->saved.dest_state_len;
  }
  rc = nbh_connection_dest_open(&e->dest.conn, &args, &err);
  if (rc != NB_OK) {
    connector_failed(e, &e->dest, "dest_open", rc, &err);
    nb_error_release(&err);
    return 0;
  }
  if (e->opt->on_error == NBH_ON_ERROR_DEAD_LETTER) {
    int64_t resume = e->have_saved && e->saved.has_dead_letter
                         ? (int64_t)e->saved.dead_letter_length
                         : -1;
    nb_error_init(&err);
    rc = nbh_dead_letter_open(e->opt->dead_letter_path, resume, &e->dead_letter, &err);
    if (rc != NB_OK) {
      fail_run(e, NBH_EXIT_FAILED, FATAL, "engine", &err);
      nb_error_release(&err);
      return 0;
    }
  }
  e->commit_streams = calloc(e->n_streams > 0 ? e->n_streams : 1,
                             sizeof *e->commit_streams);
  if (e->commit_streams == NULL) {
    fail_with(e, NBH_EXIT_FAILED, FATAL, NB_NOMEM, NULL, NULL, "out of memory");
    return 0;
  }
  return 1;
}

static int save_state(Engine *e, uint64_t dead_letter_length) {
  NbhState state;
  NbError err;
  uint32_t i;
  int rc;

  memset(&state, 0, sizeof state);
  state.source_connector = (char *)e->source.conn.name;
  state.dest_connector = (char *)e->dest.conn.name;
  for (i = 0; i < e->n_streams; i++) e->commit_streams[i] = e->streams[i].pending;
  state.streams = e->commit_streams;
  state.n_streams = e->n_streams;
  state.dest_state = e->dest_state;
  state.dest_state_len = e->dest_state_len;
  state.has_dead_letter = e->dead_letter != NULL;
  state.dead_letter_length = dead_letter_length;
  state.committed_at = (int64_t)time(NULL);
  state.commits = e->saved.commits + e->commits_this_run;
  nb_error_init(&err);
  rc = nbh_state_write(e->opt->state_file, &state, &err);
  if (rc != NB_OK) {
    fail_run(e, NBH_EXIT_FAILED, FATAL, "engine", &err);
    nb_error_release(&err);
    return 0;
  }
  return 1;
}

/* Make everything written durable, then record it in the state file. */
static int commit(Engine *e) {
  struct {
    const void *state;
    size_t state_len;
  } c = {NULL, 0};
  NbError err;
  uint64_t dead_letter_length = 0;
  int rc;

  if (e->dead_letter != NULL) {
    nb_error_init(&err);
    if (nbh_dead_letter_sync(e->dead_letter, &dead_letter_length, &err) != NB_OK) {
      fail_run(e, NBH_EXIT_FAILED, FATAL, "engine", &err);
      nb_error_release(&err);
      return 0;
    }
  }
  rc = nbh_connection_commit(&e->dest.conn, &c.state, &c.state_len, &err);
  if (rc != NB_OK) {
    connector_failed(e, &e->dest, "dest_commit", rc, &err);
    nb_error_release(&err);
    return 0;
  }
  /* The blob is the connector's until its next call: copy it now. */
  free(e->dest_state);
  e->dest_state = NULL;
  e->dest_state_len = 0;
  if (c.state != NULL) {
    e->dest_state = malloc(c.state_len > 0 ? c.state_len : 1);
    if (e->dest_state == NULL) {
      fail_with(e, NBH_EXIT_FAILED, FATAL, NB_NOMEM, NULL, NULL, "out of memory");
      return 0;
    }
    if (c.state_len > 0) memcpy(e->dest_state, c.state, c.state_len);
    e->dest_state_len = c.state_len;
  }
  e->commits_this_run++;
  atomic_fetch_add(&e->commits, 1);
  if (e->opt->state_file != NULL && !save_state(e, dead_letter_length)) return 0;
  nbh_metrics_set(e->metrics, "nebula_last_commit_timestamp_seconds", "",
                  (double)nbh_wall_ns() / 1e9);
  nbh_metrics_add(e->metrics, "nebula_commits_total", "", 1);
  nbh_log(e->logger, NB_LOG_DEBUG, "engine",
          "commit %" PRIu64 ": %" PRIu64 " records since the previous one",
          e->commits_this_run, e->rows_since_commit);
  e->rows_since_commit = 0;
  e->bytes_since_commit = 0;
  e->dirty = 0;
  e->last_commit_ns = nbh_monotonic_ns();
  return 1;
}

static int commit_due(const Engine *e) {
  const NbhEngineOptions *o = e->opt;
  if (!e->dirty) return 0;
  if (o->commit_rows > 0 && e->rows_since_commit >= o->commit_rows) return 1;
  if (o->commit_bytes > 0 && e->bytes_since_commit >= o->commit_bytes) return 1;
  return o->commit_seconds > 0 &&
         nbh_monotonic_ns() - e->last_commit_ns >= (uint64_t)(o->commit_seconds * 1e9);
}

static void set_position(StreamRun *st, NbhItem *item) {
  if (item->position == NULL) return;
  free(st->pending.position);
  st->pending.position = item->position;     /* moved */
  st->pending.position_len = item->position_len;
  item->position = NULL;
}

static int apply_schema(Engine *e, NbhItem *item) {
  StreamRun *st = &e->streams[item->stream];
  uint32_t dest_index = 0;
  NbError err;
  int rc = nbh_connection_prepare(&e->dest.conn, st->name, &item->schema->schema, &dest_index,
                                  &err);
  if (rc != NB_OK) {
    connector_failed(e, &e->dest, "dest_prepare", rc, &err);
    nb_error_release(&err);
    return 0;
  }
  st->dest_index = dest_index;
  st->prepared = 1;
  return 1;
}

static int apply_batch(Engine *e, NbhItem *item) {
  StreamRun *st = &e->streams[item->stream];
  NbError err;
  int rc;

  if (!st->prepared) {
    fail_with(e, NBH_EXIT_FAILED, FATAL, NB_INTERNAL, NULL, NULL,
              "batch for stream \"%s\" before its schema", st->name);
    return 0;
  }
  rc = nbh_connection_write(&e->dest.conn, st->dest_index, &item->array, &err);
  if (rc == NB_DATA) {
    NbError copy;
    nb_error_init(&copy);
    nb_error_set(&copy, NB_DATA, "could not write record %" PRIu64 " of stream \"%s\": %s",
                 st->pending.records + (uint64_t)(err.line > 0 ? err.line : 1),
                 st->name, err.message != NULL ? err.message : nb_status_name(rc));
    if (err.detail != NULL) nb_error_detail(&copy, "%s", err.detail);
    nb_error_detail(&copy, "A value the destination cannot store stops the run whatever on_error says, because the batch may be partly written.");
    if (err.hint != NULL) nb_error_hint(&copy, "%s", err.hint);
    fail_run(e, NBH_EXIT_FAILED, FATAL, e->dest.conn.name, &copy);
    nb_error_release(&copy);
    nb_error_release(&err);
    return 0;
  }
  if (rc != NB_OK) {
    connector_failed(e, &e->dest, "dest_write", rc, &err);
    nb_error_release(&err);
    return 0;
  }
  item->array.release(&item->array);
  st->pending.records += item->rows;
  set_position(st, item);
  e->rows_since_commit += item->rows;
  e->bytes_since_commit += item->bytes;
  e->dirty = 1;
  atomic_fetch_add(&e->records_written, item->rows);
  atomic_fetch_add(&e->bytes_written, item->bytes);
  nbh_metrics_add(e->metrics, "nebula_records_total", st->labels_written, (double)item->rows);
  nbh_metrics_add(e->metrics, "nebula_bytes_total", st->labels_written, (double)item->bytes);
  nbh_metrics_observe(e->metrics, "nebula_batch_latency_seconds", "",
                      nbh_ns_to_seconds(nbh_monotonic_ns() - item->produced_ns));
  return 1;
}

static int apply_reject(Engine *e, NbhItem *item) {
  StreamRun *st = &e->streams[item->stream];
  if (item->dead_letter != NULL && e->dead_letter != NULL) {
    NbError err;
    nb_error_init(&err);
    if (nbh_dead_letter_append(e->dead_letter, item->dead_letter,
                               item->dead_letter_len, &err) != NB_OK) {
      fail_run(e, NBH_EXIT_FAILED, FATAL, "engine", &err);
      nb_error_release(&err);
      return 0;
    }
  }
  st->pending.rejected++;
  set_position(st, item);
  e->dirty = 1;
  return 1;
}

static int apply(Engine *e, NbhItem *item) {
  switch (item->kind) {
    case NBH_ITEM_SCHEMA: return apply_schema(e, item);
    case NBH_ITEM_BATCH: return apply_batch(e, item);
    case NBH_ITEM_REJECT: return apply_reject(e, item);
    case NBH_ITEM_STREAM_END:
      e->streams[item->stream].pending.finished = true;
      e->dirty = 1;
      nbh_log(e->logger, NB_LOG_INFO, "engine", "stream \"%s\" finished: %" PRIu64 " records",
              e->streams[item->stream].name, e->streams[item->stream].pending.records);
      return 1;
    case NBH_ITEM_OPEN:
    case NBH_ITEM_INPUT_END:
      return 1;
  }
  return 1;
}

static void *dest_main(void *arg) {
  Engine *e = arg;
  NbhItem *item = NULL;

  /* Nothing is opened before the source has checked the pipeline's
   * identity: a foreign state must never reach dest_open. */
  if (nbh_queue_pop(&e->queue, -1, &item) != NBH_QUEUE_OK) goto done;
  nbh_item_free(item);
  atomic_store(&e->dest_started, 1);
  if (!open_destination(e)) goto done;
  e->last_commit_ns = nbh_monotonic_ns();
  for (;;) {
    NbhQueueResult r = nbh_queue_pop(&e->queue, POLL_MS, &item);
    NbhItemKind kind;
    int ok;
    if (r == NBH_QUEUE_ABORTED) {
      nbh_log(e->logger, NB_LOG_DEBUG, "engine", "destination stops: the run was cancelled");
      break;
    }
    if (r == NBH_QUEUE_TIMEOUT) {
      if (commit_due(e) && !commit(e)) break;
      continue;
    }
    kind = item->kind;
    ok = apply(e, item);
    nbh_item_free(item);
    if (!ok) break;
    if (kind == NBH_ITEM_INPUT_END) {
      if (e->dirty || e->commits_this_run == 0) commit(e);
      break;
    }
    if (commit_due(e) && !commit(e)) break;
  }
done:
  stage_done(e, &e->dest);
  return NULL;
}

/* ------------------------------------------------------------------------
 * Supervisor
 * ------------------------------------------------------------------------ */

static void declare_metrics(NbhMetrics *m) {
  nbh_metrics_declare(m, "nebula_records_total", "Records read from the source and written to the destination.", NBH_METRIC_COUNTER);
  nbh_metrics_declare(m, "nebula_bytes_total", "Bytes of Arrow batches read and written.", NBH_METRIC_COUNTER);
  nbh_metrics_declare(m, "nebula_records_rejected_total", "Bad records skipped or sent to the dead-letter file.", NBH_METRIC_COUNTER);
  nbh_metrics_declare(m, "nebula_retries_total", "Connector calls retried after a transient failure.", NBH_METRIC_COUNTER);
  nbh_metrics_declare(m, "nebula_commits_total", "Destination commits followed by a state save.", NBH_METRIC_COUNTER);
  nbh_metrics_declare(m, "nebula_batch_latency_seconds", "Time from a batch leaving the source to its write returning.", NBH_METRIC_HISTOGRAM);
  nbh_metrics_declare(m, "nebula_queue_depth", "Batches waiting between the source and the destination.", NBH_METRIC_GAUGE);
  nbh_metrics_declare(m, "nebula_queue_bytes", "Bytes waiting between the source and the destination.", NBH_METRIC_GAUGE);
  nbh_metrics_declare(m, "nebula_last_commit_timestamp_seconds", "Unix time of the last durable commit.", NBH_METRIC_GAUGE);
}

static uint64_t peak_rss_kib(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return ru.ru_maxrss > 0 ? (uint64_t)ru.ru_maxrss : 0;
}

static void fill_summary(Engine *e, NbhRunSummary *s, uint64_t start_ns) {
  s->records_read = atomic_load(&e->records_read);
  s->records_written = atomic_load(&e->records_written);
  s->records_rejected = atomic_load(&e->rejected);
  s->bytes_read = atomic_load(&e->bytes_read);
  s->bytes_written = atomic_load(&e->bytes_written);
  s->batches = atomic_load(&e->batches);
  s->commits = atomic_load(&e->commits);
  s->retries = atomic_load(&e->retries);
  s->seconds = nbh_ns_to_seconds(nbh_monotonic_ns() - start_ns);
  s->peak_rss_kib = peak_rss_kib();
}

static void log_summary(NbhLogger *logger, const NbhRunSummary *s, int code) {
  const char *status = code == NBH_EXIT_OK ? "ok"
                       : code == NBH_EXIT_SIGINT || code == NBH_EXIT_SIGTERM
                           ? "interrupted"
                           : "failed";
  double rate = s->seconds > 0 ? (double)s->records_written / s->seconds : 0;
  nbh_log(logger, NB_LOG_INFO, "engine",
          "summary: status=%s records_read=%" PRIu64 " records_written=%" PRIu64
          " records_rejected=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f"
          " rate=%.0f retries=%" PRIu64 " commits=%" PRIu64 " peak_rss_kib=%" PRIu64,
          status, s->records_read, s->records_written, s->records_rejected,
          s->bytes_read, s->seconds, rate, s->retries, s->commits, s->peak_rss_kib);
}

static void update_gauges(Engine *e, NbhProgress *progress, uint64_t now) {
  size_t items;
  uint64_t bytes;
  NbhProgressSample sample;

  nbh_queue_depth(&e->queue, &items, &bytes);
  nbh_metrics_set(e->metrics, "nebula_queue_depth", "", (double)items);
  nbh_metrics_set(e->metrics, "nebula_queue_bytes", "", (double)bytes);
  sample.records = atomic_load(&e->records_written);
  sample.rejected = atomic_load(&e->rejected);
  sample.bytes = atomic_load(&e->bytes_written);
  sample.input_done = atomic_load(&e->input_done);
  sample.input_total = atomic_load(&e->streams_listed) ? e->input_total : -1;
  nbh_progress_update(progress, &sample, now);
}

static void notice_signal(Engine *e) {
  int signo = (int)*e->stop_signal;
  if (signo == 0 || atomic_load(&e->stop_reading)) return;
  e->stop_signo = signo;
  atomic_store(&e->stop_reading, 1);
  nbh_log(e->logger, NB_LOG_INFO, "engine",
          "received %s: stopping; records already read are written and committed",
          signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "a signal");
}

/* The watchdog: a connector call lasting longer than stall_timeout.  The
 * call's start is read before the clock, so that a call starting meanwhile
 * looks just begun (nbh_call_stalled also says so if it does not). */
static int stalled(Engine *e, Side *side) {
  uint64_t started = atomic_load(&side->conn.call_started_ns);
  uint64_t now = nbh_monotonic_ns();
  double limit = e->opt->stall_timeout_seconds;
  uint64_t elapsed;
  char hint[256];

  if (limit <= 0 || atomic_load(&side->done)) return 0;
  if (!nbh_call_stalled(started, now, (uint64_t)(limit * 1e9), &elapsed)) return 0;
  snprintf(hint, sizeof hint,
           "Raise the engine's stall_timeout (now %g s) if the %s is only slow.",
           limit, side->role);
  fail_with(e, NBH_EXIT_FAILED, FATAL, NB_UNAVAILABLE, NULL, hint,
            "%s connector \"%s\" made no progress for %.0f seconds in %s",
            side->role, side->conn.name, nbh_ns_to_seconds(elapsed),
            atomic_load(&side->conn.call_name));
  return 1;
}

static int both_done(Engine *e) {
  return atomic_load(&e->source.done) && atomic_load(&e->dest.done);
}

static void wait_a_moment(Engine *e, uint64_t ns) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(ns / 1000000000ull);
  ts.tv_nsec += (long)(ns % 1000000000ull);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&e->lock);
  if (!both_done(e)) pthread_cond_timedwait(&e->wake, &e->lock, &ts);
  pthread_mutex_unlock(&e->lock);
}

/* A stage stuck in a connector call after cancellation.  Closing the
 * connector or freeing what the call uses would be unsafe, and so would
 * returning to main(), which frees the logger the call may still use:
 * end the process here, leaving the state file at its last commit. */
static void abandon_stuck_run(Engine *e, NbhRunSummary *summary, uint64_t start_ns) {
  Side *stuck = !atomic_load(&e->source.done) ? &e->source : &e->dest;
  nbh_log(e->logger, NB_LOG_ERROR, "engine",
          "%s connector \"%s\" did not return from %s after cancellation; "
          "exiting without closing it (the state file keeps the last commit)",
          stuck->role, stuck->conn.name, atomic_load(&stuck->conn.call_name));
  fill_summary(e, summary, start_ns);
  log_summary(e->logger, summary, NBH_EXIT_FAILED);
  fflush(stderr);
  _exit(NBH_EXIT_FAILED);
}

/* After a stop signal the source is still blocked in a call (typically a
 * read from a pipe whose writer is idle: `sleep 100 | nebula-host ...`).
 * Stopping must not wait for input that may never come: end the input for
 * the destination, which commits what it has and writes the state; then
 * leave without touching the blocked source (see abandon_stuck_run). */
static void abandon_blocked_source(Engine *e, NbhRunSummary *summary, uint64_t start_ns) {
  int code = e->stop_signo == SIGINT ? NBH_EXIT_SIGINT
             : e->stop_signo == SIGTERM ? NBH_EXIT_SIGTERM
                                        : 128 + e->stop_signo;
  nbh_log(e->logger, NB_LOG_INFO, "engine",
          "source connector \"%s\" is still blocked in %s; exiting without closing it "
          "(the state file keeps the last commit)",
          e->source.conn.name, atomic_load(&e->source.conn.call_name));
  fill_summary(e, summary, start_ns);
  log_summary(e->logger, summary, code);
  fflush(stderr);
  _exit(code);
}

/* Called by the supervisor while a stop signal waits for the source.
 * Returns 1 when the input was ended for the destination. */
static int end_input_for_blocked_source(Engine *e, NbhRunSummary *summary, uint64_t start_ns) {
  if (!atomic_load(&e->dest_started)) abandon_blocked_source(e, summary, start_ns);
  return push_marker(e, NBH_ITEM_INPUT_END, 0);
}

static void supervise(Engine *e, NbhRunSummary *summary, uint64_t start_ns) {
  NbhProgress progress;
  uint64_t stall_seen_ns = 0, stop_seen_ns = 0;
  int input_ended = 0;

  nbh_progress_init(&progress, stderr, e->opt->progress, start_ns);
  while (!both_done(e)) {
    uint64_t now;
    wait_a_moment(e, (uint64_t)POLL_MS * 1000000ull);
    now = nbh_monotonic_ns();
    notice_signal(e);
    if (stall_seen_ns == 0 && (stalled(e, &e->source) || stalled(e, &e->dest)))
      stall_seen_ns = now;
    if (stall_seen_ns != 0 && !both_done(e) && now - stall_seen_ns > STALL_GRACE_NS) {
      nbh_progress_finish(&progress);
      abandon_stuck_run(e, summary, start_ns);
    }
    if (atomic_load(&e->stop_reading) && !atomic_load(&e->source.done)) {
      if (stop_seen_ns == 0) stop_seen_ns = now;
      if (!input_ended && now - stop_seen_ns > STOP_GRACE_NS &&
          atomic_load(&e->source.conn.call_started_ns) != 0) {
        nbh_progress_finish(&progress);
        input_ended = end_input_for_blocked_source(e, summary, start_ns);
      }
      if (input_ended && atomic_load(&e->dest.done)) abandon_blocked_source(e, summary, start_ns);
    }
    update_gauges(e, &progress, now);
  }
  nbh_progress_finish(&progress);
}

/* ------------------------------------------------------------------------
 * Set-up and tear-down
 * ------------------------------------------------------------------------ */

static int read_saved_state(Engine *e) {
  NbError err;
  int rc;
  const char *path = e->opt->state_file;

  if (path == NULL) return NBH_EXIT_OK;
  nb_error_init(&err);
  rc = nbh_state_read(path, &e->saved, &err);
  if (rc == NB_NOT_FOUND) {
    nbh_log(e->logger, NB_LOG_INFO, "engine",
            "no state file \"%s\": starting from the beginning", path);
    return NBH_EXIT_OK;
  }
  if (rc != NB_OK) {
    log_error(e, "engine", &err);
    nb_error_release(&err);
    return rc == NB_INVALID ? NBH_EXIT_USAGE : NBH_EXIT_FAILED;
  }
  /* The connectors can be checked now; the streams once the source is
   * open. */
  if (strcmp(e->saved.source_connector, e->source.conn.name) != 0 ||
      strcmp(e->saved.dest_connector, e->dest.conn.name) != 0) {
    nbh_state_check_identity(&e->saved, path, e->source.conn.name,
                             e->dest.conn.name, NULL, 0, &err);
    log_error(e, "engine", &err);
    nb_error_release(&err);
    return NBH_EXIT_USAGE;
  }
  e->have_saved = 1;
  nbh_log(e->logger, NB_LOG_INFO, "engine",
          "resuming from state file \"%s\" (commit %" PRIu64 ")", path, e->saved.commits);
  return NBH_EXIT_OK;
}

static int engine_init(Engine *e, const NbhEndpoint *source, const NbhEndpoint *dest,
                       const NbhEngineOptions *o, NbhLogger *logger,
                       volatile sig_atomic_t *stop_signal) {
  pthread_condattr_t attr;
  NbError err;

  e->source_ep = source;
  e->dest_ep = dest;
  e->opt = o;
  e->logger = logger;
  e->stop_signal = stop_signal;
  e->input_total = -1;
  e->retry_policy.max_retries = o->max_retries;
  e->retry_policy.deadline_seconds = o->retry_deadline_seconds;
  e->retry_policy.base_seconds = NBH_RETRY_BASE_SECONDS;
  e->retry_policy.cap_seconds = NBH_RETRY_CAP_SECONDS;
  side_init(e, &e->source, source, "source", 1);
  side_init(e, &e->dest, dest, "destination", 2);

  if (pthread_mutex_init(&e->lock, NULL) != 0) return -1;
  if (pthread_condattr_init(&attr) != 0) return -1;
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (pthread_cond_init(&e->wake, &attr) != 0) {
    pthread_condattr_destroy(&attr);
    return -1;
  }
  pthread_condattr_destroy(&attr);
  if (nbh_queue_init(&e->queue, o->buffer_batches, o->buffer_bytes) != 0) return -1;
  nb_error_init(&err);
  if (nbh_metrics_new(&e->metrics, &err) != NB_OK) {
    nb_error_release(&err);
    return -1;
  }
  declare_metrics(e->metrics);
  return 0;
}

static void engine_free(Engine *e) {
  uint32_t i;
  if (e->metrics != NULL) nbh_metrics_free(e->metrics);
  nbh_queue_destroy(&e->queue);
  for (i = 0; i < e->n_streams; i++) {
    free(e->streams[i].name);
    free(e->streams[i].pending.position);
  }
  free(e->streams);
  free(e->commit_streams);
  free(e->dest_state);
  nbh_dead_letter_close(e->dead_letter);
  nbh_state_free(&e->saved);
  pthread_cond_destroy(&e->wake);
  pthread_mutex_destroy(&e->lock);
  free(e);
}

static int start_metrics(Engine *e) {
  NbError err;
  uint16_t port = 0;
  int rc;
  if (e->opt->metrics_addr == NULL || e->opt->metrics_addr[0] == '\0')
    return NBH_EXIT_OK;
  nb_error_init(&err);
  rc = nbh_metrics_serve(e->metrics, e->opt->metrics_addr, &port, &err);
  if (rc != NB_OK) {
    log_error(e, "engine", &err);
    nb_error_release(&err);
    return rc == NB_INVALID ? NBH_EXIT_USAGE : NBH_EXIT_FAILED;
  }
  {
    /* With port 0 the system picked one: show the address to scrape. */
    const char *colon = strrchr(e->opt->metrics_addr, ':');
    int host_len = (int)(colon - e->opt->metrics_addr);
    nbh_log(e->logger, NB_LOG_INFO, "engine", "serving metrics at http://%.*s:%u/metrics",
            host_len, e->opt->metrics_addr, (unsigned)port);
  }
  return NBH_EXIT_OK;
}

static int start_thread(Engine *e, Side *side, void *(*fn)(void *)) {
  int rc = pthread_create(&side->thread, NULL, fn, e);
  if (rc != 0) {
    fail_with(e, NBH_EXIT_FAILED, FATAL, NB_NOMEM, NULL, NULL,
              "could not start the %s thread: %s", side->role, strerror(rc));
    stage_done(e, side);
    return 0;
  }
  side->started = 1;
  return 1;
}

static int exit_code_of(Engine *e) {
  if (e->failed) return e->exit_code;
  if (e->stop_signo != 0 && !atomic_load(&e->source_complete))
    return e->stop_signo == SIGINT ? NBH_EXIT_SIGINT
           : e->stop_signo == SIGTERM ? NBH_EXIT_SIGTERM
                                      : 128 + e->stop_signo;
  return NBH_EXIT_OK;
}

/* Batches are allocated by the source thread and freed by the destination
 * thread, megabytes at a time.  glibc raises its mmap threshold to the size
 * of such a freed block, after which batch buffers come from the heap
 * arenas, where freed space fragments and is not returned: peak RSS then
 * grows with the input (measured: 99 MiB for 1M generated rows, 185 MiB
 * for 10M).  A fixed threshold keeps large buffers in their own mappings,
 * returned to the system when freed, and memory flat. */
static void keep_large_buffers_mapped(void) {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

int nbh_engine_run(const NbhEndpoint *source, const NbhEndpoint *dest,
                   const NbhEngineOptions *options, NbhLogger *logger,
                   volatile sig_atomic_t *stop_signal, NbhRunSummary *summary) {
  uint64_t start_ns = nbh_monotonic_ns();
  Engine *e;
  int code;

  memset(summary, 0, sizeof *summary);
  code = check_options(source, dest, options, logger);
  if (code != NBH_EXIT_OK) return code;
  keep_large_buffers_mapped();
  e = calloc(1, sizeof *e);
  if (e == NULL || engine_init(e, source, dest, options, logger,
                               stop_signal != NULL ? stop_signal : &e->no_signal) != 0) {
    nbh_log(logger, NB_LOG_ERROR, "engine", "out of memory starting the pipeline");
    if (e != NULL) engine_free(e);
    return NBH_EXIT_FAILED;
  }
  code = read_saved_state(e);
  if (code == NBH_EXIT_OK) code = start_metrics(e);
  if (code != NBH_EXIT_OK) {
    engine_free(e);
    return code;
  }
  nbh_log(logger, NB_LOG_INFO, "engine", "pipeline: source \"%s\" -> destination \"%s\"",
          e->source.conn.name, e->dest.conn.name);

  if (start_thread(e, &e->dest, dest_main)) start_thread(e, &e->source, source_main);
  if (!e->source.started) stage_done(e, &e->source);
  supervise(e, summary, start_ns);
  if (e->source.started) pthread_join(e->source.thread, NULL);
  if (e->dest.started) pthread_join(e->dest.thread, NULL);

  nbh_connection_close(&e->source.conn);
  nbh_connection_close(&e->dest.conn);
  code = exit_code_of(e);
  fill_summary(e, summary, start_ns);
  log_summary(logger, summary, code);
  engine_free(e);
  return code;
}
