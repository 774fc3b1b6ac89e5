/*
 * test_json_parser.c - the json connector's RFC 8259 parser, its record
 * reader and its string escaper, on memory: tables of valid and invalid
 * documents (with the line and byte column of each error), decoding of
 * escapes and surrogate pairs, invalid UTF-8, the depth limit, JSON Lines
 * versus arrays, blank lines, CRLF, records across read boundaries, and
 * the escaping of every control character.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "json_parser.h"
#include "json_reader.h"
#include "json_writer.h"

/* ------------------------------------------------------------------------
 * Reading a document from memory, `chunk` bytes per read
 * ------------------------------------------------------------------------ */

typedef struct Mem {
  const char *data;
  size_t len, pos, chunk;
} Mem;

static int mem_read(void *ctx, void *buf, size_t cap, size_t *n, NbError *err) {
  Mem *m = ctx;
  (void)err;
  size_t k = m->len - m->pos;
  if (k > cap) k = cap;
  if (k > m->chunk) k = m->chunk;
  memcpy(buf, m->data + m->pos, k);
  m->pos += k;
  *n = k;
  return NB_OK;
}

typedef struct Outcome {
  int records;             /* good records */
  int errors;              /* NB_DATA */
  int64_t line, column;    /* of the first error */
  char message[256];
  char record[64];         /* raw bytes of the first bad record */
} Outcome;

static void read_doc(const char *doc, size_t len, JsonFormat format,
                     uint32_t max_depth, size_t chunk, size_t buf_size,
                     Outcome *out) {
  JsonReader r;
  Mem m = {doc, len, 0, chunk};
  NbError e;
  JsonValue v;
  nb_error_init(&e);
  memset(out, 0, sizeof *out);
  assert_int_equal(json_reader_init(&r, format, max_depth, buf_size, mem_read, &m, "doc.json", &e), NB_OK);
  for (int guard = 0; guard < 100000; guard++) {
    int rc = json_reader_peek(&r, &v, &e);
    if (rc == NB_END) break;
    if (rc == NB_OK) {
      out->records++;
    } else {
      assert_int_equal(rc, NB_DATA);
      if (out->errors++ == 0) {
        out->line = e.line;
        out->column = e.column;
        snprintf(out->message, sizeof out->message, "%s", e.message);
        size_t n = e.record_len < sizeof out->record - 1 ? e.record_len : sizeof out->record - 1;
        if (e.record) memcpy(out->record, e.record, n);
        out->record[n] = '\0';
      }
      nb_error_release(&e);
    }
    json_reader_accept(&r);
  }
  json_reader_free(&r);
}

/* The same outcome whatever the read size and the starting buffer size. */
static void read_doc_all_ways(const char *doc, size_t len, JsonFormat format,
                              uint32_t max_depth, Outcome *out) {
  Outcome other;
  read_doc(doc, len, format, max_depth, 1 << 20, 1 << 16, out);
  read_doc(doc, len, format, max_depth, 1, 1, &other);
  if (other.records != out->records || other.errors != out->errors)
    fail_msg("\"%.*s\" read byte by byte: %d records %d errors (%s); at once: %d records %d errors (%s)",
             (int)len, doc, other.records, other.errors, other.message, out->records,
             out->errors, out->message);
  assert_int_equal(other.records, out->records);
  assert_int_equal(other.errors, out->errors);
  assert_int_equal(other.line, out->line);
  assert_int_equal(other.column, out->column);
  assert_string_equal(other.message, out->message);
  read_doc(doc, len, format, max_depth, 3, 5, &other);
  assert_int_equal(other.records, out->records);
  assert_int_equal(other.errors, out->errors);
  assert_int_equal(other.column, out->column);
}

/* ------------------------------------------------------------------------
 * Valid documents
 * ------------------------------------------------------------------------ */

typedef struct Valid {
  const char *doc;
  size_t len;              /* 0: strlen */
  JsonFormat format;
  int records;
} Valid;

#define A JSON_FORMAT_AUTO
#define L JSON_FORMAT_LINES
#define R JSON_FORMAT_ARRAY

