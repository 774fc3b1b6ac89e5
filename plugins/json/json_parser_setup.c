/*
 * json_parser_setup.c - a parser's buffers and the member names it is told
 * to expect (json_parser_expect_key), set up outside the hot loops of
 * json_parser.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_parser.h"
#include "json_utf8.h"

#define STACK_INITIAL_BYTES 64

bool json_parser_init(JsonParser *p, uint32_t max_depth) {
  memset(p, 0, sizeof *p);
  p->max_depth = max_depth ? max_depth : 1;
  p->stack = calloc(STACK_INITIAL_BYTES, 1);
  if (p->stack == NULL) return false;
  p->stack_bytes = STACK_INITIAL_BYTES;
  return true;
}

void json_parser_free(JsonParser *p) {
  if (p == NULL) return;
  free(p->scratch);
  free(p->members);
  free(p->stack);
  json_parser_clear_keys(p);
  free(p->keys);
  memset(p, 0, sizeof *p);
}

/* True when name[0..len) is written in JSON as itself between quotes:
 * valid UTF-8 without quote, backslash or control characters. */
static bool needs_no_escape(const char *name, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)name[i];
    if (ch < 0x20 || ch == '"' || ch == '\\') return false;
  }
  return json_utf8_check(name, len) == len;
}

bool json_parser_expect_key(JsonParser *p, const char *name, size_t len) {
  if (p->n_keys >= JSON_NO_HINT) return false;
  if (p->n_keys == p->keys_cap) {
    size_t cap = p->keys_cap ? p->keys_cap * 2 : 16;
    JsonKeyHint *k = realloc(p->keys, cap * sizeof *k);
    if (k == NULL) return false;
    p->keys = k;
    p->keys_cap = cap;
  }
  JsonKeyHint *h = &p->keys[p->n_keys];
  memset(h, 0, sizeof *h);
  /* A name that cannot match gets the one-byte pattern "\0": the input at
   * a name is a quote, never that byte, and the member loop needs no test
   * for this case. */
  h->len = 1;
  h->need = 1;
  if (needs_no_escape(name, len) && len <= SIZE_MAX / 2) {
    size_t quoted = len + 3; /* quotes and colon */
    if (quoted > sizeof h->head) {
      h->whole = malloc(quoted);
      if (h->whole == NULL) return false;
      h->whole[0] = '"';
      memcpy(h->whole + 1, name, len);
      h->whole[len + 1] = '"';
      h->whole[len + 2] = ':';
      memcpy(h->head, h->whole, sizeof h->head);
    } else {
      h->head[0] = '"';
      memcpy(h->head + 1, name, len);
      h->head[len + 1] = '"';
      h->head[len + 2] = ':';
    }
    h->len = quoted;
    h->need = quoted >= 32 ? UINT32_MAX : (UINT32_C(1) << quoted) - 1;
  }
  p->n_keys++;
  return true;
}

void json_parser_clear_keys(JsonParser *p) {
  for (size_t i = 0; i < p->n_keys; i++) free(p->keys[i].whole);
  p->n_keys = 0;
}

bool json_parser_reserve(JsonParser *p, size_t input_len) {
  if (p->scratch_cap >= input_len && p->scratch != NULL) return true;
  /* A length no buffer can have (a caller's negative length turned
   * unsigned) would make the doubling below wrap to 0 and loop forever. */
  if (input_len > SIZE_MAX / 2) return false;
  size_t cap = p->scratch_cap ? p->scratch_cap * 2 : 4096;
  if (cap < input_len) cap = input_len;
  char *s = malloc(cap);
  if (s == NULL) return false;
  free(p->scratch);
  p->scratch = s;
  p->scratch_cap = cap;
  return true;
}
