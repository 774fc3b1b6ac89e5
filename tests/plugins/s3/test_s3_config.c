/*
 * test_s3_config.c - the s3 module's configuration (plugins/s3/s3_config.c)
 * and path parsing (s3_client.c): environment over profile, the profile
 * chosen by AWS_PROFILE in both files, bad values named without the
 * secret, addressing by endpoint, bucket and key checks.
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
#include "s3_client.h"
#include "s3_config.h"

static char home[256];

static void write_file(const char *name, const char *text) {
  char path[512];
  FILE *f;
  snprintf(path, sizeof path, "%s/.aws/%s", home, name);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int setup(void **state) {
  char dir[300];
  (void)state;
  snprintf(home, sizeof home, "/tmp/nb-s3cfg.XXXXXX");
  assert_non_null(mkdtemp(home));
  snprintf(dir, sizeof dir, "%s/.aws", home);
  assert_int_equal(mkdir(dir, 0700), 0);
  setenv("HOME", home, 1);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("AWS_SESSION_TOKEN");
  unsetenv("AWS_PROFILE");
  unsetenv("AWS_REGION");
  unsetenv("AWS_DEFAULT_REGION");
  unsetenv("AWS_ENDPOINT_URL");
  unsetenv("AWS_ENDPOINT_URL_S3");
  unsetenv("AWS_SHARED_CREDENTIALS_FILE");
  unsetenv("AWS_CONFIG_FILE");
  unsetenv("NEBULA_S3_ADDRESSING_STYLE");
  unsetenv("NEBULA_S3_READ_CHUNK_SIZE");
  unsetenv("NEBULA_S3_UPLOAD_CONCURRENCY");
  return 0;
}

static int teardown(void **state) {
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
  return system(cmd) == 0 ? 0 : -1;
}

static void environment_wins(void **state) {
  S3Config cfg;
  NbError err;
  (void)state;
  write_file("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
  setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  nb_error_init(&err);
  assert_int_equal(s3_config_load(&cfg, &err), NB_OK);
  assert_string_equal(cfg.access_key, "ENVKEY");
  assert_string_equal(cfg.secret_key, "envsecret");
  assert_string_equal(cfg.region, "us-east-1");
  assert_null(cfg.endpoint);
  assert_false(cfg.path_style);
  assert_int_equal(cfg.read_chunk, 8u << 20);
  s3_config_free(&cfg);
}

static void profile_from_both_files(void **state) {
  S3Config cfg;
  NbError err;
  (void)state;
  write_file("credentials",
             "# comment\n[default]\naws_access_key_id=D\naws_secret_access_key=d\n"
             "[work]\r\naws_access_key_id = WORKKEY\r\naws_secret_access_key = worksecret\r\n"
             "aws_session_token = tok\n");
  write_file("config", "[profile work]\nregion = eu-west-3\nendpoint_url = http://127.0.0.1:9000/\n"
                       "[work]\nregion = wrong-section\n");
  setenv("AWS_PROFILE", "work", 1);
  nb_error_init(&err);
  assert_int_equal(s3_config_load(&cfg, &err), NB_OK);
  assert_string_equal(cfg.access_key, "WORKKEY");
  assert_string_equal(cfg.session_token, "tok");
  assert_string_equal(cfg.region, "eu-west-3");
  assert_string_equal(cfg.endpoint, "http://127.0.0.1:9000");
  assert_true(cfg.path_style);
  s3_config_free(&cfg);
}

static void no_credentials(void **state) {
  S3Config cfg;
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(s3_config_load(&cfg, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "no S3 credentials"));
  assert_non_null(strstr(err.hint, "AWS_PROFILE"));
  nb_error_release(&err);
}

static void bad_values_never_show_the_secret(void **state) {
  S3Config cfg;
  NbError err;
  (void)state;
  setenv("AWS_ACCESS_KEY_ID", "K", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "TopSecretValue", 1);
  setenv("AWS_ENDPOINT_URL", "ftp://x", 1);
  nb_error_init(&err);
  assert_int_equal(s3_config_load(&cfg, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "ftp://x"));
  assert_null(strstr(err.message, "TopSecret"));
  nb_error_release(&err);
  setenv("AWS_ENDPOINT_URL", "https://storage.googleapis.com", 1);
  setenv("NEBULA_S3_READ_CHUNK_SIZE", "12x", 1);
  nb_error_init(&err);
  assert_int_equal(s3_config_load(&cfg, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "NEBULA_S3_READ_CHUNK_SIZE"));
  nb_error_release(&err);
  unsetenv("NEBULA_S3_READ_CHUNK_SIZE");
  setenv("NEBULA_S3_ADDRESSING_STYLE", "virtual", 1);
  nb_error_init(&err);
  assert_int_equal(s3_config_load(&cfg, &err), NB_OK);
  assert_false(cfg.path_style);
  s3_config_free(&cfg);
}

/* Parts in flight: default 4, 1 to 64, anything else refused naming the
 * variable and what it costs in memory. */