static const Valid valid_docs[] = {
    {"[]", 0, A, 0},
    {" [] ", 0, A, 0},
    {"[1]", 0, A, 1},
    {"[1,2,3]", 0, A, 3},
    {"{}", 0, A, 1},
    {"{\"a\":1}", 0, A, 1},
    {"42", 0, A, 1},
    {"\"str\"", 0, A, 1},
    {"null", 0, A, 1},
    {"true", 0, A, 1},
    {"false\n", 0, A, 1},
    {"[-0]", 0, A, 1},
    {"[-0.0e-0]", 0, A, 1},
    {"[1E400]", 0, A, 1},
    {"[1.5e-3, 0e+1, 123456789012345678901234567890]", 0, A, 3},
    {"[1.000000000000000000001]", 0, A, 1},
    {"[\"\\u0000\"]", 0, A, 1},
    {"[\"\\ud83d\\ude00\"]", 0, A, 1},
    {"[\"\\uDBFF\\uDFFF\"]", 0, A, 1},
    {"[\"\\uffff\"]", 0, A, 1},
    {"[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", 0, A, 1},
    {"[\"\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\"]", 0, A, 1},
    {"[\"\x7f\"]", 0, A, 1},
    {"{\"a\":\"b\",\"a\":\"c\"}", 0, A, 1},
    {"[[[[]]]]", 0, A, 1},
    {"{\"a\":{\"b\":{\"c\":[1,{\"d\":null}]}}}", 0, A, 1},
    {"{\n\"a\": \"b\"\n}", 0, A, 1},
    {"\xef\xbb\xbf{}", 0, A, 1},
    {"\xef\xbb\xbf[{}]", 0, A, 1},
    {"1\n2\n3", 0, A, 3},
    {"1\n\n\n2\n", 0, L, 2},
    {"{\"a\":1}\r\n{\"a\":2}\r\n", 0, L, 2},
    {"  {\"a\":1}  \t\r\n", 0, L, 1},
    {"", 0, L, 0},
    {"", 0, A, 0},
    {"\n\n  \n", 0, A, 0},
    {"[\n  {\"a\": 1},\n  {\"a\": 2}\n]\n", 0, A, 2},
    {"[\n  {\"a\": 1},\n  {\"a\": 2}\n]\n", 0, R, 2},
    {"[{\"a\" : [ 1 , { } ] } ]", 0, R, 1},
    {"[1]", 0, L, 1}, /* an array is one value in JSON Lines */
    {"{\"a\":\"x\"}\n[1,2]\n\"s\"\n", 0, L, 3},
    {"[\"\\u0041\\u00e9\\u20AC\"]", 0, A, 1},
    {"{\"\":0}", 0, A, 1},
    {"[\"a\\u0000b\"]", 0, A, 1},
};

/* A reservation no buffer can have (a negative length turned unsigned)
 * is refused; it used to double a capacity until it wrapped to 0 and
 * loop forever (the alarm turns that into a failure). */
static void test_reserve_impossible_length(void **state) {
  (void)state;
  JsonParser p;
  assert_true(json_parser_init(&p, 8));
  alarm(10);
  assert_false(json_parser_reserve(&p, SIZE_MAX));
  assert_false(json_parser_reserve(&p, (size_t)-5));
  assert_false(json_parser_reserve(&p, SIZE_MAX / 2 + 1));
  alarm(0);
  assert_true(json_parser_reserve(&p, 100000));
  assert_true(p.scratch_cap >= 100000);
  json_parser_free(&p);
}

/* Blank space before, between and after records is consumed as it is
 * read: 3 MiB of it never grows a 4 KiB buffer (it grew to hold all of it
 * while detecting the format, and before an array's first element). */
static void check_blank_not_buffered(const char *head, const char *tail, JsonFormat format,
                                     int records) {
  size_t blank = (size_t)3 << 20;
  size_t hl = strlen(head), tl = strlen(tail);
  char *doc = malloc(hl + blank + tl);
  assert_non_null(doc);
  memcpy(doc, head, hl);
  for (size_t i = 0; i < blank; i++) doc[hl + i] = i % 3 == 0 ? '\n' : i % 3 == 1 ? ' ' : '\t';
  memcpy(doc + hl + blank, tail, tl);
  JsonReader r;
  Mem m = {doc, hl + blank + tl, 0, 1 << 20};
  JsonValue v;
  int got = 0, rc;
  assert_int_equal(json_reader_init(&r, format, 8, 4096, mem_read, &m, "blank.json", NULL), NB_OK);
  while ((rc = json_reader_peek(&r, &v, NULL)) == NB_OK) {
    got++;
    json_reader_accept(&r);
  }
  assert_int_equal(rc, NB_END);
  assert_int_equal(got, records);
  if (r.cap > 4096) fail_msg("%s...%s: buffer grew to %zu", head, tail, r.cap);
  assert_true(r.parser.scratch_cap <= 8192);
  json_reader_free(&r);
  free(doc);
}

static void test_blank_space_not_buffered(void **state) {
  (void)state;
  check_blank_not_buffered("", "{\"a\":1}\n", JSON_FORMAT_AUTO, 1);
  check_blank_not_buffered("", "[1,2]", JSON_FORMAT_AUTO, 2);
  check_blank_not_buffered("", "[1,2]", JSON_FORMAT_ARRAY, 2);
  check_blank_not_buffered("[", "1,2]", JSON_FORMAT_ARRAY, 2);
  check_blank_not_buffered("[1", ",2]", JSON_FORMAT_ARRAY, 2);
  check_blank_not_buffered("[1,", "2]", JSON_FORMAT_ARRAY, 2);
  check_blank_not_buffered("{\"a\":1}\n", "{\"a\":2}\n", JSON_FORMAT_LINES, 2);
  check_blank_not_buffered("{\"a\":1}\n", "", JSON_FORMAT_AUTO, 1);
}

/* A record longer than max_record: a bad record naming its line, with
 * the same outcome whatever the read and buffer sizes; the buffer stays
 * within max(buffer size, max_record + 1). */
