/*
 * test_parquet.c - unit tests of the parquet connector's building blocks:
 * the Thrift compact protocol (round trips, hostile input: truncation,
 * lying lengths and counts, deep nesting, unknown fields of every type),
 * the RLE / bit-packing hybrid (round trips at every bit width, runs
 * that cross into bit-packed groups, truncated data), CRC-32, the footer
 * and page header decoders on garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nebula/sdk.h"
#include "pq_colwriter.h"
#include "pq_crc32.h"
#include "pq_format.h"
#include "pq_rle.h"
#include "thrift.h"

static void thrift_round_trip(void **state) {
  (void)state;
  PqBuf b = {0};
  TWriter w;
  tw_init(&w, &b);
  tw_struct_begin(&w);
  tw_i32(&w, 1, -5);
  tw_i64(&w, 2, INT64_MIN);
  tw_binary(&w, 3, "abc", 3);
  tw_bool(&w, 4, true);
  tw_i32(&w, 100, 7);          /* a long delta: id written in full */
  tw_list(&w, 101, T_I32, 20); /* a long list header */
  for (int i = 0; i < 20; i++) tw_elem_i32(&w, i - 10);
  tw_struct_field(&w, 102);
  tw_i64(&w, 1, 42);
  tw_struct_end(&w);
  tw_struct_end(&w);
  assert_false(b.failed);

  TReader r;
  int16_t last = 0, id;
  uint8_t t, et;
  int32_t v32;
  int64_t v64;
  bool bv;
  const uint8_t *p;
  uint32_t n;
  tr_init(&r, b.data, b.len);
  assert_true(tr_field(&r, &last, &id, &t));
  assert_int_equal(id, 1);
  assert_true(tr_i32(&r, t, &v32));
  assert_int_equal(v32, -5);
  assert_true(tr_field(&r, &last, &id, &t));
  assert_true(tr_i64(&r, t, &v64));
  assert_true(v64 == INT64_MIN);
  assert_true(tr_field(&r, &last, &id, &t));
  assert_true(tr_binary(&r, t, &p, &n));
  assert_int_equal(n, 3);
  assert_memory_equal(p, "abc", 3);
  assert_true(tr_field(&r, &last, &id, &t));
  assert_true(tr_bool(&r, t, &bv));
  assert_true(bv);
  assert_true(tr_field(&r, &last, &id, &t));
  assert_int_equal(id, 100);
  assert_true(tr_i32(&r, t, &v32));
  assert_int_equal(v32, 7);
  assert_true(tr_field(&r, &last, &id, &t));
  assert_int_equal(id, 101);
  assert_true(tr_list(&r, t, &et, &n));
  assert_int_equal(n, 20);
  for (uint32_t i = 0; i < n; i++) {
    assert_true(tr_elem_i32(&r, et, &v32));
    assert_int_equal(v32, (int32_t)i - 10);
  }
  assert_true(tr_field(&r, &last, &id, &t));
  assert_int_equal(id, 102);
  tr_skip(&r, t); /* an unknown struct is skipped */
  assert_false(tr_field(&r, &last, &id, &t));
  assert_null(r.error);
  assert_true(r.p == r.end);
  pq_buf_free(&b);
}

static void thrift_truncated_everywhere(void **state) {
  (void)state;
  PqBuf b = {0};
  TWriter w;
  tw_init(&w, &b);
  tw_struct_begin(&w);
  tw_binary(&w, 1, "hello", 5);
  tw_list(&w, 2, T_BINARY, 2);
  tw_elem_binary(&w, "x", 1);
  tw_elem_binary(&w, "yz", 2);
  tw_struct_field(&w, 3);
  tw_i64(&w, 1, 1234567);
  tw_struct_end(&w);
  tw_struct_end(&w);
  /* Every proper prefix fails with an error, never reads past the end. */
  for (size_t cut = 0; cut < b.len; cut++) {
    uint8_t *copy = malloc(cut ? cut : 1);
    memcpy(copy, b.data, cut);
    TReader r;
    tr_init(&r, copy, cut);
    tr_skip(&r, T_STRUCT);
    assert_non_null(r.error);
    free(copy);
  }
  pq_buf_free(&b);
}

