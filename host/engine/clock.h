/*
 * clock.h - the monotonic and wall clocks the engine measures with, in one
 * unit (nanoseconds) so intervals never mix clocks.
 */
#ifndef NBH_CLOCK_H
#define NBH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic time: for intervals, deadlines and rates. */
static inline uint64_t nbh_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wall-clock time: for timestamps shown to people and metrics. */
static inline uint64_t nbh_wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline double nbh_ns_to_seconds(uint64_t ns) { return (double)ns / 1e9; }

#endif /* NBH_CLOCK_H */
