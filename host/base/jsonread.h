/*
 * jsonread.h - a small strict JSON reader into a tree, for the host's own
 * files (the state file).  Not a data path: records never go through it.
 *
 * Accepts RFC 8259 JSON with these limits: numbers must be non-negative
 * integers that fit uint64_t (the state file has no other kind), nesting is
 * at most 16 deep, duplicate object keys are refused.  Errors give the
 * 1-based line and column.
 */
#ifndef NBH_JSONREAD_H
#define NBH_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum NbhJsonKind {
  NBH_JSON_NULL = 0,
  NBH_JSON_BOOL,
  NBH_JSON_UINT,
  NBH_JSON_STRING,
  NBH_JSON_ARRAY,
  NBH_JSON_OBJECT
} NbhJsonKind;

typedef struct NbhJson {
  NbhJsonKind kind;
  bool boolean;
  uint64_t uint;
  char *string;              /* NUL-terminated, may hold NULs: see len */
  size_t len;                /* string length in bytes */
  struct NbhJson *items;     /* array elements or object values */
  char **keys;               /* object keys (NUL-terminated) */
  size_t *key_offsets;       /* byte offset of each key's opening quote */
  size_t n;
} NbhJson;

/* Parse text[0..len) into *out.  Returns 0, or -1 with a message in
 * why[0..why_cap) ("unexpected character 'x' at line 3, column 7"); on
 * failure *out is empty.  Allocation failure is reported as "out of
 * memory". */
int nbh_json_parse(const char *text, size_t len, NbhJson *out, char *why,
                   size_t why_cap);
void nbh_json_free(NbhJson *value);

/* The value of key in an object, NULL when absent or not an object. */
const NbhJson *nbh_json_get(const NbhJson *object, const char *key);

/* nbh_utf8_valid, used with this reader by its callers, is in utf8.h. */
#include "utf8.h"

#endif /* NBH_JSONREAD_H */
