/*
 * test_csv_reader.c - unit tests of the CSV parser (plugins/csv/csv_reader.c)
 * over in-memory input.  Every case is parsed with many read sizes (1 byte
 * per read up to all at once) and block sizes (1 byte up to the default), so
 * records, quotes and CRLF pairs fall across every possible buffer boundary;
 * the output must be the same every time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv_reader.h"
#include "csv_utf8.h"

typedef struct MemInput {
  const char *data;
  size_t len;
  size_t pos;
  size_t chunk; /* most bytes per read */
} MemInput;

static int mem_read(void *ctx, char *buf, size_t cap, size_t *n_read, NbError *err) {
  MemInput *m = ctx;
  size_t n = m->len - m->pos;
  (void)err;
  if (n > cap) n = cap;
  if (n > m->chunk) n = m->chunk;
  memcpy(buf, m->data + m->pos, n);
  m->pos += n;
  *n_read = n;
  return NB_OK;
}

static int mem_skip(void *ctx, uint64_t n, NbError *err) {
  MemInput *m = ctx;
  (void)err;
  if (m->len - m->pos < n) {
    m->pos = m->len;
    return NB_END;
  }
  m->pos += (size_t)n;
  return NB_OK;
}

typedef struct Case {
  char delimiter;
  char quote;
  bool strict;
  bool skip_blank;
  size_t max_record;
} Case;

static const Case DEFAULT_CASE = {',', '"', false, false, 0};

/* Text growing without bound, for rendering. */
typedef struct Out {
  char *s;
  size_t len, cap;
} Out;

static void out_put(Out *o, const char *data, size_t len) {
  if (o->len + len + 1 > o->cap) {
    o->cap = (o->len + len + 1) * 2;
    o->s = realloc(o->s, o->cap);
    assert_non_null(o->s);
  }
  memcpy(o->s + o->len, data, len);
  o->len += len;
  o->s[o->len] = '\0';
}

static void out_printf(Out *o, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  out_put(o, buf, (size_t)n);
}

/* Render every record: "L<line>:<a>{b}\n" (<> unquoted, {} quoted), bad
 * records as "!L<line>C<col>[raw]\n", then "@<offset>" at the end. */
static char *render(const char *data, size_t len, const Case *c, size_t chunk, size_t block) {
  MemInput in = {data, len, 0, chunk};
  CsvInput input = {mem_read, mem_skip, &in};
  CsvReaderOptions opt;
  CsvReader *r = NULL;
  Out o = {NULL, 0, 0};
  int guard;

  memset(&opt, 0, sizeof opt);
  opt.delimiter = c->delimiter;
  opt.quote = c->quote;
  opt.strict = c->strict;
  opt.block_size = block;
  opt.max_record_bytes = c->max_record;
  assert_int_equal(csv_reader_new(&opt, &input, "mem.csv", &r, NULL), NB_OK);
  csv_reader_skip_blank_lines(r, c->skip_blank);
  out_put(&o, "", 0);
  for (guard = 0; guard < 10000; guard++) {
    CsvRecord rec;
    NbError err;
    int rc;
    size_t i;
    nb_error_init(&err);
    rc = csv_reader_next(r, &rec, &err);
    if (rc == NB_END) break;
    if (rc == NB_DATA) {
      assert_string_equal(err.location, "mem.csv");
      assert_int_equal(err.line, rec.line);
      out_printf(&o, "!L%lldC%lld[", (long long)err.line, (long long)err.column);
      out_put(&o, err.record, err.record_len);
      out_put(&o, "]\n", 2);
      nb_error_release(&err);
      continue;
    }
    assert_int_equal(rc, NB_OK);
    out_printf(&o, "L%lld:", (long long)rec.line);
    for (i = 0; i < rec.n_fields; i++) {
      bool quoted = rec.fields[i].flags & CSV_FIELD_QUOTED;
      out_put(&o, quoted ? "{" : "<", 1);
      out_put(&o, rec.fields[i].data, rec.fields[i].len);
      out_put(&o, quoted ? "}" : ">", 1);
    }
    out_put(&o, "\n", 1);
  }
  out_printf(&o, "@%llu", (unsigned long long)csv_reader_offset(r));
  csv_reader_free(r);
  return o.s;
}

