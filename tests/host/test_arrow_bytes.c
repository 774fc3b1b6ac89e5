/*
 * test_arrow_bytes.c - the byte size of an Arrow batch (host/engine/
 * arrow_bytes.c), which the queue's byte bound and the memory limits use:
 * every buffer counted, growing with the rows, zero for a released array.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "arrow_bytes.h"
#include "nebula/sdk.h"

static void build(const NbField *fields, size_t n_fields, size_t rows,
                  struct ArrowSchema *schema, struct ArrowArray *array) {
  NbBatchBuilder *b;
  NbError err;
  size_t r, c;
  nb_error_init(&err);
  assert_int_equal(nb_schema_export(fields, n_fields, schema, &err), NB_OK);
  assert_int_equal(nb_batch_builder_new(fields, n_fields, rows, &b, &err), NB_OK);
  for (r = 0; r < rows; r++) {
    for (c = 0; c < n_fields; c++) {
      NbColumnBuilder *col = nb_batch_builder_column(b, c);
      switch (fields[c].type) {
        case NB_TYPE_INT64: assert_int_equal(nb_column_append_int64(col, (int64_t)r), NB_OK); break;
        case NB_TYPE_BOOL: assert_int_equal(nb_column_append_bool(col, r % 2), NB_OK); break;
        default: assert_int_equal(nb_column_append_utf8(col, "hello", 5), NB_OK); break;
      }
    }
  }
  assert_int_equal(nb_batch_builder_finish(b, array, &err), NB_OK);
  nb_batch_builder_free(b);
}

static void test_arrow_bytes_from_buffers(void **state) {
  static const NbField fields[] = {{"id", NB_TYPE_INT64, false, 0, 0, NULL},
                                   {"s", NB_TYPE_UTF8, false, 0, 0, NULL},
                                   {"b", NB_TYPE_BOOL, false, 0, 0, NULL}};
  struct ArrowSchema schema;
  struct ArrowArray array;
  uint64_t bytes, minimum;
  (void)state;
  build(fields, 3, 1000, &schema, &array);
  bytes = nbh_arrow_bytes(&schema, &array);
  /* int64 values + int32 offsets + string data + bool bits, plus at most
   * one validity bitmap per column and the struct. */
  minimum = 1000 * 8 + 1001 * 4 + 1000 * 5 + 125;
  assert_true(bytes >= minimum);
  assert_true(bytes <= minimum + 4 * 125);
  array.release(&array);
  schema.release(&schema);
}

static void test_arrow_bytes_grow_with_rows(void **state) {
  static const NbField fields[] = {{"s", NB_TYPE_UTF8, true, 0, 0, NULL}};
  struct ArrowSchema s1, s2;
  struct ArrowArray a1, a2;
  (void)state;
  build(fields, 1, 100, &s1, &a1);
  build(fields, 1, 10000, &s2, &a2);
  assert_true(nbh_arrow_bytes(&s2, &a2) > 90 * nbh_arrow_bytes(&s1, &a1));
  a1.release(&a1);
  a2.release(&a2);
  s1.release(&s1);
  s2.release(&s2);
}

static void test_arrow_bytes_of_released_array(void **state) {
  struct ArrowArray array;
  (void)state;
  memset(&array, 0, sizeof array);
  assert_int_equal(nbh_arrow_bytes(NULL, &array), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arrow_bytes_from_buffers),
      cmocka_unit_test(test_arrow_bytes_grow_with_rows),
      cmocka_unit_test(test_arrow_bytes_of_released_array),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