static void check_record_limit(size_t chunk, size_t buf_size) {
  char doc[4096];
  char big[1001];
  memset(big, 'x', 1000);
  big[1000] = '\0';
  snprintf(doc, sizeof doc, "{\"a\":1}\n\n{\"a\":\"%s\"}\n{\"a\":3}\n", big);
  JsonReader r;
  Mem m = {doc, strlen(doc), 0, chunk};
  JsonValue v;
  NbError e;
  nb_error_init(&e);
  assert_int_equal(json_reader_init(&r, JSON_FORMAT_AUTO, 8, buf_size, mem_read, &m, "big.json", NULL), NB_OK);
  r.max_record = 100;
  assert_int_equal(json_reader_peek(&r, &v, &e), NB_OK);
  json_reader_accept(&r);
  assert_int_equal(json_reader_peek(&r, &v, &e), NB_DATA);
  assert_non_null(strstr(e.message, "record at line 3 of file \"big.json\" is longer than 100 bytes"));
  assert_int_equal(e.line, 3);
  assert_true(e.record_len > 0 && e.record_len <= 256);
  assert_memory_equal(e.record, "{\"a\":\"xxx", 9);
  assert_non_null(strstr(e.hint, "max_record_bytes"));
  nb_error_release(&e);
  json_reader_accept(&r);
  assert_int_equal(json_reader_peek(&r, &v, &e), NB_OK);
  assert_int_equal(r.parser.members[0].value.len, 1);
  assert_memory_equal(r.parser.members[0].value.text, "3", 1);
  json_reader_accept(&r);
  assert_int_equal(json_reader_peek(&r, &v, &e), NB_END);
  assert_true(r.cap <= (buf_size > 101 ? buf_size : 101));
  json_reader_free(&r);
}

static void test_record_size_limit(void **state) {
  (void)state;
  check_record_limit(1 << 20, 1 << 16);
  check_record_limit(1, 1);
  check_record_limit(7, 16);
  check_record_limit(1 << 20, 64);
}

static void test_valid_documents(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof valid_docs / sizeof valid_docs[0]; i++) {
    const Valid *t = &valid_docs[i];
    Outcome o;
    size_t len = t->len ? t->len : strlen(t->doc);
    read_doc_all_ways(t->doc, len, t->format, 512, &o);
    if (o.errors != 0 || o.records != t->records)
      fail_msg("document %zu (%s): %d records, %d errors (%s), want %d records", i,
               t->doc, o.records, o.errors, o.message, t->records);
  }
}

/* ------------------------------------------------------------------------
 * Invalid documents: the error's line, byte column and message
 * ------------------------------------------------------------------------ */

typedef struct Invalid {
  const char *doc;
  JsonFormat format;
  int64_t line, column;
  const char *message;     /* a fragment of the message */
  int records;             /* good records around the bad one */
} Invalid;

static const Invalid invalid_docs[] = {
    {"[\"abc", A, 1, 2, "unterminated string", 0},
    {"[\"abc\n\"]", R, 1, 2, "unterminated string", 0},
    {"[\"\\x\"]", A, 1, 3, "invalid escape", 0},
    {"[\"\\", A, 1, 2, "unterminated string", 0},
    {"[\"\\uD800\"]", A, 1, 3, "high surrogate", 0},
    {"[\"\\uD800\\u0041\"]", A, 1, 3, "high surrogate", 0},
    {"[\"\\uD800x\"]", A, 1, 3, "high surrogate", 0},
    {"[\"\\uDC00\"]", A, 1, 3, "lone low surrogate", 0},
    {"[\"\\uDC00\\uD800\"]", A, 1, 3, "lone low surrogate", 0},
    {"[\"\\u12G4\"]", A, 1, 3, "four hexadecimal digits", 0},
    {"[\"\\u12\"]", A, 1, 3, "four hexadecimal digits", 0},
    {"[01]", A, 1, 2, "leading zeros", 0},
    {"[-01]", A, 1, 3, "leading zeros", 0},
    {"[-]", A, 1, 3, "digit after \"-\"", 0},
    {"-", L, 1, 2, "digit after \"-\"", 0},
    {"[1.]", A, 1, 4, "after the decimal point", 0},
    {"[.5]", A, 1, 2, "expected a JSON value", 0},
    {"[1e]", A, 1, 4, "exponent", 0},
    {"[1e+]", A, 1, 5, "exponent", 0},
    {"[+1]", A, 1, 2, "expected a JSON value", 0},
    {"[NaN]", A, 1, 2, "expected a JSON value", 0},
    {"[Infinity]", A, 1, 2, "expected a JSON value", 0},
    {"[-Infinity]", A, 1, 3, "digit after \"-\"", 0},
    {"[1,]", A, 1, 3, "trailing comma in array", 1},
    {"{\"a\":1,}", A, 1, 7, "trailing comma in object", 0},
    {"[{\"a\":[1,],\"b\":2}]", A, 1, 9, "trailing comma in array", 0},
    {"[1 2]", A, 1, 4, "expected \",\" or \"]\"", 1},
    {"[1}", A, 1, 3, "expected \",\" or \"]\"", 1},
    {"{\"a\" 1}", A, 1, 6, "expected \":\"", 0},
    {"{\"a\":1 \"b\":2}", A, 1, 8, "expected \",\" or \"}\"", 0},
    {"{a:1}", A, 1, 2, "member name", 0},
    {"{\"a\":tru}", A, 1, 6, "invalid literal", 0},
    {"[nul]", A, 1, 2, "invalid literal", 0},
    {"[\"a\tb\"]", A, 1, 4, "control character U+0009", 0},
    {"[\"a\x01\"]", A, 1, 4, "control character U+0001", 0},
    {"[\"\xc0\x80\"]", A, 1, 3, "invalid UTF-8", 0},
    {"[\"\xc1\xbf\"]", A, 1, 3, "invalid UTF-8", 0},
    {"[\"\xe0\x80\xaf\"]", A, 1, 3, "invalid UTF-8", 0},
    {"[\"\xed\xa0\x80\"]", A, 1, 3, "invalid UTF-8", 0},
    {"[\"\xed\xbf\xbf\"]", A, 1, 3, "invalid UTF-8", 0},
    {"[\"\xf4\x90\x80\x80\"]", A, 1, 3, "invalid UTF-8", 0},
    {"[\"\xf5\x80\x80\x80\"]", A, 1, 3, "invalid UTF-8", 0},
    {"[\"\xe2\x82\"]", A, 1, 3, "invalid UTF-8", 0},
    {"[\"\xff\"]", A, 1, 3, "invalid UTF-8", 0},
    {"[\"\x80\"]", A, 1, 3, "invalid UTF-8", 0},
    {"\"\xe2\x82", L, 1, 2, "truncated", 0},
    {"[1] x", A, 1, 5, "after the end of the JSON array", 1},
    {"[1]]", A, 1, 4, "after the end of the JSON array", 1},
    {"[][]", A, 1, 3, "after the end of the JSON array", 0},
    {"{\"a\":1} x", A, 1, 9, "after the JSON value", 0},
    {"{\"a\":1}{}", A, 1, 8, "after the JSON value", 0},
    {"1 2", A, 1, 3, "after the JSON value", 0},
    {"\"a\" \"b\"", L, 1, 5, "after the JSON value", 0},
    {"", R, 1, 1, "empty document", 0},
    {"  \n ", R, 2, 2, "empty document", 0},
    {"{}", R, 1, 1, "expected \"[\"", 0},
    {"[1,2", A, 1, 5, "the end of the data", 2},
    {"[", A, 1, 2, "the end of the data", 0},
    {"{", A, 1, 2, "the end of the data", 0},
    {"[\n1,\n2\n", A, 4, 1, "the end of the data", 2},
    {"{\"a\":1}\n{\"a\":}\n{\"a\":3}\n", L, 2, 6, "expected a JSON value", 2},
    {"{\"a\":1}\r\n{\"a\":x}\r\n{\"a\":3}\r\n", L, 2, 6, "expected a JSON value", 2},
    {"{\"a\":\n1,\n}\n{\"b\":2}\n", L, 2, 2, "trailing comma in object", 1},
    {"\"a\n1\n", L, 1, 1, "unterminated string", 1},
    {"[{\"a\":1},{\"a\":]", R, 1, 15, "expected a JSON value", 1},
    {"[1,2,\n  x,3]", R, 2, 3, "expected a JSON value", 2},
    {"\xef\xbb\xbf[1,]", A, 1, 3, "trailing comma", 1},
    {"{\"a\":\"\\u0000\" ,}", A, 1, 15, "trailing comma in object", 0},
    {"[\f]", A, 1, 2, "expected a JSON value", 0},
    {"['a']", A, 1, 2, "expected a JSON value", 0},
};

