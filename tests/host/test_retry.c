/*
 * test_retry.c - the retry policy (host/engine/retry.c): backoff bounds, full jitter
 * within the bound, two generators that differ, the deadline and zero
 * retries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>

#include "nebula/sdk.h"
#include "retry.h"

static NbhRetryPolicy policy(uint32_t max_retries, double deadline) {
  NbhRetryPolicy p = {max_retries, deadline, NBH_RETRY_BASE_SECONDS, NBH_RETRY_CAP_SECONDS};
  return p;
}

static void test_backoff_bounds(void **state) {
  NbhRetryPolicy p = policy(100, 0);
  (void)state;
  assert_true(nbh_backoff_bound(&p, 0) == 0.1);
  assert_true(nbh_backoff_bound(&p, 1) == 0.2);
  assert_true(nbh_backoff_bound(&p, 5) == 3.2);
  assert_true(nbh_backoff_bound(&p, 9) == 30.0);
  assert_true(nbh_backoff_bound(&p, 1000) == 30.0);
}

static void test_full_jitter_stays_within_bound(void **state) {
  NbhRetryPolicy p = policy(12, 0);
  NbhRng rng;
  NbhRetry retry;
  double sum = 0;
  uint32_t i, trial;
  (void)state;
  nbh_rng_seed(&rng, 7);
  for (trial = 0; trial < 200; trial++) {
    nbh_retry_start(&retry, &p, &rng);
    for (i = 0; i < 12; i++) {
      double d = nbh_retry_next_delay(&retry, 1000000000ull);
      assert_true(d >= 0);
      assert_true(d <= nbh_backoff_bound(&p, i));
      if (i == 0) sum += d;
    }
    assert_true(nbh_retry_next_delay(&retry, 1000000000ull) < 0);
  }
  /* Full jitter: the first delays spread over [0, 0.1], they are not all
   * at the bound (the mean of 200 uniform draws is far from 0.1). */
  assert_true(sum / 200 < 0.09);
  assert_true(sum / 200 > 0.01);
}

static void test_two_generators_differ(void **state) {
  NbhRng a, b;
  (void)state;
  nbh_rng_seed(&a, 1);
  nbh_rng_seed(&b, 2);
  assert_true(nbh_rng_next(&a) != nbh_rng_next(&b));
}

static void test_deadline_limits_retries(void **state) {
  NbhRetryPolicy p = policy(1000, 1.0);
  NbhRng rng;
  NbhRetry retry;
  uint64_t t0 = 5000000000ull;
  double d;
  (void)state;
  nbh_rng_seed(&rng, 3);
  nbh_retry_start(&retry, &p, &rng);
  d = nbh_retry_next_delay(&retry, t0);
  assert_true(d >= 0 && d <= 0.1);
  /* 0.9 s later only 0.1 s remain: no delay goes past the deadline. */
  d = nbh_retry_next_delay(&retry, t0 + 900000000ull);
  assert_true(d >= 0 && d <= 0.1 + 1e-9);
  assert_true(nbh_retry_next_delay(&retry, t0 + 1000000000ull) < 0);
}

static void test_zero_retries(void **state) {
  NbhRetryPolicy p = policy(0, 100);
  NbhRng rng;
  NbhRetry retry;
  (void)state;
  nbh_rng_seed(&rng, 3);
  nbh_retry_start(&retry, &p, &rng);
  assert_true(nbh_retry_next_delay(&retry, 1) < 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backoff_bounds),
      cmocka_unit_test(test_full_jitter_stays_within_bound),
      cmocka_unit_test(test_two_generators_differ),
      cmocka_unit_test(test_deadline_limits_retries),
      cmocka_unit_test(test_zero_retries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
