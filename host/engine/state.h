/*
 * state.h - the checkpoint file of a pipeline: which pipeline it belongs to,
 * how far each source stream has been durably copied, and the destination's
 * state at that commit.
 *
 * The file is JSON with a format name, a version and an FNV-1a checksum of
 * its text, parsed strictly: a file that is damaged, foreign, or written by
 * another pipeline is reported, never ignored.  It is replaced atomically
 * (temporary file, fsync, rename, fsync of the directory), so a kill at any
 * moment leaves either the old or the new checkpoint.
 *
 * Since this release it also holds fingerprints of the run's files
 * ("files": see NbhFileMark in run_files.h), checked before a resume;
 * the key is optional so that earlier state files are still read.
 * Likewise "config_salt" and "config": the configuration's fingerprint
 * (config_print.h).
 */
#ifndef NBH_STATE_H
#define NBH_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nebula/abi.h"
#include "config_print.h"
#include "run_files.h"

#define NBH_STATE_FORMAT "nebula-state"
#define NBH_STATE_VERSION 1

typedef struct NbhStreamState {
  char *name;              /* the source's stream name, owned */
  void *position;          /* opaque source position, owned; NULL: start */
  size_t position_len;
  bool finished;           /* every record of the stream is committed */
  uint64_t records;        /* records committed to the destination */
  uint64_t rejected;       /* bad records skipped or dead-lettered */
} NbhStreamState;

typedef struct NbhState {
  char *source_connector;      /* owned */
  char *dest_connector;        /* owned */
  NbhStreamState *streams;     /* owned array, in the source's order */
  size_t n_streams;
  void *dest_state;            /* the blob of the last dest_commit, owned */
  size_t dest_state_len;
  bool has_dead_letter;        /* dead_letter_length is meaningful */
  uint64_t dead_letter_length; /* durable length of the dead-letter file */
  int64_t committed_at;        /* Unix time of the commit, seconds */
  uint64_t commits;            /* commits made by every run so far */
  NbhFileMark *files;          /* owned: fingerprints of the inputs read and
                                  the outputs committed (run_files.h); absent
                                  in files of earlier releases */
  size_t n_files;
  NbhConfigPrint config;       /* owned: the configuration's fingerprint
                                  (config_print.h); config.present is
                                  false in files of earlier releases */
} NbhState;

void nbh_state_free(NbhState *state);

/* Deep copy (into a zeroed *dst).  NB_OK or NB_NOMEM. */
int nbh_state_copy(NbhState *dst, const NbhState *src, NbError *err);

/* Read and check the state file at path into a zeroed *out.  Returns NB_OK,
 * NB_NOT_FOUND (no such file: a fresh run), NB_INVALID (not a state file of
 * this format and version, damaged, checksum mismatch: the error names the
 * file and what is wrong), NB_IO, NB_NOMEM. */
int nbh_state_read(const char *path, NbhState *out, NbError *err);

/* Parse state text (used by nbh_state_read and the tests); path is only
 * used in messages. */
int nbh_state_parse(const char *path, const char *text, size_t len,
                    NbhState *out, NbError *err);

/* Serialise state; *out is malloc'ed and NUL-terminated. NB_OK or
 * NB_NOMEM. */
int nbh_state_format(const NbhState *state, char **out, size_t *out_len,
                     NbError *err);

/* Replace the file at path atomically with state.  NB_OK or NB_IO. */
int nbh_state_write(const char *path, const NbhState *state, NbError *err);

/* Check every file fingerprint of state against the files as they are
 * now (nbh_file_mark_check).  NB_OK, NB_INVALID naming the first file
 * that changed, NB_IO. */
int nbh_state_check_files(const NbhState *state, const char *path, NbError *err);

/* Check that state belongs to this pipeline: same source and destination
 * connectors, same streams in the same order.  NB_OK or NB_INVALID with a
 * detail naming the difference. */
int nbh_state_check_identity(const NbhState *state, const char *path,
                             const char *source_connector,
                             const char *dest_connector,
                             const char *const *stream_names,
                             size_t n_streams, NbError *err);

#endif /* NBH_STATE_H */
