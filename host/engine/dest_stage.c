/*
 * dest_stage.c - the destination thread: opens the destination once the source
 * has checked the pipeline's identity, applies the queue's items in order,
 * commits (dest_commit, then the state file, never the other way round).
 */
#include "engine_internal.h"

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
    eng_connector_failed(e, &e->dest, "dest_open", rc, &err);
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
      eng_fail_run(e, NBH_EXIT_FAILED, FATAL, "engine", &err);
      nb_error_release(&err);
      return 0;
    }
  }
  e->commit_streams = calloc(e->n_streams > 0 ? e->n_streams : 1,
                             sizeof *e->commit_streams);
  if (e->commit_streams == NULL) {
    eng_fail_with(e, NBH_EXIT_FAILED, FATAL, NB_NOMEM, NULL, NULL, "out of memory");
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
  state.config = e->config;   /* borrowed, not freed here */
  nb_error_init(&err);
  /* Fingerprints of the files, for the next run to check (run_files.h). */
  rc = nbh_run_files_marks(nbh_run_guard_files(e->guard), &state.files, &state.n_files, &err);
  if (rc == NB_OK)
    rc = nbh_file_marks_merge(&state.files, &state.n_files, e->saved.files, e->saved.n_files,
                              &err);
  if (rc == NB_OK) rc = nbh_state_write(e->opt->state_file, &state, &err);
  nbh_file_marks_free(state.files, state.n_files);
  if (rc != NB_OK) {
    eng_fail_run(e, NBH_EXIT_FAILED, FATAL, "engine", &err);
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
      eng_fail_run(e, NBH_EXIT_FAILED, FATAL, "engine", &err);
      nb_error_release(&err);
      return 0;
    }
  }
  rc = nbh_connection_commit(&e->dest.conn, &c.state, &c.state_len, &err);
  if (rc != NB_OK) {
    eng_connector_failed(e, &e->dest, "dest_commit", rc, &err);
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
      eng_fail_with(e, NBH_EXIT_FAILED, FATAL, NB_NOMEM, NULL, NULL, "out of memory");
      return 0;
    }
    if (c.state_len > 0) memcpy(e->dest_state, c.state, c.state_len);
    e->dest_state_len = c.state_len;
  }
  e->commits_this_run++;
  atomic_fetch_add(&e->commits, 1);
  if (e->opt->state_file != NULL && !save_state(e, dead_letter_length)) return 0;
  eng_post_commit(e);  /* durable now: the source may release it */
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
    eng_connector_failed(e, &e->dest, "dest_prepare", rc, &err);
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

  /* The source pushes a stream's schema before its first batch. */
  if (NBH_NEVER(!st->prepared)) {
    eng_fail_with(e, NBH_EXIT_FAILED, FATAL, NB_INTERNAL, NULL, NULL,
                  "batch for stream \"%s\" before its schema", st->name);
    return 0;
  }
  rc = nbh_connection_write(&e->dest.conn, st->dest_index, &item->array, &err);
  if (rc == NB_DATA) {
    NbError copy;
    /* err.line is the connector's word: a line outside the batch names no
     * record, and must not be turned into one. */
    bool in_batch = err.line > 0 && item->array.length > 0 &&
                    (uint64_t)err.line <= (uint64_t)item->array.length;
    nb_error_init(&copy);
    if (in_batch)
      nb_error_set(&copy, NB_DATA, "could not write record %" PRIu64 " of stream \"%s\": %s",
                   st->pending.records + (uint64_t)err.line, st->name,
                   err.message != NULL ? err.message : nb_status_name(rc));
    else
      nb_error_set(&copy, NB_DATA,
                   "could not write a record of stream \"%s\" (in the batch of %" PRId64
                   " records after record %" PRIu64 "%s): %s",
                   st->name, (int64_t)item->array.length, st->pending.records,
                   err.line != 0 ? ", the destination named a record outside it" : "",
                   err.message != NULL ? err.message : nb_status_name(rc));
    if (err.detail != NULL) nb_error_detail(&copy, "%s", err.detail);
    nb_error_detail(&copy, "A value the destination cannot store stops the run whatever on_error says, because the batch may be partly written.");
    if (err.hint != NULL) nb_error_hint(&copy, "%s", err.hint);
    eng_fail_run(e, NBH_EXIT_FAILED, FATAL, e->dest.conn.name, &copy);
    nb_error_release(&copy);
    nb_error_release(&err);
    return 0;
  }
  if (rc != NB_OK) {
    eng_connector_failed(e, &e->dest, "dest_write", rc, &err);
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
      eng_fail_run(e, NBH_EXIT_FAILED, FATAL, "engine", &err);
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
  /* Items about a stream come from the source's own stream list. */
  if (NBH_NEVER(item->kind != NBH_ITEM_OPEN && item->kind != NBH_ITEM_INPUT_END &&
                item->stream >= e->n_streams)) {
    eng_fail_with(e, NBH_EXIT_FAILED, FATAL, NB_INTERNAL, NULL, NULL,
                  "queue item for stream %" PRIu32 " of %" PRIu32, item->stream, e->n_streams);
    return 0;
  }
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
  /* Every kind is handled above. */
  return !NBH_NEVER(1);
}

/* After the last commit of a complete run: let the destination end its
 * output (dest_finish).  Not after a stop signal or a failure: the output
 * stays open for the run that resumes it. */
static void finish(Engine *e) {
  NbError err;
  int rc;
  if (!atomic_load(&e->source_complete) || atomic_load(&e->source_failed) ||
      atomic_load(&e->cancelled))
    return;
  rc = nbh_connection_finish(&e->dest.conn, &err);
  if (rc != NB_OK) eng_connector_failed(e, &e->dest, "dest_finish", rc, &err);
  nb_error_release(&err);
}

void *eng_dest_main(void *arg) {
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
      if ((e->dirty || e->commits_this_run == 0) && !commit(e)) break;
      finish(e);
      break;
    }
    if (commit_due(e) && !commit(e)) break;
  }
done:
  eng_stage_done(e, &e->dest);
  return NULL;
}
