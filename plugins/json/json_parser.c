/*
 * json_parser.c - a strict RFC 8259 scanner over in-memory buffers (see
 * json_parser.h for the buffer contract).
 *
 * Speed: the '\0' sentinel at `end` stops every scanning loop, so the hot
 * loops test no bounds; strings are skipped 16 bytes at a time (SSE2)
 * while they hold no quote, backslash, control or non-ASCII byte, and the
 * plain string, the common case, is handled inline; members of a record
 * whose names come as expected (json_parser_expect_key) are recognised by
 * a block compare instead of being scanned; nested values are validated by
 * an iterative loop with one bit of stack per level (no recursion, so
 * max_depth is limited by the setting only); nothing is allocated per
 * value.
 *
 * Setting up a parser (buffers, expected member names) is
 * json_parser_setup.c; error messages are json_parse_errors.c.
 */
#include "json_parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_parse_errors.h"
#include "json_utf8.h"

/* The common case of json_parser_reserve, inline: room already. */
static inline bool reserve(JsonParser *p, size_t input_len) {
  return (p->scratch_cap >= input_len && p->scratch != NULL) ||
         json_parser_reserve(p, input_len);
}

/* ------------------------------------------------------------------------
 * Lexical pieces
 * ------------------------------------------------------------------------ */

static inline const char *skip_space(JsonParser *p, const char *c,
                                     bool *space) {
  for (;;) {
    switch (*c) {
      case ' ':
      case '\t':
      case '\r':
        *space = true;
        c++;
        break;
      case '\n':
        *space = true;
        p->newlines++;
        p->last_newline = c;
        c++;
        break;
      default:
        return c;
    }
  }
}

static inline int hex_value(unsigned char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  ch |= 0x20;
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1;
}

/* Four hex digits at s: their value, or -1 with *bad at the first byte
 * that is not a hex digit. */
static int32_t hex4(const char *s, const char **bad) {
  int32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hex_value((unsigned char)s[i]);
    if (h < 0) {
      *bad = s + i;
      return -1;
    }
    v = (v << 4) | h;
  }
  return v;
}

/* The rest of a string whose opening quote is at *pc, from c, its first
 * special byte that is not the closing quote: escapes, non-ASCII bytes,
 * errors.  Arguments and result as for scan_string.  Kept out of line so
 * that the plain-string path of scan_string stays small enough to inline. */
