/*
 * failure.c - a run's failure.  The first failure is the cause and is logged;
 * the others are consequences, logged at debug level.  A failure of the
 * source only stops reading (what was read is still written and
 * committed); any other is fatal: both stages stop, nothing more commits.
 */
#include "engine_internal.h"

/* ------------------------------------------------------------------------
 * Failures
 * ------------------------------------------------------------------------ */

void eng_log_error(Engine *e, const char *component, const NbError *err) {
  nbh_log_report(e->logger, NB_LOG_ERROR, component,
                 err->message != NULL ? err->message : "unspecified error",
                 err->detail, err->hint);
}


/* Record the run's failure (the first one is the cause and is logged; the
 * others are consequences) and stop what it reaches. */
void eng_fail_run(Engine *e, int exit_code, Reach reach, const char *component,
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
    eng_log_error(e, component, err);
  else if (err->message != NULL)
    nbh_log(e->logger, NB_LOG_DEBUG, component, "also: %s", err->message);
  if (reach == SOURCE_ONLY) {
    atomic_store(&e->source_failed, 1);
    return;
  }
  atomic_store(&e->cancelled, 1);
  nbh_queue_abort(&e->queue);
}

void eng_fail_with(Engine *e, int exit_code, Reach reach, int code,
                      const char *detail, const char *hint, const char *fmt, ...) {
  NbError err;
  va_list ap;
  nb_error_init(&err);
  va_start(ap, fmt);
  nb_error_setv(&err, code, fmt, ap);
  va_end(ap);
  if (detail != NULL) nb_error_detail(&err, "%s", detail);
  if (hint != NULL) nb_error_hint(&err, "%s", hint);
  eng_fail_run(e, exit_code, reach, "engine", &err);
  nb_error_release(&err);
}

int eng_stopping(const Engine *e, const Side *side) {
  if (atomic_load(&e->cancelled)) return 1;
  return side == &e->source &&
         (atomic_load(&e->stop_reading) || atomic_load(&e->source_failed));
}

static Reach reach_of(const Engine *e, const Side *side) {
  return side == &e->source ? SOURCE_ONLY : FATAL;
}

/* A connector call returned rc with err.  NB_CANCELLED after a stop or a
 * failure elsewhere is expected and not an error of this stage. */
void eng_connector_failed(Engine *e, Side *side, const char *what, int rc,
                             NbError *err) {
  if (rc == NB_CANCELLED && eng_stopping(e, side)) return;
  nbh_log(e->logger, NB_LOG_DEBUG, "engine", "%s connector \"%s\": %s returned %s",
          side->role, side->conn.name, what, nb_status_name(rc));
  nbh_connection_explain(&side->conn, what, rc, err);
  eng_fail_run(e, NBH_EXIT_FAILED, reach_of(e, side), side->conn.name, err);
}
