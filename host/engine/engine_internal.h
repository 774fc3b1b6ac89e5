/*
 * engine_internal.h - what the files of the engine share (private to
 * host/engine): the run's state (Engine), its two stages (Side), the
 * streams, and the functions one file calls in another.
 *
 *   engine.c        lifecycle: options, set-up, run, tear-down, exit code
 *   failure.c       recording the run's failure and stopping what it reaches
 *   source_stage.c  the source thread: streams, batches, bad records
 *   dest_stage.c    the destination thread: writes, commits, state file
 *   commit_notice.c committed positions, for the source that asks
 *                   (committed_position)
 *   supervise.c     the calling thread: signals, watchdog, progress, summary
 */
#ifndef NBH_ENGINE_INTERNAL_H
#define NBH_ENGINE_INTERNAL_H

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
#include "invariant.h"
#include "io.h"
#include "metrics.h"
#include "nebula/sdk.h"
#include "progress.h"
#include "queue.h"
#include "report.h"
#include "retry.h"
#include "run_guard.h"
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
  uint64_t flags;             /* NbStreamInfo.flags (NB_STREAM_*) */
  NbhStreamState pending;     /* destination thread: state after what it
                                 wrote (name borrowed from `name`) */
  uint32_t dest_index;
  int prepared;
  /* The latest committed position, for the source that asks
   * (commit_notice.c; NULL: none this run; under Engine.lock). */
  uint8_t *committed;
  size_t committed_len;
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
  NbhRunGuard *guard;        /* state lock and the run's files (run_guard.h) */

  volatile sig_atomic_t no_signal;  /* stands in for a NULL stop_signal */
  atomic_int stop_reading;   /* graceful: the source stops, the rest drains */
  atomic_int dest_started;   /* the destination took the first item */
  atomic_int source_failed;  /* the source stops, the rest drains, exit 1 */
  atomic_int cancelled;      /* fatal: everything stops, nothing commits */
  int stop_signo;            /* supervisor only */

  pthread_mutex_t lock;      /* failure fields, the wake-up below and
                                StreamRun.committed */
  pthread_cond_t wake;       /* a stage finished */
  int failed;
  int exit_code;

  NbhState saved;            /* the state file read at start */
  int have_saved;
  NbhConfigPrint config;     /* this run's configuration fingerprint,
                                written into every state file */

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

/* How far a failure reaches.  A failure of the source only stops reading:
 * what was read before it is still written and committed, so the next run
 * resumes right there.  Anything else (the destination, a stuck call, the
 * state file) is fatal: both stages stop and nothing more is committed. */
typedef enum Reach { SOURCE_ONLY = 0, FATAL = 1 } Reach;

/* failure.c */
void eng_log_error(Engine *e, const char *component, const NbError *err);
/* Record the run's failure (the first is logged as the cause) and stop
 * what it reaches. */
void eng_fail_run(Engine *e, int exit_code, Reach reach, const char *component,
                  const NbError *err);
void eng_fail_with(Engine *e, int exit_code, Reach reach, int code, const char *detail,
                   const char *hint, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* Whether side must stop: the run was cancelled, or (the source) a stop
 * signal or a source failure. */
int eng_stopping(const Engine *e, const Side *side);
/* A connector call returned rc with err: fail the run as far as the side
 * reaches (NB_CANCELLED while stopping is not a failure). */
void eng_connector_failed(Engine *e, Side *side, const char *what, int rc, NbError *err);

/* engine.c: a stage's thread ended (wakes the supervisor). */
void eng_stage_done(Engine *e, Side *side);

/* source_stage.c */
void *eng_source_main(void *engine);
/* Push a marker item; returns 1, or 0 when the queue was aborted or out of
 * memory (the run failed). */
int eng_push_marker(Engine *e, NbhItemKind kind, uint32_t stream);

/* dest_stage.c */
void *eng_dest_main(void *engine);

/* commit_notice.c.  Destination thread, after a commit: post the position
 * of every stream the commit moved.  eng_committed_position is the source
 * connection's committed_position callback (owner: its Side). */
void eng_post_commit(Engine *e);
int eng_committed_position(void *owner, uint32_t index, void *buf, size_t cap, size_t *len);

/* supervise.c */
void eng_declare_metrics(NbhMetrics *m);
void eng_fill_summary(Engine *e, NbhRunSummary *s, uint64_t start_ns);
void eng_log_summary(NbhLogger *logger, const NbhRunSummary *s, int code);
/* Watch the stages until both are done (may end the process when a call
 * cannot be interrupted; see engine.h). */
void eng_supervise(Engine *e, NbhRunSummary *summary, uint64_t start_ns);

#endif /* NBH_ENGINE_INTERNAL_H */
