/*
 * sdk_internal.h - what the files of libnebula-sdk share and connectors do
 * not see: visibility of the public declarations, the NbError field guard,
 * and small helpers used by more than one file.
 */
#ifndef NEBULA_SDK_INTERNAL_H
#define NEBULA_SDK_INTERNAL_H

/* The library is compiled with -fvisibility=hidden; the public functions
 * are made visible by declaring them inside this pragma, so sdk.h itself
 * stays free of build-specific attributes. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(default)
#endif
#include "nebula/sdk.h"
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* "Cannot happen" cases, labelled (as SQLite's ALWAYS/NEVER).  In debug
 * builds (NDEBUG not defined) and sanitizer builds the broken invariant
 * stops the process at once, naming the file and line, so tests and fuzzers
 * find it; in release builds (-DNDEBUG) NB_NEVER(x) is just x, and the code
 * after it still returns NB_INTERNAL instead of going on with bad state:
 *
 *   if (NB_NEVER(type_unknown)) return nb_error_set(err, NB_INTERNAL, ...);
 *
 * Use it only for what the library itself guarantees, never for input. */
#if !defined(NDEBUG) || defined(__SANITIZE_ADDRESS__) || defined(NB_SDK_CHECKED)
static inline bool nb_sdk_never_failed(const char *expr, const char *file, int line) {
  fprintf(stderr, "libnebula-sdk: internal error at %s:%d: \"%s\" cannot happen\n", file,
          line, expr);
  abort();
}
#define NB_NEVER(x) ((x) ? nb_sdk_never_failed(#x, __FILE__, __LINE__) : false)
#else
#define NB_NEVER(x) (!!(x))
#endif
#define NB_ALWAYS(x) (!NB_NEVER(!(x)))

/* True when the writer may store `field` of *err: the caller declared a
 * struct_size that covers it (abi.h: a callee writes no field beyond). */
#define NB_ERR_HAS(err, field)                               \
  ((err) != NULL && (size_t)(err)->struct_size >=          \
                        offsetof(NbError, field) + sizeof((err)->field))

/* The metadata key that names an Arrow extension type. */
#define NB_EXT_KEY "ARROW:extension:name"
#define NB_EXT_JSON "arrow.json"
#define NB_EXT_NUMBER "nebula.number"

/* Parse an Arrow field's format (and extension metadata) into *field.
 * Returns false when the format is not one of the NbType encodings. */
bool nbsdk_field_from_schema(const struct ArrowSchema *schema, NbField *field,
                            char *why, size_t why_cap);

/* The shortest text that strtod reads back as exactly v, in printf %g
 * syntax ("0.1", "1e+21", "5e-324", "-0"; "nan", "inf" as printf writes
 * them), NUL-terminated in out.  Returns its length, or 0 (out empty)
 * when cap < NBSDK_DOUBLE_CHARS.  See format_double.c for the proof. */
#define NBSDK_DOUBLE_CHARS 32
_Static_assert(NBSDK_DOUBLE_CHARS == NB_DOUBLE_CHARS, "sdk.h promises the same size");
size_t nbsdk_format_double(double v, char *out, size_t cap);
/* The same through printf and strtod (the reference the fast path is
 * tested against, and the path without 128-bit integers). */
size_t nbsdk_format_double_printf(double v, char *out, size_t cap);
/* The shortest decimal digits * 10^exp10 that read back as the finite,
 * nonzero v (shortest_digits.c); false when v is not one or the platform
 * lacks 128-bit integers. */
bool nbsdk_shortest_digits(double v, uint64_t *digits, int32_t *exp10);

/* At most `cap - 1` bytes of text, with "..." when cut, for quoting a value
 * in a message without passing a truncated value off as the whole. */
const char *nbsdk_quote(const char *text, size_t len, char *buf, size_t cap);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t nbsdk_days_from_civil(int64_t y, unsigned m, unsigned d);
void nbsdk_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* The children of an exported Arrow C Data node (ArrowSchema or
 * ArrowArray alike: both have a release member), kept in one array with a
 * second array of pointers to them: release every child not moved out by
 * the consumer (release set to NULL), then free both arrays. */
#define NB_EXPORTED_CHILDREN_FREE(nodes, ptrs, n)              \
  do {                                                         \
    for (int64_t child_ = 0; child_ < (n); child_++)           \
      if ((nodes)[child_].release != NULL)                     \
        (nodes)[child_].release(&(nodes)[child_]);             \
    free(nodes);                                               \
    free(ptrs);                                                \
  } while (0)

#endif /* NEBULA_SDK_INTERNAL_H */
