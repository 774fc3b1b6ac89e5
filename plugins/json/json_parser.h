/*
 * json_parser.h - a strict RFC 8259 scanner over in-memory buffers.
 *
 * The parser reads one record at a time from a buffer that the caller
 * fills: a JSON Lines record (a value alone on its line, possibly going on
 * over following lines while an object or array is open) or one element of
 * a top-level array.  It never allocates per value: decoded strings and
 * minified nested values go into one scratch area sized for the input,
 * members of the top-level object into an array reused from record to
 * record.
 *
 * Buffer contract (what makes the hot loops free of bounds checks): the
 * byte at `end` is '\0' (a sentinel no valid token continues over) and at
 * least JSON_PADDING readable bytes follow `end`.
 *
 * Reaching `end` in the middle of a record gives JSON_NEED_MORE unless
 * at_eof says no more data will come; the caller then reads more and parses
 * the record again from its start (callers grow their buffer
 * geometrically, so re-parsing costs O(record size) overall).
 */
#ifndef JSON_PARSER_H
#define JSON_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Readable bytes required after `end` (beyond the '\0' sentinel). */
#define JSON_PADDING 16

typedef enum JsonKind {
  JSON_NULL = 0,
  JSON_FALSE,
  JSON_TRUE,
  JSON_NUMBER,
  JSON_STRING,
  JSON_ARRAY,
  JSON_OBJECT
} JsonKind;

typedef enum JsonResult {
  JSON_OK = 0,        /* a record was parsed */
  JSON_END,           /* no more records (end of data, or end of array) */
  JSON_NEED_MORE,     /* the data stops inside a record: read more */
  JSON_SYNTAX,        /* invalid JSON: see error / error_at */
  JSON_NOMEM          /* an allocation failed */
} JsonResult;

/* One JSON value of a record. */
typedef struct JsonValue {
  JsonKind kind;
  /* string: the decoded bytes (valid UTF-8, may hold NUL); object and
   * array: the text without insignificant whitespace; others: as written */
  const char *text;
  size_t len;
  /* exactly as written (a string with its quotes and escapes) */
  const char *raw;
  size_t raw_len;
} JsonValue;

/* JsonMember.hint of a member whose name matched no expected name. */
#define JSON_NO_HINT UINT32_MAX

/* One member of a top-level object record. */
typedef struct JsonMember {
  const char *key; /* decoded name, valid UTF-8, may hold NUL */
  size_t key_len;
  /* Index of the expected name (json_parser_expect_key) this member's
   * name matched, or JSON_NO_HINT; a name may match although its hint is
   * JSON_NO_HINT (for example when written with escapes). */
  uint32_t hint;
  JsonValue value;
} JsonMember;

/* An expected member name, as the input has it: a JSON string without
 * escapes, then a colon. */
typedef struct JsonKeyHint {
  /* Its first 32 bytes, zero-padded, compared with the input a 16-byte
   * block at a time: inline, so the comparison follows no pointer. */
  char head[32];
  uint32_t need;  /* one bit per byte of head that counts */
  size_t len;     /* bytes from the opening quote to the colon included;
                   * a name that cannot match has len 1 and head "\0" */
  char *whole;    /* len > 32: all len bytes (malloc'ed); else NULL */
} JsonKeyHint;

/* State of the top level of an array document. */
typedef enum JsonArrayState {
  JSON_ARRAY_START = 0, /* before the opening bracket */
  JSON_ARRAY_FIRST,     /* after '[': an element or ']' comes */
  JSON_ARRAY_NEXT,      /* after an element: ',' or ']' comes */
  JSON_ARRAY_DONE,      /* after ']': only whitespace may follow */
  JSON_ARRAY_FAILED,    /* a syntax error ended the document */
  JSON_ARRAY_ELEMENT    /* after ',': an element comes (values are saved
                         * in resume positions: append only) */
} JsonArrayState;

