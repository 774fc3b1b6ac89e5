/*
 * run_files.c - the registry of a run's files and the checks the file
 * layer makes against it (see run_files.h).
 *
 * Entries are never removed during a run: an output closed early is still
 * an output (a second stream opening it again would truncate the first
 * one's records), an input read to its end is still an input.
 */
#define _GNU_SOURCE
#include "run_files.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdatomic.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nebula/sdk.h"

#define PLACEHOLDER "{stream}"
#define PLACEHOLDER_LEN (sizeof PLACEHOLDER - 1)

enum Role { ROLE_INPUT, ROLE_OUTPUT, ROLE_HOST };

/* What makes two names the same file.  A file that does not exist has only
 * a resolved path; "-" (standard input or output) has only an inode, when
 * it is a regular file. */
typedef struct FileId {
  char *resolved;     /* absolute, directory part resolved; NULL: unknown */
  bool has_inode;
  dev_t dev;
  ino_t ino;
  bool special;       /* exists and is not a regular file: never in conflict */
} FileId;

typedef struct NbhRunFile {
  enum Role role;
  char *path;         /* as given */
  char *what;         /* ROLE_HOST: "the state file", ... */
  FileId id;
  /* Input: on-disk bytes read; output: durable length (0: never
   * committed).  Written by the thread using the file, read at commits. */
  _Atomic uint64_t progress;
  bool marked;        /* `mark` holds the fingerprint at mark.length */
  NbhFileMark mark;   /* its path borrowed from `path` */
  bool object;        /* an object of a storage module (no inode) */
  char *blob;         /* object: the blob of its last commit, owned;
                         guarded by *mu */
  pthread_mutex_t *mu; /* the registry's */
} Entry;

struct NbhRunFiles {
  pthread_mutex_t mu;
  Entry **entries;
  size_t n_entries;
  size_t cap_entries;
  char *pattern;      /* the destination's path setting, or NULL */
  NbhFileMark *saved; /* the marks of the state a resumed run read */
  size_t n_saved;
};

/* ------------------------------------------------------------------------
 * Identities
 * ------------------------------------------------------------------------ */

static char *join_path(const char *dir, const char *base) {
  char *out = NULL;
  const char *sep = strcmp(dir, "/") == 0 ? "" : "/";
  if (asprintf(&out, "%s%s%s", dir, sep, base) < 0) return NULL;
  return out;
}

/* path made absolute with its directory part resolved by realpath(3); the
 * whole of it when it exists.  When even the directory does not exist,
 * the path is only made absolute: the open will fail anyway. */
static char *resolve_path(const char *path) {
  char *full = realpath(path, NULL);
  if (full != NULL) return full;
  char *dcopy = strdup(path), *bcopy = strdup(path), *out = NULL;
  if (dcopy == NULL || bcopy == NULL) goto done;
  char *dir = realpath(dirname(dcopy), NULL);
  if (dir != NULL) {
    out = join_path(dir, basename(bcopy));
    free(dir);
  } else if (path[0] == '/') {
    out = strdup(path);
  } else {
    char *cwd = getcwd(NULL, 0);
    if (cwd != NULL) out = join_path(cwd, path);
    free(cwd);
  }
done:
  free(dcopy);
  free(bcopy);
  return out;
}

static void id_release(FileId *id) {
  free(id->resolved);
  memset(id, 0, sizeof *id);
}

static void id_set_stat(FileId *id, const struct stat *st) {
  if (!S_ISREG(st->st_mode)) {
    id->special = true;
    return;
  }
  id->has_inode = true;
  id->dev = st->st_dev;
  id->ino = st->st_ino;
}

/* The identity of path from its name (it need not exist).  NB_OK or
 * NB_NOMEM. */