static void thrift_hostile(void **state) {
  (void)state;
  TReader r;
  /* A binary whose length is past the end. */
  const uint8_t lying_binary[] = {0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 'a'};
  tr_init(&r, lying_binary, sizeof lying_binary);
  tr_skip(&r, T_STRUCT);
  assert_non_null(r.error);
  /* A list of 2^31 elements in a few bytes: refused before any work. */
  const uint8_t lying_list[] = {0x19, 0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00};
  tr_init(&r, lying_list, sizeof lying_list);
  tr_skip(&r, T_STRUCT);
  assert_non_null(r.error);
  assert_string_equal(r.error, "list count larger than the bytes left");
  /* Structs nested 10000 deep: the depth limit stops it. */
  uint8_t deep[10000];
  memset(deep, 0x1C, sizeof deep); /* field 1, type struct, again and again */
  tr_init(&r, deep, sizeof deep);
  tr_skip(&r, T_STRUCT);
  assert_non_null(r.error);
  /* Lists of lists nested deeply. */
  uint8_t lists[4000];
  lists[0] = 0x19;
  memset(lists + 1, 0x19, sizeof lists - 1); /* one element of type list */
  tr_init(&r, lists, sizeof lists);
  tr_skip(&r, T_STRUCT);
  assert_non_null(r.error);
  /* Unknown types. */
  const uint8_t bad_type[] = {0x1D, 0x00};
  tr_init(&r, bad_type, sizeof bad_type);
  tr_skip(&r, T_STRUCT);
  assert_non_null(r.error);
  /* A varint longer than 10 bytes. */
  uint8_t long_varint[16];
  long_varint[0] = 0x16;
  memset(long_varint + 1, 0xFF, sizeof long_varint - 1);
  tr_init(&r, long_varint, sizeof long_varint);
  tr_skip(&r, T_STRUCT);
  assert_non_null(r.error);
  /* Maps, sets, doubles and bytes are skipped when well formed. */
  const uint8_t skippable[] = {0x1B, 0x01, 0x85, 0x01, 'k', 0x02, /* map<binary,i32> {"k": 1} */
                               0x17, 1, 2, 3, 4, 5, 6, 7, 8,      /* double */
                               0x13, 0x7F,                        /* byte */
                               0x1A, 0x21, 0x01, 0x02,            /* set<bool> of 2 */
                               0x00};
  tr_init(&r, skippable, sizeof skippable);
  tr_skip(&r, T_STRUCT);
  assert_null(r.error);
  assert_true(r.p == r.end);
}

static void rle_round_trip(void **state) {
  (void)state;
  uint32_t v[1000], out[1000];
  for (int w = 0; w <= 32; w++) {
    uint64_t max = w == 0 ? 0 : w == 32 ? 0xFFFFFFFFu : ((1u << w) - 1);
    for (size_t i = 0; i < 1000; i++) {
      /* Runs, then noise, then a run that starts inside a group. */
      uint64_t x = i < 100 ? 1 : i < 503 ? (i * 2654435761u) : i < 700 ? 3 : i * 7;
      v[i] = (uint32_t)(max == 0 ? 0 : x % (max + 1));
    }
    PqBuf b = {0};
    pq_rle_encode(&b, v, 1000, w);
    assert_false(b.failed);
    PqRleDecoder d;
    const char *why = NULL;
    pq_rle_init(&d, b.data, b.len, w);
    assert_true(pq_rle_get(&d, out, 1000, &why));
    assert_memory_equal(v, out, sizeof v);
    /* Asking for more values than encoded fails cleanly (w > 0: a
     * bit-packed tail may hold padding values). */
    pq_rle_init(&d, b.data, b.len, w);
    uint32_t *big = malloc(2000 * sizeof *big);
    if (w > 0) assert_false(pq_rle_get(&d, big, 2000, &why));
    free(big);
    pq_buf_free(&b);
  }
  /* Levels: a run over a page boundary. */
  uint8_t lv[5000];
  for (size_t i = 0; i < sizeof lv; i++) lv[i] = (i % 4099) < 13 ? 0 : (uint8_t)((i / 3) & 1);
  PqBuf b = {0};
  pq_rle_encode_u8(&b, lv, sizeof lv, 1);
  uint32_t lo[5000];
  PqRleDecoder d;
  const char *why = NULL;
  pq_rle_init(&d, b.data, b.len, 1);
  assert_true(pq_rle_get(&d, lo, 5000, &why));
  for (size_t i = 0; i < sizeof lv; i++) assert_int_equal(lo[i], lv[i]);
  pq_buf_free(&b);
  assert_int_equal(pq_bit_width(0), 0);
  assert_int_equal(pq_bit_width(1), 1);
  assert_int_equal(pq_bit_width(255), 8);
  assert_int_equal(pq_bit_width(256), 9);
}

