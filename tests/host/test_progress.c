/*
 * test_progress.c - the progress line (host/engine/progress.c): its text, and silence
 * when stderr is not a terminal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "progress.h"

static void test_progress_line(void **state) {
  NbhProgressSample s = {1000000, 0, 50 * 1024 * 1024, 300, 1200};
  char line[256];
  (void)state;
  nbh_progress_format(line, sizeof line, &s, 10.0);
  assert_string_equal(line, "1000000 records  50.0 MiB  100000 rec/s  5.0 MiB/s  25.0%  ETA 0:00:30");
  s.input_total = -1;
  s.rejected = 4;
  nbh_progress_format(line, sizeof line, &s, 10.0);
  assert_string_equal(line, "1000000 records  50.0 MiB  100000 rec/s  5.0 MiB/s  (rejected: 4)");
}

static void test_progress_off_without_terminal(void **state) {
  NbhProgress p;
  NbhProgressSample s = {1, 0, 1, 0, -1};
  FILE *fp = tmpfile();
  (void)state;
  nbh_progress_init(&p, fp, true, 0);
  assert_false(p.enabled);
  nbh_progress_update(&p, &s, 1000000000ull);
  nbh_progress_finish(&p);
  assert_int_equal(ftell(fp), 0);
  fclose(fp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_progress_line),
      cmocka_unit_test(test_progress_off_without_terminal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
