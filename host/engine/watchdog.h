/*
 * watchdog.h - the rule that decides whether a connector call has stalled.
 * Kept apart from the supervisor so that it can be tested with any clock
 * values, including the ones a race produces.
 */
#ifndef NBH_WATCHDOG_H
#define NBH_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

/* Whether a call that started at started_ns (monotonic; 0 means "not inside
 * a call") has lasted limit_ns or more at now_ns.  *elapsed_ns receives how
 * long it has lasted (0 when it has not started).
 *
 * The caller reads started_ns before it takes now_ns; still, a call may
 * start between two reads on another thread, so a start later than now_ns
 * is a call that has only just begun: never stalled (an unsigned
 * now - started would wrap to about 18446744074 seconds). */
bool nbh_call_stalled(uint64_t started_ns, uint64_t now_ns, uint64_t limit_ns,
                      uint64_t *elapsed_ns);

#endif /* NBH_WATCHDOG_H */
