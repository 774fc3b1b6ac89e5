/*
 * test_batch_check.c - the host's check of a source's batch against its
 * schema (host/engine/batch_check.c): one well-formed batch with strings,
 * a list, a fixed-size list and a dictionary column, then one defect per
 * case, each of which must be refused with a message naming the column.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_check.h"
#include "nebula/abi.h"

#define ROWS 4

static void schema_noop(struct ArrowSchema *s) { (void)s; }
static void array_noop(struct ArrowArray *a) { (void)a; }

/* A batch of ROWS rows:
 *   id    "l"      0 1 2 3
 *   name  "u"      "a" "bb" null "ccc"
 *   tags  "+l" of "u"   [x] [] [y z] null
 *   pair  "+w:2" of "i" [0 1] [2 3] [4 5] [6 7]
 *   color "c" dictionary "u" ("red", "green")  0 1 1 0 */
typedef struct Fixture {
  struct ArrowSchema top, id, name, tags, tag, pair, pair_item, color, color_dict;
  struct ArrowSchema *top_children[5], *tags_children[1], *pair_children[1];
  struct ArrowArray a_top, a_id, a_name, a_tags, a_tag, a_pair, a_pair_item, a_color,
      a_color_dict;
  struct ArrowArray *a_top_children[5], *a_tags_children[1], *a_pair_children[1];
  const void *b_top[1], *b_id[2], *b_name[3], *b_tags[2], *b_tag[3], *b_pair[1],
      *b_pair_item[2], *b_color[2], *b_color_dict[3];
  int64_t ids[ROWS];
  int32_t name_offsets[ROWS + 1];
  uint8_t name_validity[1], tags_validity[1];
  int32_t tags_offsets[ROWS + 1];
  int32_t tag_offsets[4];
  int32_t pair_values[2 * ROWS];
  int8_t color_indices[ROWS];
  int32_t dict_offsets[3];
  char msg[512];
} Fixture;

static void schema_init(struct ArrowSchema *s, const char *format, const char *name,
                        int64_t n_children, struct ArrowSchema **children) {
  memset(s, 0, sizeof *s);
  s->format = format;
  s->name = name;
  s->flags = ARROW_FLAG_NULLABLE;
  s->n_children = n_children;
  s->children = children;
  s->release = schema_noop;
}

static void array_init(struct ArrowArray *a, int64_t length, int64_t null_count,
                       int64_t n_buffers, const void **buffers, int64_t n_children,
                       struct ArrowArray **children) {
  memset(a, 0, sizeof *a);
  a->length = length;
  a->null_count = null_count;
  a->n_buffers = n_buffers;
  a->buffers = buffers;
  a->n_children = n_children;
  a->children = children;
  a->release = array_noop;
}

static void fixture_schemas(Fixture *f) {
  schema_init(&f->top, "+s", "", 5, f->top_children);
  schema_init(&f->id, "l", "id", 0, NULL);
  schema_init(&f->name, "u", "name", 0, NULL);
  schema_init(&f->tags, "+l", "tags", 1, f->tags_children);
  schema_init(&f->tag, "u", "item", 0, NULL);
  schema_init(&f->pair, "+w:2", "pair", 1, f->pair_children);
  schema_init(&f->pair_item, "i", "item", 0, NULL);
  schema_init(&f->color, "c", "color", 0, NULL);
  schema_init(&f->color_dict, "u", "", 0, NULL);
  f->color.dictionary = &f->color_dict;
  f->top_children[0] = &f->id;
  f->top_children[1] = &f->name;
  f->top_children[2] = &f->tags;
  f->top_children[3] = &f->pair;
  f->top_children[4] = &f->color;
  f->tags_children[0] = &f->tag;
  f->pair_children[0] = &f->pair_item;
}

static void fixture_values(Fixture *f) {
  static const int32_t name_offsets[] = {0, 1, 3, 3, 6};
  static const int32_t tags_offsets[] = {0, 1, 1, 3, 3};
  static const int32_t tag_offsets[] = {0, 1, 2, 3};
  static const int32_t dict_offsets[] = {0, 3, 8};
  static const int8_t colors[] = {0, 1, 1, 0};
  int i;
  for (i = 0; i < ROWS; i++) f->ids[i] = i;
  for (i = 0; i < 2 * ROWS; i++) f->pair_values[i] = i;
  memcpy(f->name_offsets, name_offsets, sizeof name_offsets);
  memcpy(f->tags_offsets, tags_offsets, sizeof tags_offsets);
  memcpy(f->tag_offsets, tag_offsets, sizeof tag_offsets);
  memcpy(f->dict_offsets, dict_offsets, sizeof dict_offsets);
  memcpy(f->color_indices, colors, sizeof colors);
  f->name_validity[0] = 0x0b; /* row 2 null */
  f->tags_validity[0] = 0x07; /* row 3 null */
}

