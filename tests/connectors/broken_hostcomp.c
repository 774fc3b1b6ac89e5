/*
 * broken_hostcomp.c - test connectors misusing NB_CAP_HOST_FILE_COMPRESSION
 * (ABI 1.2), each refused by the loader for one reason:
 *   built with HOSTCOMP_OWN_SETTING: a destination that asks the host for
 *     file compression and declares "compression" itself;
 *   without: a source-only connector that asks for it.
 */
#include "broken_common.h"

#ifdef HOSTCOMP_OWN_SETTING
static const NbSettingSpec own_settings[] = {
    {sizeof(NbSettingSpec), NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL, "file"},
    {sizeof(NbSettingSpec), NB_SETTING_STRING, NB_SETTING_DEST, "compression", "none", NULL,
     "its own compression"},
};

static int inert_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest,
                           NbError *err) {
  (void)host, (void)args, (void)err;
  *dest = NULL;
  return NB_NOT_IMPLEMENTED;
}
static int inert_prepare(void *dest, const char *stream, const struct ArrowSchema *schema,
                         uint32_t *out, NbError *err) {
  (void)dest, (void)stream, (void)schema, (void)out, (void)err;
  return NB_INVALID;
}
static int inert_write(void *dest, uint32_t stream, const struct ArrowArray *batch,
                       NbError *err) {
  (void)dest, (void)stream, (void)batch, (void)err;
  return NB_INVALID;
}
static int inert_commit(void *dest, const void **state, size_t *len, NbError *err) {
  (void)dest, (void)err;
  *state = NULL;
  *len = 0;
  return NB_OK;
}
#endif

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)host_abi, (void)err;
#ifdef HOSTCOMP_OWN_SETTING
  inert_fill(out, "hostcompown", NB_ABI_CURRENT);
  out->capabilities = NB_CAP_DESTINATION | NB_CAP_HOST_FILE_COMPRESSION;
  out->settings = own_settings;
  out->n_settings = 2;
  out->dest_open = inert_dest_open;
  out->dest_prepare = inert_prepare;
  out->dest_write = inert_write;
  out->dest_commit = inert_commit;
  out->dest_close = inert_close;
#else
  inert_fill(out, "hostcompsource", NB_ABI_CURRENT);
  out->capabilities = NB_CAP_SOURCE | NB_CAP_HOST_FILE_COMPRESSION;
#endif
  return NB_OK;
}
