/*
 * test_state.c - the state file (format, strict parsing, checksum, identity,
 * atomic replacement, the file marks of outputs and inputs).  The JSON
 * reader under it: test_jsonread.c; dead letters: test_deadletter.c.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "run_files.h"
#include "nebula/sdk.h"
#include "state.h"

static void make_state(NbhState *st, NbhStreamState *streams) {
  static char pos0[] = {1, 2, 3, 0, (char)0xff};
  static char blob[] = "dest-state";
  memset(st, 0, sizeof *st);
  memset(streams, 0, 2 * sizeof *streams);
  streams[0].name = "data/a \"quoted\".csv";
  streams[0].position = pos0;
  streams[0].position_len = sizeof pos0;
  streams[0].finished = true;
  streams[0].records = 12345678901ull;
  streams[0].rejected = 2;
  streams[1].name = "caf\xe9.csv"; /* Latin-1: not UTF-8 */
  st->source_connector = "csv";
  st->dest_connector = "json";
  st->streams = streams;
  st->n_streams = 2;
  st->dest_state = blob;
  st->dest_state_len = sizeof blob - 1;
  st->has_dead_letter = true;
  st->dead_letter_length = 77;
  st->committed_at = 1700000000;
  st->commits = 9;
}

static char *formatted(const NbhState *st, size_t *len) {
  char *text;
  NbError err;
  nb_error_init(&err);
  assert_int_equal(nbh_state_format(st, &text, len, &err), NB_OK);
  return text;
}

static int parse(const char *text, NbhState *out, NbError *err) {
  nb_error_init(err);
  return nbh_state_parse("s.json", text, strlen(text), out, err);
}

static void test_round_trip(void **state) {
  NbhState st, back;
  NbhStreamState streams[2];
  NbError err;
  size_t len;
  char *text;
  (void)state;
  make_state(&st, streams);
  text = formatted(&st, &len);
  assert_int_equal(parse(text, &back, &err), NB_OK);
  assert_string_equal(back.source_connector, "csv");
  assert_string_equal(back.dest_connector, "json");
  assert_int_equal(back.n_streams, 2);
  assert_string_equal(back.streams[0].name, "data/a \"quoted\".csv");
  assert_string_equal(back.streams[1].name, "caf\xe9.csv");
  assert_non_null(strstr(text, "\"name_hex\": \"636166e92e637376\""));
  assert_int_equal(back.streams[0].position_len, 5);
  assert_memory_equal(back.streams[0].position, streams[0].position, 5);
  assert_null(back.streams[1].position);
  assert_true(back.streams[0].finished);
  assert_false(back.streams[1].finished);
  assert_int_equal(back.streams[0].records, 12345678901ull);
  assert_int_equal(back.streams[0].rejected, 2);
  assert_int_equal(back.dest_state_len, 10);
  assert_memory_equal(back.dest_state, "dest-state", 10);
  assert_true(back.has_dead_letter);
  assert_int_equal(back.dead_letter_length, 77);
  assert_int_equal(back.committed_at, 1700000000);
  assert_int_equal(back.commits, 9);
  nbh_state_free(&back);
  free(text);
}

static void test_copy(void **state) {
  NbhState st, copy;
  NbhStreamState streams[2];
  NbError err;
  (void)state;
  make_state(&st, streams);
  nb_error_init(&err);
  assert_int_equal(nbh_state_copy(&copy, &st, &err), NB_OK);
  assert_string_equal(copy.streams[1].name, streams[1].name);
  assert_ptr_not_equal(copy.streams[0].position, streams[0].position);
  nbh_state_free(&copy);
}

static void expect_damaged(const char *text, const char *why) {
  NbhState st;
  NbError err;
  assert_int_equal(parse(text, &st, &err), NB_INVALID);
  assert_non_null(err.message);
  if (strstr(err.message, why) == NULL) fail_msg("message \"%s\" lacks \"%s\"", err.message, why);
  nb_error_release(&err);
}

