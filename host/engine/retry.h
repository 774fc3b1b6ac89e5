/*
 * retry.h - when to try a transient failure (NB_UNAVAILABLE) again:
 * exponential backoff with full jitter, bounded by a number of retries and
 * a deadline.
 *
 * Full jitter (the delay is uniform between 0 and the exponential bound)
 * keeps many clients that failed together from retrying together.  Each
 * caller owns its random generator: no global state, and two threads never
 * share one.
 */
#ifndef NBH_RETRY_H
#define NBH_RETRY_H

#include <stdint.h>

#define NBH_RETRY_BASE_SECONDS 0.1
#define NBH_RETRY_CAP_SECONDS 30.0

/* A small generator (splitmix64): fast, 64 bits of state, good enough for
 * jitter.  Not for anything secret. */
typedef struct NbhRng {
  uint64_t state;
} NbhRng;

/* Seed from the clocks, the process id and salt (e.g. the stage number), so
 * every run and every stage draws a different sequence. */
void nbh_rng_seed(NbhRng *rng, uint64_t salt);
uint64_t nbh_rng_next(NbhRng *rng);
/* Uniform in [0, 1). */
double nbh_rng_unit(NbhRng *rng);

typedef struct NbhRetryPolicy {
  uint32_t max_retries;      /* retries after the first failure */
  double deadline_seconds;   /* from the first failure; <= 0: no deadline */
  double base_seconds;       /* NBH_RETRY_BASE_SECONDS */
  double cap_seconds;        /* NBH_RETRY_CAP_SECONDS */
} NbhRetryPolicy;

/* The retries of one call: start fresh for every call that succeeded. */
typedef struct NbhRetry {
  const NbhRetryPolicy *policy;
  NbhRng *rng;
  uint32_t retries;          /* retries granted so far */
  uint64_t first_failure_ns; /* monotonic; 0 before the first failure */
} NbhRetry;

void nbh_retry_start(NbhRetry *retry, const NbhRetryPolicy *policy, NbhRng *rng);

/* The bound of the delay before retry number `retry_index` (0-based):
 * min(cap, base * 2^retry_index). */
double nbh_backoff_bound(const NbhRetryPolicy *policy, uint32_t retry_index);

/* Called after a transient failure at monotonic time now_ns.  Returns the
 * number of seconds to wait before trying again (never past the deadline),
 * or a negative number when the retries or the deadline are used up. */
double nbh_retry_next_delay(NbhRetry *retry, uint64_t now_ns);

#endif /* NBH_RETRY_H */
