/*
 * source_stage.c - the source thread: opens the source, lists the streams (and
 * checks them against the state file), then reads each stream and pushes
 * schemas, batches, rejected records and stream ends into the queue.
 * Also the rules that no source can make the engine loop on (advance.h).
 */
#include "batch_check.h"
#include "engine_internal.h"

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

int eng_push_marker(Engine *e, NbhItemKind kind, uint32_t stream) {
  NbhItem *item = nbh_item_new(kind, stream);
  if (item == NULL) {
    eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
    return 0;
  }
  return push(e, item);
}

/* A position is a resume point the state file keeps (an offset, a key);
 * anything larger is a connector's bug, and copying it would only turn
 * that into an "out of memory". */
#define POSITION_MAX_BYTES (1u << 20)

/* 1 when the position info reports may be copied; else fails the run
 * and returns 0. */
static int position_fits(Engine *e, uint32_t stream, const NbBatchInfo *info) {
  if (info->position == NULL || info->position_len <= POSITION_MAX_BYTES) return 1;
  eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_INTERNAL,
                "A position is the small resume point kept in the state file.",
                "This is a bug in the connector; report it to its authors.",
                "source connector \"%s\" reported a position of %zu bytes for stream "
                "\"%s\"; positions are limited to %u bytes",
                e->source.conn.name, info->position_len, e->streams[stream].name,
                (unsigned)POSITION_MAX_BYTES);
  return 0;
}

