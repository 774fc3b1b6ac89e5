/*
 * fuzz_json.c - the JSON reader and parser (plugins/json/json_reader.c,
 * json_parser.c) on arbitrary bytes: JSON Lines, array documents and
 * format detection, with small read buffers and depth limits, and the
 * expected-member-name fast path.
 *
 * Input: byte 0 chooses the format, the depth limit and whether member
 * names are expected; byte 1 the read size; the rest is the file.
 * Invariants: every record, good or bad, is consumed (the record count
 * grows, the offset never goes back and stays inside the input); every
 * value's and member's bytes are readable.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "json_reader.h"
#include "nebula/sdk.h"

typedef struct MemInput {
  const uint8_t *data;
  size_t len;
  size_t pos;
} MemInput;

static int mem_read(void *ctx, void *buf, size_t cap, size_t *n_read, NbError *err) {
  (void)err;
  MemInput *m = ctx;
  size_t n = m->len - m->pos;
  if (n > cap) n = cap;
  if (n > 0) memcpy(buf, m->data + m->pos, n);
  m->pos += n;
  *n_read = n;
  return NB_OK;
}

static unsigned touch(const char *p, size_t len) {
  unsigned sum = 0;
  for (size_t i = 0; i < len; i++) sum += (unsigned char)p[i];
  return sum;
}

static unsigned touch_value(const JsonValue *v) {
  return touch(v->text, v->len) + touch(v->raw, v->raw_len);
}

static void expect_names(JsonParser *p) {
  static const char *names[] = {"id", "name", "a", "value", "k\"q"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    json_parser_expect_key(p, names[i], strlen(names[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t a = fuzz_take(&data, &size);
  uint8_t b = fuzz_take(&data, &size);
  JsonFormat format = (JsonFormat)(a % 3);
  uint32_t max_depth = 1 + ((a >> 2) & 31);
  size_t buf_size = 1 + (size_t)b * 13;
  MemInput in = {data, size, 0};
  JsonReader r;
  NbError err;
  nb_error_init(&err);
  if (json_reader_init(&r, format, max_depth, buf_size, mem_read, &in, "fuzz.json", &err) !=
      NB_OK) {
    nb_error_release(&err);
    return 0;
  }
  if (a & 0x80) expect_names(&r.parser);
  volatile unsigned sink = 0;
  uint64_t records = 0, last_offset = 0;
  for (;;) {
    JsonValue v;
    int rc = json_reader_peek(&r, &v, &err);
    if (rc == NB_END) break;
    if (rc != NB_OK && rc != NB_DATA) break; /* out of memory */
    if (rc == NB_OK) {
      sink += touch_value(&v);
      if (v.kind == JSON_OBJECT)
        for (size_t i = 0; i < r.parser.n_members; i++)
          sink += touch(r.parser.members[i].key, r.parser.members[i].key_len) +
                  touch_value(&r.parser.members[i].value);
    } else if (err.message == NULL) {
      fuzz_fail("json: a bad record without a message");
    }
    nb_error_release(&err);
    uint64_t before = r.cur.record;
    json_reader_accept(&r);
    uint64_t offset = json_reader_offset(&r);
    if (r.cur.record <= before) fuzz_fail("json: a record was not consumed");
    if (offset < last_offset || offset > size)
      fuzz_fail("json: offset %llu out of order", (unsigned long long)offset);
    last_offset = offset;
    if (++records > size + 1) fuzz_fail("json: more records than bytes");
  }
  nb_error_release(&err);
  json_reader_free(&r);
  return 0;
}
