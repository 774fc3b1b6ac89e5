/*
 * test_queue.c - the bounded queue between the engine's threads (bounds in
 * items and bytes, order, timeouts, abort, schema references).  The byte
 * size of Arrow batches that the byte bound uses: test_arrow_bytes.c.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nebula/sdk.h"
#include "queue.h"

static NbhItem *item_of(uint32_t stream, uint64_t bytes) {
  NbhItem *item = nbh_item_new(NBH_ITEM_BATCH, stream);
  assert_non_null(item);
  item->bytes = bytes;
  return item;
}

static void test_fifo_order(void **state) {
  NbhQueue q;
  NbhItem *item;
  uint32_t i;
  (void)state;
  assert_int_equal(nbh_queue_init(&q, 8, 1000), 0);
  for (i = 0; i < 5; i++) assert_int_equal(nbh_queue_push(&q, item_of(i, 10)), NBH_QUEUE_OK);
  for (i = 0; i < 5; i++) {
    assert_int_equal(nbh_queue_pop(&q, 0, &item), NBH_QUEUE_OK);
    assert_int_equal(item->stream, i);
    nbh_item_free(item);
  }
  assert_int_equal(nbh_queue_pop(&q, 0, &item), NBH_QUEUE_TIMEOUT);
  assert_null(item);
  nbh_queue_destroy(&q);
}

static void test_timeout_waits(void **state) {
  NbhQueue q;
  NbhItem *item;
  struct timespec a, b;
  long ms;
  (void)state;
  assert_int_equal(nbh_queue_init(&q, 2, 100), 0);
  clock_gettime(CLOCK_MONOTONIC, &a);
  assert_int_equal(nbh_queue_pop(&q, 50, &item), NBH_QUEUE_TIMEOUT);
  clock_gettime(CLOCK_MONOTONIC, &b);
  ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  assert_true(ms >= 49);
  nbh_queue_destroy(&q);
}

typedef struct Producer {
  NbhQueue *q;
  int n;
  uint64_t bytes;
  int max_seen_items;
  uint64_t max_seen_bytes;
} Producer;

static void *produce(void *arg) {
  Producer *p = arg;
  int i;
  for (i = 0; i < p->n; i++) {
    size_t items;
    uint64_t bytes;
    if (nbh_queue_push(p->q, item_of((uint32_t)i, p->bytes)) != NBH_QUEUE_OK) break;
    nbh_queue_depth(p->q, &items, &bytes);
    if ((int)items > p->max_seen_items) p->max_seen_items = (int)items;
    if (bytes > p->max_seen_bytes) p->max_seen_bytes = bytes;
  }
  return NULL;
}

static void test_bounds_hold_under_load(void **state) {
  NbhQueue q;
  NbhItem *item;
  pthread_t thread;
  Producer p;
  int i;
  (void)state;
  /* 4 items of 30 bytes would be 120 > 100: at most 3 fit by bytes. */
  assert_int_equal(nbh_queue_init(&q, 4, 100), 0);
  memset(&p, 0, sizeof p);
  p.q = &q;
  p.n = 2000;
  p.bytes = 30;
  assert_int_equal(pthread_create(&thread, NULL, produce, &p), 0);
  for (i = 0; i < 2000; i++) {
    assert_int_equal(nbh_queue_pop(&q, -1, &item), NBH_QUEUE_OK);
    assert_int_equal(item->stream, (uint32_t)i);
    nbh_item_free(item);
  }
  pthread_join(thread, NULL);
  assert_true(p.max_seen_items <= 3);
  assert_true(p.max_seen_bytes <= 100);
  nbh_queue_destroy(&q);
}

static void test_item_count_bound(void **state) {
  NbhQueue q;
  NbhItem *item;
  pthread_t thread;
  Producer p;
  int i;
  (void)state;
  assert_int_equal(nbh_queue_init(&q, 2, 1u << 30), 0);
  memset(&p, 0, sizeof p);
  p.q = &q;
  p.n = 500;
  p.bytes = 1;
  assert_int_equal(pthread_create(&thread, NULL, produce, &p), 0);
  for (i = 0; i < 500; i++) {
    assert_int_equal(nbh_queue_pop(&q, -1, &item), NBH_QUEUE_OK);
    nbh_item_free(item);
  }
  pthread_join(thread, NULL);
  assert_true(p.max_seen_items <= 2);
  nbh_queue_destroy(&q);
}

static void test_oversized_item_passes_alone(void **state) {
  NbhQueue q;
  NbhItem *item;
  (void)state;
  assert_int_equal(nbh_queue_init(&q, 4, 10), 0);
  assert_int_equal(nbh_queue_push(&q, item_of(0, 1000)), NBH_QUEUE_OK);
  assert_int_equal(nbh_queue_pop(&q, 0, &item), NBH_QUEUE_OK);
  nbh_item_free(item);
  nbh_queue_destroy(&q);
}

static void *abort_later(void *arg) {
  struct timespec ts = {0, 50 * 1000 * 1000};
  nanosleep(&ts, NULL);
  nbh_queue_abort(arg);
  return NULL;
}

static void test_abort_wakes_pusher_and_popper(void **state) {
  NbhQueue q;
  NbhItem *item, *blocked;
  pthread_t thread;
  (void)state;
  assert_int_equal(nbh_queue_init(&q, 1, 100), 0);
  assert_int_equal(nbh_queue_push(&q, item_of(0, 1)), NBH_QUEUE_OK);
  blocked = item_of(1, 1);
  assert_int_equal(pthread_create(&thread, NULL, abort_later, &q), 0);
  /* Full: waits until the abort, then the caller still owns the item. */
  assert_int_equal(nbh_queue_push(&q, blocked), NBH_QUEUE_ABORTED);
  nbh_item_free(blocked);
  pthread_join(thread, NULL);
  assert_int_equal(nbh_queue_pop(&q, -1, &item), NBH_QUEUE_ABORTED);
  nbh_queue_destroy(&q); /* frees the item still queued */
}

static void test_schema_ref_counts(void **state) {
  static const NbField fields[] = {{"a", NB_TYPE_INT64, false, 0, 0, NULL}};
  struct ArrowSchema schema;
  NbhSchemaRef *ref;
  NbhItem *item;
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_schema_export(fields, 1, &schema, &err), NB_OK);
  ref = nbh_schema_ref_new(&schema);
  assert_non_null(ref);
  assert_null(schema.release);
  item = nbh_item_new(NBH_ITEM_SCHEMA, 0);
  item->schema = nbh_schema_ref_get(ref);
  nbh_schema_ref_put(ref);
  assert_string_equal(item->schema->schema.children[0]->name, "a");
  nbh_item_free(item); /* last reference: released (checked by ASan/valgrind) */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fifo_order),
      cmocka_unit_test(test_timeout_waits),
      cmocka_unit_test(test_bounds_hold_under_load),
      cmocka_unit_test(test_item_count_bound),
      cmocka_unit_test(test_oversized_item_passes_alone),
      cmocka_unit_test(test_abort_wakes_pusher_and_popper),
      cmocka_unit_test(test_schema_ref_counts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
