/*
 * arrow_bytes.c - the byte size of an Arrow array from its buffers (see
 * arrow_bytes.h).  The format string says how wide each buffer's elements
 * are; variable-size data is measured by its last offset.
 */
#include <stdlib.h>
#include <string.h>

#include "arrow_bytes.h"

/* Width in bytes of a fixed-width primitive format, 0 when not one.
 * Booleans are handled apart (bits). */
static uint64_t fixed_width(const char *f) {
  switch (f[0]) {
    case 'c': case 'C': return 1;
    case 's': case 'S': case 'e': return 2;
    case 'i': case 'I': case 'f': return 4;
    case 'l': case 'L': case 'g': return 8;
    case 'd': return strchr(f, ',') != NULL && strstr(f, ",256") != NULL ? 32 : 16;
    case 'w': return f[1] == ':' ? (uint64_t)strtoull(f + 2, NULL, 10) : 0;
    case 't':
      if (f[1] == 'd') return f[2] == 'D' ? 4 : 8;                /* date32/64 */
      if (f[1] == 't') return f[2] == 's' || f[2] == 'm' ? 4 : 8; /* time */
      if (f[1] == 's' || f[1] == 'D') return 8;            /* timestamp, duration */
      if (f[1] == 'i') return f[2] == 'M' ? 4 : f[2] == 'D' ? 8 : 16; /* interval */
      return 0;
    default: return 0;
  }
}

static uint64_t bitmap_bytes(uint64_t slots) { return (slots + 7) / 8; }

/* Last offset of a 32- or 64-bit offsets buffer: the bytes of data used. */
static uint64_t last_offset(const void *offsets, uint64_t slots, int wide) {
  if (offsets == NULL) return 0;
  if (wide) {
    int64_t v = ((const int64_t *)offsets)[slots];
    return v > 0 ? (uint64_t)v : 0;
  }
  int32_t v = ((const int32_t *)offsets)[slots];
  return v > 0 ? (uint64_t)v : 0;
}

static uint64_t array_bytes(const struct ArrowSchema *schema,
                            const struct ArrowArray *array, int depth) {
  const char *f;
  uint64_t slots, total = 0, width;
  int64_t i, n_children;

  if (array == NULL || array->release == NULL || depth > 64) return 0;
  f = schema != NULL && schema->format != NULL ? schema->format : "";
  slots = (uint64_t)(array->offset > 0 ? array->offset : 0) +
          (uint64_t)(array->length > 0 ? array->length : 0);

  /* Validity bitmap, present for every type but null and unions. */
  if (array->n_buffers > 0 && array->buffers != NULL &&
      array->buffers[0] != NULL && f[0] != 'n' && strncmp(f, "+u", 2) != 0)
    total += bitmap_bytes(slots);

  if (f[0] == 'b' && f[1] == '\0') {
    total += bitmap_bytes(slots);
  } else if ((f[0] == 'u' || f[0] == 'z' || f[0] == 'U' || f[0] == 'Z') &&
             f[1] == '\0') {
    int wide = f[0] == 'U' || f[0] == 'Z';
    const void *offsets = array->n_buffers > 1 ? array->buffers[1] : NULL;
    total += (slots + 1) * (wide ? 8 : 4);
    if (slots > 0) total += last_offset(offsets, slots, wide);
  } else if (strcmp(f, "+l") == 0 || strcmp(f, "+L") == 0 ||
             strcmp(f, "+m") == 0) {
    total += (slots + 1) * (f[1] == 'L' ? 8 : 4);
  } else if (f[0] == '+' || f[0] == 'n') {
    /* Struct, fixed-size list, unions (type ids), null: children carry the
     * data; count union type-id and offset buffers coarsely. */
    if (strncmp(f, "+u", 2) == 0) total += slots * (f[2] == 'd' ? 5 : 1);
  } else if ((width = fixed_width(f)) > 0) {
    total += width * slots;
  } else {
    for (i = 1; i < array->n_buffers; i++) total += 8 * slots;
  }

  n_children = array->n_children;
  if (schema != NULL && schema->n_children < n_children)
    n_children = schema->n_children;
  for (i = 0; i < n_children; i++) {
    if (array->children == NULL) break;
    total += array_bytes(schema != NULL && schema->children != NULL
                             ? schema->children[i]
                             : NULL,
                         array->children[i], depth + 1);
  }
  if (array->dictionary != NULL)
    total += array_bytes(schema != NULL ? schema->dictionary : NULL,
                         array->dictionary, depth + 1);
  return total;
}

uint64_t nbh_arrow_bytes(const struct ArrowSchema *schema,
                         const struct ArrowArray *array) {
  return array_bytes(schema, array, 0);
}
