/* nb_keyed_find / nb_keyed_append: arrays of structs found by a string key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nebula/sdk.h"

/* The key is not the first member, to test the offset. */
typedef struct Item {
  int before;
  char *name;
  double after;
} Item;

static void free_items(Item *items, size_t n) {
  for (size_t i = 0; i < n; i++) free(items[i].name);
  free(items);
}

static void test_append_then_find(void **state) {
  (void)state;
  Item *items = NULL;
  size_t n = 0;
  const char *names[] = {"orders", "customers", "orders.csv"};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(NB_KEYED_FIND(items, n, Item, name, names[i]), n);
    Item *v = NB_KEYED_APPEND(items, n, Item, name, names[i]);
    assert_non_null(v);
    items = v;
    /* All zero but the key, which is a copy. */
    assert_int_equal(items[n].before, 0);
    assert_true(items[n].after == 0.0);
    assert_string_equal(items[n].name, names[i]);
    assert_ptr_not_equal(items[n].name, names[i]);
    items[n].before = (int)i + 1;
    n++;
  }
  for (size_t i = 0; i < 3; i++) {
    size_t at = NB_KEYED_FIND(items, n, Item, name, names[i]);
    assert_int_equal(at, i);
    assert_int_equal(items[at].before, (int)i + 1);
  }
  assert_int_equal(NB_KEYED_FIND(items, n, Item, name, "order"), n);
  assert_int_equal(NB_KEYED_FIND(items, n, Item, name, ""), n);
  free_items(items, n);
}

/* The first of equal keys wins; an item whose key is NULL is passed over. */
static void test_first_and_null_keys(void **state) {
  (void)state;
  Item items[3] = {{1, NULL, 0}, {2, (char *)"a", 0}, {3, (char *)"a", 0}};
  assert_int_equal(NB_KEYED_FIND(items, 3, Item, name, "a"), 1);
  assert_int_equal(NB_KEYED_FIND(items, 3, Item, name, NULL), 3);
  assert_int_equal(NB_KEYED_FIND(NULL, 0, Item, name, "a"), 0);
}

static void test_refused(void **state) {
  (void)state;
  Item one = {0, NULL, 0};
  /* A NULL key, or a key member that does not fit the item. */
  assert_null(NB_KEYED_APPEND(NULL, 0, Item, name, NULL));
  assert_null(nb_keyed_append(NULL, 0, sizeof(char *), 1, "k"));
  /* A count whose size overflows leaves the array alone. */
  assert_null(nb_keyed_append(&one, SIZE_MAX / sizeof(Item), sizeof(Item),
                              offsetof(Item, name), "k"));
  assert_null(one.name);
}

static void test_find_or_add(void **state) {
  (void)state;
  Item *items = NULL;
  size_t n = 0, i = 99;
  items = NB_KEYED_FIND_OR_ADD(items, &n, Item, name, "a", &i);
  assert_non_null(items);
  assert_int_equal(n, 1);
  assert_int_equal(i, 0);
  items[0].before = 5;
  items = NB_KEYED_FIND_OR_ADD(items, &n, Item, name, "b", &i);
  assert_int_equal(n, 2);
  assert_int_equal(i, 1);
  /* Found: nothing added, the item kept. */
  Item *same = NB_KEYED_FIND_OR_ADD(items, &n, Item, name, "a", &i);
  assert_ptr_equal(same, items);
  assert_int_equal(n, 2);
  assert_int_equal(i, 0);
  assert_int_equal(items[0].before, 5);
  /* Refused: the array and its count unchanged. */
  assert_null(NB_KEYED_FIND_OR_ADD(items, &n, Item, name, NULL, &i));
  assert_int_equal(n, 2);
  free_items(items, n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_append_then_find),
      cmocka_unit_test(test_first_and_null_keys),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_find_or_add),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
