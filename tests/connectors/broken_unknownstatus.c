/*
 * broken_unknownstatus.c - a test connector whose entry fails with a
 * status no ABI defines (-5) and no error text: the host must say which
 * value it returned.
 */
#include "nebula/abi.h"

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)host_abi, (void)err;
  out->abi_version = NB_ABI_CURRENT;
  out->struct_size = out->struct_size < sizeof *out ? out->struct_size : (uint32_t)sizeof *out;
  return -5;
}
