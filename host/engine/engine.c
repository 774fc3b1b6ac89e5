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
#include "engine_internal.h"
#include "engine_options.h"

/* ------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------ */

static int invalid_option(NbhLogger *logger, const char *message) {
  nbh_log_report(logger, NB_LOG_ERROR, "engine", message, NULL, NULL);
  return NBH_EXIT_USAGE;
}

/* Whether ep is a loaded connector with capability cap and its open slot. */
static bool endpoint_can(const NbhEndpoint *ep, uint64_t cap) {
  if (ep == NULL || ep->plugin == NULL || !(ep->plugin->vtable.capabilities & cap)) return false;
  return cap == NB_CAP_SOURCE ? ep->plugin->vtable.source_open != NULL
                              : ep->plugin->vtable.dest_open != NULL;
}

static int cannot_be(NbhLogger *logger, const NbhEndpoint *ep, const char *role) {
  char message[256];
  snprintf(message, sizeof message, "connector \"%s\" cannot be %s",
           ep && ep->plugin && ep->plugin->vtable.name ? ep->plugin->vtable.name : "(none)", role);
  return invalid_option(logger, message);
}

/* The options' ranges come from their table (engine_options.h); what is
 * checked here besides is what no single option says. */
static int check_options(const NbhEndpoint *source, const NbhEndpoint *dest,
                         const NbhEngineOptions *o, NbhLogger *logger) {
  const char *bad = NULL;
  if (!nbh_engine_options_in_range(o, &bad)) {
    char expects[96], message[256];
    nbh_engine_setting_expects(nbh_engine_setting(bad), expects, sizeof expects);
    snprintf(message, sizeof message, "engine setting \"%s\" is out of range: it must be %s",
             bad, expects);
    return invalid_option(logger, message);
  }
  if (o->on_error == NBH_ON_ERROR_DEAD_LETTER && o->dead_letter_path == NULL)
    return invalid_option(
        logger, "engine setting \"dead_letter\" is required when on_error is \"dead_letter\"");
  if (!endpoint_can(source, NB_CAP_SOURCE)) return cannot_be(logger, source, "a source");
  if (!endpoint_can(dest, NB_CAP_DESTINATION)) return cannot_be(logger, dest, "a destination");
  return NBH_EXIT_OK;
}

/* ------------------------------------------------------------------------
 * The host API given to connectors
 * ------------------------------------------------------------------------ */

static int side_is_cancelled(void *owner) {
  Side *side = owner;
  return eng_stopping(side->engine, side);
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
  side->conn.storages = ep->plugin->storages;
  side->conn.is_cancelled = side_is_cancelled;
  side->conn.counter_add = side_counter_add;
  side->conn.on_retry = side_on_retry;
  side->conn.owner = side;
  side->conn.retry_policy = &e->retry_policy;
  nbh_rng_seed(&side->conn.rng, salt);
}

void eng_stage_done(Engine *e, Side *side) {
  pthread_mutex_lock(&e->lock);
  atomic_store(&side->done, 1);
  pthread_cond_broadcast(&e->wake);
  pthread_mutex_unlock(&e->lock);
}

/* ------------------------------------------------------------------------
 * Set-up and tear-down
 * ------------------------------------------------------------------------ */

/* Before anything is opened: the state directory, the state lock, the
 * host's files (run_guard.h); then every file a connector opens is checked
 * against the run's files.  A lock held by another run is exit 1 (try
 * again later); a missing or read-only directory is exit 2 (fix it). */
static int start_guard(Engine *e) {
  NbError err;
  const char *dead_letter =
      e->opt->on_error == NBH_ON_ERROR_DEAD_LETTER ? e->opt->dead_letter_path : NULL;
  nb_error_init(&err);
  int rc = nbh_run_guard_start(e->opt->state_file, dead_letter, e->dest_ep->settings,
                               &e->guard, &err);
  if (rc == NB_OK) {
    e->source.conn.files = nbh_run_guard_files(e->guard);
    e->dest.conn.files = nbh_run_guard_files(e->guard);
    return NBH_EXIT_OK;
  }
  eng_log_error(e, "engine", &err);
  nb_error_release(&err);
  return rc == NB_INVALID ? NBH_EXIT_USAGE : NBH_EXIT_FAILED;
}

/* This run's configuration fingerprint, with the saved state's salt when
 * there is one (so the hashes compare) or a new random one. */
static int make_config_print(Engine *e) {
  unsigned char salt[NBH_CONFIG_SALT_BYTES];
  NbError err;
  int rc = NB_OK;
  nb_error_init(&err);
  if (e->saved.config.present)
    memcpy(salt, e->saved.config.salt, sizeof salt);
  else
    rc = nbh_config_print_new_salt(salt, &err);
  if (rc == NB_OK)
    rc = nbh_config_print_make(&e->config, salt, e->source_ep, e->dest_ep, e->opt, &err);
  if (rc == NB_OK) return NBH_EXIT_OK;
  eng_log_error(e, "engine", &err);
  nb_error_release(&err);
  return NBH_EXIT_FAILED;
}

/* The configuration must be the one the state was written with, unless
 * the user allows a change; a state file of an earlier release has no
 * fingerprint and is resumed as before. */
