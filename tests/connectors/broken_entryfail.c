/*
 * broken_entryfail.c - test connector whose entry function fails with an
 * error of its own (message, detail, hint and a release callback that is
 * connector code).  The host must copy the message and release the error.
 */
#include <stdlib.h>
#include <string.h>

#include "nebula/abi.h"

static void release_error(NbError *err) {
  free(err->message);
  free(err->detail);
  free(err->hint);
  err->message = err->detail = err->hint = NULL;
  err->release = NULL;
}

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)host_abi;
  out->abi_version = NB_ABI_CURRENT;
  out->struct_size = out->struct_size < sizeof *out ? out->struct_size : (uint32_t)sizeof *out;
  if (err != NULL) {
    err->code = NB_INVALID;
    err->message = strdup("licence file \"/etc/broken.lic\" is missing");
    err->detail = strdup("The broken connector refuses to start without a licence.");
    err->hint = strdup("Install the licence file.");
    err->release = release_error;
  }
  return NB_INVALID;
}
