/*
 * broken_entrytext.c - a test connector whose entry fails with a status no
 * ABI defines (77) and an error whose texts hold a terminal title escape,
 * a forged "nebula-host:" line and 10 KB of detail.  The host must print
 * the status's value and every text escaped and bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "nebula/abi.h"

static void release_error(NbError *err) {
  free(err->message);
  free(err->detail);
  err->message = err->detail = NULL;
  err->release = NULL;
}

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)host_abi;
  out->abi_version = NB_ABI_CURRENT;
  out->struct_size = out->struct_size < sizeof *out ? out->struct_size : (uint32_t)sizeof *out;
  if (err != NULL) {
    err->message = strdup("bad\033]0;owned\007 start\nnebula-host: forged line");
    err->detail = malloc(10 * 1024 + 1);
    if (err->detail != NULL) {
      memset(err->detail, 'x', 10 * 1024);
      err->detail[10 * 1024] = '\0';
    }
    err->release = release_error;
  }
  return 77;
}
