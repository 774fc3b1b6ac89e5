/*
 * run_guard.h - what must hold before a pipeline run opens anything, held
 * for the whole run:
 *
 *   - the state file's directory exists and is writable (the state is
 *     replaced by a temporary file and a rename at every commit: found out
 *     only then, output would already be written);
 *   - an exclusive lock on the state file: flock(2) on STATE.lock beside
 *     it, which holds the locking process's PID (for the message a second
 *     run gets).  The lock file is left in place, emptied, at the end: the
 *     lock is the flock, never the file's existence, so a crashed run
 *     leaves nothing to clean up;
 *   - the registry of the run's files (run_files.h) with the host's own
 *     files (state file, its temporary file and lock, dead-letter file),
 *     the destination's path pattern, and the source's files as soon as
 *     its streams are known.
 */
#ifndef NBH_RUN_GUARD_H
#define NBH_RUN_GUARD_H

#include <stddef.h>

#include "nebula/abi.h"
#include "run_files.h"

typedef struct NbhRunGuard NbhRunGuard;

/* Check and lock.  state_file and dead_letter_path may be NULL (none).
 * dest_settings: the destination's settings, whose "path" is the output
 * pattern (borrowed for the call).  On success *out owns the lock and the
 * registry.  Returns NB_OK; NB_INVALID (the state directory is missing or
 * not writable, or two of the host's files are the same file: exit code
 * 2); NB_UNAVAILABLE (another process holds the lock: err names its PID);
 * NB_IO, NB_NOMEM. */
int nbh_run_guard_start(const char *state_file, const char *dead_letter_path,
                        const NbSettings *dest_settings, NbhRunGuard **out, NbError *err);

/* The run's registry (owned by the guard). */
NbhRunFiles *nbh_run_guard_files(NbhRunGuard *guard);

/* Register the source's stream names that are its files: those equal to
 * its "path" setting or matching it as a glob pattern, when they exist.
 * NB_OK, NB_INVALID (an input is a host file), NB_NOMEM. */
int nbh_run_guard_add_inputs(NbhRunGuard *guard, const NbSettings *source_settings,
                             const char *const *names, size_t n_names, NbError *err);

/* Release the lock and free everything.  Accepts NULL. */
void nbh_run_guard_end(NbhRunGuard *guard);

#endif /* NBH_RUN_GUARD_H */
