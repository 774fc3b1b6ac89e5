/*
 * broken_noslot.c - a test source connector whose required source_next
 * slot is NULL.  The host must refuse it naming the slot.
 */
#include "broken_common.h"

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)host_abi, (void)err;
  inert_fill(out, "brokennoslot", NB_ABI_CURRENT);
  out->source_next = NULL;
  return NB_OK;
}
