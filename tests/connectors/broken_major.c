/*
 * broken_major.c - test connector built "for ABI 2.0": it writes
 * abi_version 2.0 and answers NB_ABI_MISMATCH to a host of major 1, as the
 * entry protocol says.  The host must refuse it naming both versions.
 */
#include <string.h>

#include "nebula/abi.h"

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)err;
  out->abi_version = NB_ABI_VERSION(2, 0);
  out->struct_size = out->struct_size < 64 ? out->struct_size : 64;
  if (NB_ABI_MAJOR_OF(host_abi) != 2) return NB_ABI_MISMATCH;
  return NB_INTERNAL; /* never reached by a major-1 host */
}
