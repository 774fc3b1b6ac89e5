/*
 * test_avro.c - unit tests of the avro connector's pieces: the binary
 * primitives (zigzag varints at the extremes, malformed and truncated
 * input), the schema written for Nebula columns (names made valid, the
 * original kept) and the schema parser (named and recursive types,
 * namespaces, logical types, bad schemas refused with a reason).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "avro_buf.h"
#include "avro_schema_in.h"
#include "avro_schema_out.h"

static void test_long_round_trip(void **state) {
  (void)state;
  const int64_t values[] = {0, 1, -1, 63, -64, 64, -65, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    AvroBuf b = {0};
    assert_true(avro_buf_long(&b, values[i]));
    AvroCursor c = {b.data, b.data + b.len};
    int64_t back = 0;
    assert_true(avro_read_long(&c, &back));
    assert_true(back == values[i]);
    assert_int_equal(avro_cursor_left(&c), 0);
    /* every prefix is truncated */
    for (size_t n = 0; n < b.len; n++) {
      AvroCursor cut = {b.data, b.data + n};
      assert_false(avro_read_long(&cut, &back));
    }
    avro_buf_free(&b);
  }
  /* the spec's examples: 0 -> 00, -1 -> 01, 1 -> 02, -64 -> 7f, 64 -> 80 01 */
  AvroBuf b = {0};
  assert_true(avro_buf_long(&b, 64));
  assert_int_equal(b.len, 2);
  assert_int_equal(b.data[0], 0x80);
  assert_int_equal(b.data[1], 0x01);
  avro_buf_free(&b);
}

static void test_long_malformed(void **state) {
  (void)state;
  int64_t v;
  const uint8_t eleven[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  AvroCursor c = {eleven, eleven + sizeof eleven};
  assert_false(avro_read_long(&c, &v));
  const uint8_t tenth_too_big[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  AvroCursor d = {tenth_too_big, tenth_too_big + sizeof tenth_too_big};
  assert_false(avro_read_long(&d, &v));
  /* an int that does not fit 32 bits */
  AvroBuf b = {0};
  assert_true(avro_buf_long(&b, (int64_t)INT32_MAX + 1));
  AvroCursor e = {b.data, b.data + b.len};
  int32_t i32;
  assert_false(avro_read_int(&e, &i32));
  avro_buf_free(&b);
  /* a length beyond the bytes left */
  const uint8_t lying[] = {0x0a, 'a', 'b'};
  AvroCursor f = {lying, lying + sizeof lying};
  const uint8_t *p;
  size_t n;
  assert_false(avro_read_bytes(&f, &p, &n));
  const uint8_t negative[] = {0x01};
  AvroCursor g = {negative, negative + 1};
  assert_false(avro_read_bytes(&g, &p, &n));
}

static void test_schema_out_names(void **state) {
  (void)state;
  NbField fields[] = {
      {"id", NB_TYPE_INT64, false, 0, 0, NULL},
      {"first name", NB_TYPE_UTF8, true, 0, 0, NULL},
      {"first_name", NB_TYPE_UTF8, false, 0, 0, NULL},
      {"2x", NB_TYPE_DECIMAL128, false, 12, 3, NULL},
      {"naïve", NB_TYPE_TIMESTAMP, false, 0, 0, ""},
  };
  AvroBuf b = {0};
  assert_int_equal(avro_schema_write(fields, 5, &b), NB_OK);
  assert_true(avro_buf_bytes(&b, "", 1));
  const char *s = (const char *)b.data;
  assert_non_null(strstr(s, "{\"name\":\"id\",\"type\":\"long\"}"));
  assert_non_null(strstr(s, "{\"name\":\"first_name\",\"nebula.name\":\"first name\",\"type\":[\"null\",\"string\"],\"default\":null}"));
  assert_non_null(strstr(s, "{\"name\":\"first_name_2\",\"nebula.name\":\"first_name\",\"type\":\"string\"}"));
  assert_non_null(strstr(s, "\"name\":\"_2x\""));
  assert_non_null(strstr(s, "\"precision\":12,\"scale\":3"));
  assert_non_null(strstr(s, "\"name\":\"na__ve\""));
  assert_non_null(strstr(s, "local-timestamp-micros"));

  /* and the parser reads it back, original names as column names */
  AvroSchema schema;
  char why[256];
  assert_true(avro_schema_parse(s, strlen(s), &schema, why, sizeof why));
  assert_int_equal(schema.root->kind, AVRO_RECORD);
  assert_int_equal(schema.root->n_children, 5);
  assert_string_equal(schema.root->column_names[1], "first name");
  assert_string_equal(schema.root->column_names[4], "naïve");
  assert_int_equal(schema.root->children[3]->logical, AVRO_LOGICAL_DECIMAL);
  assert_int_equal(schema.root->children[4]->logical, AVRO_LOGICAL_LOCAL_TS_MICROS);
  avro_schema_free(&schema);
  avro_buf_free(&b);
}

static void test_schema_in_named(void **state) {
  (void)state;
  const char *text =
      "{\"type\":\"record\",\"name\":\"List\",\"namespace\":\"a.b\",\"fields\":["
      "{\"name\":\"v\",\"type\":\"long\"},"
      "{\"name\":\"next\",\"type\":[\"null\",\"List\"]},"
      "{\"name\":\"c\",\"type\":{\"type\":\"enum\",\"name\":\"C\",\"symbols\":[\"X\",\"Y\"]}},"
      "{\"name\":\"d\",\"type\":\"a.b.C\"},"
      "{\"name\":\"t\",\"type\":{\"type\":\"int\",\"logicalType\":\"no-such-logical\"}}]}";
  AvroSchema s;
  char why[256];
  assert_true(avro_schema_parse(text, strlen(text), &s, why, sizeof why));
  const AvroNode *root = s.root;
  assert_string_equal(root->name, "a.b.List");
  assert_ptr_equal(root->children[1]->children[1], root); /* recursive */
  assert_ptr_equal(root->children[3], root->children[2]);  /* by full name */
  assert_int_equal(root->children[4]->logical, AVRO_LOGICAL_NONE);
  avro_schema_free(&s);
}

static void test_schema_in_refused(void **state) {
  (void)state;
  const char *bad[] = {
      "", "{", "\"nope\"", "[]", "{\"type\":\"record\",\"name\":\"R\"}",
      "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[]}",
      "{\"type\":\"fixed\",\"name\":\"F\",\"size\":-1}",
      "[\"int\",[\"string\"]]",
      "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"R2\"}]}",
      "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}}]}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    AvroSchema s;
    char why[256] = "";
    assert_false(avro_schema_parse(bad[i], strlen(bad[i]), &s, why, sizeof why));
    assert_true(why[0] != '\0');
  }
  /* nesting beyond the limit */
  char deep[4096];
  size_t n = 0;
  for (int i = 0; i < 100; i++) n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"type\":\"array\",\"items\":");
  n += (size_t)snprintf(deep + n, sizeof deep - n, "\"int\"");
  for (int i = 0; i < 100; i++) deep[n++] = '}';
  AvroSchema s;
  char why[256];
  assert_false(avro_schema_parse(deep, n, &s, why, sizeof why));
  assert_non_null(strstr(why, "deeper"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_long_round_trip),   cmocka_unit_test(test_long_malformed),
      cmocka_unit_test(test_schema_out_names),  cmocka_unit_test(test_schema_in_named),
      cmocka_unit_test(test_schema_in_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
