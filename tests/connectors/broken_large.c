/*
 * broken_large.c - a test connector that declares a vtable far larger than
 * any host's (struct_size 1 << 30).  The loader must refuse it, as the
 * conformance kit does, rather than trust what it wrote.
 */
#include "broken_common.h"

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)host_abi, (void)err;
  inert_fill(out, "brokenlarge", NB_ABI_CURRENT);
  out->struct_size = 1u << 30;
  return NB_OK;
}