static void upload_concurrency(void **state) {
  S3Config cfg;
  NbError err;
  (void)state;
  setenv("AWS_ACCESS_KEY_ID", "K", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
  nb_error_init(&err);
  assert_int_equal(s3_config_load(&cfg, &err), NB_OK);
  assert_int_equal(cfg.upload_concurrency, 4);
  s3_config_free(&cfg);
  static const char *const good[] = {"1", "64"};
  for (size_t i = 0; i < 2; i++) {
    setenv("NEBULA_S3_UPLOAD_CONCURRENCY", good[i], 1);
    assert_int_equal(s3_config_load(&cfg, &err), NB_OK);
    assert_int_equal(cfg.upload_concurrency, (size_t)atoi(good[i]));
    s3_config_free(&cfg);
  }
  static const char *const bad[] = {"0", "65", "-1", "4x", "99999999999999999999"};
  for (size_t i = 0; i < 5; i++) {
    setenv("NEBULA_S3_UPLOAD_CONCURRENCY", bad[i], 1);
    nb_error_init(&err);
    assert_int_equal(s3_config_load(&cfg, &err), NB_INVALID);
    assert_non_null(strstr(err.message, "NEBULA_S3_UPLOAD_CONCURRENCY"));
    assert_non_null(err.hint);
    assert_non_null(strstr(err.hint, "in memory"));
    nb_error_release(&err);
  }
  /* Another setting's error gets no hint about this one. */
  setenv("NEBULA_S3_UPLOAD_CONCURRENCY", "2", 1);
  setenv("NEBULA_S3_READ_CHUNK_SIZE", "1", 1);
  nb_error_init(&err);
  assert_int_equal(s3_config_load(&cfg, &err), NB_INVALID);
  assert_true(err.hint == NULL || strstr(err.hint, "UPLOAD_CONCURRENCY") == NULL);
  nb_error_release(&err);
}

static void long_profile_line_refused(void **state) {
  S3Config cfg;
  NbError err;
  char *line = malloc(10000);
  (void)state;
  memset(line, 'a', 9999);
  line[9999] = '\0';
  write_file("credentials", line);
  free(line);
  nb_error_init(&err);
  assert_int_equal(s3_config_load(&cfg, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "longer than"));
  nb_error_release(&err);
}

static void paths(void **state) {
  char *bucket, *key, *enc;
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(s3_parse_path("s3://my-bucket/a/b c.csv", &bucket, &key, &err), NB_OK);
  assert_string_equal(bucket, "my-bucket");
  assert_string_equal(key, "a/b c.csv");
  enc = s3_uri_encode(key, true);
  assert_string_equal(enc, "a/b%20c.csv");
  free(enc);
  free(bucket);
  free(key);
  assert_int_equal(s3_parse_path("s3://Bad_Bucket!/k", &bucket, &key, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "invalid bucket name"));
  nb_error_release(&err);
  assert_int_equal(s3_parse_path("s3://ab/k", &bucket, &key, &err), NB_INVALID);
  nb_error_release(&err);
  assert_int_equal(s3_parse_path("s3://bkt", &bucket, &key, &err), NB_OK);
  assert_string_equal(key, "");
  free(bucket);
  free(key);
  enc = s3_uri_encode("1ueGc/X+Y=", false);
  assert_string_equal(enc, "1ueGc%2FX%2BY%3D");
  free(enc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(environment_wins, setup, teardown),
      cmocka_unit_test_setup_teardown(profile_from_both_files, setup, teardown),
      cmocka_unit_test_setup_teardown(no_credentials, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_values_never_show_the_secret, setup, teardown),
      cmocka_unit_test_setup_teardown(upload_concurrency, setup, teardown),
      cmocka_unit_test_setup_teardown(long_profile_line_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(paths, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
