/*
 * jsonread.c - strict recursive-descent JSON reader for the host's own
 * small files (see jsonread.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonread.h"

#define MAX_DEPTH 16

typedef struct Reader {
  const char *text;
  size_t len;
  size_t pos;
  char *why;
  size_t why_cap;
  int failed;
} Reader;

static void where(const Reader *r, size_t pos, size_t *line, size_t *column) {
  size_t i;
  *line = 1;
  *column = 1;
  for (i = 0; i < pos && i < r->len; i++) {
    if (r->text[i] == '\n') {
      (*line)++;
      *column = 1;
    } else {
      (*column)++;
    }
  }
}

static int fail(Reader *r, const char *what) {
  size_t line, column;
  if (r->failed) return -1;
  r->failed = 1;
  where(r, r->pos, &line, &column);
  if (r->why != NULL && r->why_cap > 0)
    snprintf(r->why, r->why_cap, "%s at line %zu, column %zu", what, line,
             column);
  return -1;
}

static int fail_nomem(Reader *r) {
  if (!r->failed && r->why != NULL && r->why_cap > 0)
    snprintf(r->why, r->why_cap, "out of memory");
  r->failed = 1;
  return -1;
}

static void skip_space(Reader *r) {
  while (r->pos < r->len) {
    char c = r->text[r->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    r->pos++;
  }
}

static int expect_word(Reader *r, const char *word) {
  size_t n = strlen(word);
  if (r->len - r->pos < n || memcmp(r->text + r->pos, word, n) != 0)
    return fail(r, "unexpected text");
  r->pos += n;
  return 0;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int read_hex4(Reader *r, unsigned *out) {
  unsigned v = 0;
  int i;
  if (r->len - r->pos < 4) return fail(r, "truncated \\u escape");
  for (i = 0; i < 4; i++) {
    int d = hex_digit(r->text[r->pos + (size_t)i]);
    if (d < 0) return fail(r, "invalid \\u escape");
    v = v * 16 + (unsigned)d;
  }
  r->pos += 4;
  *out = v;
  return 0;
}

static size_t put_utf8(char *dst, unsigned cp) {
  if (cp < 0x80) {
    dst[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    dst[0] = (char)(0xC0 | (cp >> 6));
    dst[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    dst[0] = (char)(0xE0 | (cp >> 12));
    dst[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    dst[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  dst[0] = (char)(0xF0 | (cp >> 18));
  dst[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  dst[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  dst[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static int read_escape(Reader *r, char *dst, size_t *n) {
  unsigned cp, low;
  char c;
  if (r->pos >= r->len) return fail(r, "truncated escape");
  c = r->text[r->pos++];
  switch (c) {
    case '"': case '\\': case '/': dst[0] = c; *n = 1; return 0;
    case 'b': dst[0] = '\b'; *n = 1; return 0;
    case 'f': dst[0] = '\f'; *n = 1; return 0;
    case 'n': dst[0] = '\n'; *n = 1; return 0;
    case 'r': dst[0] = '\r'; *n = 1; return 0;
    case 't': dst[0] = '\t'; *n = 1; return 0;
    case 'u': break;
    default: r->pos--; return fail(r, "invalid escape");
  }
  if (read_hex4(r, &cp) != 0) return -1;
  if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(r, "unpaired surrogate");
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    if (r->len - r->pos < 2 || r->text[r->pos] != '\\' ||
        r->text[r->pos + 1] != 'u')
      return fail(r, "unpaired surrogate");
    r->pos += 2;
    if (read_hex4(r, &low) != 0) return -1;
    if (low < 0xDC00 || low > 0xDFFF) return fail(r, "unpaired surrogate");
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }
  *n = put_utf8(dst, cp);
  return 0;
}

/* r->pos is at the opening quote.  The unescaped text is never longer than
 * the escaped one, so one allocation of the raw length suffices. */
