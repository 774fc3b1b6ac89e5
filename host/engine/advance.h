/*
 * advance.h - whether a source moves forward.  The source thread notes what
 * each source_next reported (its position and bytes_read) and learns
 * whether the stream advanced since the previous call.  Two rules rest on
 * it:
 *   - an empty batch that does not advance is idle; too many idle batches
 *     in a row mean the source spins without progress (issue 9 item 9);
 *   - a rejected record (NB_DATA) must advance: a source that rejects
 *     twice in a row without moving is stuck at a corrupt stream, not
 *     looking at bad records one after the other (issue 9 item 8).
 *
 * "Advanced": when this report and the previous one both give bytes_read,
 * bytes_read grew (input was consumed: a position may hold counters that
 * change without any input consumed); otherwise the position is given and
 * differs from the previous one.
 */
#ifndef NBH_ADVANCE_H
#define NBH_ADVANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct NbhAdvance {
  uint8_t *position;      /* last position reported (owned), NULL if none */
  size_t position_len;
  int64_t bytes_read;     /* last bytes_read reported, -1 if unknown */
  uint64_t idle;          /* empty batches in a row that did not advance */
  uint64_t stuck;         /* rejected records in a row that did not advance */
} NbhAdvance;

/* Start a stream at position (NULL: the beginning or unknown; copied). */
int nbh_advance_init(NbhAdvance *a, const void *position, size_t position_len);

/* Note one report.  Returns 1 when the stream advanced since the previous
 * report, 0 when it did not, -1 when out of memory (a is unchanged). */
int nbh_advance_note(NbhAdvance *a, const void *position, size_t position_len,
                     int64_t bytes_read);

void nbh_advance_free(NbhAdvance *a);

#endif /* NBH_ADVANCE_H */