static void rle_hostile(void **state) {
  (void)state;
  uint32_t out[64];
  PqRleDecoder d;
  const char *why = NULL;
  /* A run header promising 2^34 values of a 4-byte value cut short. */
  const uint8_t cut_value[] = {0x80, 0x80, 0x80, 0x80, 0x40, 0x01};
  pq_rle_init(&d, cut_value, sizeof cut_value, 32);
  assert_false(pq_rle_get(&d, out, 64, &why));
  /* A bit-packed run longer than the data: the values that are there. */
  const uint8_t packed[] = {0x03, 0xFF};
  pq_rle_init(&d, packed, sizeof packed, 1);
  assert_true(pq_rle_get(&d, out, 8, &why));
  assert_false(pq_rle_get(&d, out, 1, &why));
  /* Bit width above 32. */
  pq_rle_init(&d, packed, sizeof packed, 33);
  assert_false(pq_rle_get(&d, out, 1, &why));
  /* Empty runs do not loop forever. */
  uint8_t zeros[100] = {0};
  pq_rle_init(&d, zeros, sizeof zeros, 8);
  assert_false(pq_rle_get(&d, out, 1, &why));
}

static void crc32_known(void **state) {
  (void)state;
  assert_int_equal(pq_crc32("123456789", 9), 0xCBF43926u);
  assert_int_equal(pq_crc32("", 0), 0);
}

static void meta_garbage(void **state) {
  (void)state;
  PqFileMeta m;
  const char *why = NULL;
  size_t at = 0;
  uint8_t junk[512];
  unsigned seed = 1;
  for (int round = 0; round < 2000; round++) {
    for (size_t i = 0; i < sizeof junk; i++) {
      seed = seed * 1103515245u + 12345u;
      junk[i] = (uint8_t)(seed >> 16);
    }
    size_t len = (size_t)round % sizeof junk;
    if (pq_meta_decode(junk, len, &m, &why, &at)) pq_meta_free(&m);
    else assert_true(at <= len);
    PqPageHeader h;
    size_t used;
    if (pq_page_header_decode(junk, len, &h, &used, &why)) assert_true(used <= len);
  }
  /* A well-formed page header decodes to what was encoded. */
  PqBuf b = {0};
  pq_page_header_encode(&b, PQ_PAGE_DATA, 100, 50, 0xDEADBEEFu, 10, PQ_ENC_RLE_DICTIONARY);
  PqPageHeader h;
  size_t used;
  assert_true(pq_page_header_decode(b.data, b.len, &h, &used, &why));
  assert_int_equal(used, b.len);
  assert_int_equal(h.uncompressed_size, 100);
  assert_int_equal(h.compressed_size, 50);
  assert_true(h.has_crc);
  assert_int_equal(h.crc, 0xDEADBEEFu);
  assert_int_equal(h.num_values, 10);
  assert_int_equal(h.encoding, PQ_ENC_RLE_DICTIONARY);
  pq_buf_free(&b);
}

/* ---- column writer: dictionary columns hold no PLAIN copy ---- */

/* Append values[0..n) (text) to col as one batch. */
static int append_texts(PqColWriter *col, const char *const *values, size_t n) {
  int32_t offsets[128];
  char data[4096];
  size_t used = 0;
  assert_true(n < 128);
  offsets[0] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(values[i]);
    assert_true(used + len <= sizeof data);
    memcpy(data + used, values[i], len);
    used += len;
    offsets[i + 1] = (int32_t)used;
  }
  NbColumnView v;
  memset(&v, 0, sizeof v);
  v.field.name = "c";
  v.field.type = NB_TYPE_UTF8;
  v.offsets = offsets;
  v.data = (const uint8_t *)data;
  NbError err;
  nb_error_init(&err);
  int rc = pq_col_append(col, &v, 0, (int64_t)n, &err);
  nb_error_release(&err);
  return rc;
}