/* Parse with every combination of read size and block size; all renderings
 * must equal expect. */
static void check_case(const char *data, size_t len, const Case *c, const char *expect) {
  static const size_t chunks[] = {1, 2, 3, 5, 7, 16, 17, 64, (size_t)1 << 30};
  static const size_t blocks[] = {1, 2, 3, 8, 31, 0};
  size_t i, j;
  for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    for (j = 0; j < sizeof blocks / sizeof blocks[0]; j++) {
      char *got = render(data, len, c, chunks[i], blocks[j]);
      if (strcmp(got, expect) != 0)
        fail_msg("chunk %zu block %zu:\n got: %s\nwant: %s", chunks[i], blocks[j], got, expect);
      free(got);
    }
  }
}

#define CHECK(data, expect) check_case((data), sizeof(data) - 1, &DEFAULT_CASE, (expect))
#define CHECK_WITH(data, c, expect) check_case((data), sizeof(data) - 1, (c), (expect))

static void test_simple(void **state) {
  (void)state;
  CHECK("a,b,c\n1,2,3\n", "L1:<a><b><c>\nL2:<1><2><3>\n@12");
  CHECK(",\n", "L1:<><>\n@2");
  CHECK("x", "L1:<x>\n@1");
  CHECK(" a , b \n", "L1:< a >< b >\n@8");
}

static void test_quoted_fields(void **state) {
  (void)state;
  CHECK("\"a,b\",c\n", "L1:{a,b}<c>\n@8");
  CHECK("\"he said \"\"hi\"\"\",x\n", "L1:{he said \"hi\"}<x>\n@19");
  CHECK("\"\",\"\"\"\"\n", "L1:{}{\"}\n@8");
  CHECK("\"\"\"a\"\"\"\n", "L1:{\"a\"}\n@8");
  CHECK("\"abc\"", "L1:{abc}\n@5");
  CHECK("a,\"\"", "L1:<a>{}\n@4");
}

static void test_embedded_line_breaks(void **state) {
  (void)state;
  CHECK("\"l1\nl2\",x\nn,y\n", "L1:{l1\nl2}<x>\nL3:<n><y>\n@14");
  CHECK("\"l1\r\nl2\",x\r\nn,y\r\n", "L1:{l1\r\nl2}<x>\nL3:<n><y>\n@17");
  CHECK("\"a\rb\r\rc\"\nz\n", "L1:{a\rb\r\rc}\nL5:<z>\n@11");
  CHECK("\"\n\n\"\n\"\r\n\"\n", "L1:{\n\n}\nL4:{\r\n}\n@10");
}

static void test_line_ends(void **state) {
  (void)state;
  CHECK("a,b\r\nc,d\r\n", "L1:<a><b>\nL2:<c><d>\n@10");
  CHECK("a,b\rc,d\r", "L1:<a><b>\nL2:<c><d>\n@8");
  CHECK("a\nb\r\nc\rd", "L1:<a>\nL2:<b>\nL3:<c>\nL4:<d>\n@8");
  CHECK("a,b\nc,d", "L1:<a><b>\nL2:<c><d>\n@7");
  CHECK("\"q\"\r\n\"r\"\r", "L1:{q}\nL2:{r}\n@9");
}

static void test_bom_and_empty(void **state) {
  (void)state;
  CHECK("\xEF\xBB\xBF" "a,b\n", "L1:<a><b>\n@7");
  CHECK("\xEF\xBB\xBF", "@3");
  CHECK("\xEF\xBB", "L1:<\xEF\xBB>\n@2");
  CHECK("", "@0");
  CHECK("a,\xEF\xBB\xBF\n", "L1:<a><\xEF\xBB\xBF>\n@6");
}

static void test_blank_lines(void **state) {
  Case skip = DEFAULT_CASE;
  (void)state;
  skip.skip_blank = true;
  CHECK("a\n\nb\n", "L1:<a>\nL2:<>\nL3:<b>\n@5");
  CHECK_WITH("a\n\nb\n\r\n\n", &skip, "L1:<a>\nL3:<b>\n@8");
  CHECK_WITH("\"\"\n", &skip, "L1:{}\n@3");
}

