/*
 * retry.c - exponential backoff with full jitter and the per-run random
 * generator behind it (see retry.h).
 */
#include <math.h>
#include <unistd.h>

#include "clock.h"
#include "retry.h"

void nbh_rng_seed(NbhRng *rng, uint64_t salt) {
  rng->state = nbh_wall_ns() ^ (nbh_monotonic_ns() << 17) ^
               ((uint64_t)getpid() << 32) ^ (salt * 0x9e3779b97f4a7c15ull);
  /* Mix once so close seeds do not start with close outputs. */
  (void)nbh_rng_next(rng);
}

uint64_t nbh_rng_next(NbhRng *rng) {
  uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double nbh_rng_unit(NbhRng *rng) {
  return (double)(nbh_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

void nbh_retry_start(NbhRetry *retry, const NbhRetryPolicy *policy, NbhRng *rng) {
  retry->policy = policy;
  retry->rng = rng;
  retry->retries = 0;
  retry->first_failure_ns = 0;
}

double nbh_backoff_bound(const NbhRetryPolicy *policy, uint32_t retry_index) {
  double bound;
  /* 2^64 * base overflows nothing in double, but stop early anyway. */
  if (retry_index > 62) return policy->cap_seconds;
  bound = policy->base_seconds * ldexp(1.0, (int)retry_index);
  return bound < policy->cap_seconds ? bound : policy->cap_seconds;
}

double nbh_retry_next_delay(NbhRetry *retry, uint64_t now_ns) {
  const NbhRetryPolicy *p = retry->policy;
  double delay, remaining;

  if (retry->first_failure_ns == 0) retry->first_failure_ns = now_ns ? now_ns : 1;
  if (retry->retries >= p->max_retries) return -1.0;
  delay = nbh_rng_unit(retry->rng) * nbh_backoff_bound(p, retry->retries);
  if (p->deadline_seconds > 0) {
    remaining = p->deadline_seconds -
                nbh_ns_to_seconds(now_ns - retry->first_failure_ns);
    if (remaining <= 0) return -1.0;
    if (delay > remaining) delay = remaining;
  }
  retry->retries++;
  return delay;
}
