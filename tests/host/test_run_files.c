/*
 * test_run_files.c - unit tests of the run's file registry (host/io/
 * run_files.c) through the file layer's checked opens: an output is never
 * an input, a host file or another output (by path, through "..", a hard
 * link or a symbolic link), an input is never an output or a host file, a
 * refused open creates and truncates nothing, and a stream's part of a
 * destination path is a plain file name.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io.h"
#include "nebula/sdk.h"
#include "run_files.h"

static char tmpdir[256];

static char *tmp_path(const char *name) {
  char *p = NULL;
  assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
  return p;
}

static void spit(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

static void assert_content(const char *path, const char *text) {
  char buf[256] = "";
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  assert_string_equal(buf, text);
}

static int setup_dir(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "%s/nb-run-files-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state) {
  (void)state;
  char *cmd = NULL;
  if (asprintf(&cmd, "rm -rf '%s'", tmpdir) < 0) return -1;
  int rc = system(cmd);
  free(cmd);
  return rc == 0 ? 0 : -1;
}

static NbhRunFiles *new_files(void) {
  NbhRunFiles *files = NULL;
  NbError err;
  nb_error_init(&err);
  assert_int_equal(nbh_run_files_new(&files, &err), NB_OK);
  return files;
}

/* Opening path for writing is refused with a message containing `want`,
 * and nothing is created. */
static void assert_write_refused(NbhRunFiles *files, const char *path, const char *want) {
  NbFile *f = NULL;
  NbError err;
  struct stat before;
  bool existed = stat(path, &before) == 0;
  nb_error_init(&err);
  assert_int_equal(nbh_file_open_write_in(files, path, NULL, &f, &err), NB_INVALID);
  assert_null(f);
  assert_non_null(err.message);
  assert_non_null(err.detail);
  if (strstr(err.message, want) == NULL && strstr(err.detail, want) == NULL)
    fail_msg("\"%s\" not in \"%s\" (%s)", want, err.message, err.detail);
  assert_non_null(err.hint);
  struct stat after;
  if (!existed) assert_int_not_equal(stat(path, &after), 0);
  nb_error_release(&err);
}

static void open_read_ok(NbhRunFiles *files, const char *path) {
  NbFile *f = NULL;
  NbError err;
  nb_error_init(&err);
  assert_int_equal(nbh_file_open_read_in(files, path, &f, &err), NB_OK);
  assert_int_equal(nbh_file_close(f, &err), NB_OK);
}

static NbFile *open_write_ok(NbhRunFiles *files, const char *path) {
  NbFile *f = NULL;
  NbError err;
  nb_error_init(&err);
  int rc = nbh_file_open_write_in(files, path, NULL, &f, &err);
  if (rc != NB_OK) fail_msg("open_write %s: %s", path, err.message);
  return f;
}

static void test_output_is_an_opened_input(void **state) {
  (void)state;
  NbhRunFiles *files = new_files();
  char *in = tmp_path("in1.csv"), *dotted = tmp_path("./sub/../in1.csv"), *sub = tmp_path("sub");
  assert_int_equal(mkdir(sub, 0755), 0);
  spit(in, "a,b\n1,2\n");
  open_read_ok(files, in);
  assert_write_refused(files, in, "an input of this run");
  assert_write_refused(files, dotted, "an input of this run");
  assert_content(in, "a,b\n1,2\n");
  nbh_run_files_free(files);
  free(in);
  free(dotted);
  free(sub);
}

/* Known before the source opens it: still never truncated. */
static void test_output_is_a_known_input(void **state) {
  (void)state;
  NbhRunFiles *files = new_files();
  NbError err;
  char *in = tmp_path("in2.csv"), *hard = tmp_path("hard2.csv"), *soft = tmp_path("soft2.csv");
  spit(in, "x\n");
  assert_int_equal(link(in, hard), 0);
  assert_int_equal(symlink(in, soft), 0);
  nb_error_init(&err);
  assert_int_equal(nbh_run_files_add_input(files, in, &err), NB_OK);
  assert_write_refused(files, in, "an input of this run");
  assert_write_refused(files, hard, "same device and inode");
  assert_write_refused(files, soft, "an input of this run");
  assert_content(in, "x\n");
  /* A name that does not exist is not an input. */
  char *missing = tmp_path("missing.csv");
  assert_int_equal(nbh_run_files_add_input(files, missing, &err), NB_OK);
  NbFile *f = open_write_ok(files, missing);
  assert_int_equal(nbh_file_close(f, &err), NB_OK);
  nbh_run_files_free(files);
  free(in);
  free(hard);
  free(soft);
  free(missing);
}