static void fixture_arrays(Fixture *f) {
  f->b_top[0] = NULL;
  array_init(&f->a_top, ROWS, 0, 1, f->b_top, 5, f->a_top_children);
  f->b_id[0] = NULL;
  f->b_id[1] = f->ids;
  array_init(&f->a_id, ROWS, 0, 2, f->b_id, 0, NULL);
  f->b_name[0] = f->name_validity;
  f->b_name[1] = f->name_offsets;
  f->b_name[2] = "abbccc";
  array_init(&f->a_name, ROWS, 1, 3, f->b_name, 0, NULL);
  f->b_tags[0] = f->tags_validity;
  f->b_tags[1] = f->tags_offsets;
  array_init(&f->a_tags, ROWS, 1, 2, f->b_tags, 1, f->a_tags_children);
  f->b_tag[0] = NULL;
  f->b_tag[1] = f->tag_offsets;
  f->b_tag[2] = "xyz";
  array_init(&f->a_tag, 3, 0, 3, f->b_tag, 0, NULL);
  f->b_pair[0] = NULL;
  array_init(&f->a_pair, ROWS, 0, 1, f->b_pair, 1, f->a_pair_children);
  f->b_pair_item[0] = NULL;
  f->b_pair_item[1] = f->pair_values;
  array_init(&f->a_pair_item, 2 * ROWS, 0, 2, f->b_pair_item, 0, NULL);
  f->b_color[0] = NULL;
  f->b_color[1] = f->color_indices;
  array_init(&f->a_color, ROWS, 0, 2, f->b_color, 0, NULL);
  f->b_color_dict[0] = NULL;
  f->b_color_dict[1] = f->dict_offsets;
  f->b_color_dict[2] = "redgreen";
  array_init(&f->a_color_dict, 2, 0, 3, f->b_color_dict, 0, NULL);
  f->a_color.dictionary = &f->a_color_dict;
  f->a_top_children[0] = &f->a_id;
  f->a_top_children[1] = &f->a_name;
  f->a_top_children[2] = &f->a_tags;
  f->a_top_children[3] = &f->a_pair;
  f->a_top_children[4] = &f->a_color;
  f->a_tags_children[0] = &f->a_tag;
  f->a_pair_children[0] = &f->a_pair_item;
}