/* Copy a position reported by the source into item. */
static int take_position(Engine *e, NbhItem *item, const NbBatchInfo *info) {
  if (info->position == NULL) return 1;
  if (!position_fits(e, item->stream, info)) return 0;
  item->position = malloc(info->position_len > 0 ? info->position_len : 1);
  if (item->position == NULL) {
    eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
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

/* A finished stream that the source reopens (NB_STREAM_REOPENS: an
 * incremental table) is read again from the position saved at its end; any
 * other finished stream (a file) is not read again.  The bit counts only for
 * a source that can seek: without NB_CAP_RESUMABLE the saved end position
 * could not be honoured and the stream would be re-read from the start. */
static int reopens_after_finish(const Engine *e, uint32_t index) {
  return (e->streams[index].flags & NB_STREAM_REOPENS) != 0 &&
         (e->source.conn.vt->capabilities & NB_CAP_RESUMABLE) != 0 &&
         e->source.conn.vt->source_seek != NULL;
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
      eng_fail_with(e, NBH_EXIT_USAGE, SOURCE_ONLY, NB_INVALID, detail,
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
    eng_connector_failed(e, &e->source, "source_stream_count", rc, &err);
    nb_error_release(&err);
    return 0;
  }
  e->streams = calloc(count > 0 ? count : 1, sizeof *e->streams);
  names = calloc(count > 0 ? count : 1, sizeof *names);
  if (e->streams == NULL || names == NULL) {
    free(names);
    eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
    return 0;
  }
  for (i = 0; i < count; i++) {
    NbStreamInfo info;
    rc = nbh_connection_stream_info(&e->source.conn, i, &info, &err);
    if (rc != NB_OK) {
      eng_connector_failed(e, &e->source, "source_stream_info", rc, &err);
      nb_error_release(&err);
      free(names);
      return 0;
    }
    e->streams[i].name = strdup(info.name != NULL ? info.name : "");
    if (e->streams[i].name == NULL) {
      free(names);
      eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
      return 0;
    }
    e->n_streams = i + 1;
    e->streams[i].size_bytes = info.size_bytes;
    if (NB_STRUCT_HAS(NbStreamInfo, &info, flags)) e->streams[i].flags = info.flags;
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
  /* Before the destination opens anything: the source's files. */
  nb_error_init(&err);
  rc = nbh_run_guard_add_inputs(e->guard, e->source_ep->settings, names, count, &err);
  if (rc != NB_OK) {
    free(names);
    eng_fail_run(e, rc == NB_INVALID ? NBH_EXIT_USAGE : NBH_EXIT_FAILED, SOURCE_ONLY, "engine",
                 &err);
    nb_error_release(&err);
    return 0;
  }

  if (e->have_saved) {
    rc = nbh_state_check_identity(&e->saved, e->opt->state_file,
                                  e->source.conn.name, e->dest.conn.name,
                                  names, count, &err);
    free(names);
    if (rc != NB_OK) {
      eng_fail_run(e, NBH_EXIT_USAGE, SOURCE_ONLY, "engine", &err);
      nb_error_release(&err);
      return 0;
    }
    if (!check_resumable(e)) return 0;
    for (i = 0; i < count; i++) {
      NbhStreamState *from = &e->saved.streams[i], *to = &e->streams[i].pending;
      to->finished = from->finished && !reopens_after_finish(e, i);
      if (from->finished && !to->finished)
        nbh_log(e->logger, NB_LOG_INFO, "engine",
                "stream \"%s\" finished in an earlier run and reopens: reading what "
                "was added after its saved position", e->streams[i].name);
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
    eng_connector_failed(e, &e->source, "source_open", rc, &err);
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
      eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_INTERNAL, NULL, NULL,
                "source connector \"%s\" returned no schema for stream \"%s\"",
                e->source.conn.name, e->streams[index].name);
    else
      eng_connector_failed(e, &e->source, "source_schema", rc, &err);
    if (c.schema.release != NULL) c.schema.release(&c.schema);
    nb_error_release(&err);
    return NULL;
  }
  ref = nbh_schema_ref_new(&c.schema);
  if (ref == NULL) {
    c.schema.release(&c.schema);
    eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
  }
  return ref;
}

static int push_schema(Engine *e, uint32_t index, NbhSchemaRef *schema) {
  NbhItem *item = nbh_item_new(NBH_ITEM_SCHEMA, index);
  if (item == NULL) {
    eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
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
    eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_INTERNAL, NULL, NULL,
              "source connector \"%s\" returned NB_OK without a batch in stream \"%s\"",
              e->source.conn.name, st->name);
    return 0;
  }
  {
    /* Nothing reads the batch before this check (issue 9, item 14). */
    char why[768];
    if (nbh_batch_check(&schema->schema, &c->array, why, sizeof why) != NB_OK) {
      eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_INVALID, NULL,
                    "This is a defect of the connector: report it to its authors.",
                    "source connector \"%s\" returned an invalid batch in stream \"%s\": %s",
                    e->source.conn.name, st->name, why);
      c->array.release(&c->array);
      return 0;
    }
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
    if (item == NULL) eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
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
    eng_fail_run(e, NBH_EXIT_FAILED, SOURCE_ONLY, e->source.conn.name, &copy);
    nb_error_release(&copy);
    return 0;
  }
  n = atomic_fetch_add(&e->rejected, 1) + 1;
  nbh_metrics_add(e->metrics, "nebula_records_rejected_total", st->labels_stream, 1);
  if (o->max_errors > 0 && n > o->max_errors) {
    char detail[1200];
    snprintf(detail, sizeof detail, "The last one: %s.", what);
    eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_DATA, detail,
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
    if (item == NULL) eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
    return 0;
  }
  if (o->on_error == NBH_ON_ERROR_DEAD_LETTER) {
    item->dead_letter = nbh_dead_letter_format(st->name, err, &item->dead_letter_len);
    if (item->dead_letter == NULL) {
      nbh_item_free(item);
      eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
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
  eng_fail_run(e, NBH_EXIT_FAILED, SOURCE_ONLY, e->source.conn.name, &copy);
  nb_error_release(&copy);
}

/* Note what source_next reported (rc is NB_OK or NB_DATA) and apply the
 * rules of advance.h.  Returns 1 to go on, 0 after failing the run. */
static int check_advance(Engine *e, uint32_t index, NbhAdvance *adv, int rc,
                         const NextCall *c, const NbError *err) {
  const NbhEngineOptions *o = e->opt;
  int moved;
  if (!position_fits(e, index, &c->info)) return 0;
  moved = nbh_advance_note(adv, c->info.position, c->info.position_len, c->info.bytes_read);
  if (moved < 0) {
    eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
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
  eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_INTERNAL,
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
  if (eng_stopping(e, &e->source)) return 0;
  schema = fetch_schema(e, index);
  if (schema == NULL) return 0;
  if (st->pending.position != NULL) {
    rc = nbh_connection_seek(&e->source.conn, index, st->pending.position,
                             st->pending.position_len, &err);
    if (rc != NB_OK) {
      eng_connector_failed(e, &e->source, "source_seek", rc, &err);
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
    eng_fail_with(e, NBH_EXIT_FAILED, SOURCE_ONLY, NB_NOMEM, NULL, NULL, "out of memory");
    nbh_schema_ref_put(schema);
    return 0;
  }
  for (;;) {
    if (eng_stopping(e, &e->source)) break;
    rc = nbh_connection_next(&e->source.conn, index, &c.array, &c.info, &err);
    if ((rc == NB_OK || rc == NB_DATA) && !check_advance(e, index, &adv, rc, &c, &err)) break;
    if (rc == NB_OK) {
      if (!push_batch(e, index, schema, &c, input_base)) break;
    } else if (rc == NB_END) {
      if (st->size_bytes > 0)
        atomic_store(&e->input_done, input_base + (uint64_t)st->size_bytes);
      ok = eng_push_marker(e, NBH_ITEM_STREAM_END, index);
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
      eng_connector_failed(e, &e->source, "source_next", rc, &err);
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


void *eng_source_main(void *arg) {
  Engine *e = arg;
  uint32_t i;
  int complete = 1, ended = 0;

  if (open_source(e) && eng_push_marker(e, NBH_ITEM_OPEN, 0)) {
    for (i = 0; complete && i < e->n_streams; i++) complete = read_stream(e, i);
    if (complete) atomic_store(&e->source_complete, 1);
    /* After a graceful stop too: the destination drains and commits. */
    if (!atomic_load(&e->cancelled)) ended = eng_push_marker(e, NBH_ITEM_INPUT_END, 0);
  }
  /* Stopped before the destination could be told to finish (a signal
   * during source_open): nothing to commit, let it go. */
  if (!ended) nbh_queue_abort(&e->queue);
  eng_stage_done(e, &e->source);
  return NULL;
}
