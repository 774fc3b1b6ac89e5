/*
 * queue.c - the bounded hand-off between the source and destination threads
 * (see queue.h).  A mutex, two condition variables on the monotonic clock,
 * and a singly linked list of items.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "queue.h"

NbhSchemaRef *nbh_schema_ref_new(struct ArrowSchema *schema) {
  NbhSchemaRef *ref = calloc(1, sizeof *ref);
  if (ref == NULL) return NULL;
  ref->schema = *schema;
  schema->release = NULL;
  ref->refs = 1;
  return ref;
}

NbhSchemaRef *nbh_schema_ref_get(NbhSchemaRef *ref) {
  __atomic_add_fetch(&ref->refs, 1, __ATOMIC_RELAXED);
  return ref;
}

void nbh_schema_ref_put(NbhSchemaRef *ref) {
  if (ref == NULL) return;
  if (__atomic_sub_fetch(&ref->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  if (ref->schema.release != NULL) ref->schema.release(&ref->schema);
  free(ref);
}

NbhItem *nbh_item_new(NbhItemKind kind, uint32_t stream) {
  NbhItem *item = calloc(1, sizeof *item);
  if (item == NULL) return NULL;
  item->kind = kind;
  item->stream = stream;
  item->stream_bytes_read = -1;
  return item;
}

void nbh_item_free(NbhItem *item) {
  if (item == NULL) return;
  nbh_schema_ref_put(item->schema);
  if (item->array.release != NULL) item->array.release(&item->array);
  free(item->position);
  free(item->dead_letter);
  free(item);
}

int nbh_queue_init(NbhQueue *queue, size_t max_items, uint64_t max_bytes) {
  pthread_condattr_t attr;
  int rc;

  queue->head = queue->tail = NULL;
  queue->n_items = 0;
  queue->n_bytes = 0;
  queue->max_items = max_items > 0 ? max_items : 1;
  queue->max_bytes = max_bytes > 0 ? max_bytes : 1;
  queue->aborted = 0;

  rc = pthread_mutex_init(&queue->lock, NULL);
  if (rc != 0) return rc;
  rc = pthread_condattr_init(&attr);
  if (rc != 0) goto fail_mutex;
  /* Timed waits measure intervals: the wall clock may jump. */
  rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (rc != 0) goto fail_attr;
  rc = pthread_cond_init(&queue->not_empty, &attr);
  if (rc != 0) goto fail_attr;
  rc = pthread_cond_init(&queue->not_full, &attr);
  if (rc != 0) goto fail_not_empty;
  pthread_condattr_destroy(&attr);
  return 0;

fail_not_empty:
  pthread_cond_destroy(&queue->not_empty);
fail_attr:
  pthread_condattr_destroy(&attr);
fail_mutex:
  pthread_mutex_destroy(&queue->lock);
  return rc;
}

void nbh_queue_destroy(NbhQueue *queue) {
  NbhItem *item = queue->head;
  while (item != NULL) {
    NbhItem *next = item->next;
    nbh_item_free(item);
    item = next;
  }
  queue->head = queue->tail = NULL;
  pthread_cond_destroy(&queue->not_full);
  pthread_cond_destroy(&queue->not_empty);
  pthread_mutex_destroy(&queue->lock);
}

static int has_room(const NbhQueue *queue, uint64_t bytes) {
  if (queue->n_items == 0) return 1;
  if (queue->n_items >= queue->max_items) return 0;
  return queue->n_bytes + bytes <= queue->max_bytes;
}

NbhQueueResult nbh_queue_push(NbhQueue *queue, NbhItem *item) {
  pthread_mutex_lock(&queue->lock);
  while (!queue->aborted && !has_room(queue, item->bytes))
    pthread_cond_wait(&queue->not_full, &queue->lock);
  if (queue->aborted) {
    pthread_mutex_unlock(&queue->lock);
    return NBH_QUEUE_ABORTED;
  }
  item->next = NULL;
  if (queue->tail != NULL)
    queue->tail->next = item;
  else
    queue->head = item;
  queue->tail = item;
  queue->n_items++;
  queue->n_bytes += item->bytes;
  pthread_cond_signal(&queue->not_empty);
  pthread_mutex_unlock(&queue->lock);
  return NBH_QUEUE_OK;
}

static struct timespec deadline_after_ms(int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

NbhQueueResult nbh_queue_pop(NbhQueue *queue, int timeout_ms, NbhItem **out) {
  struct timespec deadline;
  NbhItem *item;

  *out = NULL;
  if (timeout_ms >= 0) deadline = deadline_after_ms(timeout_ms);
  pthread_mutex_lock(&queue->lock);
  while (!queue->aborted && queue->head == NULL) {
    if (timeout_ms < 0) {
      pthread_cond_wait(&queue->not_empty, &queue->lock);
    } else if (pthread_cond_timedwait(&queue->not_empty, &queue->lock,
                                      &deadline) == ETIMEDOUT) {
      break;
    }
  }
  if (queue->aborted) {
    pthread_mutex_unlock(&queue->lock);
    return NBH_QUEUE_ABORTED;
  }
  item = queue->head;
  if (item == NULL) {
    pthread_mutex_unlock(&queue->lock);
    return NBH_QUEUE_TIMEOUT;
  }
  queue->head = item->next;
  if (queue->head == NULL) queue->tail = NULL;
  queue->n_items--;
  queue->n_bytes -= item->bytes;
  item->next = NULL;
  pthread_cond_signal(&queue->not_full);
  pthread_mutex_unlock(&queue->lock);
  *out = item;
  return NBH_QUEUE_OK;
}

void nbh_queue_abort(NbhQueue *queue) {
  pthread_mutex_lock(&queue->lock);
  queue->aborted = 1;
  pthread_cond_broadcast(&queue->not_empty);
  pthread_cond_broadcast(&queue->not_full);
  pthread_mutex_unlock(&queue->lock);
}

void nbh_queue_depth(NbhQueue *queue, size_t *items, uint64_t *bytes) {
  pthread_mutex_lock(&queue->lock);
  if (items != NULL) *items = queue->n_items;
  if (bytes != NULL) *bytes = queue->n_bytes;
  pthread_mutex_unlock(&queue->lock);
}
