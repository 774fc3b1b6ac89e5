/*
 * run_guard.c - the state directory check, the state lock and the run's
 * file registry (see run_guard.h).
 */
#define _GNU_SOURCE
#include "run_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nebula/sdk.h"

/* How long a second run waits for the holder to write its PID into the
 * lock file it has just locked (it writes right after flock). */
#define PID_WAIT_TRIES 20
#define PID_WAIT_NS 5000000L

struct NbhRunGuard {
  NbhRunFiles *files;
  int lock_fd;          /* -1: no state file, no lock */
  char *lock_path;
};

static char *with_suffix(const char *path, const char *suffix) {
  char *out = NULL;
  if (asprintf(&out, "%s%s", path, suffix) < 0) return NULL;
  return out;
}

/* The state file's directory must exist and be writable before anything
 * is opened. */
static int check_state_directory(const char *state_file, NbError *err) {
  char *copy = strdup(state_file);
  if (copy == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  const char *dir = dirname(copy);
  struct stat st;
  int rc = NB_OK;
  if (stat(dir, &st) != 0) {
    int e = errno;
    nb_error_set(err, NB_INVALID, "the directory \"%s\" of state file \"%s\" %s", dir,
                 state_file, e == ENOENT ? "does not exist" : "cannot be inspected");
    if (e != ENOENT) nb_error_detail(err, "%s.", strerror(e));
    nb_error_hint(err, "Create the directory, or choose another state file.");
    rc = NB_INVALID;
  } else if (!S_ISDIR(st.st_mode)) {
    nb_error_set(err, NB_INVALID, "the directory \"%s\" of state file \"%s\" is not a "
                 "directory", dir, state_file);
    nb_error_hint(err, "Choose another state file.");
    rc = NB_INVALID;
  } else if (access(dir, W_OK | X_OK) != 0) {
    int e = errno;
    nb_error_set(err, NB_INVALID, "cannot write in the directory \"%s\" of state file \"%s\": "
                 "%s", dir, state_file, strerror(e));
    nb_error_detail(err, "The state file is replaced at every commit by writing a temporary "
                    "file beside it and renaming it, and its lock file is created there.");
    nb_error_hint(err, "Make the directory writable, or choose another state file.");
    rc = NB_INVALID;
  }
  free(copy);
  return rc;
}

/* The PID written in a lock file by its holder, or 0 when none is there
 * (yet). */
static long read_holder_pid(int fd) {
  for (int i = 0; i < PID_WAIT_TRIES; i++) {
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) {
      buf[n] = '\0';
      char *end = NULL;
      long pid = strtol(buf, &end, 10);
      if (end != buf && pid > 0 && (*end == '\n' || *end == '\0')) return pid;
    }
    struct timespec ts = {0, PID_WAIT_NS};
    nanosleep(&ts, NULL);
  }
  return 0;
}

static int lock_busy(NbhRunGuard *g, const char *state_file, NbError *err) {
  long pid = read_holder_pid(g->lock_fd);
  if (pid > 0)
    nb_error_set(err, NB_UNAVAILABLE, "state file \"%s\" is in use by another run "
                 "(PID %ld)", state_file, pid);
  else
    nb_error_set(err, NB_UNAVAILABLE, "state file \"%s\" is in use by another run "
                 "(its PID is not known)", state_file);
  nb_error_detail(err, "Its lock file \"%s\" is locked.  Two runs on one state file would "
                  "overwrite each other's output and checkpoints.", g->lock_path);
  nb_error_hint(err, "Wait for that run to end, or give this run a state file of its own.");
  return NB_UNAVAILABLE;
}

