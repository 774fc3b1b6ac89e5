/*
 * test_s3_writer.c - the s3 writer's checks of a resume blob (untrusted:
 * it comes from a state file a user may edit), without a server: every
 * refusal happens before the network.  Also MD5 and its base64 form (the
 * Content-MD5 of every part) against RFC 1321 vectors, and valid blobs
 * whose spool file holds the tail: a v1 blob makes no request, a v2 blob
 * one HEAD (is the upload complete already?), which fails here against a
 * closed port and must leave the resume as it was.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "nebula/sdk.h"
#include "s3_md5.h"
#include "s3_writer.h"

#define PART 5242880

static char dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/nb-s3w.XXXXXX");
  assert_non_null(mkdtemp(dir));
  setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "TopSecretValue", 1);
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
  setenv("NEBULA_S3_SPOOL_DIR", dir, 1);
  setenv("NEBULA_S3_PART_SIZE", "5242880", 1);
  setenv("HOME", dir, 1);
  return 0;
}

static int teardown(void **state) {
  char cmd[128];
  (void)state;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Open with blob at length; the status, with the message checked to hold
 * want (and never the secret). */
static int open_with(const char *blob, uint64_t length, const char *want) {
  void *w = NULL;
  NbError err;
  nb_error_init(&err);
  int rc = s3_writer_open(NULL, "s3://bkt/out/o.jsonl", blob, length, &w, &err);
  if (rc == NB_OK) {
    s3_writer_close(w);
    return rc;
  }
  assert_null(w);
  assert_non_null(err.message);
  if (want != NULL && strstr(err.message, want) == NULL)
    fail_msg("\"%s\" not in \"%s\"", want, err.message);
  assert_null(strstr(err.message, "TopSecretValue"));
  nb_error_release(&err);
  return rc;
}