static void test_any_changed_byte_is_caught(void **state) {
  NbhState st;
  NbhStreamState streams[2];
  size_t len, i;
  char *text;
  (void)state;
  make_state(&st, streams);
  text = formatted(&st, &len);
  /* Change each digit of the body: every change is refused. */
  for (i = 0; i < len; i++) {
    NbhState back;
    NbError err;
    char saved = text[i];
    if (strncmp(text + i, "\"checksum\"", 10) == 0) break;
    if (saved < '0' || saved > '8') continue;
    text[i] = (char)(saved + 1);
    assert_int_not_equal(parse(text, &back, &err), NB_OK);
    nb_error_release(&err);
    text[i] = saved;
  }
  free(text);
}

static void test_refusals(void **state) {
  NbhState st;
  NbError err;
  (void)state;
  expect_damaged("{\"format\": \"nebula-state\", \"version\": 1, ", "expected a key at line 1, column 42");
  expect_damaged("{\"format\": \"nebula-state\", \"version\": 1,}", "expected a key");
  expect_damaged("{\"format\": \"nebula-state\", \"version\": 1, \"version\": 1}", "duplicate key");
  expect_damaged("{\"format\": \"nebula-state\", \"version\": 1, \"bogus\": 1}", "unrecognized key \"bogus\"");
  expect_damaged("{\"format\": \"nebula-state\", \"version\": 1}", "missing");

  assert_int_equal(parse("{\"format\": \"nebula-state\", \"version\": 2}", &st, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "unsupported version 2"));
  nb_error_release(&err);
  assert_int_equal(parse("{\"format\": \"other\"}", &st, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "is not a Nebula state file"));
  nb_error_release(&err);
  assert_int_equal(parse("[1, 2]", &st, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "is not a Nebula state file"));
  nb_error_release(&err);
  assert_int_equal(parse("", &st, &err), NB_INVALID);
  nb_error_release(&err);
}

static void test_identity(void **state) {
  NbhState st;
  NbhStreamState streams[2];
  NbError err;
  const char *same[] = {"data/a \"quoted\".csv", "caf\xe9.csv"};
  const char *other[] = {"data/a \"quoted\".csv", "b.csv"};
  (void)state;
  make_state(&st, streams);
  nb_error_init(&err);
  assert_int_equal(nbh_state_check_identity(&st, "s", "csv", "json", same, 2, &err), NB_OK);
  assert_int_equal(nbh_state_check_identity(&st, "s", "csv", "json", other, 2, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "belongs to another pipeline"));
  assert_non_null(strstr(err.detail, "\"b.csv\""));
  nb_error_release(&err);
  assert_int_equal(nbh_state_check_identity(&st, "s", "csv", "json", same, 1, &err), NB_INVALID);
  assert_non_null(strstr(err.detail, "lists 2 streams; the source offers 1"));
  nb_error_release(&err);
  assert_int_equal(nbh_state_check_identity(&st, "s", "json", "json", same, 2, &err), NB_INVALID);
  assert_non_null(strstr(err.detail, "source connector \"csv\""));
  nb_error_release(&err);
  assert_int_equal(nbh_state_check_identity(&st, "s", "csv", "csv", same, 2, &err), NB_INVALID);
  assert_non_null(strstr(err.detail, "destination connector \"json\""));
  nb_error_release(&err);
}

static void test_write_and_read_file(void **state) {
  char dir[] = "/tmp/nebula-state-XXXXXX", path[64], tmp[80];
  NbhState st, back;
  NbhStreamState streams[2];
  NbError err;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/state.json", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  make_state(&st, streams);
  nb_error_init(&err);
  assert_int_equal(nbh_state_read(path, &back, &err), NB_NOT_FOUND);
  assert_int_equal(nbh_state_write(path, &st, &err), NB_OK);
  st.commits = 10;
  assert_int_equal(nbh_state_write(path, &st, &err), NB_OK);
  assert_int_equal(access(tmp, F_OK), -1);
  assert_int_equal(nbh_state_read(path, &back, &err), NB_OK);
  assert_int_equal(back.commits, 10);
  nbh_state_free(&back);
  unlink(path);
  /* An unwritable place is an I/O error naming the file. */
  assert_int_equal(nbh_state_write("/nonexistent-dir/state.json", &st, &err), NB_IO);
  assert_non_null(strstr(err.message, "/nonexistent-dir/state.json.tmp"));
  nb_error_release(&err);
  rmdir(dir);
}