static void test_invalid_documents(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof invalid_docs / sizeof invalid_docs[0]; i++) {
    const Invalid *t = &invalid_docs[i];
    Outcome o;
    size_t len = strlen(t->doc);
    read_doc_all_ways(t->doc, len, t->format, 512, &o);
    if (o.errors != 1 || o.line != t->line || o.column != t->column ||
        strstr(o.message, t->message) == NULL || o.records != t->records)
      fail_msg("document %zu (%s): %d errors, line %lld column %lld \"%s\", %d records; "
               "want line %lld column %lld \"%s\", %d records",
               i, t->doc, o.errors, (long long)o.line, (long long)o.column, o.message,
               o.records, (long long)t->line, (long long)t->column, t->message, t->records);
  }
}

static void test_nul_bytes_in_input(void **state) {
  (void)state;
  Outcome o;
  /* A NUL byte after a number is garbage, not the end of the data. */
  read_doc_all_ways("123\0", 4, L, 512, &o);
  assert_int_equal(o.errors, 1);
  assert_int_equal(o.column, 4);
  /* A raw NUL inside a string is a control character. */
  read_doc_all_ways("[\"a\0\"]", 6, A, 512, &o);
  assert_int_equal(o.errors, 1);
  assert_non_null(strstr(o.message, "U+0000"));
  read_doc_all_ways("[\"a\"\0]", 6, A, 512, &o);
  assert_int_equal(o.errors, 1);
  assert_int_equal(o.column, 5);
}

static void test_bad_line_record_and_continue(void **state) {
  (void)state;
  Outcome o;
  const char *doc = "{\"a\":1}\n{\"a\":}\r\n\n{\"a\":3}\n";
  read_doc_all_ways(doc, strlen(doc), L, 512, &o);
  assert_int_equal(o.records, 2);
  assert_int_equal(o.errors, 1);
  assert_string_equal(o.record, "{\"a\":}");
  /* Several bad lines, each reported. */
  doc = "x\ny\n{}\nz";
  read_doc_all_ways(doc, strlen(doc), L, 512, &o);
  assert_int_equal(o.records, 1);
  assert_int_equal(o.errors, 3);
  assert_string_equal(o.record, "x");
}

static void test_array_error_ends_document(void **state) {
  (void)state;
  Outcome o;
  const char *doc = "[1, 2, x, 4, 5]";
  read_doc_all_ways(doc, strlen(doc), R, 512, &o);
  assert_int_equal(o.records, 2);
  assert_int_equal(o.errors, 1);
  assert_int_equal(o.column, 8);
}

