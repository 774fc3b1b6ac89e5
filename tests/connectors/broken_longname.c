/*
 * broken_longname.c - a test connector whose name is 10 KB long and holds
 * an ESC sequence.  The loader refuses the name; its message must show a
 * bounded, escaped prefix of it, not the whole thing.
 */
#include <string.h>

#include "broken_common.h"

static char long_name[10 * 1024 + 1];

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)host_abi, (void)err;
  memset(long_name, 'n', sizeof long_name - 1);
  memcpy(long_name + 4, "\033[2J", 4);
  inert_fill(out, long_name, NB_ABI_CURRENT);
  return NB_OK;
}
