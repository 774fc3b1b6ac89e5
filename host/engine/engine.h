/*
 * engine.h - the pipeline engine: one source thread, one destination
 * thread, a queue bounded in batches and bytes between them, commits and
 * the state file, bad-record policy, retries, cancellation, progress and
 * metrics.
 */
#ifndef NBH_ENGINE_H
#define NBH_ENGINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "nebula/abi.h"
#include "loader.h"
#include "log.h"

typedef enum NbhOnError {
  NBH_ON_ERROR_FAIL = 0,
  NBH_ON_ERROR_SKIP = 1,
  NBH_ON_ERROR_DEAD_LETTER = 2
} NbhOnError;

/* One side of a pipeline: a loaded connector and its validated settings
 * (borrowed; the engine does not keep them beyond the open call). */
typedef struct NbhEndpoint {
  const NbhPlugin *plugin;
  const NbSettings *settings;
} NbhEndpoint;

typedef struct NbhEngineOptions {
  uint64_t batch_rows;        /* default 4096 */
  uint64_t batch_bytes;       /* default 1 MiB */
  uint64_t buffer_bytes;      /* queue bound, default 64 MiB */
  uint32_t buffer_batches;    /* queue bound in batches, default 16 */
  uint64_t commit_rows;       /* commit after this many rows, 0 = never by rows */
  uint64_t commit_bytes;      /* ... bytes */
  double commit_seconds;      /* ... seconds, default 5 */
  const char *state_file;     /* NULL: no checkpoints */
  NbhOnError on_error;
  uint64_t max_errors;        /* 0 = unlimited for skip/dead_letter */
  const char *dead_letter_path; /* JSON Lines, required for dead_letter */
  uint32_t max_retries;       /* default 5 */
  double retry_deadline_seconds; /* default 300 */
  double stall_timeout_seconds;  /* 0 = no watchdog */
  uint64_t max_empty_batches; /* empty batches in a row that do not move
                                 the source forward before the run fails
                                 (a source spinning without progress),
                                 default 10000, 0 = no limit */
  bool progress;              /* live progress line on stderr */
  const char *metrics_addr;   /* "127.0.0.1:9108" or NULL */
  bool allow_config_change;   /* resume although the configuration's
                                 fingerprint differs (config_print.h) */
} NbhEngineOptions;

/* Defaults as documented above. */
void nbh_engine_options_init(NbhEngineOptions *options);

typedef struct NbhRunSummary {
  uint64_t records_read;
  uint64_t records_written;
  uint64_t records_rejected;
  uint64_t bytes_read;
  uint64_t batches;
  uint64_t commits;
  uint64_t retries;
  double seconds;
  uint64_t peak_rss_kib;      /* getrusage(RUSAGE_SELF) ru_maxrss at the end */
  uint64_t bytes_written;     /* batch bytes handed to the destination */
} NbhRunSummary;

/* Exit codes, as nebula-host(1) documents them. */
#define NBH_EXIT_OK 0
#define NBH_EXIT_FAILED 1
#define NBH_EXIT_USAGE 2
#define NBH_EXIT_SIGINT 130
#define NBH_EXIT_SIGTERM 143

/* Run the pipeline to the end.  stop_signal points at main()'s flag: the
 * signal handler stores the signal number there (SIGINT or SIGTERM) on the
 * first signal; the engine polls it, stops reading, drains, commits, writes
 * the state, and returns 130 or 143.  Returns one of the NBH_EXIT_ codes;
 * summary is filled in every case.
 *
 * Exit codes:
 *   0    every stream was copied (or the state file says they all were);
 *   1    the run failed (connector error, bad record with on_error = fail,
 *        too many bad records, retries used up, stalled stage).  When the
 *        source failed, what it read before the failure is still written
 *        and committed (a new run resumes right at the failure); when the
 *        destination failed or a call stalled, nothing more is committed.
 *        Either way the state file describes exactly what is durable.
 *        Also: the state file is locked by another run (run_guard.h; the
 *        same command succeeds later, so not a usage error), or a
 *        connector opened a file the run must not read or write
 *        (run_files.h);
 *   2    the run could not start: invalid engine options, a missing or
 *        read-only state directory, or a state file that is damaged, of
 *        another format or version, written by another pipeline, or with
 *        another configuration (config_print.h; unless
 *        allow_config_change) (never silently ignored);
 *   130, 143  stopped by SIGINT / SIGTERM after a final commit.
 *
 * State file: written after every destination commit (commit_rows,
 * commit_bytes, commit_seconds, and at the end), never before dest_commit
 * returned.  After a complete run it is kept, with every stream marked
 * finished, so running the same pipeline again copies nothing.  Delete it
 * to copy everything again.  On resume each unfinished stream gets
 * source_schema, then source_seek to its saved position, then dest_prepare.
 *
 * A broken stream (NB_DATA after the file layer reported corrupt or
 * truncated input, or twice in a row without the source moving) fails the
 * run whatever on_error says, after what was read before it is committed;
 * so do max_empty_batches empty batches in a row that do not move the
 * source.  Other bad records (NB_DATA from source_next) follow on_error; with
 * "dead_letter" each becomes a JSON Lines record in dead_letter_path,
 * appended in order with the batches and synced at each commit (its length
 * is saved in the state, so a resumed run never repeats one).  NB_DATA from
 * dest_write always fails the run: the batch may be partly written.
 *
 * Memory: at most buffer_batches batches (and about buffer_bytes bytes,
 * measured from the Arrow buffers) wait in the queue, plus the batch each
 * thread holds.  The engine fixes glibc's mmap threshold (mallopt) so that
 * freed batch buffers return to the system.
 *
 * Watchdog: when stall_timeout_seconds > 0 and one connector call lasts
 * longer, the run is cancelled (is_cancelled returns non-zero to both
 * connectors) and the error logged.  If the stuck call still has not
 * returned two seconds later, it cannot be interrupted safely and the
 * connector cannot be closed, so the engine writes the summary and ends the
 * process with _exit(1): the state file stays at the last commit. */
int nbh_engine_run(const NbhEndpoint *source, const NbhEndpoint *dest,
                   const NbhEngineOptions *options, NbhLogger *logger,
                   volatile sig_atomic_t *stop_signal, NbhRunSummary *summary);

#endif /* NBH_ENGINE_H */