static int check_saved_config(Engine *e, const char *path) {
  NbError err;
  if (!e->saved.config.present) {
    nbh_log(e->logger, NB_LOG_INFO, "engine",
            "state file \"%s\" has no configuration fingerprint (written by an earlier "
            "release): resuming without checking the settings",
            path);
    return NBH_EXIT_OK;
  }
  nb_error_init(&err);
  if (nbh_config_print_compare(&e->saved.config, &e->config, path, e->source.conn.name,
                               e->dest.conn.name, &err) == NB_OK)
    return NBH_EXIT_OK;
  if (e->opt->allow_config_change) {
    nbh_log_report(e->logger, NB_LOG_WARN, "engine", err.message, err.detail,
                   "Resuming anyway (--allow-config-change): the new settings apply from the "
                   "saved position on.");
    nb_error_release(&err);
    return NBH_EXIT_OK;
  }
  eng_log_error(e, "engine", &err);
  nb_error_release(&err);
  return NBH_EXIT_USAGE;
}

static int read_saved_state(Engine *e) {
  NbError err;
  int rc;
  const char *path = e->opt->state_file;

  if (path == NULL) return NBH_EXIT_OK;
  nb_error_init(&err);
  rc = nbh_state_read(path, &e->saved, &err);
  if (rc == NB_NOT_FOUND) {
    if (make_config_print(e) != NBH_EXIT_OK) return NBH_EXIT_FAILED;
    nbh_log(e->logger, NB_LOG_INFO, "engine",
            "no state file \"%s\": starting from the beginning", path);
    return NBH_EXIT_OK;
  }
  if (rc != NB_OK) {
    eng_log_error(e, "engine", &err);
    nb_error_release(&err);
    return rc == NB_INVALID ? NBH_EXIT_USAGE : NBH_EXIT_FAILED;
  }
  /* The connectors can be checked now; the streams once the source is
   * open. */
  if (strcmp(e->saved.source_connector, e->source.conn.name) != 0 ||
      strcmp(e->saved.dest_connector, e->dest.conn.name) != 0) {
    nbh_state_check_identity(&e->saved, path, e->source.conn.name,
                             e->dest.conn.name, NULL, 0, &err);
    eng_log_error(e, "engine", &err);
    nb_error_release(&err);
    return NBH_EXIT_USAGE;
  }
  int code = make_config_print(e);
  if (code == NBH_EXIT_OK) code = check_saved_config(e, path);
  if (code != NBH_EXIT_OK) return code;
  /* The files must still be what the state describes. */
  rc = nbh_state_check_files(&e->saved, path, &err);
  if (rc != NB_OK) {
    eng_log_error(e, "engine", &err);
    nb_error_release(&err);
    return rc == NB_INVALID ? NBH_EXIT_USAGE : NBH_EXIT_FAILED;
  }
  /* Objects of storage modules resume from their saved upload state. */
  if (e->dest.conn.files != NULL &&
      nbh_run_files_set_saved(e->dest.conn.files, e->saved.files, e->saved.n_files, &err) != NB_OK) {
    eng_log_error(e, "engine", &err);
    nb_error_release(&err);
    return NBH_EXIT_FAILED;
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
  e->source.conn.committed_position = eng_committed_position;

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
  eng_declare_metrics(e->metrics);
  return 0;
}

static void engine_free(Engine *e) {
  uint32_t i;
  if (e->metrics != NULL) nbh_metrics_free(e->metrics);
  nbh_queue_destroy(&e->queue);
  for (i = 0; i < e->n_streams; i++) {
    free(e->streams[i].name);
    free(e->streams[i].pending.position);
    free(e->streams[i].committed);
  }
  free(e->streams);
  free(e->commit_streams);
  free(e->dest_state);
  nbh_dead_letter_close(e->dead_letter);
  nbh_state_free(&e->saved);
  nbh_config_print_free(&e->config);
  nbh_run_guard_end(e->guard);
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
  rc = nbh_metrics_serve(e->metrics, e->opt->metrics_addr, e->logger, &port, &err);
  if (rc != NB_OK) {
    eng_log_error(e, "engine", &err);
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
    eng_fail_with(e, NBH_EXIT_FAILED, FATAL, NB_NOMEM, NULL, NULL,
              "could not start the %s thread: %s", side->role, strerror(rc));
    eng_stage_done(e, side);
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
  code = start_guard(e);
  if (code == NBH_EXIT_OK) code = read_saved_state(e);
  if (code == NBH_EXIT_OK) code = start_metrics(e);
  if (code != NBH_EXIT_OK) {
    engine_free(e);
    return code;
  }
  nbh_log(logger, NB_LOG_INFO, "engine", "pipeline: source \"%s\" -> destination \"%s\"",
          e->source.conn.name, e->dest.conn.name);

  if (start_thread(e, &e->dest, eng_dest_main)) start_thread(e, &e->source, eng_source_main);
  if (!e->source.started) eng_stage_done(e, &e->source);
  eng_supervise(e, summary, start_ns);
  if (e->source.started) pthread_join(e->source.thread, NULL);
  if (e->dest.started) pthread_join(e->dest.thread, NULL);

  nbh_connection_close(&e->source.conn);
  nbh_connection_close(&e->dest.conn);
  code = exit_code_of(e);
  eng_fill_summary(e, summary, start_ns);
  eng_log_summary(logger, summary, code);
  engine_free(e);
  return code;
}