static void test_custom_delimiter_and_quote(void **state) {
  Case c = DEFAULT_CASE;
  (void)state;
  c.delimiter = ';';
  c.quote = '\'';
  CHECK_WITH("a;'b;c';'it''s'\n\"x\";y\n", &c, "L1:<a>{b;c}{it's}\nL2:<\"x\"><y>\n@22");
  c.delimiter = '\t';
  c.quote = '"';
  CHECK_WITH("a\tb,c\t\"d\te\"\n", &c, "L1:<a><b,c>{d\te}\n@12");
}

static void test_unterminated_quote(void **state) {
  (void)state;
  CHECK("a,b\n1,\"x\n2,y\n", "L1:<a><b>\n!L2C2[1,\"x]\nL3:<2><y>\n@13");
  CHECK("\"abc", "!L1C1[\"abc]\n@4");
  CHECK("\"abc\"\"", "!L1C1[\"abc\"\"]\n@6");
  CHECK("x,\"a\r\nb\r\n", "!L1C2[x,\"a]\nL2:<b>\n@9");
}

static void test_lenient_quotes(void **state) {
  (void)state;
  CHECK("ab\"c,d\n", "L1:<ab\"c><d>\n@7");
  CHECK("\"ab\"cd,e\n", "L1:{abcd}<e>\n@9");
  CHECK("\"a\"\"b\"c\"d,e\n", "L1:{a\"bc\"d}<e>\n@12");
  CHECK("a\"\"\n", "L1:<a\"\">\n@4");
}

static void test_strict_quotes(void **state) {
  Case c = DEFAULT_CASE;
  (void)state;
  c.strict = true;
  CHECK_WITH("ok,1\nab\"c,d\nx,y\n", &c, "L1:<ok><1>\n!L2C1[ab\"c,d]\nL3:<x><y>\n@16");
  CHECK_WITH("1,\"ab\"cd,e\nx\n", &c, "!L1C2[1,\"ab\"cd,e]\nL2:<x>\n@13");
  CHECK_WITH("\"a\"\"b\",\"\"\n", &c, "L1:{a\"b}{}\n@10");
}

static void test_oversize_record(void **state) {
  Case c = DEFAULT_CASE;
  (void)state;
  c.max_record = 16;
  CHECK_WITH("short\n0123456789012345678901234567890123456789\nafter\n", &c,
             "L1:<short>\n!L2C0[0123456789012345]\nL3:<after>\n@53");
  CHECK_WITH("\"0123456789\n0123456789\"\nnext\n", &c, "!L1C0[\"0123456789]\nL2:<0123456789\">\nL3:<next>\n@29");
}

/* Long fields with many doubled quotes, with small blocks. */
static void test_long_fields(void **state) {
  char *data = malloc(40000);
  char *expect = malloc(40000);
  size_t n = 0, e = 0, i;
  (void)state;
  data[n++] = '"';
  e += (size_t)sprintf(expect, "L1:{");
  for (i = 0; i < 5000; i++) {
    data[n++] = (char)('a' + i % 26);
    expect[e++] = (char)('a' + i % 26);
    if (i % 7 == 0) {
      data[n++] = '"';
      data[n++] = '"';
      expect[e++] = '"';
    }
  }
  data[n++] = '"';
  memcpy(data + n, ",tail\n", 6);
  n += 6;
  e += (size_t)sprintf(expect + e, "}<tail>\n@%zu", n);
  check_case(data, n, &DEFAULT_CASE, expect);
  free(data);
  free(expect);
}

static CsvReader *open_mem(MemInput *in, size_t block) {
  CsvInput input = {mem_read, mem_skip, in};
  CsvReaderOptions opt;
  CsvReader *r = NULL;
  memset(&opt, 0, sizeof opt);
  opt.delimiter = ',';
  opt.quote = '"';
  opt.block_size = block;
  assert_int_equal(csv_reader_new(&opt, &input, "mem.csv", &r, NULL), NB_OK);
  return r;
}

static void expect_field(CsvReader *r, const char *value, int64_t line) {
  CsvRecord rec;
  assert_int_equal(csv_reader_next(r, &rec, NULL), NB_OK);
  assert_int_equal(rec.line, line);
  assert_int_equal(rec.fields[0].len, strlen(value));
  assert_memory_equal(rec.fields[0].data, value, rec.fields[0].len);
}

