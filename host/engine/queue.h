/*
 * queue.h - the hand-off between the source thread and the destination
 * thread: a FIFO of items bounded both in items and in bytes, so the memory
 * a pipeline holds depends on its settings and never on its input.
 *
 * Everything the destination side must see in order travels here: schemas,
 * batches, rejected records, end of stream, end of input.  Because the
 * destination applies them in the order the source produced them, the
 * positions it commits always describe exactly what was written.
 */
#ifndef NBH_QUEUE_H
#define NBH_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "nebula/arrow_c.h"

typedef enum NbhItemKind {
  NBH_ITEM_OPEN = 1,     /* source open, pipeline identity checked: the
                            destination may now be opened */
  NBH_ITEM_SCHEMA,       /* a stream starts or its schema changed */
  NBH_ITEM_BATCH,        /* a batch of rows */
  NBH_ITEM_REJECT,       /* a bad record was skipped or dead-lettered */
  NBH_ITEM_STREAM_END,   /* the stream has no more records */
  NBH_ITEM_INPUT_END     /* nothing follows: commit and finish */
} NbhItemKind;

/* A schema shared by the source thread (which measures batches with it)
 * and the destination thread (which prepares the stream with it): released
 * when the last holder lets go. */
typedef struct NbhSchemaRef {
  struct ArrowSchema schema;
  int refs;                      /* guarded by atomic builtins */
} NbhSchemaRef;

/* Take ownership of *schema (moved: its release is cleared) with one
 * reference.  NULL when out of memory (*schema is then left untouched). */
NbhSchemaRef *nbh_schema_ref_new(struct ArrowSchema *schema);
NbhSchemaRef *nbh_schema_ref_get(NbhSchemaRef *ref);
/* Drop one reference; NULL is a no-op. */
void nbh_schema_ref_put(NbhSchemaRef *ref);

typedef struct NbhItem {
  NbhItemKind kind;
  uint32_t stream;               /* index of the source stream */
  NbhSchemaRef *schema;          /* SCHEMA: one reference held */
  struct ArrowArray array;       /* BATCH: owned by the item */
  uint64_t rows;                 /* BATCH: rows in array */
  uint64_t bytes;                /* what the item weighs in the queue */
  void *position;                /* malloc'ed copy of the source position
                                    after this item, NULL if unchanged */
  size_t position_len;
  char *dead_letter;             /* REJECT: one JSON line (with newline) to
                                    append to the dead-letter file, NULL when
                                    the record is only skipped */
  size_t dead_letter_len;
  int64_t stream_bytes_read;     /* input bytes consumed so far, -1 unknown */
  uint64_t produced_ns;          /* monotonic time the source produced it */
  struct NbhItem *next;
} NbhItem;

typedef struct NbhQueue {
  pthread_mutex_t lock;
  pthread_cond_t not_empty;
  pthread_cond_t not_full;
  NbhItem *head;
  NbhItem *tail;
  size_t n_items;
  uint64_t n_bytes;
  size_t max_items;
  uint64_t max_bytes;
  int aborted;
} NbhQueue;

typedef enum NbhQueueResult {
  NBH_QUEUE_OK = 0,
  NBH_QUEUE_TIMEOUT = 1,
  NBH_QUEUE_ABORTED = 2
} NbhQueueResult;

/* A zeroed item of the given kind (NULL when out of memory). */
NbhItem *nbh_item_new(NbhItemKind kind, uint32_t stream);
/* Release the Arrow structs the item still owns and free it.  NULL is a
 * no-op. */
void nbh_item_free(NbhItem *item);

/* max_items >= 1 and max_bytes >= 1.  Returns 0 or an errno value. */
int nbh_queue_init(NbhQueue *queue, size_t max_items, uint64_t max_bytes);
/* Free the items still queued and the queue's resources. */
void nbh_queue_destroy(NbhQueue *queue);

/* Append item, waiting while the queue is full.  An item heavier than
 * max_bytes is still accepted when the queue is empty: otherwise it could
 * never pass, and the bound still holds within one batch.  Returns
 * NBH_QUEUE_OK (the queue owns item) or NBH_QUEUE_ABORTED (the caller still
 * owns it). */
NbhQueueResult nbh_queue_push(NbhQueue *queue, NbhItem *item);

/* Take the oldest item, waiting at most timeout_ms milliseconds (< 0:
 * without limit).  Items queued before an abort are not returned. */
NbhQueueResult nbh_queue_pop(NbhQueue *queue, int timeout_ms, NbhItem **out);

/* Wake every waiter and make every later push and pop return
 * NBH_QUEUE_ABORTED. */
void nbh_queue_abort(NbhQueue *queue);

/* Current depth, for metrics and progress. */
void nbh_queue_depth(NbhQueue *queue, size_t *items, uint64_t *bytes);

#endif /* NBH_QUEUE_H */