static JsonResult __attribute__((noinline))
scan_string_special(JsonParser *p, const char **pc, const char *end, bool eof,
                    char *out, const char **text, size_t *text_len,
                    const char *c) {
  const char *quote = *pc;
  const char *run = quote + 1; /* start of bytes not yet copied to out */
  char *o = out;
  bool escaped = false;

  for (;;) {
    unsigned char ch = (unsigned char)*c;

    if (ch == '"') {
      if (out != NULL) {
        if (!escaped) {
          *text = run;
          *text_len = (size_t)(c - run);
        } else {
          memcpy(o, run, (size_t)(c - run));
          o += c - run;
          *text = out;
          *text_len = (size_t)(o - out);
        }
      }
      *pc = c + 1;
      return JSON_OK;
    }

    if (ch == '\\') {
      if (out != NULL) {
        memcpy(o, run, (size_t)(c - run));
        o += c - run;
      }
      escaped = true;
      char dec = 0;
      switch (c[1]) {
        case '"': dec = '"'; break;
        case '\\': dec = '\\'; break;
        case '/': dec = '/'; break;
        case 'b': dec = '\b'; break;
        case 'f': dec = '\f'; break;
        case 'n': dec = '\n'; break;
        case 'r': dec = '\r'; break;
        case 't': dec = '\t'; break;
        case 'u': break;
        default:
          if (c + 1 == end) {
            if (!eof) return JSON_NEED_MORE;
            return json_syntax(p, quote, "unterminated string");
          }
          {
            char found[48];
            json_describe_byte(c + 1, end, found, sizeof found);
            return json_syntax(p, c, "invalid escape sequence in string: %s after \"\\\"",
                          found);
          }
      }
      if (dec != 0) {
        if (out != NULL) *o++ = dec;
        c += 2;
        run = c;
        c = json_skip_plain(c);
        continue;
      }
      const char *bad = NULL;
      int32_t cp = hex4(c + 2, &bad);
      if (cp < 0) {
        if (bad == end) {
          if (!eof) return JSON_NEED_MORE;
          return json_syntax(p, quote, "unterminated string");
        }
        return json_syntax(p, c, "invalid \\u escape in string: expected four hexadecimal digits");
      }
      const char *esc = c;
      c += 6;
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        return json_syntax(p, esc, "invalid \\u escape in string: lone low surrogate \\u%04X",
                      (unsigned)cp);
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (c[0] != '\\' || c[1] != 'u') {
          if ((c == end || (c[0] == '\\' && c + 1 == end)) && !eof)
            return JSON_NEED_MORE;
          return json_syntax(p, esc,
                        "invalid \\u escape in string: high surrogate \\u%04X is not followed by a low surrogate",
                        (unsigned)cp);
        }
        int32_t lo = hex4(c + 2, &bad);
        if (lo < 0 && bad == end && !eof) return JSON_NEED_MORE;
        if (lo < 0xDC00 || lo > 0xDFFF)
          return json_syntax(p, esc,
                        "invalid \\u escape in string: high surrogate \\u%04X is not followed by a low surrogate",
                        (unsigned)cp);
        cp = 0x10000 + (((cp - 0xD800) << 10) | (lo - 0xDC00));
        c += 6;
      }
      if (out != NULL) o += json_utf8_encode((uint32_t)cp, o);
      run = c;
      c = json_skip_plain(c);
      continue;
    }

    if (ch < 0x20) {
      if (c == end) {
        if (!eof) return JSON_NEED_MORE;
        return json_syntax(p, quote, "unterminated string");
      }
      if (ch == '\n') return json_syntax(p, quote, "unterminated string: end of line inside the string");
      return json_syntax(p, c, "unescaped control character U+%04X in string", ch);
    }

    /* A non-ASCII byte: one complete, valid UTF-8 sequence. */
    size_t bad_index;
    size_t n = json_utf8_sequence((const unsigned char *)c, (size_t)(end - c),
                                  &bad_index);
    if (n == 0) {
      if (c + bad_index == end) {
        if (!eof) return JSON_NEED_MORE;
        return json_syntax(p, c, "invalid UTF-8 in string: truncated sequence at the end of the data");
      }
      return json_invalid_utf8(p, c, bad_index);
    }
    c = json_skip_plain(c + n);
  }
}

/* Scan a string whose opening quote is at *pc.  With out == NULL the
 * string is only validated; otherwise its decoded bytes are written to out
 * unless it holds no escape, in which case *text points into the input.
 * On JSON_OK *pc is after the closing quote.
 *
 * Most strings are plain (printable ASCII up to the closing quote): that
 * case is one json_skip_plain and a test, inlined where strings are
 * scanned; anything else continues in scan_string_special. */
static inline JsonResult scan_string(JsonParser *p, const char **pc,
                                     const char *end, bool eof, char *out,
                                     const char **text, size_t *text_len) {
  const char *quote = *pc;
  /* The sentinel at end is special, so this never passes it. */
  const char *c = json_skip_plain(quote + 1);
  if (__builtin_expect(*c == '"', 1)) {
    if (out != NULL) {
      *text = quote + 1;
      *text_len = (size_t)(c - quote - 1);
    }
    *pc = c + 1;
    return JSON_OK;
  }
  return scan_string_special(p, pc, end, eof, out, text, text_len, c);
}