static void test_unread_mark_rewind(void **state) {
  static const char text[] = "h\na\nb\nc\nd\n";
  MemInput in = {text, sizeof text - 1, 0, 3};
  CsvReader *r = open_mem(&in, 2);
  CsvRecord rec;
  (void)state;
  expect_field(r, "h", 1);
  expect_field(r, "a", 2);
  csv_reader_unread(r);
  expect_field(r, "a", 2);
  assert_int_equal(csv_reader_offset(r), 4);
  csv_reader_mark(r);
  expect_field(r, "b", 3);
  expect_field(r, "c", 4);
  expect_field(r, "d", 5);
  assert_int_equal(csv_reader_next(r, &rec, NULL), NB_END);
  csv_reader_rewind(r);
  csv_reader_unmark(r);
  expect_field(r, "b", 3);
  assert_int_equal(csv_reader_record_offset(r), 4);
  expect_field(r, "c", 4);
  expect_field(r, "d", 5);
  assert_int_equal(csv_reader_next(r, &rec, NULL), NB_END);
  csv_reader_free(r);
}

/* A bounded look-ahead (csv_reader_mark_within) over bad records stops at
 * its limit with CSV_READER_MARK_FULL, has read no more than the limit
 * beyond the mark, and can still rewind (issue 9, item 13). */
static void test_mark_within_limit(void **state) {
  enum { LINE = 100, LINES = 50, MAX = 40, LIMIT = 256 };
  char *text = malloc(LINE * LINES + 4);
  CsvReaderOptions opt;
  CsvInput input = {mem_read, mem_skip, NULL};
  CsvReader *r = NULL;
  CsvRecord rec;
  NbError err;
  int rc = NB_OK;
  (void)state;
  assert_non_null(text);
  for (size_t i = 0; i < LINES; i++) {
    memset(text + i * LINE, 'z', LINE - 1);
    text[i * LINE + LINE - 1] = '\n';
  }
  memcpy(text + LINE * LINES, "1,2\n", 4);
  MemInput in = {text, LINE * LINES + 4, 0, 7};
  input.ctx = &in;
  memset(&opt, 0, sizeof opt);
  opt.delimiter = ',';
  opt.quote = '"';
  opt.block_size = 16;
  opt.max_record_bytes = MAX;
  assert_int_equal(csv_reader_new(&opt, &input, "mem.csv", &r, NULL), NB_OK);
  csv_reader_mark_within(r, LIMIT);
  for (int i = 0; i < LINES + 1; i++) {
    nb_error_init(&err);
    rc = csv_reader_next(r, &rec, &err);
    nb_error_release(&err);
    if (rc != NB_DATA) break;
  }
  assert_int_equal(rc, CSV_READER_MARK_FULL);
  assert_true(in.pos <= LIMIT);
  csv_reader_rewind(r);
  csv_reader_unmark(r);
  /* Unbounded again: the bad lines one by one, then the good record. */
  for (int i = 0; i < LINES; i++) {
    nb_error_init(&err);
    assert_int_equal(csv_reader_next(r, &rec, &err), NB_DATA);
    nb_error_release(&err);
  }
  assert_int_equal(csv_reader_next(r, &rec, NULL), NB_OK);
  assert_int_equal(rec.n_fields, 2);
  csv_reader_free(r);
  free(text);
}

/* Streaming input: with stop_when_idle, a short read ends the wait for
 * more (CSV_READER_IDLE) instead of a read that would block on a quiet
 * pipe; without it, reading goes on (issue 9, item 12). */
static void test_stop_when_idle(void **state) {
  static const char text[] = "a\nb\nc\n";
  MemInput in = {text, sizeof text - 1, 0, 2};
  CsvReader *r = open_mem(&in, 64);
  CsvRecord rec;
  (void)state;
  csv_reader_set_streaming(r, true);
  expect_field(r, "a", 1);
  csv_reader_stop_when_idle(r, true);
  assert_int_equal(csv_reader_next(r, &rec, NULL), CSV_READER_IDLE);
  assert_int_equal(in.pos, 2); /* nothing more was read */
  csv_reader_stop_when_idle(r, false);
  expect_field(r, "b", 2);
  expect_field(r, "c", 3);
  csv_reader_stop_when_idle(r, true);
  assert_int_equal(csv_reader_next(r, &rec, NULL), CSV_READER_IDLE);
  csv_reader_stop_when_idle(r, false);
  assert_int_equal(csv_reader_next(r, &rec, NULL), NB_END);
  csv_reader_free(r);
}

