/* nb_stream_index_check and nb_stream_info_set: what every source says
 * about its streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nebula/sdk.h"

static void test_index_check(void **state) {
  (void)state;
  NbError err;
  nb_error_init(&err);
  assert_int_equal(nb_stream_index_check(0, 1, &err), NB_OK);
  assert_int_equal(nb_stream_index_check(2, 3, &err), NB_OK);
  assert_null(err.message);
  assert_int_equal(nb_stream_index_check(3, 3, &err), NB_INVALID);
  assert_string_equal(err.message, "stream index 3 is out of range: the source has 3 streams");
  assert_int_equal(nb_stream_index_check(0, 0, &err), NB_INVALID);
  assert_int_equal(nb_stream_index_check(UINT32_MAX, 1, &err), NB_INVALID);
  assert_string_equal(err.message, "stream index 4294967295 is out of range: the source has 1 stream");
  assert_int_equal(nb_stream_index_check(5, 2, NULL), NB_INVALID);
  nb_error_release(&err);
}

/* Only the fields out's struct_size covers are written. */
static void test_info_set(void **state) {
  (void)state;
  NbStreamInfo info;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  nb_stream_info_set(&info, "a.csv", 42);
  assert_string_equal(info.name, "a.csv");
  assert_int_equal(info.size_bytes, 42);

  memset(&info, 0, sizeof info);
  info.struct_size = (uint32_t)offsetof(NbStreamInfo, size_bytes);
  info.size_bytes = 7;
  nb_stream_info_set(&info, "b", -1);
  assert_string_equal(info.name, "b");
  assert_int_equal(info.size_bytes, 7);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_index_check),
      cmocka_unit_test(test_info_set),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