/* A host file that does not exist yet (the state file before the first
 * commit) is found by its resolved path. */
static void test_output_is_a_host_file(void **state) {
  (void)state;
  NbhRunFiles *files = new_files();
  NbError err;
  char *st = tmp_path("state.json"), *dotted = tmp_path("sub3/../state.json");
  char *sub = tmp_path("sub3");
  assert_int_equal(mkdir(sub, 0755), 0);
  nb_error_init(&err);
  assert_int_equal(nbh_run_files_add_host(files, st, "the state file", &err), NB_OK);
  assert_write_refused(files, dotted, "the state file of this run");
  /* Created later by the host (by rename): found by path and inode. */
  spit(st, "{}");
  assert_write_refused(files, st, "the state file of this run");
  assert_content(st, "{}");
  nbh_run_files_free(files);
  free(st);
  free(dotted);
  free(sub);
}

/* The host replaces the state file by rename, so the inode the state file
 * had when the run began may later belong to another file, an output even
 * (a freed inode is reused).  Renaming the old state file away stands in
 * for that reuse: the file that now has the old inode is not the state
 * file and may be written; the state file's name still may not. */
static void test_host_file_inode_moves_on(void **state) {
  (void)state;
  NbhRunFiles *files = new_files();
  NbError err;
  NbFile *f = NULL;
  char *st = tmp_path("state5.json"), *out = tmp_path("out5.jsonl");
  spit(st, "{}");
  nb_error_init(&err);
  assert_int_equal(nbh_run_files_add_host(files, st, "the state file", &err), NB_OK);
  assert_int_equal(rename(st, out), 0);
  spit(st, "{\"new\": 1}");
  assert_int_equal(nbh_file_open_write_in(files, out, NULL, &f, &err), NB_OK);
  assert_int_equal(nbh_file_close(f, &err), NB_OK);
  assert_write_refused(files, st, "the state file of this run");
  nbh_run_files_free(files);
  free(st);
  free(out);
}

static void test_host_files_distinct(void **state) {
  (void)state;
  NbhRunFiles *files = new_files();
  NbError err;
  char *st = tmp_path("s4.json");
  nb_error_init(&err);
  assert_int_equal(nbh_run_files_add_host(files, st, "the state file", &err), NB_OK);
  assert_int_equal(nbh_run_files_add_host(files, st, "the dead-letter file", &err), NB_INVALID);
  assert_non_null(strstr(err.message, "the dead-letter file"));
  nb_error_release(&err);
  nbh_run_files_free(files);
  free(st);
}

/* Two streams into one file: the second open would truncate the first. */
static void test_two_outputs_one_file(void **state) {
  (void)state;
  NbhRunFiles *files = new_files();
  NbError err;
  uint64_t len = 0;
  char *out = tmp_path("out5.json"), *link5 = tmp_path("link5.json");
  nb_error_init(&err);
  NbFile *f = open_write_ok(files, out);
  assert_int_equal(nbh_file_write(f, "abc", 3, &err), NB_OK);
  assert_int_equal(nbh_file_commit(f, &len, &err), NB_OK);
  assert_write_refused(files, out, "another output of this run");
  assert_int_equal(symlink(out, link5), 0);
  assert_write_refused(files, link5, "another output of this run");
  assert_int_equal(nbh_file_close(f, &err), NB_OK);
  /* Closed, it is still an output of the run. */
  assert_write_refused(files, out, "another output of this run");
  assert_content(out, "abc");
  nbh_run_files_free(files);
  free(out);
  free(link5);
}

