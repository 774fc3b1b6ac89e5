/*
 * broken_duplicate.c - a sound test connector that takes the name of
 * good_minimal ("testgood").  Built as zz_broken_duplicate.so so that it
 * sorts after good_minimal.so: the first one found wins, this one is
 * refused naming both files.
 */
#include "broken_common.h"

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)host_abi, (void)err;
  inert_fill(out, "testgood", NB_ABI_CURRENT);
  return NB_OK;
}
