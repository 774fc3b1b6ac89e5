/*
 * connector_v1_0.c - an "old connector": built against the frozen ABI 1.0
 * header alone (no abi.h, no SDK), with its entry function written by hand,
 * as a third party would have done in the ABI 1.0 days.  The current loader
 * and the conformance kit must accept it.
 *
 * Source "numbers": one stream of `rows` int64 values 0, 1, 2, ...  in
 * batches of at most batch_rows.  Destination: counts the rows it is given;
 * its state is that count.
 */
#define _GNU_SOURCE 1
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nebula_abi_1_0.h"

#if defined(__GNUC__)
#define EXPORT __attribute__((visibility("default")))
#else
#define EXPORT
#endif

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

static void error_release(NbError_v1_0 *err) {
  free(err->message);
  err->message = NULL;
  err->release = NULL;
}

static int fail(NbError_v1_0 *err, int code, const char *fmt, ...) {
  va_list ap;
  char *msg = NULL;
  if (err == NULL) return code;
  if (err->release != NULL) err->release(err);
  err->code = code;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
  va_end(ap);
  err->message = msg;
  err->release = msg != NULL ? error_release : NULL;
  return code;
}

/* ------------------------------------------------------------------------
 * Settings
 * ------------------------------------------------------------------------ */

static const NbSettingSpec_v1_0 settings[] = {
    {sizeof(NbSettingSpec_v1_0), NB10_SETTING_INT, 0, "rows", "10", NULL,
     "number of rows the source produces"},
};

/* Reads "rows"; refuses anything it does not declare. */
static int read_settings(const NbSettings_v1_0 *s, long long *rows,
                         NbError_v1_0 *err) {
  *rows = 10;
  for (uint32_t i = 0; i < s->count; i++) {
    char *end;
    if (strcmp(s->names[i], "rows") != 0)
      return fail(err, NB10_INVALID, "unrecognized setting \"%s\"",
                  s->names[i]);
    *rows = strtoll(s->values[i], &end, 10);
    if (*end != '\0' || end == s->values[i] || *rows < 0)
      return fail(err, NB10_INVALID,
                  "invalid value for setting \"rows\": \"%s\"", s->values[i]);
  }
  return NB10_OK;
}

/* ------------------------------------------------------------------------
 * Arrow export, by hand
 * ------------------------------------------------------------------------ */

typedef struct SchemaNode {
  struct ArrowSchema child;
  struct ArrowSchema *children[1];
} SchemaNode;

static void child_schema_release(struct ArrowSchema *s) { s->release = NULL; }

static void schema_release(struct ArrowSchema *s) {
  SchemaNode *node = s->private_data;
  if (node->child.release != NULL) node->child.release(&node->child);
  free(node);
  s->release = NULL;
}

static int export_schema(struct ArrowSchema *out) {
  SchemaNode *node = calloc(1, sizeof *node);
  if (node == NULL) return NB10_NOMEM;
  node->child.format = "l";
  node->child.name = "n";
  node->child.release = child_schema_release;
  node->children[0] = &node->child;
  memset(out, 0, sizeof *out);
  out->format = "+s";
  out->name = "";
  out->n_children = 1;
  out->children = node->children;
  out->release = schema_release;
  out->private_data = node;
  return NB10_OK;
}

typedef struct BatchNode {
  struct ArrowArray child;
  struct ArrowArray *children[1];
  const void *struct_buffers[1];
  const void *child_buffers[2];
  int64_t values[];
} BatchNode;

static void child_array_release(struct ArrowArray *a) { a->release = NULL; }

static void batch_release(struct ArrowArray *a) {
  BatchNode *node = a->private_data;
  if (node->child.release != NULL) node->child.release(&node->child);
  free(node);
  a->release = NULL;
}

static int export_batch(int64_t first, int64_t n, struct ArrowArray *out) {
  BatchNode *node = malloc(sizeof *node + (size_t)(n > 0 ? n : 1) * sizeof(int64_t));
  if (node == NULL) return NB10_NOMEM;
  for (int64_t i = 0; i < n; i++) node->values[i] = first + i;
  memset(&node->child, 0, sizeof node->child);
  node->child_buffers[0] = NULL;
  node->child_buffers[1] = node->values;
  node->child.length = n;
  node->child.n_buffers = 2;
  node->child.buffers = node->child_buffers;
  node->child.release = child_array_release;
  node->children[0] = &node->child;
  node->struct_buffers[0] = NULL;
  memset(out, 0, sizeof *out);
  out->length = n;
  out->n_buffers = 1;
  out->buffers = node->struct_buffers;
  out->n_children = 1;
  out->children = node->children;
  out->release = batch_release;
  out->private_data = node;
  return NB10_OK;
}

/* ------------------------------------------------------------------------
 * Source
 * ------------------------------------------------------------------------ */

typedef struct Source {
  long long rows;
  long long next;
  uint64_t batch_rows;
  int64_t position;
} Source;

static int source_open(const NbHostApi_v1_0 *host, const NbOpenArgs_v1_0 *args,
                       void **out, NbError_v1_0 *err) {
  Source *s;
  long long rows;
  int rc = read_settings(args->settings, &rows, err);
  (void)host;
  if (rc != NB10_OK) return rc;
  s = calloc(1, sizeof *s);
  if (s == NULL) return fail(err, NB10_NOMEM, "out of memory");
  s->rows = rows;
  s->batch_rows = args->batch_rows > 0 ? args->batch_rows : 1024;
  *out = s;
  return NB10_OK;
}

