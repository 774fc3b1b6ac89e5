/*
 * run_files.h - the files of one pipeline run as the host's file layer sees
 * them: each input opened for reading, each output opened for writing, and
 * the host's own files (state file, its lock and temporary file, the
 * dead-letter file).  The file layer checks every open against it:
 *
 *   - a file opened for writing must not be an input, a host file or
 *     another output of the run (writing it would destroy what is read,
 *     the checkpoint, or another stream's records);
 *   - a file opened for reading must not be an output or a host file;
 *   - a destination path with "{stream}" must not become standard output
 *     ("-") or leave its directory: the part put in place of "{stream}"
 *     must be a plain file name (not empty, "." or "..", no '/' or
 *     control characters).
 *
 * "The same file" means the same device and inode for files that exist,
 * and the same resolved path (symbolic links and ".." resolved in the
 * directory part) for files that do not exist yet.  Devices, pipes and
 * sockets (/dev/null, a terminal) are never in conflict.
 *
 * One per run, owned by whoever runs it (the engine); no globals.  Every
 * function is safe to call from several threads at once.  Functions
 * returning int return NB_OK, NB_INVALID (a conflict; err names both files
 * and gives a hint) or NB_NOMEM.
 */
#ifndef NBH_RUN_FILES_H
#define NBH_RUN_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "nebula/abi.h"

typedef struct NbhRunFiles NbhRunFiles;

/* A new empty registry in *out (freed with nbh_run_files_free). */
int nbh_run_files_new(NbhRunFiles **out, NbError *err);
/* Accepts NULL. */
void nbh_run_files_free(NbhRunFiles *files);

/* The destination's configured path (its "path" setting), which may hold
 * "{stream}" placeholders.  Copied.  Without it (NULL, the default) the
 * stream-name rule is not applied. */
int nbh_run_files_set_output_pattern(NbhRunFiles *files, const char *pattern, NbError *err);

/* Register a file the host writes itself; `what` names it in messages
 * ("the state file").  Refused when it is already registered in any role. */
int nbh_run_files_add_host(NbhRunFiles *files, const char *path, const char *what,
                           NbError *err);

/* Register an input known before it is opened (a source stream's file), so
 * that no output can take its place even before the source reads it.  A
 * path that does not exist or is not a regular file is ignored.  Refused
 * when it is an output or a host file. */
int nbh_run_files_add_input(NbhRunFiles *files, const char *path, NbError *err);

/* ------------------------------------------------------------------------
 * Fingerprints of the run's files, for the state file: what a resumed run
 * checks so that it never continues from a position that no longer
 * describes the files (issue: an input edited or an output shortened
 * between a crash and the resume).
 * ------------------------------------------------------------------------ */

/* Bytes hashed before a file's recorded length. */
#define NBH_MARK_WINDOW 4096

typedef struct NbhFileMark {
  bool output;            /* false: an input */
  char *path;             /* owned; as the connector named it */
  uint64_t length;        /* input: on-disk bytes read by the last commit;
                             output: its committed length */
  uint64_t size;          /* the file's size then */
  int64_t mtime_ns;       /* its modification time then */
  uint64_t window_hash;   /* FNV-1a 64 of the NBH_MARK_WINDOW bytes (fewer
                             at the start) before `length` */
  char *storage;          /* owned; an object of a storage module: the
                             module's state blob of the commit (abi.h,
                             writer_commit), NULL for a local file.  Such
                             a mark is checked by the module at resume, not
                             by nbh_file_mark_check. */
} NbhFileMark;

/* Free marks[0..n) and the array.  Accepts NULL. */
void nbh_file_marks_free(NbhFileMark *marks, size_t n);

/* A fingerprint of every input read so far and every output committed so
 * far (standard input and output excluded): a new malloc'ed array in
 * *out.  Called by the thread that commits, after the destination's
 * commit.  NB_OK or NB_NOMEM. */
int nbh_run_files_marks(NbhRunFiles *files, NbhFileMark **out, size_t *n_out, NbError *err);

/* Add to *marks (n) each of old[0..n_old) whose file is not in it (the
 * fingerprints of files this run did not touch carry over).  NB_OK or
 * NB_NOMEM (then *marks is unchanged). */
int nbh_file_marks_merge(NbhFileMark **marks, size_t *n, const NbhFileMark *old, size_t n_old,
                         NbError *err);

/* Whether the file of mark still is what a state file saved by the
 * previous run describes: it exists, has at least `length` bytes, and the
 * window before `length` is unchanged (an input may have grown since, as
 * a log does).  NB_OK, or NB_INVALID naming the file and what differs,
 * with the hint to delete state_path to start over. */
int nbh_file_mark_check(const NbhFileMark *mark, const char *state_path, NbError *err);

/* The registry's record of one open file (owned by the registry). */
typedef struct NbhRunFile NbhRunFile;

/* The file layer reports progress: an input's on-disk read offset, an
 * output's durable length after a commit.  Accept NULL. */
void nbh_run_file_read_to(NbhRunFile *file, uint64_t offset);
void nbh_run_file_committed(NbhRunFile *file, uint64_t length);

/* Used by the file layer (io.c). */

/* Before opening path for writing (nothing is created yet): the stream
 * name rule, then the identity of path as it is now. */
int nbh_run_files_check_write(NbhRunFiles *files, const char *path, NbError *err);

/* path ("-": standard output) was opened for writing and st is fstat of
 * its descriptor: check again by device and inode (the file may have
 * appeared since the check) and register it as an output; *entry as
 * below. */
int nbh_run_files_opened_write(NbhRunFiles *files, const char *path, const struct stat *st,
                               NbhRunFile **entry, NbError *err);

/* path ("-": standard input) was opened for reading and st is fstat of its
 * descriptor: refused when it is an output or a host file; registered as
 * an input otherwise.  *entry (may be NULL) receives the registry's
 * record of it, for the progress reports above (NULL for a device). */
int nbh_run_files_opened_read(NbhRunFiles *files, const char *path, const struct stat *st,
                              NbhRunFile **entry, NbError *err);

/* ------------------------------------------------------------------------
 * Objects of storage modules (storage.h): outputs named by their URL, whose
 * commits carry the module's state blob into the state file.
 * ------------------------------------------------------------------------ */

/* path (with a scheme) was opened for writing through a storage module:
 * refused when another output of the run has the same URL; else
 * registered, *entry as above. */
int nbh_run_files_opened_object(NbhRunFiles *files, const char *path, NbhRunFile **entry,
                                NbError *err);

/* An object's commit: its length and the module's blob (copied).  NB_OK or
 * NB_NOMEM.  Accepts a NULL file. */
int nbh_run_file_committed_object(NbhRunFile *file, uint64_t length, const char *blob,
                                  NbError *err);

/* The marks of the state file a resumed run read (copied), so that an
 * object reopened for a resume finds its blob. */
int nbh_run_files_set_saved(NbhRunFiles *files, const NbhFileMark *marks, size_t n,
                            NbError *err);

/* The saved blob and committed length of the object at path: true and a
 * new string in *blob (NULL when out of memory), or false when the saved
 * state has none. */
bool nbh_run_files_saved_object(NbhRunFiles *files, const char *path, uint64_t *length,
                                char **blob);

#endif /* NBH_RUN_FILES_H */