static int read_string(Reader *r, char **out, size_t *out_len) {
  size_t start = ++r->pos, end = start, n = 0;
  char *s;

  while (end < r->len && r->text[end] != '"') {
    if (r->text[end] == '\\') end++;
    end++;
  }
  if (end >= r->len) return fail(r, "unterminated string");
  s = malloc(end - start + 1);
  if (s == NULL) return fail_nomem(r);
  while (r->pos < end) {
    unsigned char c = (unsigned char)r->text[r->pos];
    if (c < 0x20) {
      free(s);
      return fail(r, "control character in string");
    }
    if (c == '\\') {
      size_t k;
      r->pos++;
      if (read_escape(r, s + n, &k) != 0) {
        free(s);
        return -1;
      }
      n += k;
    } else {
      s[n++] = (char)c;
      r->pos++;
    }
  }
  /* RFC 8259 text is UTF-8: a string of other bytes is refused here, not
   * carried into names and messages (found by tests/fuzz/fuzz_state.c). */
  if (!nbh_utf8_valid(s, n)) {
    free(s);
    r->pos = start - 1;
    return fail(r, "invalid UTF-8 in string");
  }
  r->pos = end + 1;
  s[n] = '\0';
  *out = s;
  *out_len = n;
  return 0;
}

static int read_uint(Reader *r, uint64_t *out) {
  uint64_t v = 0;
  size_t start = r->pos;
  if (r->text[r->pos] == '0' && r->pos + 1 < r->len &&
      r->text[r->pos + 1] >= '0' && r->text[r->pos + 1] <= '9')
    return fail(r, "leading zero in number");
  while (r->pos < r->len && r->text[r->pos] >= '0' && r->text[r->pos] <= '9') {
    unsigned d = (unsigned)(r->text[r->pos] - '0');
    if (v > (UINT64_MAX - d) / 10) return fail(r, "number out of range");
    v = v * 10 + d;
    r->pos++;
  }
  if (r->pos == start) return fail(r, "expected a number");
  if (r->pos < r->len && (r->text[r->pos] == '.' || r->text[r->pos] == 'e' ||
                          r->text[r->pos] == 'E'))
    return fail(r, "expected an integer");
  *out = v;
  return 0;
}

static int read_value(Reader *r, NbhJson *out, int depth);

static int grow(Reader *r, NbhJson *v, size_t *cap, int with_keys) {
  size_t new_cap;
  NbhJson *items;
  if (v->n < *cap) return 0;
  new_cap = *cap ? *cap * 2 : 4;
  items = realloc(v->items, new_cap * sizeof *items);
  if (items == NULL) return fail_nomem(r);
  v->items = items;
  if (with_keys) {
    char **keys = realloc(v->keys, new_cap * sizeof *keys);
    size_t *offsets;
    if (keys == NULL) return fail_nomem(r);
    v->keys = keys;
    offsets = realloc(v->key_offsets, new_cap * sizeof *offsets);
    if (offsets == NULL) return fail_nomem(r);
    v->key_offsets = offsets;
  }
  *cap = new_cap;
  return 0;
}

static int read_array(Reader *r, NbhJson *out, int depth) {
  size_t cap = 0;
  out->kind = NBH_JSON_ARRAY;
  r->pos++;
  skip_space(r);
  if (r->pos < r->len && r->text[r->pos] == ']') {
    r->pos++;
    return 0;
  }
  for (;;) {
    if (grow(r, out, &cap, 0) != 0) return -1;
    memset(&out->items[out->n], 0, sizeof out->items[0]);
    out->n++;
    if (read_value(r, &out->items[out->n - 1], depth + 1) != 0) return -1;
    skip_space(r);
    if (r->pos >= r->len) return fail(r, "unterminated array");
    if (r->text[r->pos] == ']') {
      r->pos++;
      return 0;
    }
    if (r->text[r->pos] != ',') return fail(r, "expected ',' or ']'");
    r->pos++;
  }
}