static inline bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* Scan a number at *pc (first byte '-' or a digit). */
static JsonResult scan_number(JsonParser *p, const char **pc, const char *end,
                              bool eof) {
  const char *c = *pc;
  if (*c == '-') c++;
  if (*c == '0') {
    c++;
    if (is_digit(*c)) return json_syntax(p, c - 1, "invalid number: leading zeros are not allowed");
  } else if (*c >= '1' && *c <= '9') {
    do c++;
    while (is_digit(*c));
  } else {
    return json_unexpected(p, c, end, eof, "invalid number: expected a digit after \"-\"");
  }
  if (*c == '.') {
    c++;
    if (!is_digit(*c))
      return json_unexpected(p, c, end, eof, "invalid number: expected a digit after the decimal point");
    do c++;
    while (is_digit(*c));
  }
  if (*c == 'e' || *c == 'E') {
    c++;
    if (*c == '+' || *c == '-') c++;
    if (!is_digit(*c))
      return json_unexpected(p, c, end, eof, "invalid number: expected a digit in the exponent");
    do c++;
    while (is_digit(*c));
  }
  /* The number might go on in data not read yet. */
  if (c == end && !eof) return JSON_NEED_MORE;
  *pc = c;
  return JSON_OK;
}

static JsonResult scan_literal(JsonParser *p, const char **pc, const char *end,
                               bool eof, const char *word) {
  const char *c = *pc;
  for (size_t i = 0; word[i] != '\0'; i++) {
    if (c[i] != word[i]) {
      if (c + i == end && !eof) return JSON_NEED_MORE;
      return json_syntax(p, c, "invalid literal: expected \"%s\"", word);
    }
  }
  *pc = c + strlen(word);
  return JSON_OK;
}

/* A scalar value (string, number, literal) at *pc, validated only. */
static JsonResult scan_scalar(JsonParser *p, const char **pc, const char *end,
                              bool eof, JsonKind *kind) {
  switch (**pc) {
    case '"':
      *kind = JSON_STRING;
      return scan_string(p, pc, end, eof, NULL, NULL, NULL);
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      *kind = JSON_NUMBER;
      return scan_number(p, pc, end, eof);
    case 't':
      *kind = JSON_TRUE;
      return scan_literal(p, pc, end, eof, "true");
    case 'f':
      *kind = JSON_FALSE;
      return scan_literal(p, pc, end, eof, "false");
    case 'n':
      *kind = JSON_NULL;
      return scan_literal(p, pc, end, eof, "null");
    default:
      return json_unexpected(p, *pc, end, eof, "expected a JSON value");
  }
}

/* ------------------------------------------------------------------------
 * Nested values
 * ------------------------------------------------------------------------ */

static bool stack_set(JsonParser *p, uint32_t level, bool is_object) {
  size_t byte = level >> 3;
  if (byte >= p->stack_bytes) {
    size_t n = p->stack_bytes * 2;
    while (n <= byte) n *= 2;
    uint8_t *s = realloc(p->stack, n);
    if (s == NULL) return false;
    memset(s + p->stack_bytes, 0, n - p->stack_bytes);
    p->stack = s;
    p->stack_bytes = n;
  }
  uint8_t bit = (uint8_t)(1u << (level & 7));
  if (is_object) p->stack[byte] |= bit;
  else p->stack[byte] &= (uint8_t)~bit;
  return true;
}

static inline bool stack_is_object(const JsonParser *p, uint32_t level) {
  return (p->stack[level >> 3] >> (level & 7)) & 1;
}

/* Validate the object or array at *pc.  depth: containers already open
 * around it.  *space is set when insignificant whitespace is crossed. */
