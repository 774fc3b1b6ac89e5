/*
 * broken_minor.c - a sound test connector that claims ABI 1.9: newer than
 * the host's minor, so it may call host functions the host lacks.  Refused.
 */
#include "broken_common.h"

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)err;
  inert_fill(out, "brokenminor", NB_ABI_VERSION(1, 9));
  if (NB_ABI_MAJOR_OF(host_abi) != 1) return NB_ABI_MISMATCH;
  return NB_OK;
}