static int id_from_path(const char *path, FileId *id, NbError *err) {
  struct stat st;
  memset(id, 0, sizeof *id);
  if (strcmp(path, "-") == 0) return NB_OK;
  if (stat(path, &st) == 0) id_set_stat(id, &st);
  if (id->special) return NB_OK;
  id->resolved = resolve_path(path);
  if (id->resolved == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  return NB_OK;
}

/* The identity of an open descriptor (st) named path. */
static int id_from_stat(const char *path, const struct stat *st, FileId *id, NbError *err) {
  memset(id, 0, sizeof *id);
  id_set_stat(id, st);
  if (id->special || strcmp(path, "-") == 0) return NB_OK;
  id->resolved = resolve_path(path);
  if (id->resolved == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  return NB_OK;
}

/* Same file: same inode, or same resolved name (the name of a registered
 * file may now point at a new inode, e.g. the state file after a rename). */
static bool same_file(const FileId *a, const FileId *b) {
  if (a->special || b->special) return false;
  if (a->has_inode && b->has_inode && a->dev == b->dev && a->ino == b->ino) return true;
  return a->resolved != NULL && b->resolved != NULL && strcmp(a->resolved, b->resolved) == 0;
}

static const char *how_same(const FileId *a, const FileId *b) {
  if (a->has_inode && b->has_inode && a->dev == b->dev && a->ino == b->ino)
    return "Both names lead to the same device and inode (a link, or the same path).";
  return "Both names resolve to the same path.";
}

/* ------------------------------------------------------------------------
 * Registry
 * ------------------------------------------------------------------------ */

int nbh_run_files_new(NbhRunFiles **out, NbError *err) {
  NbhRunFiles *files = calloc(1, sizeof *files);
  *out = NULL;
  if (files == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  if (pthread_mutex_init(&files->mu, NULL) != 0) {
    free(files);
    return nb_error_set(err, NB_INTERNAL, "could not create a mutex for the run's files");
  }
  *out = files;
  return NB_OK;
}

void nbh_run_files_free(NbhRunFiles *files) {
  if (files == NULL) return;
  for (size_t i = 0; i < files->n_entries; i++) {
    free(files->entries[i]->path);
    free(files->entries[i]->what);
    id_release(&files->entries[i]->id);
    free(files->entries[i]->blob);
    free(files->entries[i]);
  }
  free(files->entries);
  free(files->pattern);
  nbh_file_marks_free(files->saved, files->n_saved);
  pthread_mutex_destroy(&files->mu);
  free(files);
}

int nbh_run_files_set_output_pattern(NbhRunFiles *files, const char *pattern, NbError *err) {
  char *copy = NULL;
  if (pattern != NULL && (copy = strdup(pattern)) == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  pthread_mutex_lock(&files->mu);
  free(files->pattern);
  files->pattern = copy;
  pthread_mutex_unlock(&files->mu);
  return NB_OK;
}

/* With mu held: the first entry that is the same file as id and whose role
 * is in the mask (1 << role), or NULL. */
/* The identity a host file has now.  The host replaces its files by rename
 * (the state file through its temporary file) or creates them later, so an
 * inode remembered at registration may since have been freed and given to
 * a new output: for these files only the name, and the inode the name
 * leads to now, count.  The result borrows e's resolved path. */
static FileId host_file_now(const Entry *e) {
  FileId now = e->id;
  struct stat st;
  now.has_inode = false;
  now.special = false;
  if (stat(e->path, &st) == 0) id_set_stat(&now, &st);
  return now;
}

static const Entry *find_conflict(const NbhRunFiles *files, const FileId *id, unsigned roles) {
  for (size_t i = 0; i < files->n_entries; i++) {
    const Entry *e = files->entries[i];
    if (!(roles & (1u << e->role))) continue;
    if (e->role == ROLE_HOST) {
      FileId now = host_file_now(e);
      if (same_file(&now, id)) return e;
    } else if (same_file(&e->id, id)) {
      return e;
    }
  }
  return NULL;
}

/* With mu held: append an entry, taking over *id; *added (may be NULL)
 * receives it.  Entries are separate allocations: the file layer keeps
 * pointers to them. */
static int add_entry(NbhRunFiles *files, enum Role role, const char *path, const char *what,
                     FileId *id, Entry **added, NbError *err) {
  if (files->n_entries == files->cap_entries) {
    size_t cap = files->cap_entries ? files->cap_entries * 2 : 8;
    Entry **grown = realloc(files->entries, cap * sizeof *grown);
    if (grown == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    files->entries = grown;
    files->cap_entries = cap;
  }
  Entry *e = calloc(1, sizeof *e);
  if (e == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  e->role = role;
  e->path = strdup(path);
  e->what = what != NULL ? strdup(what) : NULL;
  if (e->path == NULL || (what != NULL && e->what == NULL)) {
    free(e->path);
    free(e->what);
    free(e);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  e->id = *id;
  e->mu = &files->mu;
  memset(id, 0, sizeof *id);
  files->entries[files->n_entries++] = e;
  if (added != NULL) *added = e;
  return NB_OK;
}

/* "the state file of this run (\"s\")", "an input of this run (\"a.csv\")". */
static void describe_entry(const Entry *e, char *buf, size_t cap) {
  const char *name = strcmp(e->path, "-") == 0 ? "-" : e->path;
  switch (e->role) {
    case ROLE_INPUT: snprintf(buf, cap, "an input of this run (\"%s\")", name); break;
    case ROLE_OUTPUT: snprintf(buf, cap, "another output of this run (\"%s\")", name); break;
    case ROLE_HOST: snprintf(buf, cap, "%s of this run (\"%s\")", e->what, name); break;
  }
}

static const char *write_hint(const Entry *e) {
  switch (e->role) {
    case ROLE_INPUT:
      return "Writing it would destroy the input while it is read: choose a destination path "
             "that names other files.";
    case ROLE_OUTPUT:
      return "Two streams would overwrite each other's records: make the destination path give "
             "each stream a file of its own (\"{stream}\" is replaced by the stream's base "
             "name).";
    case ROLE_HOST: break;
  }
  return "Choose a destination path that names neither the state file, its lock file nor the "
         "dead-letter file.";
}

static int refuse_write(const char *path, const Entry *e, const FileId *id, NbError *err) {
  char other[1200];
  describe_entry(e, other, sizeof other);
  if (strcmp(path, "-") == 0)
    nb_error_set(err, NB_INVALID, "refusing to write to standard output: it is the same file "
                 "as %s", other);
  else
    nb_error_set(err, NB_INVALID, "refusing to write file \"%s\": it is the same file as %s",
                 path, other);
  nb_error_detail(err, "%s Nothing was written.", how_same(&e->id, id));
  nb_error_hint(err, "%s", write_hint(e));
  return NB_INVALID;
}

static int refuse_read(const char *path, const Entry *e, const FileId *id, NbError *err) {
  char other[1200];
  describe_entry(e, other, sizeof other);
  if (e->role == ROLE_OUTPUT) snprintf(other, sizeof other, "an output of this run (\"%s\")",
                                       e->path);
  if (strcmp(path, "-") == 0)
    nb_error_set(err, NB_INVALID, "refusing to read standard input: it is the same file as %s",
                 other);
  else
    nb_error_set(err, NB_INVALID, "refusing to read file \"%s\": it is the same file as %s",
                 path, other);
  nb_error_detail(err, "%s", how_same(&e->id, id));
  nb_error_hint(err, "%s", e->role == ROLE_OUTPUT
                               ? "A file written while it is read gives half-written or "
                                 "endless input: choose inputs that are not outputs."
                               : "The host writes this file during the run: choose inputs "
                                 "that do not include it.");
  return NB_INVALID;
}

int nbh_run_files_add_host(NbhRunFiles *files, const char *path, const char *what,
                           NbError *err) {
  FileId id;
  int rc = id_from_path(path, &id, err);
  if (rc != NB_OK) return rc;
  pthread_mutex_lock(&files->mu);
  const Entry *e = find_conflict(files, &id, ~0u);
  if (e != NULL) {
    char other[1200];
    describe_entry(e, other, sizeof other);
    nb_error_set(err, NB_INVALID, "%s \"%s\" is the same file as %s", what, path, other);
    nb_error_detail(err, "%s", how_same(&e->id, &id));
    nb_error_hint(err, "Give the state file and the dead-letter file names of their own.");
    rc = NB_INVALID;
  } else {
    rc = add_entry(files, ROLE_HOST, path, what, &id, NULL, err);
  }
  pthread_mutex_unlock(&files->mu);
  id_release(&id);
  return rc;
}

/* The start of recording a file the host opened: *entry cleared, *id
 * taken from st.  False, with *rc, when there is nothing more to do: an
 * error, or a special file (pipe, terminal), which is not recorded. */
static bool identify_opened(const char *path, const struct stat *st, NbhRunFile **entry,
                            FileId *id, int *rc, NbError *err) {
  if (entry != NULL) *entry = NULL;
  *rc = id_from_stat(path, st, id, err);
  if (*rc != NB_OK || id->special) {
    id_release(id);
    return false;
  }
  return true;
}

int nbh_run_files_add_input(NbhRunFiles *files, const char *path, NbError *err) {
  struct stat st;
  if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return NB_OK;
  return nbh_run_files_opened_read(files, path, &st, NULL, err);
}

int nbh_run_files_opened_read(NbhRunFiles *files, const char *path, const struct stat *st,
                              NbhRunFile **entry, NbError *err) {
  FileId id;
  int rc;
  if (!identify_opened(path, st, entry, &id, &rc, err)) return rc;
  pthread_mutex_lock(&files->mu);
  const Entry *e = find_conflict(files, &id, 1u << ROLE_OUTPUT | 1u << ROLE_HOST);
  const Entry *known = e == NULL ? find_conflict(files, &id, 1u << ROLE_INPUT) : NULL;
  if (e != NULL)
    rc = refuse_read(path, e, &id, err);
  else if (known == NULL || strcmp(known->path, path) != 0)
    rc = add_entry(files, ROLE_INPUT, path, NULL, &id, entry, err);
  else if (entry != NULL)
    *entry = (Entry *)known;
  pthread_mutex_unlock(&files->mu);
  id_release(&id);
  return rc;
}

/* ------------------------------------------------------------------------
 * The stream-name rule
 * ------------------------------------------------------------------------ */

/* text (len bytes) for a message, control bytes as \xNN, at most cap-1. */
static void printable(const char *text, size_t len, char *buf, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < len && o + 5 < cap; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c < 0x20 || c == 0x7f)
      o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
    else
      buf[o++] = (char)c;
  }
  buf[o] = '\0';
}

/* Whether name (len bytes) may stand for "{stream}": a plain file name. */
static bool plain_file_name(const char *name, size_t len) {
  if (len == 0) return false;
  if ((len == 1 && name[0] == '.') ||
      (len == 2 && name[0] == '.' && name[1] == '.'))
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c == '/' || c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

/* When path is pattern with the same text in place of every "{stream}",
 * *part and *part_len receive that text and the result is true. */
static bool match_pattern(const char *pattern, const char *path, const char **part,
                          size_t *part_len) {
  size_t n = 0, plen = strlen(pattern), len = strlen(path);
  for (const char *p = strstr(pattern, PLACEHOLDER); p; p = strstr(p + PLACEHOLDER_LEN, PLACEHOLDER))
    n++;
  if (n == 0) return false;
  size_t fixed = plen - n * PLACEHOLDER_LEN;
  if (len < fixed || (len - fixed) % n != 0) return false;
  size_t xlen = (len - fixed) / n;
  const char *x = NULL, *q = path;
  for (const char *p = pattern; *p != '\0';) {
    if (strncmp(p, PLACEHOLDER, PLACEHOLDER_LEN) == 0) {
      if (x == NULL) x = q;
      else if (strncmp(q, x, xlen) != 0) return false;
      q += xlen;
      p += PLACEHOLDER_LEN;
    } else if (*p++ != *q++) {
      return false;
    }
  }
  *part = x;
  *part_len = xlen;
  return true;
}

/* With mu held.  Standard output is written only when the destination
 * path is "-" itself, never when a stream name makes it "-". */
static int check_pattern(const NbhRunFiles *files, const char *path, NbError *err) {
  const char *pattern = files->pattern, *part = NULL;
  size_t part_len = 0;
  char shown[256];
  if (pattern == NULL || strstr(pattern, PLACEHOLDER) == NULL) return NB_OK;
  if (strcmp(path, "-") == 0) {
    nb_error_set(err, NB_INVALID, "refusing to write to standard output: the destination path "
                 "is \"%s\", not \"-\"", pattern);
    nb_error_detail(err, "A stream name turned the destination path into \"-\".  Standard "
                    "output is written only when the destination path is \"-\" itself.");
    nb_error_hint(err, "Rename the input, or write it with a destination path without "
                  "\"{stream}\".");
    return NB_INVALID;
  }
  if (!match_pattern(pattern, path, &part, &part_len) || plain_file_name(part, part_len))
    return NB_OK;
  printable(part, part_len, shown, sizeof shown);
  nb_error_set(err, NB_INVALID, "refusing to write file \"%s\": the destination path \"%s\" "
               "would put \"%s\" in place of \"{stream}\"", path, pattern, shown);
  nb_error_detail(err, "A stream's part of a file name must be a plain file name: not empty, "
                  "not \".\" or \"..\", without \"/\" or control characters, so that a "
                  "stream name cannot choose a file outside the destination directory.");
  nb_error_hint(err, "Rename the input, or write it with a destination path without "
                "\"{stream}\".");
  return NB_INVALID;
}

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

int nbh_run_files_check_write(NbhRunFiles *files, const char *path, NbError *err) {
  FileId id;
  int rc = id_from_path(path, &id, err);
  if (rc != NB_OK) return rc;
  pthread_mutex_lock(&files->mu);
  rc = check_pattern(files, path, err);
  if (rc == NB_OK) {
    const Entry *e = find_conflict(files, &id, ~0u);
    if (e != NULL) rc = refuse_write(path, e, &id, err);
  }
  pthread_mutex_unlock(&files->mu);
  id_release(&id);
  return rc;
}

int nbh_run_files_opened_write(NbhRunFiles *files, const char *path, const struct stat *st,
                               NbhRunFile **entry, NbError *err) {
  FileId id;
  int rc;
  if (!identify_opened(path, st, entry, &id, &rc, err)) return rc;
  pthread_mutex_lock(&files->mu);
  const Entry *e = find_conflict(files, &id, ~0u);
  if (e != NULL)
    rc = refuse_write(path, e, &id, err);
  else
    rc = add_entry(files, ROLE_OUTPUT, path, NULL, &id, entry, err);
  pthread_mutex_unlock(&files->mu);
  id_release(&id);
  return rc;
}

/* ------------------------------------------------------------------------
 * Fingerprints
 * ------------------------------------------------------------------------ */

void nbh_run_file_read_to(NbhRunFile *file, uint64_t offset) {
  if (file == NULL) return;
  /* Several handles may read one input: keep the furthest. */
  uint64_t seen = atomic_load(&file->progress);
  while (offset > seen && !atomic_compare_exchange_weak(&file->progress, &seen, offset)) {
  }
}

void nbh_run_file_committed(NbhRunFile *file, uint64_t length) {
  if (file != NULL) atomic_store(&file->progress, length);
}

static uint64_t fnv1a64(const unsigned char *p, size_t len) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

/* Size, time and window hash of the open file fd before length.  -1 when
 * it cannot be read (errno set). */
static int measure(int fd, uint64_t length, NbhFileMark *m) {
  struct stat st;
  unsigned char buf[NBH_MARK_WINDOW];
  if (fstat(fd, &st) != 0) return -1;
  m->size = (uint64_t)st.st_size;
  m->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  uint64_t end = length < m->size ? length : m->size;
  size_t want = end < NBH_MARK_WINDOW ? (size_t)end : NBH_MARK_WINDOW;
  size_t got = 0;
  while (got < want) {
    ssize_t n = pread(fd, buf + got, want - got, (off_t)(end - want + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  m->window_hash = fnv1a64(buf, want);
  return 0;
}

/* With mu held: refresh e's fingerprint if its progress moved. */
static void refresh_mark(Entry *e) {
  uint64_t length = atomic_load(&e->progress);
  if (e->marked && e->mark.length == length) return;
  int fd = open(e->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  NbhFileMark m = {0};
  m.output = e->role == ROLE_OUTPUT;
  m.length = length;
  if (measure(fd, length, &m) == 0) {
    m.path = e->path;
    e->mark = m;
    e->marked = true;
  }
  close(fd);
}

void nbh_file_marks_free(NbhFileMark *marks, size_t n) {
  if (marks == NULL) return;
  for (size_t i = 0; i < n; i++) {
    free(marks[i].path);
    free(marks[i].storage);
  }
  free(marks);
}

/* With mu held: the mark of an object: its committed length and blob (no
 * bytes to hash: the module checks its own state at resume). */
static int object_mark(const Entry *e, NbhFileMark *m) {
  memset(m, 0, sizeof *m);
  m->output = true;
  m->length = atomic_load(&e->progress);
  m->size = m->length;
  m->path = strdup(e->path);
  m->storage = e->blob != NULL ? strdup(e->blob) : NULL;
  if (m->path == NULL || (e->blob != NULL && m->storage == NULL)) {
    free(m->path);
    free(m->storage);
    return NB_NOMEM;
  }
  return NB_OK;
}

int nbh_run_files_marks(NbhRunFiles *files, NbhFileMark **out, size_t *n_out, NbError *err) {
  *out = NULL;
  *n_out = 0;
  pthread_mutex_lock(&files->mu);
  NbhFileMark *marks = calloc(files->n_entries ? files->n_entries : 1, sizeof *marks);
  size_t n = 0;
  int rc = marks != NULL ? NB_OK : NB_NOMEM;
  for (size_t i = 0; rc == NB_OK && i < files->n_entries; i++) {
    Entry *e = files->entries[i];
    if (e->object) {
      if (e->blob == NULL) continue;
      rc = object_mark(e, &marks[n]);
      if (rc == NB_OK) n++;
      continue;
    }
    if (e->role == ROLE_HOST || strcmp(e->path, "-") == 0 || e->id.special ||
        atomic_load(&e->progress) == 0)
      continue;
    refresh_mark(e);
    if (!e->marked) continue;
    marks[n] = e->mark;
    marks[n].storage = NULL;
    /* Absolute: a resumed run may start in another directory. */
    marks[n].path = strdup(e->id.resolved != NULL ? e->id.resolved : e->path);
    if (marks[n].path == NULL) rc = NB_NOMEM;
    else n++;
  }
  pthread_mutex_unlock(&files->mu);
  if (rc != NB_OK) {
    nbh_file_marks_free(marks, n);
    return nb_error_set(err, NB_NOMEM, "out of memory recording the run's files");
  }
  *out = marks;
  *n_out = n;
  return NB_OK;
}

static int changed(const NbhFileMark *m, const char *state_path, NbError *err) {
  nb_error_hint(err, "Restore the file, or delete the state file \"%s\" to start over.",
                state_path);
  (void)m;
  return NB_INVALID;
}

int nbh_file_mark_check(const NbhFileMark *m, const char *state_path, NbError *err) {
  const char *kind = m->output ? "output" : "input";
  if (m->storage != NULL) return NB_OK; /* the module checks it at writer_open */
  int fd = open(m->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    nb_error_set(err, NB_INVALID, "cannot resume from state file \"%s\": %s file \"%s\" %s",
                 state_path, kind, m->path, errno == ENOENT ? "no longer exists"
                                                             : "cannot be opened");
    nb_error_detail(err, "%s", strerror(errno));
    return changed(m, state_path, err);
  }
  NbhFileMark now = {0};
  int rc = measure(fd, m->length, &now);
  int e = errno;
  close(fd);
  if (now.size < m->length) {
    nb_error_set(err, NB_INVALID, "cannot resume from state file \"%s\": %s file \"%s\" has "
                 "%" PRIu64 " bytes, fewer than the %" PRIu64 " bytes %s", state_path, kind,
                 m->path, now.size, m->length,
                 m->output ? "committed to it" : "read from it by the last commit");
    nb_error_detail(err, "It had %" PRIu64 " bytes then: it was shortened or replaced since.",
                    m->size);
    return changed(m, state_path, err);
  }
  if (rc != 0) {
    nb_error_set(err, NB_IO, "could not read %s file \"%s\" to check it against state file "
                 "\"%s\": %s", kind, m->path, state_path, strerror(e));
    return NB_IO;
  }
  if (now.window_hash != m->window_hash) {
    uint64_t from = m->length > NBH_MARK_WINDOW ? m->length - NBH_MARK_WINDOW : 0;
    nb_error_set(err, NB_INVALID, "cannot resume from state file \"%s\": %s file \"%s\" "
                 "changed %s", state_path, kind, m->path,
                 m->output ? "since the last commit" : "before the saved position");
    nb_error_detail(err, "Bytes %" PRIu64 " to %" PRIu64 " differ from when the state was "
                    "written (size then %" PRIu64 ", now %" PRIu64 "; %s).", from, m->length,
                    m->size, now.size,
                    now.mtime_ns == m->mtime_ns ? "same modification time"
                                                : "modified since");
    return changed(m, state_path, err);
  }
  return NB_OK;
}

static bool has_mark(const NbhFileMark *marks, size_t n, const NbhFileMark *m) {
  for (size_t i = 0; i < n; i++)
    if (marks[i].output == m->output && strcmp(marks[i].path, m->path) == 0) return true;
  return false;
}

int nbh_file_marks_merge(NbhFileMark **marks, size_t *n, const NbhFileMark *old, size_t n_old,
                         NbError *err) {
  if (n_old == 0) return NB_OK;
  NbhFileMark *all = realloc(*marks, (*n + n_old) * sizeof *all);
  if (all == NULL) return nb_error_set(err, NB_NOMEM, "out of memory recording the run's files");
  *marks = all;
  size_t k = *n;
  for (size_t i = 0; i < n_old; i++) {
    if (has_mark(all, *n, &old[i])) continue;
    all[k] = old[i];
    all[k].path = strdup(old[i].path);
    all[k].storage = old[i].storage != NULL ? strdup(old[i].storage) : NULL;
    if (all[k].path == NULL || (old[i].storage != NULL && all[k].storage == NULL)) {
      free(all[k].path);
      free(all[k].storage);
      for (size_t j = *n; j < k; j++) {
        free(all[j].path);
        free(all[j].storage);
      }
      return nb_error_set(err, NB_NOMEM, "out of memory recording the run's files");
    }
    k++;
  }
  *n = k;
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Objects of storage modules
 * ------------------------------------------------------------------------ */

int nbh_run_files_opened_object(NbhRunFiles *files, const char *path, NbhRunFile **entry,
                                NbError *err) {
  FileId id;
  int rc;
  memset(&id, 0, sizeof id);
  *entry = NULL;
  id.resolved = strdup(path); /* a URL is its own identity */
  if (id.resolved == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  pthread_mutex_lock(&files->mu);
  const Entry *e = find_conflict(files, &id, ~0u);
  if (e != NULL) {
    rc = refuse_write(path, e, &id, err);
  } else {
    rc = add_entry(files, ROLE_OUTPUT, path, NULL, &id, entry, err);
    if (rc == NB_OK) (*entry)->object = true;
  }
  pthread_mutex_unlock(&files->mu);
  id_release(&id);
  return rc;
}

int nbh_run_file_committed_object(NbhRunFile *file, uint64_t length, const char *blob,
                                  NbError *err) {
  if (file == NULL) return NB_OK;
  char *copy = strdup(blob);
  if (copy == NULL) return nb_error_set(err, NB_NOMEM, "out of memory recording a commit");
  pthread_mutex_lock(file->mu);
  free(file->blob);
  file->blob = copy;
  atomic_store(&file->progress, length);
  pthread_mutex_unlock(file->mu);
  return NB_OK;
}

int nbh_run_files_set_saved(NbhRunFiles *files, const NbhFileMark *marks, size_t n,
                            NbError *err) {
  NbhFileMark *copy = NULL;
  size_t n_copy = 0;
  for (size_t i = 0; i < n; i++) {
    if (marks[i].storage == NULL) continue;
    int rc = nbh_file_marks_merge(&copy, &n_copy, &marks[i], 1, err);
    if (rc != NB_OK) {
      nbh_file_marks_free(copy, n_copy);
      return rc;
    }
  }
  pthread_mutex_lock(&files->mu);
  nbh_file_marks_free(files->saved, files->n_saved);
  files->saved = copy;
  files->n_saved = n_copy;
  pthread_mutex_unlock(&files->mu);
  return NB_OK;
}

bool nbh_run_files_saved_object(NbhRunFiles *files, const char *path, uint64_t *length,
                                char **blob) {
  bool found = false;
  *blob = NULL;
  pthread_mutex_lock(&files->mu);
  for (size_t i = 0; i < files->n_saved && !found; i++) {
    if (strcmp(files->saved[i].path, path) != 0) continue;
    found = true;
    *length = files->saved[i].length;
    *blob = strdup(files->saved[i].storage);
  }
  pthread_mutex_unlock(&files->mu);
  return found;
}