static void test_skip_to(void **state) {
  static const char text[] = "\xEF\xBB\xBFh\nline2\n\"q\nq\"\nlast\n";
  MemInput in = {text, sizeof text - 1, 0, 4};
  CsvReader *r = open_mem(&in, 4);
  CsvRecord rec;
  NbError err;
  (void)state;
  /* Offsets count the BOM: "last" starts at byte 17, on line 5. */
  assert_int_equal(csv_reader_skip_to(r, 17, 5, NULL), NB_OK);
  expect_field(r, "last", 5);
  assert_int_equal(csv_reader_offset(r), 22);
  assert_int_equal(csv_reader_next(r, &rec, NULL), NB_END);
  csv_reader_free(r);

  in.pos = 0;
  r = open_mem(&in, 0);
  expect_field(r, "h", 1);
  assert_int_equal(csv_reader_skip_to(r, 11, 3, NULL), NB_OK); /* within the buffer */
  expect_field(r, "q\nq", 3);
  nb_error_init(&err);
  assert_int_equal(csv_reader_skip_to(r, 0, 1, &err), NB_INVALID);
  nb_error_release(&err);
  csv_reader_free(r);

  in.pos = 0;
  r = open_mem(&in, 4);
  assert_int_equal(csv_reader_skip_to(r, 100, 9, NULL), NB_END);
  csv_reader_free(r);
}

/* A read error reaches the caller unchanged. */
static int failing_read(void *ctx, char *buf, size_t cap, size_t *n_read, NbError *err) {
  (void)ctx;
  (void)buf;
  (void)cap;
  *n_read = 0;
  return nb_error_set(err, NB_IO, "could not read file \"x\": Input/output error");
}

static void test_read_error(void **state) {
  CsvInput input = {failing_read, NULL, NULL};
  CsvReaderOptions opt;
  CsvReader *r = NULL;
  CsvRecord rec;
  NbError err;
  (void)state;
  memset(&opt, 0, sizeof opt);
  opt.delimiter = ',';
  opt.quote = '"';
  assert_int_equal(csv_reader_new(&opt, &input, "x", &r, NULL), NB_OK);
  nb_error_init(&err);
  assert_int_equal(csv_reader_next(r, &rec, &err), NB_IO);
  assert_non_null(strstr(err.message, "could not read"));
  nb_error_release(&err);
  csv_reader_free(r);
}

/* Input that gives its bytes, then fails the way the host's file layer
 * reports corrupt compressed data (NB_DATA), counting the reads. */
typedef struct CorruptInput {
  const char *data;
  size_t len;
  size_t pos;
  int reads_after_failure;
  bool failed;
} CorruptInput;

static int corrupt_read(void *ctx, char *buf, size_t cap, size_t *n_read, NbError *err) {
  CorruptInput *c = ctx;
  size_t n = c->len - c->pos;
  *n_read = 0;
  if (n == 0) {
    if (c->failed) c->reads_after_failure++;
    c->failed = true;
    nb_error_set(err, NB_DATA, "corrupt gzip data in file \"x.gz\" at byte 7");
    nb_error_locate(err, "x.gz", 3, 2);
    return NB_DATA;
  }
  if (n > cap) n = cap;
  if (n > 4) n = 4;
  memcpy(buf, c->data + c->pos, n);
  c->pos += n;
  *n_read = n;
  return NB_OK;
}

static int corrupt_skip(void *ctx, uint64_t n, NbError *err) {
  (void)ctx;
  (void)n;
  return nb_error_set(err, NB_DATA, "corrupt gzip data in file \"x.gz\" at byte 7");
}

/* A failing input ends the stream: the records before the failure come
 * out, then NB_IO (never NB_DATA, which would mean "a bad record, go on")
 * with the input's message and no line, and again NB_IO on every later
 * call, without reading again: a caller that skips bad records must not
 * spin at the failure. */
