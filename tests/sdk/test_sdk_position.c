/*
 * test_sdk_position.c - the "NBP1" position format of libnebula-sdk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nebula/sdk.h"

static void round_trip(void **state) {
  uint64_t in[3] = {123456789012345ull, 42, UINT64_MAX}, out[3];
  unsigned char buf[NB_POSITION_MAX_BYTES];
  size_t n;
  (void)state;
  n = nb_position_encode(buf, sizeof buf, in, 3);
  assert_int_equal(n, 8 + 24);
  assert_memory_equal(buf, "NBP1\x03\0\0\0", 8);
  /* little-endian values */
  assert_int_equal(buf[8 + 8], 42);
  assert_int_equal(buf[8 + 9], 0);
  assert_int_equal(nb_position_decode(buf, n, out, 3, NULL), NB_OK);
  assert_memory_equal(in, out, sizeof in);
}

static void encode_limits(void **state) {
  uint64_t v[NB_POSITION_MAX_VALUES + 1] = {0};
  unsigned char buf[NB_POSITION_MAX_BYTES + 8];
  (void)state;
  assert_int_equal(nb_position_encode(buf, 15, v, 1), 0);
  assert_int_equal(nb_position_encode(buf, 16, v, 1), 16);
  assert_int_equal(nb_position_encode(buf, sizeof buf, v, NB_POSITION_MAX_VALUES),
                   NB_POSITION_MAX_BYTES);
  assert_int_equal(nb_position_encode(buf, sizeof buf, v, NB_POSITION_MAX_VALUES + 1),
                   0);
  assert_int_equal(nb_position_encode(buf, sizeof buf, NULL, 0), 8);
}

static void rejects_foreign(void **state) {
  uint64_t v[2] = {1, 2}, out[2];
  unsigned char buf[64];
  size_t n;
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_position_decode("{\"offset\":12}", 13, out, 2, &err),
                   NB_INVALID);
  assert_string_equal(err.message, "unrecognized resume position");
  assert_non_null(strstr(err.detail, "NBP1"));
  nb_error_release(&err);
  assert_int_equal(nb_position_decode(NULL, 0, out, 2, &err), NB_INVALID);
  nb_error_release(&err);

  n = nb_position_encode(buf, sizeof buf, v, 2);
  /* wrong count expected */
  assert_int_equal(nb_position_decode(buf, n, out, 3, &err), NB_INVALID);
  assert_non_null(strstr(err.detail, "holds 2 values"));
  nb_error_release(&err);
  /* truncated and overlong */
  assert_int_equal(nb_position_decode(buf, n - 1, out, 2, &err), NB_INVALID);
  assert_string_equal(err.message, "corrupt resume position");
  nb_error_release(&err);
  assert_int_equal(nb_position_decode(buf, n + 1, out, 2, &err), NB_INVALID);
  nb_error_release(&err);
  /* corrupt magic */
  buf[3] = '2';
  assert_int_equal(nb_position_decode(buf, n, out, 2, &err), NB_INVALID);
  nb_error_release(&err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip),
      cmocka_unit_test(encode_limits),
      cmocka_unit_test(rejects_foreign),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