static int setup(void **state) {
  Fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  fixture_schemas(f);
  fixture_values(f);
  fixture_arrays(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  free(*state);
  return 0;
}

static int run(Fixture *f) {
  memset(f->msg, 0, sizeof f->msg);
  return nbh_batch_check(&f->top, &f->a_top, f->msg, sizeof f->msg);
}

/* The batch is refused with a message containing every one of the texts. */
static void refused(Fixture *f, const char *want1, const char *want2) {
  int rc = run(f);
  if (rc != NB_INVALID) fail_msg("accepted; expected \"%s\" / \"%s\"", want1, want2);
  if (strstr(f->msg, want1) == NULL || (want2 != NULL && strstr(f->msg, want2) == NULL))
    fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", f->msg, want1, want2 ? want2 : "");
}

static void test_good_batch(void **state) {
  Fixture *f = *state;
  assert_int_equal(run(f), 0);
  assert_string_equal(f->msg, "");
  /* Null counts unknown (-1) are accepted and not checked. */
  f->a_name.null_count = -1;
  f->a_tags.null_count = -1;
  assert_int_equal(run(f), 0);
  /* A slice: the batch starts at row 1 of every column. */
  f->a_top.offset = 1;
  f->a_top.length = ROWS - 1;
  assert_int_equal(run(f), 0);
  /* An empty batch may have NULL buffers. */
  f->a_top.offset = 0;
  f->a_top.length = 0;
  f->a_id.length = 0;
  f->b_id[1] = NULL;
  assert_int_equal(run(f), 0);
}

static void test_null_offsets_buffer(void **state) {
  Fixture *f = *state;
  f->b_name[1] = NULL;
  refused(f, "column \"name\"", "offsets buffer is NULL");
}

static void test_null_data_buffer(void **state) {
  Fixture *f = *state;
  f->b_name[2] = NULL;
  refused(f, "column \"name\"", "data buffer is NULL but the values have 6 bytes");
  /* No bytes at all: nothing to read, accepted. */
  memset(f->name_offsets, 0, sizeof f->name_offsets);
  f->b_name[2] = NULL;
  assert_int_equal(run(f), 0);
}

static void test_null_values_buffer(void **state) {
  Fixture *f = *state;
  f->b_id[1] = NULL;
  refused(f, "column \"id\"", "values buffer is NULL");
}

static void test_negative_offset_value(void **state) {
  Fixture *f = *state;
  f->name_offsets[0] = -5;
  refused(f, "column \"name\"", "first offset is negative (-5)");
}

static void test_decreasing_offsets(void **state) {
  Fixture *f = *state;
  f->name_offsets[3] = 0;
  refused(f, "column \"name\"", "offsets decrease at row 2 (0 after 3)");
  f->name_offsets[3] = 3;
  f->tag_offsets[2] = 0x7fffffff;
  refused(f, "column \"tags[]\"", "offsets decrease");
}

static void test_list_offsets_past_child(void **state) {
  Fixture *f = *state;
  f->tags_offsets[4] = 4; /* the child has 3 values */
  refused(f, "column \"tags[]\"", "its parent needs 4");
}

static void test_negative_length(void **state) {
  Fixture *f = *state;
  f->a_top.length = -1;
  refused(f, "the batch:", "length is negative (-1)");
  f->a_top.length = ROWS;
  f->a_id.length = -3;
  refused(f, "column \"id\"", "length is negative");
  f->a_id.length = ROWS;
  f->a_id.offset = -1;
  refused(f, "column \"id\"", "offset is negative");
}

static void test_length_overflow(void **state) {
  Fixture *f = *state;
  f->a_id.offset = INT64_MAX - 2;
  refused(f, "column \"id\"", "overflows");
}

static void test_child_shorter_than_parent(void **state) {
  Fixture *f = *state;
  f->a_top.offset = 1; /* rows 1..4 of a 4-row column */
  refused(f, "column \"id\"", "its parent needs 5");
  f->a_top.offset = 0;
  f->a_pair_item.length = 2 * ROWS - 1;
  refused(f, "column \"pair[]\"", "its parent needs 8");
}

static void test_null_count_without_validity(void **state) {
  Fixture *f = *state;
  f->a_id.null_count = 2;
  refused(f, "column \"id\"", "null_count is 2 but there is no validity bitmap");
}

static void test_null_count_wrong(void **state) {
  Fixture *f = *state;
  f->a_name.null_count = 0;
  refused(f, "column \"name\"", "validity bitmap has 1 nulls");
  f->a_name.null_count = -2;
  refused(f, "column \"name\"", "out of range");
  f->a_name.null_count = ROWS + 1;
  refused(f, "column \"name\"", "out of range");
}

static void test_batch_rows_null(void **state) {
  Fixture *f = *state;
  uint8_t bits = 0x0e;
  f->b_top[0] = &bits;
  f->a_top.null_count = 1;
  refused(f, "the batch:", "rows are null");
}

static void test_buffer_count(void **state) {
  Fixture *f = *state;
  f->a_name.n_buffers = 2;
  refused(f, "column \"name\"", "needs 3 buffers, the array has 2");
  f->a_name.n_buffers = 3;
  f->a_id.buffers = NULL;
  refused(f, "column \"id\"", "buffers array is NULL");
}

static void test_children_against_schema(void **state) {
  Fixture *f = *state;
  f->a_top.n_children = 4;
  refused(f, "the batch:", "the array has 4 children, the schema 5");
  f->a_top.n_children = 5;
  f->a_top_children[3] = NULL;
  refused(f, "the batch:", "array child 3 is NULL");
  f->a_top_children[3] = &f->a_pair;
  f->a_top.children = NULL;
  refused(f, "the batch:", "no children array");
  f->a_top.children = f->a_top_children;
  f->id.n_children = 1; /* an int64 with a child */
  f->id.children = f->tags_children;
  f->a_id.n_children = 1;
  f->a_id.children = f->a_tags_children;
  refused(f, "column \"id\"", "needs 0 children");
}

static void test_released(void **state) {
  Fixture *f = *state;
  f->a_tag.release = NULL;
  refused(f, "column \"tags[]\"", "array is released");
  f->a_tag.release = array_noop;
  f->name.release = NULL;
  refused(f, "column \"name\"", "schema is released");
}

static void test_dictionary(void **state) {
  Fixture *f = *state;
  f->color_indices[2] = 2;
  refused(f, "column \"color\"", "dictionary index 2 at row 2 is outside the dictionary of 2");
  f->color_indices[2] = -1;
  refused(f, "column \"color\"", "dictionary index -1");
  f->color_indices[2] = 1;
  f->a_color.dictionary = NULL;
  refused(f, "column \"color\"", "no dictionary");
  f->a_color.dictionary = &f->a_color_dict;
  f->color.dictionary = NULL;
  refused(f, "column \"color\"", "the schema has none");
  f->color.dictionary = &f->color_dict;
  f->dict_offsets[2] = 1;
  refused(f, "column \"color (dictionary)\"", "offsets decrease");
  f->dict_offsets[2] = 8;
  f->color.format = "g"; /* float indices */
  refused(f, "column \"color\"", "are not integers");
}

static void test_unsupported_format(void **state) {
  Fixture *f = *state;
  f->id.format = "+ud:0,1";
  refused(f, "column \"id\"", "\"+ud:0,1\" is not supported");
  f->id.format = "vu";
  refused(f, "column \"id\"", "not supported");
  f->id.format = "d:40,2,99";
  refused(f, "column \"id\"", "not supported");
  f->id.format = "";
  refused(f, "column \"id\"", "not supported");
  f->id.format = NULL;
  refused(f, "column \"id\"", "no format");
  f->top.format = "+l";
  refused(f, "the batch:", "not a struct");
}

static void test_cycle_is_refused(void **state) {
  Fixture *f = *state;
  /* tags' element points back at tags itself. */
  f->tags_children[0] = &f->tags;
  f->a_tags_children[0] = &f->a_tags;
  f->tags_offsets[4] = 0;
  memset(f->tags_offsets, 0, sizeof f->tags_offsets);
  refused(f, "nested more than", NULL);
}

static void test_misaligned(void **state) {
  Fixture *f = *state;
  char *raw = malloc(64);
  assert_non_null(raw);
  memcpy(raw + 1, f->name_offsets, sizeof f->name_offsets);
  f->b_name[1] = raw + 1;
  refused(f, "column \"name\"", "not aligned to 4 bytes");
  free(raw);
}

static void test_map_entries(void **state) {
  Fixture *f = *state;
  f->tags.format = "+m"; /* entries must be a struct of two */
  refused(f, "column \"tags\"", "a map's entries must be a struct");
}

static void test_name_escaped(void **state) {
  Fixture *f = *state;
  f->name.name = "evil\x1b[2J\"name";
  f->b_name[1] = NULL;
  refused(f, "column \"evil\\x1b[2J\\x22name\"", NULL);
}

static void test_message_bounded(void **state) {
  Fixture *f = *state;
  char small[16];
  f->b_name[1] = NULL;
  memset(small, 'x', sizeof small);
  assert_int_equal(nbh_batch_check(&f->top, &f->a_top, small, sizeof small), NB_INVALID);
  assert_int_equal(strlen(small), sizeof small - 1);
  assert_int_equal(nbh_batch_check(&f->top, &f->a_top, NULL, 0), NB_INVALID);
  assert_int_equal(nbh_batch_check(NULL, &f->a_top, f->msg, sizeof f->msg), NB_INVALID);
}

#define CASE(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      CASE(test_good_batch),           CASE(test_null_offsets_buffer),
      CASE(test_null_data_buffer),     CASE(test_null_values_buffer),
      CASE(test_negative_offset_value), CASE(test_decreasing_offsets),
      CASE(test_list_offsets_past_child), CASE(test_negative_length),
      CASE(test_length_overflow),      CASE(test_child_shorter_than_parent),
      CASE(test_null_count_without_validity), CASE(test_null_count_wrong),
      CASE(test_batch_rows_null),      CASE(test_buffer_count),
      CASE(test_children_against_schema), CASE(test_released),
      CASE(test_dictionary),           CASE(test_unsupported_format),
      CASE(test_cycle_is_refused),     CASE(test_misaligned),
      CASE(test_map_entries),          CASE(test_name_escaped),
      CASE(test_message_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
