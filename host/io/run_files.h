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

/* Used by the file layer (io.c). */

/* Before opening path for writing (nothing is created yet): the stream
 * name rule, then the identity of path as it is now. */
int nbh_run_files_check_write(NbhRunFiles *files, const char *path, NbError *err);

/* path ("-": standard output) was opened for writing and st is fstat of
 * its descriptor: check again by device and inode (the file may have
 * appeared since the check) and register it as an output. */
int nbh_run_files_opened_write(NbhRunFiles *files, const char *path, const struct stat *st,
                               NbError *err);

/* path ("-": standard input) was opened for reading and st is fstat of its
 * descriptor: refused when it is an output or a host file; registered as
 * an input otherwise. */
int nbh_run_files_opened_read(NbhRunFiles *files, const char *path, const struct stat *st,
                              NbError *err);

#endif /* NBH_RUN_FILES_H */
