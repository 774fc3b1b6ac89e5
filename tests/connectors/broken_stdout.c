/*
 * broken_stdout.c - a valid test connector ("brokenstdout") that writes to
 * standard output while it is loaded: through stdio from its constructor
 * (left in the buffer) and through the file descriptor from its entry
 * function.  Neither may reach the commands' output.
 */
#include <stdio.h>
#include <unistd.h>

#include "broken_common.h"

__attribute__((constructor)) static void chatter(void) { printf("GARBAGE from a constructor\n"); }

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  static const char noise[] = "GARBAGE from the entry\n";
  (void)host_abi, (void)err;
  if (write(STDOUT_FILENO, noise, sizeof noise - 1) < 0) {
    /* nothing to do: the noise is the point */
  }
  inert_fill(out, "brokenstdout", NB_ABI_CURRENT);
  return NB_OK;
}
