/*
 * arrow_bytes.h - how many bytes an Arrow array holds, computed from its
 * buffers and its schema's formats.  The queue bounds memory with it.
 */
#ifndef NBH_ARROW_BYTES_H
#define NBH_ARROW_BYTES_H

#include <stdint.h>

#include "nebula/arrow_c.h"

/* Sum of the sizes of every buffer of array and its children (validity
 * bitmaps, offsets, values, string data), as far as the array's offset +
 * length reach.  For formats it does not know it counts 8 bytes per slot
 * per buffer, so an unusual type is never counted as free. */
uint64_t nbh_arrow_bytes(const struct ArrowSchema *schema,
                         const struct ArrowArray *array);

#endif /* NBH_ARROW_BYTES_H */
