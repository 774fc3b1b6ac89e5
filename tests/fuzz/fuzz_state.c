/*
 * fuzz_state.c - the state file reader (host/engine/state.c over
 * host/base/jsonread.c) on arbitrary text.
 *
 * Input: byte 0 chooses the target: bit 0 clear, the state parser (bit 1
 * set: the checksum is recomputed first, as state.h documents it, so that
 * mutations reach the checks behind it); bit 0 set, the JSON reader alone.
 * The rest is the text.
 * Invariants: a state that parses formats to text that parses again and
 * formats to the same text (nothing lost or changed by a save and load);
 * JSON that parses has every string valid UTF-8 and its length right.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "jsonread.h"
#include "nebula/sdk.h"
#include "state.h"

static void check_json(const NbhJson *v, unsigned depth) {
  if (depth > 64) fuzz_fail("jsonread: nesting deeper than its limit");
  switch (v->kind) {
    case NBH_JSON_STRING:
      if (!nbh_utf8_valid(v->string, v->len) || v->string[v->len] != '\0')
        fuzz_fail("jsonread: a string that is not valid UTF-8 or not terminated");
      break;
    case NBH_JSON_ARRAY:
    case NBH_JSON_OBJECT:
      for (size_t i = 0; i < v->n; i++) {
        if (v->kind == NBH_JSON_OBJECT && v->keys[i] == NULL) fuzz_fail("jsonread: NULL key");
        check_json(&v->items[i], depth + 1);
      }
      break;
    default:
      break;
  }
}

static void fuzz_jsonread(const char *text, size_t len) {
  NbhJson v;
  memset(&v, 0, sizeof v);
  char why[200];
  if (nbh_json_parse(text, len, &v, why, sizeof why) == 0) check_json(&v, 0);
  else if (why[0] == '\0') fuzz_fail("jsonread: an error without a message");
  nbh_json_free(&v);
}

/* Rewrite the 16 hex digits after the last "checksum": "fnv1a64: with the
 * FNV-1a 64 of every byte before that key. */
static void reseal(char *text, size_t len) {
  static const char key[] = "\"checksum\"";
  static const char value[] = ": \"fnv1a64:";
  char *at = NULL;
  for (char *p = text; (p = memmem(p, len - (size_t)(p - text), key, sizeof key - 1)) != NULL;
       p++)
    at = p;
  if (at == NULL) return;
  char *hex = at + sizeof key - 1;
  if ((size_t)(text + len - hex) < sizeof value - 1 + 16 ||
      memcmp(hex, value, sizeof value - 1) != 0)
    return;
  hex += sizeof value - 1;
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char *p = text; p < at; p++) {
    h ^= (unsigned char)*p;
    h *= 0x100000001b3ull;
  }
  char digits[17];
  snprintf(digits, sizeof digits, "%016llx", (unsigned long long)h);
  memcpy(hex, digits, 16);
}

static void fuzz_state(const char *text, size_t len) {
  NbhState st;
  memset(&st, 0, sizeof st);
  NbError err;
  nb_error_init(&err);
  int rc = nbh_state_parse("fuzz.state", text, len, &st, &err);
  if (rc != NB_OK) {
    if (err.message == NULL) fuzz_fail("state: failure %d without a message", rc);
    nb_error_release(&err);
    nbh_state_free(&st);
    return;
  }
  char *once = NULL, *twice = NULL;
  size_t once_len = 0, twice_len = 0;
  if (nbh_state_format(&st, &once, &once_len, &err) != NB_OK) goto out;
  NbhState again;
  memset(&again, 0, sizeof again);
  if (nbh_state_parse("fuzz.state", once, once_len, &again, &err) != NB_OK)
    fuzz_fail("state: a formatted state does not parse: %s", err.message);
  if (nbh_state_format(&again, &twice, &twice_len, &err) == NB_OK &&
      (once_len != twice_len || memcmp(once, twice, once_len) != 0))
    fuzz_fail("state: format, parse, format changed the text");
  nbh_state_free(&again);
out:
  free(once);
  free(twice);
  nb_error_release(&err);
  nbh_state_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t a = fuzz_take(&data, &size);
  /* A NUL-terminated copy of exactly the input, as a file read would give. */
  char *text = malloc(size + 1);
  if (text == NULL) return 0;
  if (size > 0) memcpy(text, data, size);
  text[size] = '\0';
  if (a & 1) {
    fuzz_jsonread(text, size);
  } else {
    if (a & 2) reseal(text, size);
    fuzz_state(text, size);
  }
  free(text);
  return 0;
}