/* ------------------------------------------------------------------------
 * Depth limit
 * ------------------------------------------------------------------------ */

static char *nested(size_t n, const char *open, const char *close) {
  size_t lo = strlen(open), lc = strlen(close);
  char *s = malloc(n * (lo + lc) + 1);
  assert_non_null(s);
  for (size_t i = 0; i < n; i++) memcpy(s + i * lo, open, lo);
  for (size_t i = 0; i < n; i++) memcpy(s + n * lo + i * lc, close, lc);
  s[n * (lo + lc)] = '\0';
  return s;
}

static void test_depth_limit(void **state) {
  (void)state;
  Outcome o;
  char *ok = nested(512, "[", "]");
  char *deep = nested(513, "[", "]");
  char *objs = nested(513, "{\"a\":", "}");

  read_doc(ok, strlen(ok), L, 512, 1 << 20, 1 << 16, &o);
  assert_int_equal(o.errors, 0);
  assert_int_equal(o.records, 1);
  /* As an array document the outer array is level 1 too. */
  read_doc(ok, strlen(ok), R, 512, 1 << 20, 1 << 16, &o);
  assert_int_equal(o.errors, 0);
  assert_int_equal(o.records, 1);

  read_doc_all_ways(deep, strlen(deep), L, 512, &o);
  assert_int_equal(o.errors, 1);
  assert_int_equal(o.column, 513);
  assert_non_null(strstr(o.message, "max_depth"));
  read_doc_all_ways(objs, strlen(objs), L, 512, &o);
  assert_int_equal(o.errors, 1);
  assert_int_equal(o.column, 512 * 5 + 1);

  /* A small limit, and a huge one that costs only bits. */
  read_doc("[[1]]", 5, L, 1, 1 << 20, 1 << 16, &o);
  assert_int_equal(o.errors, 1);
  assert_int_equal(o.column, 2);
  char *very = nested(100000, "[", "]");
  read_doc(very, strlen(very), L, 100000, 1 << 20, 1 << 16, &o);
  assert_int_equal(o.errors, 0);
  read_doc(very, strlen(very), L, 512, 1 << 20, 1 << 16, &o);
  assert_int_equal(o.errors, 1);
  free(very);
  free(ok);
  free(deep);
  free(objs);
}

/* ------------------------------------------------------------------------
 * Values of records
 * ------------------------------------------------------------------------ */

/* Parse one JSON Lines record from a buffer that meets the contract. */
static JsonResult parse_one(JsonParser *p, const char *doc, size_t len,
                            JsonValue *v, char **copy) {
  *copy = calloc(len + 1 + JSON_PADDING, 1);
  assert_non_null(*copy);
  memcpy(*copy, doc, len);
  const char *next;
  return json_parse_line(p, *copy, *copy + len, true, v, &next);
}

static void test_decoding(void **state) {
  (void)state;
  JsonParser p;
  JsonValue v;
  char *buf;
  const char doc[] =
      "{\"k\\u00e9y\":\"a\\nb\\u0000c\",\"n\":-1.50e+3,"
      "\"o\":{ \"x\" : [ 1 , \"a b\" ] },\"t\":true,\"f\":false,\"z\":null,"
      "\"e\":\"\\ud83d\\ude00\\/\",\"s\":\"plain\",\"a\":[1,2]}";
  assert_true(json_parser_init(&p, 512));
  assert_int_equal(parse_one(&p, doc, sizeof doc - 1, &v, &buf), JSON_OK);
  assert_int_equal(v.kind, JSON_OBJECT);
  assert_int_equal(p.n_members, 9);
  const JsonMember *m = p.members;

  assert_int_equal(m[0].key_len, 4);
  assert_memory_equal(m[0].key, "k\xc3\xa9y", 4);
  assert_int_equal(m[0].value.kind, JSON_STRING);
  assert_int_equal(m[0].value.len, 5);
  assert_memory_equal(m[0].value.text, "a\nb\0c", 5);
  assert_int_equal(m[0].value.raw_len, strlen("\"a\\nb\\u0000c\""));

  assert_int_equal(m[1].value.kind, JSON_NUMBER);
  assert_int_equal(m[1].value.len, 8);
  assert_memory_equal(m[1].value.text, "-1.50e+3", 8);

  assert_int_equal(m[2].value.kind, JSON_OBJECT);
  assert_int_equal(m[2].value.len, strlen("{\"x\":[1,\"a b\"]}"));
  assert_memory_equal(m[2].value.text, "{\"x\":[1,\"a b\"]}", m[2].value.len);
  assert_int_equal(m[2].value.raw_len, strlen("{ \"x\" : [ 1 , \"a b\" ] }"));

  assert_int_equal(m[3].value.kind, JSON_TRUE);
  assert_int_equal(m[4].value.kind, JSON_FALSE);
  assert_int_equal(m[5].value.kind, JSON_NULL);
  assert_int_equal(m[6].value.len, 5);
  assert_memory_equal(m[6].value.text, "\xf0\x9f\x98\x80/", 5);
  assert_int_equal(m[7].value.len, 5);
  assert_memory_equal(m[7].value.text, "plain", 5);
  assert_int_equal(m[8].value.kind, JSON_ARRAY);
  assert_memory_equal(m[8].value.text, "[1,2]", 5);
  free(buf);

  /* A non-object record. */
  assert_int_equal(parse_one(&p, "  \"x\\ty\"  \r\n", 12, &v, &buf), JSON_OK);
  assert_int_equal(v.kind, JSON_STRING);
  assert_int_equal(v.len, 3);
  assert_memory_equal(v.text, "x\ty", 3);
  assert_int_equal(p.n_members, 0);
  free(buf);
  json_parser_free(&p);
}

