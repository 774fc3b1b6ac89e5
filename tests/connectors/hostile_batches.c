/*
 * hostile_batches.c - a test-only source, "hostile", whose one stream
 * ("hostile", columns id int64 and name utf8, 3 rows) comes as a batch
 * broken in the way the setting `defect` names, to test the host's check
 * of every batch it receives (issue 9, item 14):
 *
 *   none                         a well-formed batch
 *   null_offsets, null_data      name's offsets / data buffer is NULL
 *   null_values                  id's values buffer is NULL
 *   null_buffers                 name's buffers array is NULL
 *   negative_offset              name's first offset is -100
 *   decreasing_offsets           name's offsets go 0 5 2 6
 *   negative_length              the batch's length is -1
 *   negative_column_offset       name's offset is -1
 *   null_count_without_validity  name claims 1 null, has no bitmap
 *   bogus_dictionary             name has a dictionary (a wild pointer)
 *                                that its schema does not declare
 *   short_column                 name has 2 rows, the batch 3
 *   buffer_count                 name has 2 buffers instead of 3
 *   missing_column               the batch has 1 child, the schema 2
 *   null_column                  the batch's second child is NULL
 *   released_column              name's release is NULL
 *
 * and whose stream's key (NbStreamInfo.key_columns, ABI 1.2), shown by
 * discover, is, with the batch well-formed:
 *
 *   key_good                     ("id")
 *   key_unknown                  ("id", "nope"): no such column
 *   key_repeated                 ("id", "id")
 *   key_null_name                ("id", NULL)
 *   key_null_array               a count of 1 without an array
 *   key_too_long                 3 columns for a schema of 2
 *
 * The batch is one allocation with the buffers inside it, so a defect
 * never changes what release frees.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nebula/sdk.h"

#define ROWS 3

static const char *const defects[] = {
    "none", "null_offsets", "null_data", "null_values", "null_buffers",
    "negative_offset", "decreasing_offsets", "negative_length", "negative_column_offset",
    "null_count_without_validity", "bogus_dictionary", "short_column", "buffer_count",
    "missing_column", "null_column", "released_column", "key_good", "key_unknown",
    "key_repeated", "key_null_name", "key_null_array", "key_too_long"};
#define N_DEFECTS (sizeof defects / sizeof defects[0])

static const NbSettingSpec hostile_settings[] = {
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "defect", "none", NULL,
               "how the batch is broken (see tests/connectors/hostile_batches.c)"),
};

typedef struct Source {
  const char *defect; /* one of defects[] (static) */
  int sent;
} Source;

typedef struct Batch {
  struct ArrowArray id, name;
  struct ArrowArray *children[2];
  const void *top_buffers[1], *id_buffers[2], *name_buffers[3];
  int64_t ids[ROWS];
  int32_t offsets[ROWS + 1];
  char data[8];
} Batch;

static void child_release(struct ArrowArray *a) { a->release = NULL; }

static void batch_release(struct ArrowArray *a) {
  free(a->private_data);
  a->release = NULL;
}

