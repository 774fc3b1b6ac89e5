/*
 * fuzz_config.c - the configuration reader (host/config/pipeline_config.c
 * over libconfig) on arbitrary file text: syntax, groups, engine settings,
 * ${} references.
 *
 * Input: the file's text.  Invariants: a failure has a message that names
 * the file; nothing leaks or reads out of bounds.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "nebula/sdk.h"
#include "pipeline_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* @include would read other files (even /dev/zero, forever): the
   * harness keeps to the input's own text. */
  if (size >= 8 && memmem(data, size, "include", 7) != NULL) return 0;
  char path[64];
  int fd = fuzz_memfile(data, size, path, sizeof path);
  if (fd < 0) return 0;
  NbhConfig cfg;
  nbh_config_init(&cfg);
  NbError err;
  nb_error_init(&err);
  int rc = nbh_config_load(&cfg, path, &err);
  if (rc != NB_OK && rc != NB_NOMEM) {
    if (err.message == NULL) fuzz_fail("config: failure %d without a message", rc);
    if (strstr(err.message, path) == NULL && err.location == NULL)
      fuzz_fail("config: the message does not name the file: %s", err.message);
  }
  nb_error_release(&err);
  nbh_config_free(&cfg);
  close(fd);
  return 0;
}
