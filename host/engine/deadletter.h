/*
 * deadletter.h - the dead-letter file: one JSON Lines record per rejected
 * input record, with where it came from, why it was rejected and its raw
 * text, so nothing the pipeline refused is lost.
 *
 * The file is appended by the destination thread in the same order as the
 * batches, synced at every commit, and its durable length is saved in the
 * state file: a resumed run truncates it to that length, so a record is
 * never dead-lettered twice.
 */
#ifndef NBH_DEADLETTER_H
#define NBH_DEADLETTER_H

#include <stddef.h>
#include <stdint.h>

#include "nebula/abi.h"

typedef struct NbhDeadLetter NbhDeadLetter;

/* Open path for appending.  resume_length < 0: start an empty file (a fresh
 * run); >= 0: the length saved at the last commit, which the file must have
 * at least (it is truncated to it).  Returns NB_OK, NB_IO, NB_INVALID (the
 * file is shorter than the saved length: it was changed by someone else). */
int nbh_dead_letter_open(const char *path, int64_t resume_length,
                         NbhDeadLetter **out, NbError *err);
/* Append one line (already terminated by '\n').  NB_OK or NB_IO. */
int nbh_dead_letter_append(NbhDeadLetter *dl, const char *line, size_t len,
                           NbError *err);
/* fsync; *length receives the durable length.  NB_OK or NB_IO. */
int nbh_dead_letter_sync(NbhDeadLetter *dl, uint64_t *length, NbError *err);
void nbh_dead_letter_close(NbhDeadLetter *dl);

/* Format the record for a bad record described by err (from source_next)
 * in stream: a malloc'ed line ending in '\n'.  A raw record that is not
 * UTF-8 is kept exactly as "record_base64".  NULL when out of memory. */
char *nbh_dead_letter_format(const char *stream, const NbError *err,
                             size_t *len);

#endif /* NBH_DEADLETTER_H */