static int source_open(const NbHostApi *host, const NbOpenArgs *args, void **out,
                       NbError *err) {
  const char *defect = NULL;
  Source *s;
  size_t i;
  int rc = nb_setting_string(args->settings, "defect", "none", &defect, err);
  (void)host;
  if (rc != NB_OK) return rc;
  for (i = 0; i < N_DEFECTS; i++)
    if (strcmp(defect, defects[i]) == 0) break;
  if (i == N_DEFECTS)
    return nb_error_set(err, NB_INVALID, "unrecognized value for setting \"defect\": \"%s\"",
                        defect);
  s = calloc(1, sizeof *s);
  if (s == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  s->defect = defects[i];
  *out = s;
  return NB_OK;
}

static void source_close(void *handle) { free(handle); }

static int stream_count(void *handle, uint32_t *count, NbError *err) {
  (void)handle, (void)err;
  *count = 1;
  return NB_OK;
}

/* The stream's key as the defect wants it (key_*). */
static void set_key(const char *defect, NbStreamInfo *out) {
  static const char *const good[] = {"id"}, *const unknown[] = {"id", "nope"},
                           *const repeated[] = {"id", "id"}, *const null_name[] = {"id", NULL},
                           *const too_long[] = {"id", "name", "id"};
  if (!NB_STRUCT_HAS(NbStreamInfo, out, key_count)) return;
  if (strcmp(defect, "key_good") == 0) out->key_columns = good, out->key_count = 1;
  if (strcmp(defect, "key_unknown") == 0) out->key_columns = unknown, out->key_count = 2;
  if (strcmp(defect, "key_repeated") == 0) out->key_columns = repeated, out->key_count = 2;
  if (strcmp(defect, "key_null_name") == 0) out->key_columns = null_name, out->key_count = 2;
  if (strcmp(defect, "key_null_array") == 0) out->key_columns = NULL, out->key_count = 1;
  if (strcmp(defect, "key_too_long") == 0) out->key_columns = too_long, out->key_count = 3;
}

static int stream_info(void *handle, uint32_t index, NbStreamInfo *out, NbError *err) {
  if (index != 0) return nb_error_set(err, NB_NOT_FOUND, "no stream %u", (unsigned)index);
  out->name = "hostile";
  out->size_bytes = 0;
  set_key(((Source *)handle)->defect, out);
  return NB_OK;
}

static int source_schema(void *handle, uint32_t index, struct ArrowSchema *out,
                         NbError *err) {
  static const NbField fields[] = {{"id", NB_TYPE_INT64, false, 0, 0, NULL},
                                   {"name", NB_TYPE_UTF8, true, 0, 0, NULL}};
  (void)handle;
  if (index != 0) return nb_error_set(err, NB_NOT_FOUND, "no stream %u", (unsigned)index);
  return nb_schema_export(fields, 2, out, err);
}

static void init_child(struct ArrowArray *a, int64_t n_buffers, const void **buffers) {
  memset(a, 0, sizeof *a);
  a->length = ROWS;
  a->n_buffers = n_buffers;
  a->buffers = buffers;
  a->release = child_release;
}

/* The well-formed batch: ids 1 2 3, names "ab" "cde" "f". */
static Batch *good_batch(struct ArrowArray *out) {
  static const int32_t offsets[] = {0, 2, 5, 6};
  Batch *b = calloc(1, sizeof *b);
  int i;
  if (b == NULL) return NULL;
  for (i = 0; i < ROWS; i++) b->ids[i] = i + 1;
  memcpy(b->offsets, offsets, sizeof offsets);
  memcpy(b->data, "abcdef", 6);
  b->id_buffers[1] = b->ids;
  b->name_buffers[1] = b->offsets;
  b->name_buffers[2] = b->data;
  init_child(&b->id, 2, b->id_buffers);
  init_child(&b->name, 3, b->name_buffers);
  b->children[0] = &b->id;
  b->children[1] = &b->name;
  memset(out, 0, sizeof *out);
  out->length = ROWS;
  out->n_buffers = 1;
  out->buffers = b->top_buffers;
  out->n_children = 2;
  out->children = b->children;
  out->private_data = b;
  out->release = batch_release;
  return b;
}

static void break_batch(const char *defect, Batch *b, struct ArrowArray *top) {
  if (strcmp(defect, "null_offsets") == 0) b->name_buffers[1] = NULL;
  if (strcmp(defect, "null_data") == 0) b->name_buffers[2] = NULL;
  if (strcmp(defect, "null_values") == 0) b->id_buffers[1] = NULL;
  if (strcmp(defect, "null_buffers") == 0) b->name.buffers = NULL;
  if (strcmp(defect, "negative_offset") == 0) b->offsets[0] = -100;
  if (strcmp(defect, "decreasing_offsets") == 0) {
    b->offsets[1] = 5;
    b->offsets[2] = 2;
  }
  if (strcmp(defect, "negative_length") == 0) top->length = -1;
  if (strcmp(defect, "negative_column_offset") == 0) b->name.offset = -1;
  if (strcmp(defect, "null_count_without_validity") == 0) b->name.null_count = 1;
  if (strcmp(defect, "bogus_dictionary") == 0)
    b->name.dictionary = (struct ArrowArray *)(uintptr_t)0x10;
  if (strcmp(defect, "short_column") == 0) b->name.length = ROWS - 1;
  if (strcmp(defect, "buffer_count") == 0) b->name.n_buffers = 2;
  if (strcmp(defect, "missing_column") == 0) top->n_children = 1;
  if (strcmp(defect, "null_column") == 0) b->children[1] = NULL;
  if (strcmp(defect, "released_column") == 0) b->name.release = NULL;
}

static int source_next(void *handle, uint32_t index, struct ArrowArray *out,
                       NbBatchInfo *info, NbError *err) {
  Source *s = handle;
  Batch *b;
  (void)info;
  if (index != 0) return nb_error_set(err, NB_NOT_FOUND, "no stream %u", (unsigned)index);
  if (s->sent) return NB_END;
  b = good_batch(out);
  if (b == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  break_batch(s->defect, b, out);
  s->sent = 1;
  return NB_OK;
}

static void hostile_describe(NbConnector *c) {
  c->name = "hostile";
  c->version = "1.0.0";
  c->description = "test source whose batch is broken on request";
  c->capabilities = NB_CAP_SOURCE;
  c->settings = hostile_settings;
  c->n_settings = 1;
  c->source_open = source_open;
  c->source_stream_count = stream_count;
  c->source_stream_info = stream_info;
  c->source_schema = source_schema;
  c->source_next = source_next;
  c->source_close = source_close;
}

NB_CONNECTOR_ENTRY(hostile_describe)