static JsonResult scan_container(JsonParser *p, const char **pc,
                                 const char *end, bool eof, uint32_t depth,
                                 bool *space) {
  const char *c = *pc;
  uint32_t level = 0; /* containers open inside this value */
  JsonResult r;
  JsonKind kind;
  bool in_object;

open:
  if (depth + level + 1 > p->max_depth)
    return json_syntax(p, c, "nesting depth exceeds the limit of %u (setting \"max_depth\")",
                  p->max_depth);
  in_object = *c == '{';
  if (!stack_set(p, level, in_object)) return JSON_NOMEM;
  level++;
  c = skip_space(p, c + 1, space);
  if (in_object) {
    if (*c == '}') {
      c++;
      goto close;
    }
    goto member;
  }
  if (*c == ']') {
    c++;
    goto close;
  }
  goto value;

member:
  if (*c != '"') return json_unexpected(p, c, end, eof, "expected a member name (a string)");
  r = scan_string(p, &c, end, eof, NULL, NULL, NULL);
  if (r != JSON_OK) return r;
  c = skip_space(p, c, space);
  if (*c != ':') return json_unexpected(p, c, end, eof, "expected \":\" after the member name");
  c = skip_space(p, c + 1, space);
  /* fall through to value */

value:
  if (*c == '{' || *c == '[') goto open;
  r = scan_scalar(p, &c, end, eof, &kind);
  if (r != JSON_OK) return r;
  goto after;

close:
  level--;
  if (level == 0) {
    *pc = c;
    return JSON_OK;
  }
  /* fall through to after */

after:
  c = skip_space(p, c, space);
  in_object = stack_is_object(p, level - 1);
  if (*c == ',') {
    const char *comma = c;
    c = skip_space(p, c + 1, space);
    if (*c == (in_object ? '}' : ']'))
      return json_syntax(p, comma, "trailing comma in %s", in_object ? "object" : "array");
    if (in_object) goto member;
    goto value;
  }
  if (*c == (in_object ? '}' : ']')) {
    c++;
    goto close;
  }
  return json_unexpected(p, c, end, eof,
                    in_object ? "expected \",\" or \"}\" after an object member"
                              : "expected \",\" or \"]\" after an array element");
}

/* ------------------------------------------------------------------------
 * Values of a record: strings decoded, nested values minified
 * ------------------------------------------------------------------------ */

static JsonResult parse_value(JsonParser *p, const char **pc, const char *end,
                              bool eof, uint32_t depth, JsonValue *v) {
  const char *start = *pc;
  JsonResult r;

  if (*start == '"') {
    v->kind = JSON_STRING;
    r = scan_string(p, pc, end, eof, p->scratch + p->scratch_len, &v->text,
                    &v->len);
    if (r != JSON_OK) return r;
    if (v->text == p->scratch + p->scratch_len) p->scratch_len += v->len;
  } else if (*start == '{' || *start == '[') {
    bool space = false;
    v->kind = *start == '{' ? JSON_OBJECT : JSON_ARRAY;
    r = scan_container(p, pc, end, eof, depth, &space);
    if (r != JSON_OK) return r;
    size_t raw_len = (size_t)(*pc - start);
    if (space) {
      char *out = p->scratch + p->scratch_len;
      v->text = out;
      v->len = json_minify(start, raw_len, out);
      p->scratch_len += v->len;
    } else {
      v->text = start;
      v->len = raw_len;
    }
  } else {
    r = scan_scalar(p, pc, end, eof, &v->kind);
    if (r != JSON_OK) return r;
    v->text = start;
    v->len = (size_t)(*pc - start);
  }
  v->raw = start;
  v->raw_len = (size_t)(*pc - start);
  return JSON_OK;
}

static bool grow_members(JsonParser *p) {
  size_t cap = p->members_cap ? p->members_cap * 2 : 16;
  /* Exactly max_members at most: the parser checks the limit only when
   * the array is full. */
  if (p->max_members != 0 && cap > p->max_members)
    cap = p->max_members > p->members_cap ? p->max_members : p->members_cap + 1;
  JsonMember *m = realloc(p->members, cap * sizeof *m);
  if (m == NULL) return false;
  p->members = m;
  p->members_cap = cap;
  return true;
}