static void test_escapes_decode_to_utf8(void **state) {
  (void)state;
  static const struct {
    const char *json;
    const char *utf8;
    size_t len;
  } cases[] = {
      {"\"\\u0041\"", "A", 1},
      {"\"\\u007f\\u0080\"", "\x7f\xc2\x80", 3},
      {"\"\\u07FF\\u0800\"", "\xdf\xbf\xe0\xa0\x80", 5},
      {"\"\\uFFFF\"", "\xef\xbf\xbf", 3},
      {"\"\\uD800\\uDC00\"", "\xf0\x90\x80\x80", 4},
      {"\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf", 4},
      {"\"\\u2028\"", "\xe2\x80\xa8", 3},
      {"\"\\b\\f\\n\\r\\t\\\"\\\\\\/\"", "\b\f\n\r\t\"\\/", 8},
  };
  JsonParser p;
  assert_true(json_parser_init(&p, 8));
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    JsonValue v;
    char *buf;
    assert_int_equal(parse_one(&p, cases[i].json, strlen(cases[i].json), &v, &buf), JSON_OK);
    assert_int_equal(v.len, cases[i].len);
    assert_memory_equal(v.text, cases[i].utf8, cases[i].len);
    free(buf);
  }
  json_parser_free(&p);
}

/* A record much larger than the read buffer, and strings whose escapes
 * and UTF-8 sequences straddle every read boundary. */
static void test_records_across_buffers(void **state) {
  (void)state;
  size_t n = 300000;
  char *doc = malloc(n + 64);
  assert_non_null(doc);
  size_t len = 0;
  len += (size_t)sprintf(doc, "{\"big\":\"");
  while (len < n) {
    memcpy(doc + len, "ab\\u00e9\xc3\xa9\\n", 12);
    len += 12;
  }
  len += (size_t)sprintf(doc + len, "\"}\n{\"x\":1}\n");
  Outcome o;
  read_doc(doc, len, L, 512, 4096, 16, &o);
  assert_int_equal(o.errors, 0);
  assert_int_equal(o.records, 2);
  read_doc(doc, len, L, 512, 7, 1, &o);
  assert_int_equal(o.errors, 0);
  assert_int_equal(o.records, 2);
  free(doc);
}

/* ------------------------------------------------------------------------
 * Whole texts, numbers, minify
 * ------------------------------------------------------------------------ */

static JsonResult validate(JsonParser *p, const char *text, bool *space) {
  size_t len = strlen(text);
  char *buf = calloc(len + 1 + JSON_PADDING, 1);
  assert_non_null(buf);
  memcpy(buf, text, len);
  JsonResult r = json_validate(p, buf, len, space);
  free(buf);
  return r;
}

static void test_validate_and_minify(void **state) {
  (void)state;
  JsonParser p;
  bool space;
  assert_true(json_parser_init(&p, 64));
  assert_int_equal(validate(&p, "{\"a\":[1,2]}", &space), JSON_OK);
  assert_false(space);
  assert_int_equal(validate(&p, " [1, \"a b\" ]\n", &space), JSON_OK);
  assert_true(space);
  assert_int_equal(validate(&p, "\"x\"", &space), JSON_OK);
  assert_int_equal(validate(&p, "", &space), JSON_SYNTAX);
  assert_int_equal(validate(&p, "[1", &space), JSON_SYNTAX);
  assert_int_equal(validate(&p, "1 2", &space), JSON_SYNTAX);
  assert_int_equal(validate(&p, "{'a':1}", &space), JSON_SYNTAX);
  json_parser_free(&p);

  const char *t = " { \"a b\" : [ 1 ,\n\t\"c\\\" d\" ] } ";
  char out[64];
  size_t n = json_minify(t, strlen(t), out);
  assert_int_equal(n, strlen("{\"a b\":[1,\"c\\\" d\"]}"));
  assert_memory_equal(out, "{\"a b\":[1,\"c\\\" d\"]}", n);
}

