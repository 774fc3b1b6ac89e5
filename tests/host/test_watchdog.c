/*
 * test_watchdog.c - the watchdog's stall rule (host/engine/watchdog.c) with the clock
 * values a race between the supervisor and a stage produces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>

#include "watchdog.h"

/* The watchdog's rule, with the clock values a race between the supervisor
 * and a stage produces: a call that starts after the supervisor read its
 * clock is not stalled (it used to be reported as stalled for 18446744074
 * seconds). */
static void test_watchdog_rule(void **state) {
  const uint64_t s = 1000000000ull, limit = 2 * s;
  uint64_t elapsed = 99;
  (void)state;
  assert_false(nbh_call_stalled(0, 5 * s, limit, &elapsed));
  assert_int_equal(elapsed, 0);
  assert_false(nbh_call_stalled(10 * s, 11 * s, limit, &elapsed));
  assert_int_equal(elapsed, s);
  assert_true(nbh_call_stalled(10 * s, 12 * s, limit, &elapsed));
  assert_int_equal(elapsed, 2 * s);
  assert_true(nbh_call_stalled(10 * s, 100 * s, limit, &elapsed));
  /* Started after now: just begun. */
  assert_false(nbh_call_stalled(10 * s + 1, 10 * s, limit, &elapsed));
  assert_int_equal(elapsed, 0);
  assert_false(nbh_call_stalled(UINT64_MAX, 1, limit, &elapsed));
  /* No limit: never stalled. */
  assert_false(nbh_call_stalled(1, UINT64_MAX, 0, &elapsed));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_watchdog_rule),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