static int read_object(Reader *r, NbhJson *out, int depth) {
  size_t cap = 0, i, key_len, key_offset;
  char *key;
  out->kind = NBH_JSON_OBJECT;
  r->pos++;
  skip_space(r);
  if (r->pos < r->len && r->text[r->pos] == '}') {
    r->pos++;
    return 0;
  }
  for (;;) {
    skip_space(r);
    if (r->pos >= r->len || r->text[r->pos] != '"')
      return fail(r, "expected a key");
    key_offset = r->pos;
    if (read_string(r, &key, &key_len) != 0) return -1;
    for (i = 0; i < out->n; i++) {
      if (strcmp(out->keys[i], key) == 0) {
        free(key);
        r->pos = key_offset;
        return fail(r, "duplicate key");
      }
    }
    if (grow(r, out, &cap, 1) != 0) {
      free(key);
      return -1;
    }
    memset(&out->items[out->n], 0, sizeof out->items[0]);
    out->keys[out->n] = key;
    out->key_offsets[out->n] = key_offset;
    out->n++;
    skip_space(r);
    if (r->pos >= r->len || r->text[r->pos] != ':')
      return fail(r, "expected ':'");
    r->pos++;
    if (read_value(r, &out->items[out->n - 1], depth + 1) != 0) return -1;
    skip_space(r);
    if (r->pos >= r->len) return fail(r, "unterminated object");
    if (r->text[r->pos] == '}') {
      r->pos++;
      return 0;
    }
    if (r->text[r->pos] != ',') return fail(r, "expected ',' or '}'");
    r->pos++;
  }
}

static int read_value(Reader *r, NbhJson *out, int depth) {
  char c;
  if (depth > MAX_DEPTH) return fail(r, "nesting too deep");
  skip_space(r);
  if (r->pos >= r->len) return fail(r, "unexpected end of text");
  c = r->text[r->pos];
  switch (c) {
    case '{': return read_object(r, out, depth);
    case '[': return read_array(r, out, depth);
    case '"':
      out->kind = NBH_JSON_STRING;
      return read_string(r, &out->string, &out->len);
    case 't':
      out->kind = NBH_JSON_BOOL;
      out->boolean = true;
      return expect_word(r, "true");
    case 'f':
      out->kind = NBH_JSON_BOOL;
      return expect_word(r, "false");
    case 'n':
      out->kind = NBH_JSON_NULL;
      return expect_word(r, "null");
    default:
      if (c >= '0' && c <= '9') {
        out->kind = NBH_JSON_UINT;
        return read_uint(r, &out->uint);
      }
      return fail(r, "unexpected character");
  }
}

int nbh_json_parse(const char *text, size_t len, NbhJson *out, char *why,
                   size_t why_cap) {
  Reader r = {text, len, 0, why, why_cap, 0};
  memset(out, 0, sizeof *out);
  if (read_value(&r, out, 0) == 0) {
    skip_space(&r);
    if (r.pos == r.len) return 0;
    fail(&r, "unexpected text after the value");
  }
  nbh_json_free(out);
  return -1;
}

void nbh_json_free(NbhJson *value) {
  size_t i;
  if (value == NULL) return;
  for (i = 0; i < value->n; i++) {
    if (value->items != NULL) nbh_json_free(&value->items[i]);
    if (value->keys != NULL) free(value->keys[i]);
  }
  free(value->items);
  free(value->keys);
  free(value->key_offsets);
  free(value->string);
  memset(value, 0, sizeof *value);
}

const NbhJson *nbh_json_get(const NbhJson *object, const char *key) {
  size_t i;
  if (object == NULL || object->kind != NBH_JSON_OBJECT) return NULL;
  for (i = 0; i < object->n; i++)
    if (strcmp(object->keys[i], key) == 0) return &object->items[i];
  return NULL;
}