static void test_input_failure_ends_stream(void **state) {
  static const char text[] = "a,b\nc,d\ne,"; /* the last record is cut */
  CorruptInput in = {text, sizeof text - 1, 0, 0, false};
  CsvInput input = {corrupt_read, corrupt_skip, &in};
  CsvReaderOptions opt;
  CsvReader *r = NULL;
  CsvRecord rec;
  NbError err;
  int i;
  (void)state;
  memset(&opt, 0, sizeof opt);
  opt.delimiter = ',';
  opt.quote = '"';
  opt.block_size = 2;
  assert_int_equal(csv_reader_new(&opt, &input, "x.gz", &r, NULL), NB_OK);
  csv_reader_mark(r);
  expect_field(r, "a", 1);
  expect_field(r, "c", 2);
  for (i = 0; i < 3; i++) {
    nb_error_init(&err);
    assert_int_equal(csv_reader_next(r, &rec, &err), NB_IO);
    assert_int_equal(err.code, NB_IO);
    assert_non_null(strstr(err.message, "corrupt gzip data"));
    assert_int_equal(err.line, 0);
    nb_error_release(&err);
  }
  assert_int_equal(in.reads_after_failure, 0);
  /* Records buffered before the failure are still there after a rewind. */
  csv_reader_rewind(r);
  expect_field(r, "a", 1);
  expect_field(r, "c", 2);
  assert_int_equal(csv_reader_next(r, &rec, NULL), NB_IO);
  nb_error_init(&err);
  assert_int_equal(csv_reader_skip_to(r, 100, 9, &err), NB_IO);
  nb_error_release(&err);
  assert_int_equal(in.reads_after_failure, 0);
  csv_reader_free(r);

  /* A skip that fails is a failure of the stream too. */
  in.pos = 0;
  in.failed = false;
  assert_int_equal(csv_reader_new(&opt, &input, "x.gz", &r, NULL), NB_OK);
  nb_error_init(&err);
  assert_int_equal(csv_reader_skip_to(r, 100, 9, &err), NB_IO);
  nb_error_release(&err);
  assert_int_equal(csv_reader_next(r, &rec, NULL), NB_IO);
  csv_reader_free(r);
}

/* csv_utf8_check: the offset of the first bad byte, at every alignment
 * (the ASCII fast paths take 32 and 8 bytes at a time). */
static void expect_utf8(const char *text, size_t len, size_t want) {
  char buf[200];
  size_t pad;
  for (pad = 0; pad < 70; pad++) {
    memset(buf, 'a', pad);
    memcpy(buf + pad, text, len);
    assert_int_equal(csv_utf8_check(buf, pad + len), want == len ? pad + len : pad + want);
  }
}
#define UTF8_OK(t) expect_utf8((t), sizeof(t) - 1, sizeof(t) - 1)
#define UTF8_BAD(t, at) expect_utf8((t), sizeof(t) - 1, (at))

static void test_utf8_check(void **state) {
  (void)state;
  UTF8_OK("");
  UTF8_OK("plain ascii, \"quoted\"\r\n");
  UTF8_OK("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \xEF\xBF\xBF");
  UTF8_OK("\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xF0\x90\x80\x80");
  UTF8_BAD("caf\xE9", 3);                 /* Latin-1 */
  UTF8_BAD("ab\x80", 2);                  /* continuation without lead */
  UTF8_BAD("\xC0\x80", 0);               /* overlong NUL */
  UTF8_BAD("\xC1\xBF", 0);               /* overlong */
  UTF8_BAD("\xE0\x9F\xBF", 0);           /* overlong 3-byte */
  UTF8_BAD("\xF0\x8F\xBF\xBF", 0);       /* overlong 4-byte */
  UTF8_BAD("x\xED\xA0\x80", 1);          /* surrogate U+D800 */
  UTF8_BAD("\xF4\x90\x80\x80", 0);       /* above U+10FFFF */
  UTF8_BAD("\xF5\x80\x80\x80", 0);
  UTF8_BAD("\xFF", 0);
  UTF8_BAD("ok\xE2\x82", 2);              /* truncated at the end */
  UTF8_BAD("ok\xE2\x82,", 2);             /* truncated before a delimiter */
  UTF8_BAD("\xC3\xA9\xC3", 2);
  UTF8_BAD("0123456789012345678901234567890123456789\xC3(", 40);
}

/* The parser's flag: ascii is true only when every byte of the raw record
 * is ASCII, whatever the buffer and read sizes. */