static int take_lock(NbhRunGuard *g, const char *state_file, NbError *err) {
  g->lock_path = with_suffix(state_file, ".lock");
  if (g->lock_path == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  g->lock_fd = open(g->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (g->lock_fd < 0) {
    int e = errno;
    nb_error_set(err, e == EACCES || e == EROFS ? NB_INVALID : NB_IO,
                 "could not open lock file \"%s\" of state file \"%s\": %s", g->lock_path,
                 state_file, strerror(e));
    nb_error_hint(err, "The lock file is created beside the state file: check its permissions.");
    return e == EACCES || e == EROFS ? NB_INVALID : NB_IO;
  }
  while (flock(g->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) {
      int rc = lock_busy(g, state_file, err);
      close(g->lock_fd);
      g->lock_fd = -1;
      return rc;
    }
    int e = errno;
    close(g->lock_fd);
    g->lock_fd = -1;
    return nb_error_set(err, NB_IO, "could not lock \"%s\": %s", g->lock_path, strerror(e));
  }
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  /* Informative only: a failure to write the PID does not stop the run. */
  if (ftruncate(g->lock_fd, 0) == 0 && pwrite(g->lock_fd, pid, (size_t)len, 0) != len &&
      ftruncate(g->lock_fd, 0) != 0) {
    /* nothing more to do: the PID is only for messages */
  }
  return NB_OK;
}

/* The host's own files, so that no connector opens them. */
static int register_host_files(NbhRunGuard *g, const char *state_file,
                               const char *dead_letter_path, NbError *err) {
  int rc = NB_OK;
  if (state_file != NULL) {
    char *tmp = with_suffix(state_file, ".tmp");
    if (tmp == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    rc = nbh_run_files_add_host(g->files, state_file, "the state file", err);
    if (rc == NB_OK)
      rc = nbh_run_files_add_host(g->files, tmp, "the state file's temporary file", err);
    if (rc == NB_OK)
      rc = nbh_run_files_add_host(g->files, g->lock_path, "the state file's lock file", err);
    free(tmp);
  }
  if (rc == NB_OK && dead_letter_path != NULL && strcmp(dead_letter_path, "-") != 0)
    rc = nbh_run_files_add_host(g->files, dead_letter_path, "the dead-letter file", err);
  return rc;
}

int nbh_run_guard_start(const char *state_file, const char *dead_letter_path,
                        const NbSettings *dest_settings, NbhRunGuard **out, NbError *err) {
  *out = NULL;
  NbhRunGuard *g = calloc(1, sizeof *g);
  if (g == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  g->lock_fd = -1;
  int rc = nbh_run_files_new(&g->files, err);
  if (rc == NB_OK && dest_settings != NULL)
    rc = nbh_run_files_set_output_pattern(g->files, nb_settings_find(dest_settings, "path"),
                                          err);
  if (rc == NB_OK && state_file != NULL) {
    rc = check_state_directory(state_file, err);
    if (rc == NB_OK) rc = take_lock(g, state_file, err);
  }
  if (rc == NB_OK) rc = register_host_files(g, state_file, dead_letter_path, err);
  if (rc != NB_OK) {
    nbh_run_guard_end(g);
    return rc;
  }
  *out = g;
  return NB_OK;
}

NbhRunFiles *nbh_run_guard_files(NbhRunGuard *guard) {
  return guard != NULL ? guard->files : NULL;
}

static int is_source_file(const char *pattern, const char *name) {
  if (strcmp(pattern, name) == 0) return 1;
  return strpbrk(pattern, "*?[") != NULL && fnmatch(pattern, name, FNM_PATHNAME) == 0;
}

int nbh_run_guard_add_inputs(NbhRunGuard *guard, const NbSettings *source_settings,
                             const char *const *names, size_t n_names, NbError *err) {
  const char *pattern = source_settings ? nb_settings_find(source_settings, "path") : NULL;
  if (guard == NULL || pattern == NULL) return NB_OK;
  for (size_t i = 0; i < n_names; i++) {
    if (names[i] == NULL || !is_source_file(pattern, names[i])) continue;
    int rc = nbh_run_files_add_input(guard->files, names[i], err);
    if (rc != NB_OK) return rc;
  }
  return NB_OK;
}

void nbh_run_guard_end(NbhRunGuard *guard) {
  if (guard == NULL) return;
  if (guard->lock_fd >= 0) {
    /* Emptied while still locked: a later reader never sees a stale PID. */
    if (ftruncate(guard->lock_fd, 0) != 0) {
      /* the lock is released by close() whatever the file holds */
    }
    close(guard->lock_fd);
  }
  nbh_run_files_free(guard->files);
  free(guard->lock_path);
  free(guard);
}
