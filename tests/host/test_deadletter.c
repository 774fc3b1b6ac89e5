/* test_deadletter.c - dead letters (host/engine/deadletter.c): the JSON
 * line of a rejected record (text and binary records) and the file's
 * resume: cut back to the committed length, refused when shorter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadletter.h"
#include "nebula/sdk.h"

static void test_dead_letter_format(void **state) {
  NbError err;
  char *line;
  size_t len;
  (void)state;
  nb_error_init(&err);
  nb_error_set(&err, NB_DATA, "wrong number of fields");
  nb_error_detail(&err, "Expected 3, found 2.");
  nb_error_locate(&err, "in.csv", 3, 2);
  nb_error_record(&err, "a,\"b\"\n", 6);
  line = nbh_dead_letter_format("in.csv", &err, &len);
  assert_string_equal(line,
                      "{\"stream\":\"in.csv\",\"location\":\"in.csv\",\"line\":3,\"column\":2,"
                      "\"reason\":\"wrong number of fields\",\"detail\":\"Expected 3, found 2.\","
                      "\"record\":\"a,\\\"b\\\"\\n\"}\n");
  assert_int_equal(len, strlen(line));
  free(line);
  nb_error_record(&err, "\xff\x00z", 3);
  line = nbh_dead_letter_format("in.csv", &err, &len);
  assert_non_null(strstr(line, "\"record\":null,\"record_base64\":\"/wB6\"}\n"));
  free(line);
  nb_error_release(&err);

  nb_error_set(&err, NB_DATA, "bad");
  line = nbh_dead_letter_format("s", &err, &len);
  assert_string_equal(line, "{\"stream\":\"s\",\"location\":null,\"line\":null,\"column\":null,"
                            "\"reason\":\"bad\",\"record\":null}\n");
  free(line);
  nb_error_release(&err);
}

static void test_dead_letter_file_resume(void **state) {
  char path[] = "/tmp/nebula-dead-XXXXXX";
  NbhDeadLetter *dl;
  NbError err;
  uint64_t length;
  FILE *fp;
  char buf[64];
  int fd;
  (void)state;
  fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "old\n", 4), 4);
  close(fd);
  nb_error_init(&err);
  /* A fresh run starts an empty file. */
  assert_int_equal(nbh_dead_letter_open(path, -1, &dl, &err), NB_OK);
  assert_int_equal(nbh_dead_letter_append(dl, "one\n", 4, &err), NB_OK);
  assert_int_equal(nbh_dead_letter_sync(dl, &length, &err), NB_OK);
  assert_int_equal(length, 4);
  assert_int_equal(nbh_dead_letter_append(dl, "uncommitted\n", 12, &err), NB_OK);
  nbh_dead_letter_close(dl);
  /* A resumed run cuts what the last commit did not cover. */
  assert_int_equal(nbh_dead_letter_open(path, 4, &dl, &err), NB_OK);
  assert_int_equal(nbh_dead_letter_append(dl, "two\n", 4, &err), NB_OK);
  assert_int_equal(nbh_dead_letter_sync(dl, &length, &err), NB_OK);
  assert_int_equal(length, 8);
  nbh_dead_letter_close(dl);
  fp = fopen(path, "r");
  assert_int_equal(fread(buf, 1, sizeof buf, fp), 8);
  assert_memory_equal(buf, "one\ntwo\n", 8);
  fclose(fp);
  /* Shorter than the state says: someone else changed it. */
  assert_int_equal(nbh_dead_letter_open(path, 100, &dl, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "shorter than the state file says"));
  nb_error_release(&err);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dead_letter_format),
      cmocka_unit_test(test_dead_letter_file_resume),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
