/*
 * kit_bad.c - a connector that breaks the contract on purpose, so the
 * conformance kit is seen to catch it (sdk_conformance.sh expects these
 * exact checks to fail):
 *   - its entry fills the vtable and returns NB_OK for any ABI major;
 *   - it accepts settings it does not declare;
 *   - its batches have decreasing string offsets;
 *   - its batches' release does not set release to NULL;
 *   - its destination stores text columns only (so the kit prints the
 *     typed schema it refused) and cannot resume from its own state.
 */
#include <stdlib.h>
#include <string.h>

#include "nebula/sdk.h"

static const NbSettingSpec bad_settings[] = {
    NB_SETTING(NB_SETTING_INT, 0, "rows", "3", NULL, "rows to produce"),
};

typedef struct Bad {
  NbBatchBuilder *builder;
  bool done;
  uint64_t position[1];
  unsigned char pos_buf[NB_POSITION_MAX_BYTES];
} Bad;

static const NbField bad_fields[] = {{"s", NB_TYPE_UTF8, true, 0, 0, NULL}};

static int bad_open(const NbHostApi *host, const NbOpenArgs *args, void **out,
                    NbError *err) {
  Bad *b = calloc(1, sizeof *b);
  (void)host;
  (void)args; /* settings are not checked at all */
  if (b == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  if (nb_batch_builder_new(bad_fields, 1, 4, &b->builder, err) != NB_OK) {
    free(b);
    return NB_NOMEM;
  }
  *out = b;
  return NB_OK;
}

static int bad_count(void *src, uint32_t *count, NbError *err) {
  (void)src, (void)err;
  *count = 1;
  return NB_OK;
}

static int bad_info(void *src, uint32_t index, NbStreamInfo *out, NbError *err) {
  (void)src, (void)index, (void)err;
  out->name = "bad";
  return NB_OK;
}

static int bad_schema(void *src, uint32_t index, struct ArrowSchema *out,
                      NbError *err) {
  (void)src, (void)index;
  return nb_schema_export(bad_fields, 1, out, err);
}

typedef struct Wrapped {
  struct ArrowArray inner;
} Wrapped;

static void wrapped_release(struct ArrowArray *a) {
  Wrapped *w = a->private_data;
  w->inner.release(&w->inner);
  free(w);
  /* BUG on purpose: a->release is left set. */
}

static int bad_next(void *src, uint32_t index, struct ArrowArray *out,
                    NbBatchInfo *info, NbError *err) {
  Bad *b = src;
  NbColumnBuilder *c = nb_batch_builder_column(b->builder, 0);
  Wrapped *w;
  (void)index;
  if (b->done) return NB_END;
  b->done = true;
  nb_column_append_utf8(c, "abc", 3);
  nb_column_append_utf8(c, "de", 2);
  w = calloc(1, sizeof *w);
  if (w == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  if (nb_batch_builder_finish(b->builder, &w->inner, err) != NB_OK) {
    free(w);
    return NB_NOMEM;
  }
  /* BUG on purpose: offsets 0, 3, 2 decrease. */
  ((int32_t *)w->inner.children[0]->buffers[1])[2] = 2;
  *out = w->inner;
  out->release = wrapped_release;
  out->private_data = w;
  b->position[0] = 1;
  info->position_len = nb_position_encode(b->pos_buf, sizeof b->pos_buf, b->position, 1);
  info->position = b->pos_buf;
  return NB_OK;
}

static void bad_close(void *src) {
  Bad *b = src;
  if (b == NULL) return;
  nb_batch_builder_free(b->builder);
  free(b);
}

/* The destination: writes nothing anywhere. */
static int bad_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **out,
                         NbError *err) {
  static int handle;
  (void)host;
  if (args->state != NULL) /* BUG on purpose: its own state is refused. */
    return nb_error_set(err, NB_INVALID, "kit_bad cannot resume");
  *out = &handle;
  return NB_OK;
}

static int bad_prepare(void *dest, const char *name, const struct ArrowSchema *schema,
                       uint32_t *stream, NbError *err) {
  (void)dest, (void)name;
  for (int64_t i = 0; i < schema->n_children; i++)
    if (strcmp(schema->children[i]->format, "u") != 0)
      return nb_error_set(err, NB_INVALID, "kit_bad stores text columns only");
  *stream = 0;
  return NB_OK;
}

static int bad_write(void *dest, uint32_t stream, const struct ArrowArray *batch,
                     NbError *err) {
  (void)dest, (void)stream, (void)batch, (void)err;
  return NB_OK;
}

static int bad_commit(void *dest, const void **state, size_t *state_len, NbError *err) {
  (void)dest, (void)err;
  *state = "s";
  *state_len = 1;
  return NB_OK;
}

static void bad_dest_close(void *dest) { (void)dest; }

static void bad_describe(NbConnector *c) {
  c->name = "kit_bad";
  c->version = "0.0.1";
  c->description = "breaks the connector contract on purpose";
  c->capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION;
  c->settings = bad_settings;
  c->n_settings = 1;
  c->source_open = bad_open;
  c->source_stream_count = bad_count;
  c->source_stream_info = bad_info;
  c->source_schema = bad_schema;
  c->source_next = bad_next;
  c->source_close = bad_close;
  c->dest_open = bad_dest_open;
  c->dest_prepare = bad_prepare;
  c->dest_write = bad_write;
  c->dest_commit = bad_commit;
  c->dest_close = bad_dest_close;
}

/* BUG on purpose: no ABI major check. */
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out,
                                     NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out,
                                     NbError *err) {
  NbConnector desc;
  (void)err;
  (void)host_abi;
  memset(&desc, 0, sizeof desc);
  bad_describe(&desc);
  desc.struct_size = out->struct_size < sizeof desc ? out->struct_size
                                                    : (uint32_t)sizeof desc;
  desc.abi_version = NB_ABI_CURRENT;
  memcpy(out, &desc, desc.struct_size);
  return NB_OK;
}