static void test_ascii_flag(void **state) {
  static const char text[] =
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,b\n"
      "caf\xC3\xA9,x\n"
      "plain,y\n"
      "\"q\xFF\",z\n"
      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\xE2\x82\xAC\n";
  static const bool want[] = {true, false, true, false, false};
  static const size_t chunks[] = {1, 3, 64, 1000};
  size_t c;
  (void)state;
  for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
    MemInput in = {text, sizeof text - 1, 0, chunks[c]};
    CsvReader *r = open_mem(&in, c == 0 ? 2 : 0);
    CsvRecord rec;
    size_t i;
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
      assert_int_equal(csv_reader_next(r, &rec, NULL), NB_OK);
      /* Never "ASCII" for a record that is not; "unknown" is allowed for
       * an ASCII record next to a non-ASCII one. */
      if (!want[i]) assert_false(rec.ascii);
    }
    assert_int_equal(csv_reader_next(r, &rec, NULL), NB_END);
    csv_reader_free(r);
  }
  /* An ASCII file: every record is known to be ASCII. */
  for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
    static const char ascii[] = "a,b\n\"x\ny\",\"\"\"\"\nlast";
    MemInput in = {ascii, sizeof ascii - 1, 0, chunks[c]};
    CsvReader *r = open_mem(&in, c == 0 ? 2 : 0);
    CsvRecord rec;
    int n = 0;
    while (csv_reader_next(r, &rec, NULL) == NB_OK) {
      assert_true(rec.ascii);
      n++;
    }
    assert_int_equal(n, 3);
    csv_reader_free(r);
  }
}

/* max_fields: a record with more fields is a bad record (its fields are
 * never all stored), and reading goes on at the next line. */
static void test_max_fields(void **state) {
  static const char text[] = "a,b,c\n1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20\n\"x\",y\n";
  static const size_t chunks[] = {1, 3, 7, 1000};
  size_t c;
  (void)state;
  for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
    MemInput in = {text, sizeof text - 1, 0, chunks[c]};
    CsvInput input = {mem_read, mem_skip, &in};
    CsvReaderOptions opt;
    CsvReader *r = NULL;
    CsvRecord rec;
    NbError err;
    memset(&opt, 0, sizeof opt);
    opt.delimiter = ',';
    opt.quote = '"';
    opt.block_size = c == 0 ? 2 : 0;
    opt.max_fields = 3;
    assert_int_equal(csv_reader_new(&opt, &input, "mem.csv", &r, NULL), NB_OK);
    assert_int_equal(csv_reader_next(r, &rec, NULL), NB_OK);
    assert_int_equal(rec.n_fields, 3);
    nb_error_init(&err);
    assert_int_equal(csv_reader_next(r, &rec, &err), NB_DATA);
    assert_non_null(strstr(err.message, "line 2 of file \"mem.csv\" has more than 3 fields"));
    assert_non_null(strstr(err.hint, "max_columns"));
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 4);
    nb_error_release(&err);
    assert_int_equal(csv_reader_next(r, &rec, NULL), NB_OK);
    assert_int_equal(rec.line, 3);
    assert_int_equal(rec.n_fields, 2);
    assert_int_equal(csv_reader_next(r, &rec, NULL), NB_END);
    csv_reader_free(r);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_simple),
      cmocka_unit_test(test_quoted_fields),
      cmocka_unit_test(test_embedded_line_breaks),
      cmocka_unit_test(test_line_ends),
      cmocka_unit_test(test_bom_and_empty),
      cmocka_unit_test(test_blank_lines),
      cmocka_unit_test(test_custom_delimiter_and_quote),
      cmocka_unit_test(test_unterminated_quote),
      cmocka_unit_test(test_lenient_quotes),
      cmocka_unit_test(test_strict_quotes),
      cmocka_unit_test(test_oversize_record),
      cmocka_unit_test(test_long_fields),
      cmocka_unit_test(test_unread_mark_rewind),
      cmocka_unit_test(test_skip_to),
      cmocka_unit_test(test_mark_within_limit),
      cmocka_unit_test(test_stop_when_idle),
      cmocka_unit_test(test_read_error),
      cmocka_unit_test(test_input_failure_ends_stream),
      cmocka_unit_test(test_utf8_check),
      cmocka_unit_test(test_ascii_flag),
      cmocka_unit_test(test_max_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