/* text with its checksum recomputed (the tests below change a state file
 * on purpose and want the field checks, not the checksum, to catch it). */
static char *resigned(const char *text) {
  const char *key = strstr(text, "\"checksum\"");
  uint64_t h = 0xcbf29ce484222325ull;
  char *out = NULL;
  assert_non_null(key);
  for (const char *p = text; p < key; p++) {
    h ^= (unsigned char)*p;
    h *= 0x100000001b3ull;
  }
  assert_true(asprintf(&out, "%.*s\"checksum\": \"fnv1a64:%016llx\"\n}\n", (int)(key - text),
                       text, (unsigned long long)h) > 0);
  return out;
}

/* text with the first `from` replaced by `to`, re-signed. */
static char *edited(const char *text, const char *from, const char *to) {
  const char *at = strstr(text, from);
  char *raw = NULL, *out;
  assert_non_null(at);
  assert_true(asprintf(&raw, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)) > 0);
  out = resigned(raw);
  free(raw);
  return out;
}

static void expect_files_damaged(const char *text, const char *from, const char *to,
                                 const char *why) {
  NbhState st;
  NbError err;
  char *bad = edited(text, from, to);
  assert_int_equal(parse(bad, &st, &err), NB_INVALID);
  if (strstr(err.message, why) == NULL) fail_msg("\"%s\" not in \"%s\"", why, err.message);
  nb_error_release(&err);
  free(bad);
}

static void test_files_round_trip_and_refusals(void **state) {
  NbhState st, back;
  NbhStreamState streams[2];
  NbhFileMark marks[4] = {
      {false, "/data/in.csv", 4096, 5000, 1700000000123456789ll, 0x0123456789abcdefull, NULL},
      {true, "/out/a \"b\".json", 77, 77, 5, 0xfedcba9876543210ull, NULL},
      {true, "/out/caf\xe9.json", 1, 1, 1, 1, NULL},   /* not UTF-8: not recorded */
      /* An object of a storage module carries its upload state. */
      {true, "s3://bkt/o.json", 9, 9, 0, 0, "s3mpu1;length=9;upload=u1;tail=9"}};
  NbError err;
  size_t len;
  char *text;
  (void)state;
  make_state(&st, streams);
  st.files = marks;
  st.n_files = 4;
  text = formatted(&st, &len);
  assert_int_equal(parse(text, &back, &err), NB_OK);
  assert_int_equal(back.n_files, 3);
  assert_null(back.files[0].storage);
  assert_string_equal(back.files[2].path, "s3://bkt/o.json");
  assert_string_equal(back.files[2].storage, "s3mpu1;length=9;upload=u1;tail=9");
  assert_int_equal(back.files[2].length, 9);
  assert_false(back.files[0].output);
  assert_string_equal(back.files[0].path, "/data/in.csv");
  assert_int_equal(back.files[0].length, 4096);
  assert_int_equal(back.files[0].size, 5000);
  assert_int_equal(back.files[0].mtime_ns, 1700000000123456789ll);
  assert_int_equal(back.files[0].window_hash, 0x0123456789abcdefull);
  assert_true(back.files[1].output);
  assert_string_equal(back.files[1].path, "/out/a \"b\".json");
  assert_int_equal(back.files[1].window_hash, 0xfedcba9876543210ull);
  nbh_state_free(&back);

  expect_files_damaged(text, "\"role\": \"input\"", "\"role\": \"inputs\"", "has role");
  expect_files_damaged(text, "\"role\": \"input\", ", "", "lacks a field");
  expect_files_damaged(text, "\"size\": 5000", "\"size\": \"5000\"", "lacks a field");
  expect_files_damaged(text, "\"size\": 5000", "\"size\": 5000, \"extra\": 1",
                       "unrecognized key \"extra\"");
  expect_files_damaged(text, "fnv1a64:0123456789abcdef", "fnv1a64:0123456789ABCDEF",
                       "invalid window_hash");
  expect_files_damaged(text, "fnv1a64:0123456789abcdef", "md5:0123456789abcdef",
                       "invalid window_hash");
  expect_files_damaged(text, "\"path\": \"/data/in.csv\"", "\"path\": \"\"", "invalid path");
  expect_files_damaged(text, "\"path\": \"/data/in.csv\"", "\"path\": \"a\\u0000b\"",
                       "invalid path");
  expect_files_damaged(text, "\"files\": [", "\"files\": {\"a\": [", "");
  expect_files_damaged(text, "\"storage\": \"s3mpu1", "\"storage\": 7, \"x\": \"",
                       "unrecognized key \"x\"");
  expect_files_damaged(text, "\"storage\": \"s3mpu1;length=9;upload=u1;tail=9\"",
                       "\"storage\": \"\"", "invalid storage state");
  expect_files_damaged(text, "\"storage\": \"s3mpu1;length=9;upload=u1;tail=9\"",
                       "\"storage\": 5", "invalid storage state");

  free(text);
}

