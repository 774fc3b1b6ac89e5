/*
 * nebula/arrow_c.h - the Arrow C Data Interface structures.
 *
 * Written from the public specification ("The Arrow C data interface",
 * format/CDataInterface.rst and format/CStreamInterface.rst).  The guards
 * below are the canonical ones the specification asks every copy to use, so
 * this header can be included in the same translation unit as nanoarrow's,
 * adbc.h or arrow/c/abi.h without redefinition errors.
 *
 * Ownership in one paragraph (the specification is normative):
 *   - A struct is "released" when its release member is NULL.
 *   - The consumer of an exported struct calls release exactly once; release
 *     frees children, dictionary and the producer's private data, then sets
 *     release to NULL.
 *   - Moving a struct is a bitwise copy followed by setting the source's
 *     release to NULL without calling it.
 *   - Buffers are immutable once exported.
 */
#ifndef NEBULA_ARROW_C_H
#define NEBULA_ARROW_C_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  /* Array type description */
  const char *format;
  const char *name;
  const char *metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema **children;
  struct ArrowSchema *dictionary;

  /* Release callback */
  void (*release)(struct ArrowSchema *);
  /* Opaque producer-specific data */
  void *private_data;
};

struct ArrowArray {
  /* Array data description */
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void **buffers;
  struct ArrowArray **children;
  struct ArrowArray *dictionary;

  /* Release callback */
  void (*release)(struct ArrowArray *);
  /* Opaque producer-specific data */
  void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
  /* Callbacks return 0 on success, an errno-compatible code otherwise. */
  int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
  int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
  const char *(*get_last_error)(struct ArrowArrayStream *);

  /* Release callback */
  void (*release)(struct ArrowArrayStream *);
  /* Opaque producer-specific data */
  void *private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

#ifdef __cplusplus
}
#endif

#endif /* NEBULA_ARROW_C_H */