typedef struct JsonParser {
  uint32_t max_depth;      /* deepest nesting accepted, >= 1 */
  /* Most members a top-level object record may have (0: no limit); more
   * is a syntax error.  Bounds p->members: 64 bytes a member. */
  size_t max_members;

  /* Scratch for decoded strings and minified values of the current
   * record; never reallocated during a parse (see json_parser_reserve). */
  char *scratch;
  size_t scratch_cap;
  size_t scratch_len;

  /* Members of the current record when it is an object. */
  JsonMember *members;
  size_t n_members;
  size_t members_cap;

  /* One bit per open container: 1 = object, 0 = array. */
  uint8_t *stack;
  size_t stack_bytes;

  /* Expected member names of object records, in their usual order: the
   * fast path for records of one shape (see json_parser_expect_key). */
  JsonKeyHint *keys;
  size_t n_keys;
  size_t keys_cap;

  /* Where the current record starts (after leading whitespace). */
  const char *record_start;

  /* Newlines crossed by the current parse, and the last one, so callers
   * can turn error_at into a line and a byte column. */
  uint64_t newlines;
  const char *last_newline;

  /* JSON_SYNTAX: what and where. */
  const char *error_at;
  char error[160];
} JsonParser;

/* Prepare a parser; max_depth >= 1.  Returns false on allocation failure. */
bool json_parser_init(JsonParser *p, uint32_t max_depth);
void json_parser_free(JsonParser *p);

/* Make sure the scratch area can hold the decoded form of input_len bytes
 * of JSON (it never exceeds the input): at least twice the last size, or
 * exactly input_len when that is more, so a caller that reserves its
 * buffer's size as it grows gets a scratch area of that size.  Returns
 * false on allocation failure or for an impossible length. */
bool json_parser_reserve(JsonParser *p, size_t input_len);

/* Add name[0..len) to the expected member names of object records; its
 * index is the number of names added before.  When the members of a record
 * come in the order of the names (one may be missing here and there), a
 * member whose name is written as expected, without escapes and directly
 * followed by its colon, is recognised by comparing bytes: its name is
 * neither scanned nor decoded, and JsonMember.hint gives the index.  A
 * name that JSON must escape (quote, backslash, control character) or that
 * is not UTF-8 keeps its index but is never matched.  Returns false on
 * allocation failure (the name is then not added). */
bool json_parser_expect_key(JsonParser *p, const char *name, size_t len);

/* Forget the expected member names. */
void json_parser_clear_keys(JsonParser *p);

/* JSON Lines: skip blank lines, parse one value and the rest of its line
 * (only spaces, tabs and '\r' may follow it), consuming the '\n'.
 * *next receives where the following record starts.  Returns JSON_OK,
 * JSON_END (only whitespace up to end: *next = end; the caller reads on
 * unless at_eof), JSON_NEED_MORE,
 * JSON_SYNTAX, JSON_NOMEM.  For an object, p->members hold its members. */
JsonResult json_parse_line(JsonParser *p, const char *start, const char *end,
                           bool at_eof, JsonValue *value, const char **next);

/* Array document: advance *state by one element.  From JSON_ARRAY_START
 * the opening bracket is expected (after whitespace); an element is parsed
 * and returned (JSON_OK, *next after it) or the closing bracket and the
 * trailing whitespace are consumed (JSON_END).  JSON_END also comes, with
 * *state JSON_ARRAY_FIRST or JSON_ARRAY_ELEMENT, when the data ends after
 * a '[' or a ',' and the whitespace after it: those are consumed, so that
 * whitespace is never kept for a reparse.  On JSON_SYNTAX *state
 * becomes JSON_ARRAY_FAILED.  *state only changes with JSON_OK, JSON_END
 * and JSON_SYNTAX. */
JsonResult json_parse_array_step(JsonParser *p, JsonArrayState *state,
                                 const char *start, const char *end,
                                 bool at_eof, JsonValue *value,
                                 const char **next);

/* Validate a complete JSON text text[0..len) (whitespace around the value
 * allowed) with no depth limit beyond p->max_depth.  text[len] must be the
 * '\0' sentinel followed by JSON_PADDING bytes.  *has_space is set when the
 * text holds insignificant whitespace.  Returns JSON_OK or JSON_SYNTAX. */
JsonResult json_validate(JsonParser *p, const char *text, size_t len,
                         bool *has_space);

/* Copy a valid JSON text without its insignificant whitespace to out
 * (capacity >= len); returns the length written. */
size_t json_minify(const char *text, size_t len, char *out);

/* True when text[0..len) is exactly one number in JSON grammar. */
bool json_number_valid(const char *text, size_t len);

#endif /* JSON_PARSER_H */