static int stream_count(void *src, uint32_t *count, NbError_v1_0 *err) {
  (void)src;
  (void)err;
  *count = 1;
  return NB10_OK;
}

static int stream_info(void *src, uint32_t index, NbStreamInfo_v1_0 *out,
                       NbError_v1_0 *err) {
  (void)src;
  if (index != 0) return fail(err, NB10_NOT_FOUND, "no stream %u", index);
  out->name = "numbers";
  if (out->struct_size >= offsetof(NbStreamInfo_v1_0, size_bytes) + 8)
    out->size_bytes = -1;
  return NB10_OK;
}

static int source_schema(void *src, uint32_t index, struct ArrowSchema *out,
                         NbError_v1_0 *err) {
  (void)src;
  if (index != 0) return fail(err, NB10_NOT_FOUND, "no stream %u", index);
  if (export_schema(out) != NB10_OK) return fail(err, NB10_NOMEM, "out of memory");
  return NB10_OK;
}

static int source_next(void *src, uint32_t index, struct ArrowArray *out,
                       NbBatchInfo_v1_0 *info, NbError_v1_0 *err) {
  Source *s = src;
  int64_t n;
  if (index != 0) return fail(err, NB10_NOT_FOUND, "no stream %u", index);
  if (s->next >= s->rows) return NB10_END;
  n = s->rows - s->next;
  if ((uint64_t)n > s->batch_rows) n = (int64_t)s->batch_rows;
  if (export_batch(s->next, n, out) != NB10_OK)
    return fail(err, NB10_NOMEM, "out of memory");
  s->next += n;
  s->position = s->next;
  info->position = &s->position;
  info->position_len = sizeof s->position;
  if (info->struct_size >= offsetof(NbBatchInfo_v1_0, bytes_read) + 8)
    info->bytes_read = -1;
  return NB10_OK;
}

static void source_close(void *src) { free(src); }

/* ------------------------------------------------------------------------
 * Destination
 * ------------------------------------------------------------------------ */

typedef struct Dest {
  uint64_t rows;
  uint64_t committed;
} Dest;

static int dest_open(const NbHostApi_v1_0 *host, const NbOpenArgs_v1_0 *args,
                     void **out, NbError_v1_0 *err) {
  Dest *d;
  long long rows;
  int rc = read_settings(args->settings, &rows, err);
  (void)host;
  if (rc != NB10_OK) return rc;
  d = calloc(1, sizeof *d);
  if (d == NULL) return fail(err, NB10_NOMEM, "out of memory");
  if (args->state != NULL && args->state_len == sizeof d->committed)
    memcpy(&d->committed, args->state, sizeof d->committed);
  d->rows = d->committed;
  *out = d;
  return NB10_OK;
}

static int dest_prepare(void *dest, const char *stream_name,
                        const struct ArrowSchema *schema, uint32_t *dest_stream,
                        NbError_v1_0 *err) {
  (void)dest;
  (void)stream_name;
  if (schema == NULL || strcmp(schema->format, "+s") != 0)
    return fail(err, NB10_INVALID, "schema is not a struct");
  *dest_stream = 0;
  return NB10_OK;
}

static int dest_write(void *dest, uint32_t stream,
                      const struct ArrowArray *batch, NbError_v1_0 *err) {
  Dest *d = dest;
  (void)err;
  (void)stream;
  d->rows += (uint64_t)batch->length;
  return NB10_OK;
}

static int dest_commit(void *dest, const void **state, size_t *state_len,
                       NbError_v1_0 *err) {
  Dest *d = dest;
  (void)err;
  d->committed = d->rows;
  *state = &d->committed;
  *state_len = sizeof d->committed;
  return NB10_OK;
}

static void dest_close(void *dest) { free(dest); }

/* ------------------------------------------------------------------------
 * Entry, by hand: the protocol of ABI 1.0
 * ------------------------------------------------------------------------ */

EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector_v1_0 *out,
                                  NbError_v1_0 *err);

EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector_v1_0 *out,
                                  NbError_v1_0 *err) {
  NbConnector_v1_0 desc;
  uint32_t size;
  (void)err;
  if (out == NULL || out->struct_size < 8) return NB10_INVALID;
  size = out->struct_size < sizeof desc ? out->struct_size
                                        : (uint32_t)sizeof desc;
  out->abi_version = NB10_ABI_VERSION;
  out->struct_size = size;
  if (host_abi / 1000000u != NB10_ABI_VERSION / 1000000u)
    return NB10_ABI_MISMATCH;
  memset(&desc, 0, sizeof desc);
  desc.name = "numbers_v1_0";
  desc.version = "1.0.0";
  desc.description = "counts to N, built against the frozen ABI 1.0 header";
  desc.capabilities = NB10_CAP_SOURCE | NB10_CAP_DESTINATION;
  desc.settings = settings;
  desc.n_settings = sizeof settings / sizeof settings[0];
  desc.source_open = source_open;
  desc.source_stream_count = stream_count;
  desc.source_stream_info = stream_info;
  desc.source_schema = source_schema;
  desc.source_next = source_next;
  desc.source_close = source_close;
  desc.dest_open = dest_open;
  desc.dest_prepare = dest_prepare;
  desc.dest_write = dest_write;
  desc.dest_commit = dest_commit;
  desc.dest_close = dest_close;
  memcpy((char *)out + 8, (const char *)&desc + 8, size - 8);
  return NB10_OK;
}