/* A state file of an earlier release has no "files": still read. */
static void test_files_absent(void **state) {
  NbhState st, back;
  NbhStreamState streams[2];
  NbError err;
  size_t len;
  (void)state;
  make_state(&st, streams);
  char *text = formatted(&st, &len);
  char *old = edited(text, "  \"files\": [\n  ],\n", "");
  assert_int_equal(parse(old, &back, &err), NB_OK);
  assert_int_equal(back.n_files, 0);
  nbh_state_free(&back);
  free(old);
  free(text);
}

/* The fingerprint of an input read through the file layer, checked after
 * the file changed in the ways a resume must refuse or accept. */
static void test_file_mark_check(void **state) {
  char path[] = "/tmp/nb-mark-XXXXXX";
  char buf[8192];
  NbhRunFiles *files = NULL;
  NbFile *f = NULL;
  NbhFileMark *marks = NULL;
  size_t n = 0, got = 0;
  NbError err;
  FILE *w;
  (void)state;
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  w = fopen(path, "wb");
  for (int i = 0; i < 2000; i++) fprintf(w, "%d,row %d\n", i, i);
  fclose(w);
  nb_error_init(&err);
  assert_int_equal(nbh_run_files_new(&files, &err), NB_OK);
  assert_int_equal(nbh_file_open_read_in(files, path, &f, &err), NB_OK);
  assert_int_equal(nbh_file_read(f, buf, 6000, &got, &err), NB_OK);
  assert_int_equal(got, 6000);
  assert_int_equal(nbh_run_files_marks(files, &marks, &n, &err), NB_OK);
  assert_int_equal(n, 1);
  assert_int_equal(marks[0].length, 6000);
  assert_false(marks[0].output);
  assert_int_equal(nbh_file_mark_check(&marks[0], "s.json", &err), NB_OK);

  /* Grown: fine.  One byte changed inside the window: refused. */
  w = fopen(path, "ab");
  fputs("more\n", w);
  fclose(w);
  assert_int_equal(nbh_file_mark_check(&marks[0], "s.json", &err), NB_OK);
  w = fopen(path, "r+b");
  fseek(w, 5000, SEEK_SET);
  fputc('#', w);
  fclose(w);
  assert_int_equal(nbh_file_mark_check(&marks[0], "s.json", &err), NB_INVALID);
  assert_non_null(strstr(err.message, "changed before the saved position"));
  assert_non_null(strstr(err.hint, "delete the state file \"s.json\""));
  nb_error_release(&err);
  /* Shorter than what was read: refused.  Gone: refused. */
  assert_int_equal(truncate(path, 5999), 0);
  assert_int_equal(nbh_file_mark_check(&marks[0], "s.json", &err), NB_INVALID);
  assert_non_null(strstr(err.message, "fewer than the 6000 bytes read"));
  nb_error_release(&err);
  nbh_file_close(f, NULL);
  unlink(path);
  assert_int_equal(nbh_file_mark_check(&marks[0], "s.json", &err), NB_INVALID);
  assert_non_null(strstr(err.message, "no longer exists"));
  nb_error_release(&err);
  nbh_file_marks_free(marks, n);
  nbh_run_files_free(files);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_copy),
      cmocka_unit_test(test_any_changed_byte_is_caught),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_identity),
      cmocka_unit_test(test_write_and_read_file),
      cmocka_unit_test(test_files_round_trip_and_refusals),
      cmocka_unit_test(test_files_absent),
      cmocka_unit_test(test_file_mark_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