static inline JsonMember *push_member(JsonParser *p) {
  if (p->n_members == p->members_cap && !grow_members(p)) return NULL;
  return &p->members[p->n_members++];
}

/* Machine-written JSON rarely has whitespace between tokens: one test
 * before entering the loop of skip_space. */
static inline const char *skip_space_fast(JsonParser *p, const char *c,
                                          bool *space) {
  if ((unsigned char)*c > ' ') return c;
  return skip_space(p, c, space);
}

/* True when the input at c (an opening quote) starts with the expected
 * name h: both quotes and the colon after the name.
 *
 * Compared 16 bytes at a time under a mask of the bytes that count
 * (h->need): a name of up to 29 bytes, that is nearly all of them, costs
 * one or two loads, compares and mask tests, without a loop.  The input's
 * loads stay inside the buffer: its second block (and anything after) is
 * read only when the first equalled 16 bytes of the name, none of which is
 * the '\0' sentinel, so the first block ended before `end` (JSON_PADDING
 * covers the second). */
static inline bool key_matches(const JsonKeyHint *h, const char *c) {
#if defined(__SSE2__)
  __m128i in = _mm_loadu_si128((const __m128i *)(const void *)c);
  __m128i want = _mm_loadu_si128((const __m128i *)(const void *)h->head);
  uint32_t eq = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(in, want));
  if (h->len <= 16) return (eq & h->need) == h->need;
  if (eq != 0xFFFF) return false;
  in = _mm_loadu_si128((const __m128i *)(const void *)(c + 16));
  want = _mm_loadu_si128((const __m128i *)(const void *)(h->head + 16));
  eq |= (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(in, want)) << 16;
  if ((eq & h->need) != h->need) return false;
  if (h->len <= 32) return true;
  /* Longer names: the rest a byte at a time, stopping at the first
   * difference, at the latest at the sentinel. */
  for (size_t i = 32; i < h->len; i++)
    if (c[i] != h->whole[i]) return false;
  return true;
#else
  const char *want = h->whole != NULL ? h->whole : h->head;
  for (size_t i = 0; i < h->len; i++)
    if (c[i] != want[i]) return false;
  return true;
#endif
}

/* Where the number at c ends, when it is written the common way: an
 * optional minus, an integer part, an optional fraction, no exponent, and
 * it ends before `end`.  NULL otherwise (exponents, errors, the end of the
 * data): scan_number then decides, with its messages.  Inline in the
 * member loop, digits tested with one subtraction and compare each. */
static inline const char *plain_number_end(const char *c, const char *end) {
  if (*c == '-') c++;
  if (*c == '0') {
    c++;
  } else if ((unsigned char)(*c - '1') < 9) {
    do c++;
    while ((unsigned char)(*c - '0') < 10);
  } else {
    return NULL;
  }
  if (*c == '.') {
    c++;
    if ((unsigned char)(*c - '0') >= 10) return NULL;
    do c++;
    while ((unsigned char)(*c - '0') < 10);
  }
  if (*c == 'e' || *c == 'E' || (unsigned char)(*c - '0') < 10 || c == end) return NULL;
  return c;
}

/* A record: like parse_value, but an object's members are collected.
 *
 * The member loop is the hot path of the json source (one pass per member
 * of every record), so it is written out here rather than through the
 * general scanners:
 *   - a name is first compared with the expected name (or the one after,
 *     for a missing member), colon included, and only scanned when it
 *     differs;
 *   - strings and numbers are scanned inline, other values call
 *     parse_value;
 *   - the expected punctuation is tested before whitespace is skipped,
 *     since machine-written JSON rarely has any;
 *   - the parser's hot fields live in locals: stores to the members could
 *     alias them as far as the compiler knows, which would reload them for
 *     each member. */