static void test_number_grammar(void **state) {
  (void)state;
  const char *good[] = {"0", "-0", "1", "-1", "10", "1.5", "0.001", "1e5", "1E+5", "1e-5",
                        "-0.0e0", "123456789012345678901234567890.5"};
  const char *bad[] = {"", "-", "01", "+1", ".5", "1.", "1e", "1e+", "NaN", "inf",
                       "1 ", " 1", "0x1", "1.5.3", "--1", "1e5.5"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    assert_true(json_number_valid(good[i], strlen(good[i])));
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (json_number_valid(bad[i], strlen(bad[i]))) fail_msg("\"%s\" accepted", bad[i]);
}

/* ------------------------------------------------------------------------
 * Escaping
 * ------------------------------------------------------------------------ */

static size_t escape(const char *s, size_t len, bool seps, char *out, size_t *bad) {
  return json_escape_string(out, s, len, seps, bad);
}

static void test_escape_control_characters(void **state) {
  (void)state;
  static const char *want[32] = {
      "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006",
      "\\u0007", "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",
      "\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014",
      "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019", "\\u001a", "\\u001b",
      "\\u001c", "\\u001d", "\\u001e", "\\u001f"};
  char out[128], expect[128];
  size_t bad;
  for (int c = 0; c < 32; c++) {
    char in[20];
    /* Inside a long clean run, so the word-at-a-time path meets it. */
    memcpy(in, "abcdefghij", 10);
    in[10] = (char)c;
    memcpy(in + 11, "klmnopqrs", 9);
    size_t n = escape(in, 20, false, out, &bad);
    snprintf(expect, sizeof expect, "\"abcdefghij%sklmnopqrs\"", want[c]);
    assert_int_equal(n, strlen(expect));
    assert_memory_equal(out, expect, n);
  }
  size_t n = escape("\"\\/\x7f", 4, false, out, &bad);
  assert_int_equal(n, 8);
  assert_memory_equal(out, "\"\\\"\\\\/\x7f\"", 8);
  n = escape("", 0, false, out, &bad);
  assert_int_equal(n, 2);
  assert_memory_equal(out, "\"\"", 2);
}

static void test_escape_separators_and_utf8(void **state) {
  (void)state;
  char out[128];
  size_t bad;
  const char *s = "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\xe2\x82\xac";
  size_t n = escape(s, strlen(s), false, out, &bad);
  assert_int_equal(n, strlen(s) + 2);
  assert_memory_equal(out + 1, s, strlen(s));
  n = escape(s, strlen(s), true, out, &bad);
  const char *want = "\"a\\u2028b\\u2029c\xe2\x82\xac\"";
  assert_int_equal(n, strlen(want));
  assert_memory_equal(out, want, n);

  static const struct {
    const char *s;
    size_t bad;
  } invalid[] = {
      {"abcdefgh\xc0\x80", 8},         {"\xed\xa0\x80", 0},   {"ab\xf4\x90\x80\x80", 2},
      {"abc\xe2\x82", 3},              {"\x80", 0},          {"xyz\xff", 3},
      {"0123456789\xf0\x9f\x98", 10},
  };
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
    bad = 99;
    assert_int_equal(escape(invalid[i].s, strlen(invalid[i].s), false, out, &bad), (size_t)-1);
    assert_int_equal(bad, invalid[i].bad);
  }
}

/* The fast escaper agrees with a byte-at-a-time reference on random
 * ASCII-and-UTF-8 strings. */
static void test_escape_matches_reference(void **state) {
  (void)state;
  static const char *pieces[] = {"a", "bc", "\"", "\\", "\n", "\x01", "\xc3\xa9",
                                 "\xe2\x80\xa8", "\xf0\x9f\x98\x80", "0123456789", "/"};
  unsigned seed = 12345;
  for (int round = 0; round < 2000; round++) {
    char in[256], out[2048], ref[2048];
    size_t len = 0, r = 0, bad;
    int parts = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 30;
    for (int k = 0; k < parts; k++) {
      const char *p = pieces[((seed = seed * 1103515245u + 12345u) >> 16) % 11];
      memcpy(in + len, p, strlen(p));
      len += strlen(p);
    }
    ref[r++] = '"';
    for (size_t i = 0; i < len; i++) {
      unsigned char c = (unsigned char)in[i];
      if (c == '"' || c == '\\') {
        ref[r++] = '\\';
        ref[r++] = (char)c;
      } else if (c == '\n') {
        ref[r++] = '\\';
        ref[r++] = 'n';
      } else if (c < 0x20) {
        r += (size_t)sprintf(ref + r, "\\u%04x", c);
      } else {
        ref[r++] = (char)c;
      }
    }
    ref[r++] = '"';
    size_t n = escape(in, len, false, out, &bad);
    assert_int_equal(n, r);
    assert_memory_equal(out, ref, r);
  }
}

/* ------------------------------------------------------------------------
 * Expected member names (json_parser_expect_key): the fast path must give
 * exactly what the general scanner gives, and say which names it matched
 * ------------------------------------------------------------------------ */

/* Parse doc with and without expected names; the members, values, errors
 * and positions must be the same.  Returns the hint of each member. */