static void test_input_is_an_output(void **state) {
  (void)state;
  NbhRunFiles *files = new_files();
  NbError err;
  NbFile *r = NULL;
  char *out = tmp_path("out6.csv"), *st = tmp_path("state6.json");
  nb_error_init(&err);
  NbFile *f = open_write_ok(files, out);
  assert_int_equal(nbh_file_open_read_in(files, out, &r, &err), NB_INVALID);
  assert_null(r);
  assert_non_null(strstr(err.message, "an output of this run"));
  nb_error_release(&err);
  assert_int_equal(nbh_file_close(f, &err), NB_OK);
  spit(st, "{}");
  assert_int_equal(nbh_run_files_add_host(files, st, "the state file", &err), NB_OK);
  assert_int_equal(nbh_file_open_read_in(files, st, &r, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "the state file of this run"));
  nb_error_release(&err);
  assert_int_equal(nbh_run_files_add_input(files, st, &err), NB_INVALID);
  nb_error_release(&err);
  nbh_run_files_free(files);
  free(out);
  free(st);
}

/* Reading one input twice, and devices, are fine. */
static void test_no_false_conflicts(void **state) {
  (void)state;
  NbhRunFiles *files = new_files();
  NbError err;
  char *in = tmp_path("in7.csv");
  spit(in, "1\n");
  open_read_ok(files, in);
  open_read_ok(files, in);
  nb_error_init(&err);
  NbFile *a = open_write_ok(files, "/dev/null"), *b = open_write_ok(files, "/dev/null");
  assert_int_equal(nbh_file_close(a, &err), NB_OK);
  assert_int_equal(nbh_file_close(b, &err), NB_OK);
  open_read_ok(files, "/dev/null");
  nbh_run_files_free(files);
  free(in);
}

static void check_pattern(const char *pattern, const char *path, int want) {
  NbhRunFiles *files = new_files();
  NbError err;
  nb_error_init(&err);
  assert_int_equal(nbh_run_files_set_output_pattern(files, pattern, &err), NB_OK);
  int rc = nbh_run_files_check_write(files, path, &err);
  if (rc != want)
    fail_msg("pattern \"%s\", path \"%s\": %d, want %d (%s)", pattern, path, rc, want,
             err.message ? err.message : "");
  nb_error_release(&err);
  nbh_run_files_free(files);
}

static void test_stream_part_is_a_plain_name(void **state) {
  (void)state;
  check_pattern("{stream}", "-", NB_INVALID);
  check_pattern("out/{stream}.csv", "out/.csv", NB_INVALID);
  check_pattern("out/{stream}/x.csv", "out/../x.csv", NB_INVALID);
  check_pattern("out/{stream}/x.csv", "out/./x.csv", NB_INVALID);
  check_pattern("out/{stream}.csv", "out/a/b.csv", NB_INVALID);
  check_pattern("out/{stream}.csv", "out/../../etc/x.csv", NB_INVALID);
  check_pattern("{stream}", "/etc/passwd", NB_INVALID);
  check_pattern("out/{stream}.csv", "out/a\nb.csv", NB_INVALID);
  check_pattern("{stream}-{stream}.csv", "a-b.csv", NB_OK);     /* not this pattern's */
  check_pattern("{stream}-{stream}.csv", "a/-a/.csv", NB_INVALID);
  check_pattern("out/{stream}.csv", "-", NB_INVALID);           /* stdout, not configured */
  check_pattern("out/{stream}.csv", "out/orders.csv", NB_OK);
  check_pattern("out/{stream}.csv", "out/-.csv", NB_OK);
  check_pattern("out/{stream}.csv", "out/...csv", NB_INVALID);  /* ".." */
  check_pattern("-", "-", NB_OK);
  check_pattern("out.csv", "out.csv", NB_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_output_is_an_opened_input),
      cmocka_unit_test(test_output_is_a_known_input),
      cmocka_unit_test(test_output_is_a_host_file),
      cmocka_unit_test(test_host_file_inode_moves_on),
      cmocka_unit_test(test_host_files_distinct),
      cmocka_unit_test(test_two_outputs_one_file),
      cmocka_unit_test(test_input_is_an_output),
      cmocka_unit_test(test_no_false_conflicts),
      cmocka_unit_test(test_stream_part_is_a_plain_name),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
