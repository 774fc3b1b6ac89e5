/*
 * invariant.h - labelled impossible cases (issue 10 item 6), after
 * SQLite's ALWAYS() and NEVER().
 *
 *   if (NBH_NEVER(index >= n)) return NB_INTERNAL;
 *   if (NBH_ALWAYS(item != NULL)) use(item);
 *
 * In checked builds (NDEBUG not defined, or NEBULA_CHECKED defined:
 * debug and sanitizer builds) a broken invariant aborts with its file and
 * line, so tests and fuzzers find it.  In release builds the macros are
 * the plain condition, and the code after them handles the case safely.
 */
#ifndef NBH_INVARIANT_H
#define NBH_INVARIANT_H

#if !defined(NDEBUG) || defined(NEBULA_CHECKED)
#include <stdio.h>
#include <stdlib.h>

/* Report a broken invariant and abort; never returns. */
static inline int nbh_invariant_failed(const char *what, const char *file, int line) {
  fprintf(stderr, "nebula-host: internal error: invariant \"%s\" broken at %s:%d\n", what,
          file, line);
  abort();
  return 0;
}

#define NBH_ALWAYS(x) ((x) ? 1 : nbh_invariant_failed("ALWAYS(" #x ")", __FILE__, __LINE__))
#define NBH_NEVER(x) ((x) ? nbh_invariant_failed("NEVER(" #x ")", __FILE__, __LINE__) : 0)
#else
#define NBH_ALWAYS(x) (!!(x))
#define NBH_NEVER(x) (!!(x))
#endif

#endif /* NBH_INVARIANT_H */