static JsonResult parse_record_value(JsonParser *p, const char **pc,
                                     const char *end, bool eof,
                                     uint32_t depth, JsonValue *v) {
  const char *start = *pc;
  const char *c = start;
  bool space = false;
  JsonResult r;

  p->n_members = 0;
  if (*c != '{') return parse_value(p, pc, end, eof, depth, v);
  if (depth + 1 > p->max_depth)
    return json_syntax(p, c, "nesting depth exceeds the limit of %u (setting \"max_depth\")",
                  p->max_depth);
  c = skip_space_fast(p, c + 1, &space);

  if (p->members_cap == 0 && !grow_members(p)) return JSON_NOMEM;
  const JsonKeyHint *keys = p->keys;
  size_t n_keys = p->n_keys;
  size_t expect = 0; /* expected name of the next member */
  JsonMember *m = p->members, *m_end = p->members + p->members_cap;

  if (*c != '}') {
    for (;; m++) {
      if (*c != '"') return json_unexpected(p, c, end, eof, "expected a member name (a string)");
      if (m == m_end) {
        size_t n = (size_t)(m - p->members);
        if (p->max_members != 0 && n >= p->max_members)
          return json_syntax(p, c, "the object has more than %zu members (setting \"max_columns\")",
                        p->max_members);
        if (!grow_members(p)) return JSON_NOMEM;
        m = p->members + n;
        m_end = p->members + p->members_cap;
      }

      /* The name, with its colon. */
      size_t k = expect;
      bool known = k < n_keys && key_matches(&keys[k], c);
      if (!known && k + 1 < n_keys) known = key_matches(&keys[++k], c);
      if (known) {
        m->key = c + 1;
        m->key_len = keys[k].len - 3;
        m->hint = (uint32_t)k;
        c += keys[k].len;
        expect = k + 1;
      } else {
        char *out = p->scratch + p->scratch_len;
        const char *t = c;
        r = scan_string(p, &t, end, eof, out, &m->key, &m->key_len);
        if (r != JSON_OK) return r;
        if (m->key == out) p->scratch_len += m->key_len;
        m->hint = JSON_NO_HINT;
        c = skip_space_fast(p, t, &space);
        if (*c != ':') return json_unexpected(p, c, end, eof, "expected \":\" after the member name");
        c++;
      }

      /* The value.  The scanners that move a pointer through its address
       * get a copy (slow), so that c and t can stay in registers. */
      c = skip_space_fast(p, c, &space);
      JsonValue *mv = &m->value;
      const char *t, *slow;
      if (*c == '"') {
        const char *stop = json_skip_plain(c + 1);
        mv->kind = JSON_STRING;
        mv->raw = c;
        if (*stop == '"') {
          mv->text = c + 1;
          mv->len = (size_t)(stop - c - 1);
          t = stop + 1;
        } else {
          char *out = p->scratch + p->scratch_len;
          slow = c;
          r = scan_string_special(p, &slow, end, eof, out, &mv->text, &mv->len, stop);
          if (r != JSON_OK) return r;
          if (mv->text == out) p->scratch_len += mv->len;
          t = slow;
        }
        mv->raw_len = (size_t)(t - c);
      } else if (*c == '-' || is_digit(*c)) {
        t = plain_number_end(c, end);
        if (t == NULL) {
          slow = c;
          r = scan_number(p, &slow, end, eof);
          if (r != JSON_OK) return r;
          t = slow;
        }
        mv->kind = JSON_NUMBER;
        mv->raw = mv->text = c;
        mv->raw_len = mv->len = (size_t)(t - c);
      } else {
        /* m stays valid: parse_value does not add members. */
        slow = c;
        r = parse_value(p, &slow, end, eof, depth + 1, mv);
        if (r != JSON_OK) return r;
        t = slow;
      }
      c = t;

      /* A comma and the next name, or the end of the object. */
      if (*c != ',' && *c != '}') c = skip_space(p, c, &space);
      if (*c == ',') {
        const char *comma = c++;
        if (*c == '"') continue;
        c = skip_space(p, c, &space);
        if (*c == '}') return json_syntax(p, comma, "trailing comma in object");
        continue;
      }
      if (*c == '}') {
        m++;
        break;
      }
      return json_unexpected(p, c, end, eof, "expected \",\" or \"}\" after an object member");
    }
  }
  c++;
  p->n_members = (size_t)(m - p->members);
  v->kind = JSON_OBJECT;
  v->raw = v->text = start;
  v->raw_len = v->len = (size_t)(c - start);
  *pc = c;
  return JSON_OK;
}

