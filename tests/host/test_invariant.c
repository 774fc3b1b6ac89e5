/*
 * test_invariant.c - NBH_ALWAYS / NBH_NEVER (host/base/invariant.h): labelled impossible
 * cases, checked in this (debug) build.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "invariant.h"

/* NBH_ALWAYS / NBH_NEVER: the plain condition when it holds; a broken one
 * aborts in a checked build (this test program is built without NDEBUG). */
static void test_invariants(void **state) {
  pid_t pid;
  int status = 0;
  (void)state;
  assert_int_equal(NBH_ALWAYS(3 > 2), 1);
  assert_int_equal(NBH_NEVER(3 < 2), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int broken = 1;
    (void)!freopen("/dev/null", "w", stderr);
    if (NBH_NEVER(broken)) _exit(3);
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_invariants),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
