/*
 * broken_small.c - a test connector whose vtable is smaller than ABI 1.0's
 * (it declares struct_size 40): the host must not read its slots.
 */
#include "broken_common.h"

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)host_abi, (void)err;
  inert_fill(out, "brokensmall", NB_ABI_CURRENT);
  out->struct_size = 40;
  return NB_OK;
}
