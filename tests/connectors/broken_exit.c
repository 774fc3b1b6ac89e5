/*
 * broken_exit.c - a test connector whose constructor calls exit(0) the
 * moment it is loaded.  Whatever loads it dies; the host must say which
 * file did it, fail, and not load it at all for commands that do not need
 * it (a pipeline of two other connectors).
 */
#include <stdlib.h>

#include "broken_common.h"

__attribute__((constructor)) static void leave(void) { exit(0); }

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)host_abi, (void)err;
  inert_fill(out, "brokenexit", NB_ABI_CURRENT);
  return NB_OK;
}
