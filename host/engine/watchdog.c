/*
 * watchdog.c - see watchdog.h.
 */
#include "watchdog.h"

bool nbh_call_stalled(uint64_t started_ns, uint64_t now_ns, uint64_t limit_ns,
                      uint64_t *elapsed_ns) {
  *elapsed_ns = 0;
  if (started_ns == 0 || limit_ns == 0 || started_ns > now_ns) return false;
  *elapsed_ns = now_ns - started_ns;
  return *elapsed_ns >= limit_ns;
}