static JsonResult parse_with_hints(const char *doc, size_t len, bool eof,
                                   const char *const *names, size_t n_names,
                                   uint32_t *hints, size_t *n_members) {
  JsonParser plain, hinted;
  JsonValue va, vb;
  const char *na = NULL, *nb = NULL;
  char *a = calloc(len + 1 + JSON_PADDING, 1), *b = calloc(len + 1 + JSON_PADDING, 1);
  assert_non_null(a);
  assert_non_null(b);
  memcpy(a, doc, len);
  memcpy(b, doc, len);
  assert_true(json_parser_init(&plain, 16));
  assert_true(json_parser_init(&hinted, 16));
  for (size_t i = 0; i < n_names; i++)
    assert_true(json_parser_expect_key(&hinted, names[i], strlen(names[i])));
  JsonResult ra = json_parse_line(&plain, a, a + len, eof, &va, &na);
  JsonResult rb = json_parse_line(&hinted, b, b + len, eof, &vb, &nb);
  assert_int_equal(ra, rb);
  if (ra == JSON_SYNTAX) {
    assert_string_equal(plain.error, hinted.error);
    assert_int_equal(plain.error_at - a, hinted.error_at - b);
  }
  *n_members = 0;
  if (ra == JSON_OK) {
    assert_int_equal(na - a, nb - b);
    assert_int_equal(plain.n_members, hinted.n_members);
    for (size_t i = 0; i < plain.n_members; i++) {
      const JsonMember *ma = &plain.members[i], *mb = &hinted.members[i];
      assert_int_equal(ma->hint, JSON_NO_HINT);
      assert_int_equal(ma->key_len, mb->key_len);
      assert_memory_equal(ma->key, mb->key, ma->key_len);
      assert_int_equal(ma->value.kind, mb->value.kind);
      assert_int_equal(ma->value.len, mb->value.len);
      assert_memory_equal(ma->value.text, mb->value.text, ma->value.len);
      assert_int_equal(ma->value.raw - a, mb->value.raw - b);
      assert_int_equal(ma->value.raw_len, mb->value.raw_len);
      if (i < 16) hints[i] = mb->hint;
    }
    *n_members = plain.n_members;
  }
  json_parser_free(&plain);
  json_parser_free(&hinted);
  free(a);
  free(b);
  return ra;
}

static void test_expected_names(void **state) {
  (void)state;
  static const char long_name[] = "a_member_name_longer_than_thirty_two_bytes";
  const char *names[] = {"id", "name", "pickup_datetime", long_name,
                         "q\"uote", "k\xc3\xa9y", "last"};
  uint32_t h[16];
  size_t n;
  const size_t nn = sizeof names / sizeof names[0];

  /* In order: every name recognised, including 16+ and 32+ byte ones. */
  const char all[] = "{\"id\":1,\"name\":\"x\",\"pickup_datetime\":\"t\","
                     "\"a_member_name_longer_than_thirty_two_bytes\":[1, 2],"
                     "\"k\xc3\xa9y\":null,\"last\":true}";
  assert_int_equal(parse_with_hints(all, sizeof all - 1, true, names, nn, h, &n), JSON_OK);
  assert_int_equal(n, 6);
  assert_int_equal(h[0], 0);
  assert_int_equal(h[1], 1);
  assert_int_equal(h[2], 2);
  assert_int_equal(h[3], 3);
  assert_int_equal(h[4], 5); /* "q\"uote" (index 4) is missing */
  assert_int_equal(h[5], 6);

  /* A name that JSON must escape is never matched, only decoded. */
  const char quoted[] = "{\"id\":1,\"name\":2,\"pickup_datetime\":3,"
                        "\"a_member_name_longer_than_thirty_two_bytes\":4,\"q\\\"uote\":5}";
  assert_int_equal(parse_with_hints(quoted, sizeof quoted - 1, true, names, nn, h, &n), JSON_OK);
  assert_int_equal(h[4], JSON_NO_HINT);

  /* Escaped, prefixed, extended or spaced names fall back, and so does a
   * name far from where it is expected; a name matched again (the
   * duplicate "id", expected first) gets its index again. */
  const char odd[] = "{\"i\\u0064\":1,\"nam\":2,\"names\":3,\"id\" :4,\"last\":5,\"id\":6}";
  assert_int_equal(parse_with_hints(odd, sizeof odd - 1, true, names, nn, h, &n), JSON_OK);
  assert_int_equal(n, 6);
  assert_int_equal(h[0], JSON_NO_HINT);
  assert_int_equal(h[1], JSON_NO_HINT);
  assert_int_equal(h[2], JSON_NO_HINT);
  assert_int_equal(h[3], JSON_NO_HINT);
  assert_int_equal(h[4], JSON_NO_HINT);
  assert_int_equal(h[5], 0);

  /* Every prefix of a record, as a read boundary would cut it: the same
   * JSON_NEED_MORE or error with and without expected names. */
  for (size_t cut = 0; cut < sizeof all - 1; cut++) {
    parse_with_hints(all, cut, false, names, nn, h, &n);
    parse_with_hints(all, cut, true, names, nn, h, &n);
  }
  /* Errors right after a recognised name. */
  const char bad[] = "{\"id\":,\"name\":\"x\"}";
  assert_int_equal(parse_with_hints(bad, sizeof bad - 1, true, names, nn, h, &n), JSON_SYNTAX);
  const char bad2[] = "{\"id\":1,\"name\":\"x\",}";
  assert_int_equal(parse_with_hints(bad2, sizeof bad2 - 1, true, names, nn, h, &n), JSON_SYNTAX);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_documents),
      cmocka_unit_test(test_reserve_impossible_length),
      cmocka_unit_test(test_blank_space_not_buffered),
      cmocka_unit_test(test_record_size_limit),
      cmocka_unit_test(test_expected_names),
      cmocka_unit_test(test_invalid_documents),
      cmocka_unit_test(test_nul_bytes_in_input),
      cmocka_unit_test(test_bad_line_record_and_continue),
      cmocka_unit_test(test_array_error_ends_document),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_decoding),
      cmocka_unit_test(test_escapes_decode_to_utf8),
      cmocka_unit_test(test_records_across_buffers),
      cmocka_unit_test(test_validate_and_minify),
      cmocka_unit_test(test_number_grammar),
      cmocka_unit_test(test_escape_control_characters),
      cmocka_unit_test(test_escape_separators_and_utf8),
      cmocka_unit_test(test_escape_matches_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
