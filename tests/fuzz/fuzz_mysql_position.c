/*
 * fuzz_mysql_position.c - the mysql source's resume position decoder
 * (plugins/mysql/mysql_position.c) on arbitrary bytes, as a state file
 * may hold them.
 *
 * Input: byte 0 chooses the number of key columns (0 .. 16); the rest is
 * the position.  Invariants: decoding succeeds or fails with a message;
 * a position that decodes encodes back to exactly the same bytes.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "mysql_position.h"
#include "nebula/sdk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MyKeyValue keys[MY_MAX_KEY_COLUMNS];
  size_t n_keys = fuzz_take(&data, &size) % (MY_MAX_KEY_COLUMNS + 1), count = 99, i, len = 0,
         cap = 0;
  uint64_t rows = 0;
  unsigned char *again = NULL;
  NbError err;
  int rc;
  memset(keys, 0, sizeof keys);
  nb_error_init(&err);
  rc = my_position_decode("fuzz", data, size, n_keys, &rows, keys, &count, &err);
  if (rc != NB_OK) {
    if (err.message == NULL) fuzz_fail("decode failed (%d) without a message", rc);
    if (rc != NB_INVALID && rc != NB_NOMEM) fuzz_fail("decode status %d", rc);
    if (count != 99) fuzz_fail("a failed decode changed the count");
  } else {
    if (count != 0 && count != n_keys) fuzz_fail("count %zu for %zu keys", count, n_keys);
    if (my_position_encode(rows, keys, count, &again, &cap, &len) != NB_OK)
      fuzz_fail("encode failed");
    if (len != size || memcmp(again, data, size) != 0)
      fuzz_fail("%zu bytes decode and encode to %zu other bytes", size, len);
  }
  nb_error_release(&err);
  for (i = 0; i < MY_MAX_KEY_COLUMNS; i++) free(keys[i].buf);
  free(again);
  return 0;
}
