/*
 * batch_check.h - checking a batch a source returned against its schema
 * before anything in the host reads it.
 *
 * A source connector is code the host does not trust: a batch whose
 * buffers, lengths or offsets disagree with its schema would make the
 * queue's size accounting or a destination read outside the producer's
 * memory.  The engine calls nbh_batch_check on every batch at the one
 * place where it receives it (issue 9, item 14).
 */
#ifndef NBH_BATCH_CHECK_H
#define NBH_BATCH_CHECK_H

#include <stddef.h>

#include "nebula/arrow_c.h"

/* Nesting deeper than this is refused (it also stops a schema or array
 * whose children point back at an ancestor). */
#define NBH_BATCH_CHECK_MAX_DEPTH 64

/* Check that array is a well-formed batch of schema.
 *
 * schema: [in] the "+s" struct schema of the stream, borrowed.
 * array:  [in] the batch, borrowed; neither is modified or released.
 * msg:    [out] on failure, a NUL-terminated reason of at most cap - 1
 *         bytes naming the column path, e.g.
 *         `column "trip.tags[]": offsets decrease at row 5 (3 after 7)`;
 *         untouched on success.  May be NULL when cap is 0.
 *
 * What is checked, recursively through children and dictionaries:
 *   - neither struct is released; formats are ones the host understands
 *     (every primitive, temporal, decimal, fixed-size binary, utf8/binary
 *     and their large forms, list, large list, fixed-size list, struct,
 *     map; unions, run-end, view and list-view formats are refused);
 *   - n_buffers is what the format needs and the buffers array exists;
 *     n_children matches the schema and the format; no child is NULL;
 *   - length and offset are >= 0 and their sum does not overflow; a
 *     struct's children hold at least offset + length of its rows, a
 *     fixed-size list's child (offset + length) * size;
 *   - null_count is -1 (unknown) or 0..length; a validity bitmap is
 *     present when null_count > 0 and, when present with a known count,
 *     holds exactly null_count nulls; the batch itself has no null rows;
 *   - values and offsets buffers are non-NULL whenever a row needs them,
 *     aligned to their element size (up to 8);
 *   - offsets: the first >= 0, non-decreasing, and a list's last within
 *     its child; a NULL data buffer only when no value has bytes;
 *   - a dictionary exactly when the schema has one, with integer indices
 *     within it.
 * What cannot be checked: the C Data Interface carries no buffer sizes,
 * so a data buffer shorter than the last offset (or a values buffer
 * shorter than length) is not detected.  The check itself reads only
 * offsets, validity bits and dictionary indices of the rows from
 * array->offset to array->offset + length; never string data or other
 * values.
 *
 * Cost: O(columns) plus one pass over each offsets buffer, validity
 * bitmap and dictionary index buffer.  Memory: none allocated.
 * Thread-safe (no shared state).  Suitable for a fuzz harness given
 * structures whose pointers are valid for what they claim.
 *
 * Returns 0 when the batch is well formed, NB_INVALID (3) otherwise. */
int nbh_batch_check(const struct ArrowSchema *schema,
                    const struct ArrowArray *array, char *msg, size_t cap);

#endif /* NBH_BATCH_CHECK_H */
