/*
 * broken_common.h - inert slots shared by the test connectors that are
 * broken in one precise way (never called: these connectors exist to be
 * refused by the loader): everything else about them is valid, so the
 * loader's refusal can only come from the defect under test.
 */
#ifndef NEBULA_TEST_BROKEN_COMMON_H
#define NEBULA_TEST_BROKEN_COMMON_H

#include <string.h>

#include "nebula/abi.h"

static int inert_source_open(const NbHostApi *host, const NbOpenArgs *args, void **source,
                            NbError *err) {
  (void)host, (void)args, (void)err;
  *source = NULL;
  return NB_NOT_IMPLEMENTED;
}
static int inert_stream_count(void *source, uint32_t *count, NbError *err) {
  (void)source, (void)err;
  *count = 0;
  return NB_OK;
}
static int inert_stream_info(void *source, uint32_t index, NbStreamInfo *out, NbError *err) {
  (void)source, (void)index, (void)out, (void)err;
  return NB_INVALID;
}
static int inert_schema(void *source, uint32_t index, struct ArrowSchema *out, NbError *err) {
  (void)source, (void)index, (void)out, (void)err;
  return NB_INVALID;
}
static int inert_next(void *source, uint32_t index, struct ArrowArray *out, NbBatchInfo *info,
                     NbError *err) {
  (void)source, (void)index, (void)out, (void)info, (void)err;
  return NB_END;
}
static void inert_close(void *handle) { (void)handle; }

static const NbSettingSpec inert_settings[] = {
    {sizeof(NbSettingSpec), NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL,
     "file to read"},
};

/* A valid source-only connector named `name`, built for `abi`. */
static void inert_fill(NbConnector *c, const char *name, uint32_t abi) {
  uint32_t size = c->struct_size < sizeof *c ? c->struct_size : (uint32_t)sizeof *c;
  NbConnector desc;
  memset(&desc, 0, sizeof desc);
  desc.name = name;
  desc.version = "0.0.1";
  desc.description = "test connector";
  desc.capabilities = NB_CAP_SOURCE;
  desc.settings = inert_settings;
  desc.n_settings = 1;
  desc.source_open = inert_source_open;
  desc.source_stream_count = inert_stream_count;
  desc.source_stream_info = inert_stream_info;
  desc.source_schema = inert_schema;
  desc.source_next = inert_next;
  desc.source_close = inert_close;
  memcpy((char *)c + 8, (const char *)&desc + 8, size - 8);
  c->struct_size = size;
  c->abi_version = abi;
}

#endif /* NEBULA_TEST_BROKEN_COMMON_H */