static void hostile_blobs_refused(void **state) {
  static const struct {
    const char *blob;
    uint64_t length;
    const char *want;
  } cases[] = {
      {"", 0, "not an s3 upload state"},
      {"garbage", 5, "not an s3 upload state"},
      {"s3mpu2;length=1;part_size=5242880;upload=u;tail=1;spool=-;etags=", 1, "not an s3"},
      {"s3mpu1;length=1;part_size=5242880;upload=u;token=0123456789abcdef0123456789abcdef;"
       "tail=1;spool=-;etags=", 1, "not an s3"},
      {"s3mpu2;length=1;part_size=5242880;upload=u;token=;tail=1;spool=-;etags=", 1,
       "malformed token"},
      {"s3mpu2;length=1;part_size=5242880;upload=u;token=0123456789ABCDEF0123456789abcdef;"
       "tail=1;spool=-;etags=", 1, "malformed token"},
      {"s3mpu2;length=1;part_size=5242880;upload=u;token=0123456789abcdef0123456789abcde;"
       "tail=1;spool=-;etags=", 1, "malformed token"},
      {"s3mpu2;length=1;part_size=5242880;upload=u;token=0123456789abcdef0123456789abcdef;"
       "tail=1;spool=-", 1, "not an s3"},
      {"s3mpu1;length=x;part_size=5242880;upload=u;tail=1;spool=-;etags=", 1, "malformed"},
      {"s3mpu1;length=-1;part_size=5242880;upload=u;tail=1;spool=-;etags=", 1, "malformed"},
      {"s3mpu1;length=99999999999999999999999;part_size=5242880;upload=u;tail=1;spool=-;etags=",
       1, "malformed"},
      {"s3mpu1;length=1;part_size=5242880;tail=1;spool=-;etags=;x=1", 1, "malformed"},
      {"s3mpu1;length=1;part_size=1;upload=u;tail=0;spool=-;etags=", 1, "impossible"},
      {"s3mpu1;length=1;part_size=99999999999;upload=u;tail=0;spool=-;etags=", 1, "impossible"},
      {"s3mpu1;length=9;part_size=5242880;upload=u;tail=5242880;spool=-;etags=", 9, "impossible"},
      {"s3mpu1;length=7;part_size=5242880;upload=u;tail=7;spool=-;etags=", 8, "length differs"},
      {"s3mpu1;length=7;part_size=6291456;upload=u;tail=7;spool=-;etags=", 7,
       "NEBULA_S3_PART_SIZE is 5242880"},
      {"s3mpu1;length=7;part_size=5242880;upload=u;tail=7;spool=-;etags=abc", 7, "add up"},
      {"s3mpu1;length=5242887;part_size=5242880;upload=u;tail=7;spool=-;etags=", 5242887,
       "add up"},
      {"s3mpu1;length=5242880;part_size=5242880;upload=u;tail=0;spool=-;etags=\"a\"\"", 5242880,
       "invalid ETag"},
      {"s3mpu1;length=5242880;part_size=5242880;upload=u;tail=0;spool=-;etags=a/b", 5242880,
       "invalid ETag"},
      {"s3mpu1;length=7;part_size=5242880;upload=u;tail=7;spool=/etc/passwd;etags=", 7,
       "spool file is not where"},
      {"s3mpu1;length=7;part_size=5242880;upload=u;tail=7;spool=-;etags=", 7,
       "spool file is not where"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (open_with(cases[i].blob, cases[i].length, cases[i].want) != NB_INVALID)
      fail_msg("case %zu (%s) was not refused as NB_INVALID", i, cases[i].blob);
}

/* The spool file of upload "u", part 1 (named as s3_writer.c names it). */
static void spool_name(char *out, size_t cap) {
  uint64_t h = 0xcbf29ce484222325ull;
  h ^= (unsigned char)'u';
  h *= 0x100000001b3ull;
  snprintf(out, cap, "%s/nebula-s3-%016llx-00001.spool", dir, (unsigned long long)h);
}

static void spool_checked(void **state) {
  char path[256], blob[512];
  (void)state;
  spool_name(path, sizeof path);
  snprintf(blob, sizeof blob,
           "s3mpu1;length=7;part_size=5242880;upload=u;tail=7;spool=%s;etags=", path);
  unlink(path);
  assert_int_equal(open_with(blob, 7, "cannot be read"), NB_INVALID);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("abc", f);
  fclose(f);
  assert_int_equal(open_with(blob, 7, "shorter than the committed tail"), NB_INVALID);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs("abcdefg and bytes of a later, unsaved commit", f);
  fclose(f);
  /* A valid resume: no request is made, the tail is read back. */
  assert_int_equal(open_with(blob, 7, NULL), NB_OK);
  /* The same as v2: the HEAD fails (closed port, one attempt), which
   * proves nothing complete, so the resume reads the tail as before. */
  setenv("NEBULA_S3_MAX_ATTEMPTS", "1", 1);
  snprintf(blob, sizeof blob, "s3mpu2;length=7;part_size=5242880;upload=u;"
           "token=0123456789abcdef0123456789abcdef;tail=7;spool=%s;etags=", path);
  assert_int_equal(open_with(blob, 7, NULL), NB_OK);
  unlink(path);
  assert_int_equal(open_with(blob, 7, "cannot be read"), NB_INVALID);
  unsetenv("NEBULA_S3_MAX_ATTEMPTS");
}

static void md5_vectors(void **state) {
  static const struct {
    const char *text;
    const char *b64;
  } v[] = {{"", "1B2M2Y8AsgTpgAmY7PhCfg=="},
           {"abc", "kAFQmDzST7DWlj99KOF/cg=="},
           {"The quick brown fox jumps over the lazy dog", "nhB9nTcrtoJr2B01QqQZ1g=="},
           {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            "V+30oivjyVWsSdouIQe2eg=="}};
  (void)state;
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    uint8_t d[16];
    char b[25];
    s3_md5((const uint8_t *)v[i].text, strlen(v[i].text), d);
    s3_md5_base64(d, b);
    assert_string_equal(b, v[i].b64);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(hostile_blobs_refused),
      cmocka_unit_test(spool_checked),
      cmocka_unit_test(md5_vectors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