static void col_open(PqColWriter *col, size_t dict_limit) {
  NbField f = {"c", NB_TYPE_UTF8, false, 0, 0, NULL};
  NbError err;
  nb_error_init(&err);
  assert_int_equal(pq_col_init(col, &f, dict_limit, &err), NB_OK);
  nb_error_release(&err);
}

/* A dictionary dropped in a batch that is rolled back, then more rows:
 * plain holds exactly the PLAIN values of the rows kept, as a column that
 * never had a dictionary; a dictionary kept holds no PLAIN copy but counts
 * its size, so row groups end where they did. */
static void colwriter_dictionary_drop_and_rollback(void **state) {
  (void)state;
  static const char *const first[] = {"k0", "k1", "k2", "k0", "k3", "k1", "", "k4", "k0"};
  static const char *const last[] = {"k1", "k9", "", "k1"};
  const char *wide[60];
  char wide_text[60][24];
  for (int i = 0; i < 60; i++) {
    snprintf(wide_text[i], sizeof wide_text[i], "a-long-value-%02d", i);
    wide[i] = wide_text[i];
  }
  for (int keep = 0; keep < 2; keep++) {
    PqColWriter col, plain_only;
    col_open(&col, keep ? 100000 : 200);
    col_open(&plain_only, 0);
    assert_int_equal(append_texts(&col, first, 9), NB_OK);
    assert_int_equal(append_texts(&plain_only, first, 9), NB_OK);
    assert_true(col.dict_on);
    assert_int_equal(col.plain.len, 0);
    PqColMark m;
    pq_col_mark(&col, &m);
    assert_int_equal(append_texts(&col, wide, 60), NB_OK); /* 60 x 19 bytes: over 200 */
    assert_int_equal(col.dict_on, keep ? true : false);
    pq_col_rollback(&col, &m);
    assert_int_equal(append_texts(&col, last, 4), NB_OK);
    assert_int_equal(append_texts(&plain_only, last, 4), NB_OK);
    assert_int_equal(col.n_values, plain_only.n_values);
    if (keep) {
      assert_true(col.dict_on);
      assert_int_equal(col.plain.len, 0);
      assert_int_equal(col.plain_len_dict, plain_only.plain.len);
    } else {
      assert_false(col.dict_on);
      assert_int_equal(col.plain.len, plain_only.plain.len);
      assert_memory_equal(col.plain.data, plain_only.plain.data, col.plain.len);
    }
    pq_col_free(&col);
    pq_col_free(&plain_only);
  }
}

/* Statistics order strings as unsigned bytes, a prefix first, also past
 * the first 8 bytes (compared a word at a time). */
static void colwriter_string_statistics(void **state) {
  (void)state;
  static const char *const sets[][5] = {
      {"abcdefghij\x80", "abcdefghij\x7f", "abcdefghijk", "abcdefghij", "abcdefghij\x7f\x01"},
      {"b", "\xff", "a\xff", "ab", "\xfe\xff"},
      {"same-long-prefix-1", "same-long-prefix-", "same-long-prefix-10", "same-long-prefiw", "same-long-prefix-9"}};
  static const char *const want_min[] = {"abcdefghij", "ab", "same-long-prefiw"};
  static const char *const want_max[] = {"abcdefghij\x80", "\xff", "same-long-prefix-9"};
  for (size_t t = 0; t < 3; t++) {
    PqColWriter col;
    col_open(&col, 0); /* no dictionary: every value goes through min and max */
    assert_int_equal(append_texts(&col, sets[t], 5), NB_OK);
    assert_true(col.has_minmax);
    assert_int_equal(col.min.len, strlen(want_min[t]));
    assert_memory_equal(col.min.data, want_min[t], col.min.len);
    assert_int_equal(col.max.len, strlen(want_max[t]));
    assert_memory_equal(col.max.data, want_max[t], col.max.len);
    pq_col_free(&col);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(thrift_round_trip), cmocka_unit_test(thrift_truncated_everywhere),
      cmocka_unit_test(thrift_hostile),    cmocka_unit_test(rle_round_trip),
      cmocka_unit_test(rle_hostile),       cmocka_unit_test(crc32_known),
      cmocka_unit_test(meta_garbage),
      cmocka_unit_test(colwriter_dictionary_drop_and_rollback),
      cmocka_unit_test(colwriter_string_statistics),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