static void reset(JsonParser *p, const char *start) {
  p->record_start = start;
  p->newlines = 0;
  p->last_newline = NULL;
  p->scratch_len = 0;
  p->n_members = 0;
  p->error_at = NULL;
  p->error[0] = '\0';
}

/* ------------------------------------------------------------------------
 * Records
 * ------------------------------------------------------------------------ */

JsonResult json_parse_line(JsonParser *p, const char *start, const char *end,
                           bool at_eof, JsonValue *value, const char **next) {
  bool space = false;
  const char *c;
  JsonResult r;

  reset(p, start);
  if (!reserve(p, (size_t)(end - start))) return JSON_NOMEM;
  c = skip_space_fast(p, start, &space);
  if (c == end) {
    /* Only blank lines: the caller consumes them and reads on. */
    *next = c;
    return JSON_END;
  }
  p->record_start = c;
  r = parse_record_value(p, &c, end, at_eof, 0, value);
  if (r != JSON_OK) return r;
  while (*c == ' ' || *c == '\t' || *c == '\r') c++;
  if (*c == '\n') {
    p->newlines++;
    p->last_newline = c;
    c++;
  } else if (c == end) {
    if (!at_eof) return JSON_NEED_MORE;
  } else {
    char found[48];
    json_describe_byte(c, end, found, sizeof found);
    return json_syntax(p, c, "unexpected data after the JSON value: found %s (JSON Lines holds one value per line)",
                  found);
  }
  *next = c;
  return JSON_OK;
}

JsonResult json_parse_array_step(JsonParser *p, JsonArrayState *state,
                                 const char *start, const char *end,
                                 bool at_eof, JsonValue *value,
                                 const char **next) {
  bool space = false;
  const char *c = start;
  JsonResult r;

  reset(p, start);
  if (!reserve(p, (size_t)(end - start))) return JSON_NOMEM;
  switch (*state) {
    case JSON_ARRAY_START:
      c = skip_space(p, c, &space);
      if (*c != '[') {
        if (c == end && !at_eof) return JSON_NEED_MORE;
        *state = JSON_ARRAY_FAILED;
        if (c == end) return json_syntax(p, c, "empty document: expected \"[\" to start a JSON array (format \"array\")");
        return json_unexpected(p, c, end, at_eof,
                          "expected \"[\" to start a JSON array (format \"array\")");
      }
      c = skip_space(p, c + 1, &space);
      if (c == end && !at_eof) {
        *state = JSON_ARRAY_FIRST;
        *next = c;
        return JSON_END;
      }
      if (*c == ']') {
        c++;
        goto done;
      }
      goto element;
    case JSON_ARRAY_ELEMENT:
      c = skip_space(p, c, &space);
      if (*c == ']') {
        *state = JSON_ARRAY_FAILED;
        return json_syntax(p, c, "trailing comma in array");
      }
      goto element;
    case JSON_ARRAY_FIRST:
      c = skip_space(p, c, &space);
      if (*c == ']') {
        c++;
        goto done;
      }
      goto element;
    case JSON_ARRAY_NEXT:
      c = skip_space(p, c, &space);
      if (*c == ',') {
        const char *comma = c;
        c = skip_space(p, c + 1, &space);
        if (c == end && !at_eof) {
          *state = JSON_ARRAY_ELEMENT;
          *next = c;
          return JSON_END;
        }
        if (*c == ']') {
          *state = JSON_ARRAY_FAILED;
          return json_syntax(p, comma, "trailing comma in array");
        }
        goto element;
      }
      if (*c == ']') {
        c++;
        goto done;
      }
      r = json_unexpected(p, c, end, at_eof, "expected \",\" or \"]\" after an array element");
      if (r == JSON_SYNTAX) *state = JSON_ARRAY_FAILED;
      return r;
    case JSON_ARRAY_DONE:
      goto done;
    case JSON_ARRAY_FAILED:
    default:
      *next = start;
      return JSON_END;
  }

element:
  p->record_start = c;
  r = parse_record_value(p, &c, end, at_eof, 1, value);
  if (r == JSON_SYNTAX) *state = JSON_ARRAY_FAILED;
  if (r != JSON_OK) return r;
  *state = JSON_ARRAY_NEXT;
  *next = c;
  return JSON_OK;

done:
  /* After the closing bracket only whitespace may come.  JSON_END is
   * returned before the end of the file too, with *next past the
   * whitespace seen: the caller reads on and calls again. */
  c = skip_space(p, c, &space);
  if (c != end) {
    char found[48];
    json_describe_byte(c, end, found, sizeof found);
    *state = JSON_ARRAY_FAILED;
    return json_syntax(p, c, "unexpected data after the end of the JSON array: found %s", found);
  }
  *state = JSON_ARRAY_DONE;
  *next = c;
  return JSON_END;
}

/* ------------------------------------------------------------------------
 * Whole texts (the writer checks JSON column values with these)
 * ------------------------------------------------------------------------ */

JsonResult json_validate(JsonParser *p, const char *text, size_t len,
                         bool *has_space) {
  const char *end = text + len;
  const char *c;
  bool space = false;
  JsonResult r;
  JsonKind kind;

  reset(p, text);
  c = skip_space(p, text, &space);
  if (*c == '{' || *c == '[') r = scan_container(p, &c, end, true, 0, &space);
  else r = scan_scalar(p, &c, end, true, &kind);
  if (r != JSON_OK) return r;
  c = skip_space(p, c, &space);
  if (c != end) {
    char found[48];
    json_describe_byte(c, end, found, sizeof found);
    return json_syntax(p, c, "unexpected data after the JSON value: found %s", found);
  }
  *has_space = space;
  return JSON_OK;
}

size_t json_minify(const char *text, size_t len, char *out) {
  const char *c = text, *end = text + len;
  char *o = out;
  while (c < end) {
    char ch = *c;
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
      c++;
      continue;
    }
    if (ch != '"') {
      *o++ = ch;
      c++;
      continue;
    }
    /* A string, copied as written: find its closing quote. */
    const char *s = c + 1;
    while (s < end && *s != '"') s += *s == '\\' ? 2 : 1;
    if (s < end) s++;
    memcpy(o, c, (size_t)(s - c));
    o += s - c;
    c = s;
  }
  return (size_t)(o - out);
}

bool json_number_valid(const char *text, size_t len) {
  const char *c = text, *end = text + len;
  if (c < end && *c == '-') c++;
  if (c >= end) return false;
  if (*c == '0') {
    c++;
  } else if (*c >= '1' && *c <= '9') {
    while (c < end && is_digit(*c)) c++;
  } else {
    return false;
  }
  if (c < end && *c == '.') {
    c++;
    if (c >= end || !is_digit(*c)) return false;
    while (c < end && is_digit(*c)) c++;
  }
  if (c < end && (*c == 'e' || *c == 'E')) {
    c++;
    if (c < end && (*c == '+' || *c == '-')) c++;
    if (c >= end || !is_digit(*c)) return false;
    while (c < end && is_digit(*c)) c++;
  }
  return c == end;
}
