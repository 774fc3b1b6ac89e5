/*
 * test_config_print.c - the configuration fingerprint a state file keeps
 * (issue 9, item 3): SHA-256 against the FIPS 180-4 examples, the
 * canonical form (order of settings, defaults, sides, tuning settings),
 * secrets hashed and never written, the comparison's messages, and the
 * fingerprint's round trip through the state file.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_print.h"
#include "loader.h"
#include "nebula/sdk.h"
#include "sha256.h"
#include "state.h"

static const NbSettingSpec specs[] = {
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL, "file"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "delimiter", ",", NULL, "separator"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_DEST, "format", "lines", "lines|array", "layout"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_TUNING, "batch", "100", NULL, "rows per call"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SECRET, "password", NULL, NULL, "a secret"),
    NB_SETTING(NB_SETTING_STRING, 0, "comment", NULL, NULL, "no default"),
};

static const unsigned char salt_a[NBH_CONFIG_SALT_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8,
                                                            9, 10, 11, 12, 13, 14, 15, 16};
static const unsigned char salt_b[NBH_CONFIG_SALT_BYTES] = {16, 2, 3, 4, 5, 6, 7, 8,
                                                            9, 10, 11, 12, 13, 14, 15, 1};

static NbhPlugin plugin(void) {
  NbhPlugin p;
  memset(&p, 0, sizeof p);
  p.vtable.name = "fake";
  p.vtable.settings = specs;
  p.vtable.n_settings = sizeof specs / sizeof specs[0];
  return p;
}

static NbSettings settings(const char *const *names, const char *const *values, uint32_t n) {
  NbSettings s = {sizeof s, n, names, values};
  return s;
}

/* The fingerprint of a source-only pipeline with the given settings. */
static void make_source(NbhConfigPrint *out, const unsigned char *salt, const char *const *names,
                        const char *const *values, uint32_t n) {
  NbhPlugin p = plugin();
  NbSettings s = settings(names, values, n);
  NbhEndpoint ep = {&p, &s};
  NbError err;
  nb_error_init(&err);
  assert_int_equal(nbh_config_print_make(out, salt, &ep, NULL, NULL, &err), NB_OK);
}

static const NbhConfigEntry *find(const NbhConfigPrint *p, const char *setting) {
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->entries[i].setting, setting) == 0) return &p->entries[i];
  return NULL;
}

static void assert_same(const NbhConfigPrint *a, const NbhConfigPrint *b) {
  assert_int_equal(a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    assert_string_equal(a->entries[i].setting, b->entries[i].setting);
    assert_string_equal(a->entries[i].hash, b->entries[i].hash);
    assert_int_equal(a->entries[i].secret, b->entries[i].secret);
  }
}

static void hex_digest(const void *data, size_t len, size_t repeat, char out[65]) {
  unsigned char d[NBH_SHA256_BYTES];
  NbhSha256 ctx;
  nbh_sha256_init(&ctx);
  for (size_t i = 0; i < repeat; i++) nbh_sha256_update(&ctx, data, len);
  nbh_sha256_final(&ctx, d);
  for (size_t i = 0; i < sizeof d; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha256_vectors(void **unused) {
  char hex[65];
  (void)unused;
  hex_digest("", 0, 1, hex);
  assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  hex_digest("abc", 3, 1, hex);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  hex_digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, 1, hex);
  assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  hex_digest("a", 1, 1000000, hex);
  assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Order of the settings and a default spelt out do not matter. */
static void test_canonical_order_and_defaults(void **unused) {
  const char *n1[] = {"path", "delimiter"}, *v1[] = {"in.csv", ","};
  const char *n2[] = {"path"}, *v2[] = {"in.csv"};
  const char *n3[] = {"delimiter", "path"}, *v3[] = {",", "in.csv"};
  NbhConfigPrint a, b, c;
  (void)unused;
  make_source(&a, salt_a, n1, v1, 2);
  make_source(&b, salt_a, n2, v2, 1);
  make_source(&c, salt_a, n3, v3, 2);
  assert_same(&a, &b);
  assert_same(&a, &c);
  /* Sorted by name, the source side only, no tuning, no valueless setting. */
  assert_int_equal(a.n, 2);
  assert_string_equal(a.entries[0].setting, "source.delimiter");
  assert_string_equal(a.entries[1].setting, "source.path");
  assert_null(find(&a, "source.format"));
  assert_null(find(&a, "source.batch"));
  assert_null(find(&a, "source.comment"));
  assert_true(strncmp(a.entries[0].hash, "sha256:", 7) == 0);
  nbh_config_print_free(&a);
  nbh_config_print_free(&b);
  nbh_config_print_free(&c);
}

static void test_salt_changes_every_hash(void **unused) {
  const char *n[] = {"path"}, *v[] = {"in.csv"};
  NbhConfigPrint a, b;
  (void)unused;
  make_source(&a, salt_a, n, v, 1);
  make_source(&b, salt_b, n, v, 1);
  assert_string_not_equal(a.entries[0].hash, b.entries[0].hash);
  nbh_config_print_free(&a);
  nbh_config_print_free(&b);
}

static int compare(const NbhConfigPrint *was, const NbhConfigPrint *is, NbError *err) {
  nb_error_init(err);
  return nbh_config_print_compare(was, is, "st.json", "fake", "sink", err);
}

static void test_tuning_change_compares_equal(void **unused) {
  const char *n1[] = {"path", "batch"}, *v1[] = {"in.csv", "5"};
  const char *n2[] = {"path", "batch"}, *v2[] = {"in.csv", "50000"};
  NbhConfigPrint a, b;
  NbError err;
  (void)unused;
  make_source(&a, salt_a, n1, v1, 2);
  make_source(&b, salt_a, n2, v2, 2);
  assert_int_equal(compare(&a, &b, &err), NB_OK);
  nbh_config_print_free(&a);
  nbh_config_print_free(&b);
}

static void test_changes_are_named(void **unused) {
  const char *n1[] = {"path", "delimiter"}, *v1[] = {"in.csv", ";"};
  const char *n2[] = {"path", "comment"}, *v2[] = {"other.csv", "x"};
  NbhConfigPrint a, b;
  NbError err;
  (void)unused;
  make_source(&a, salt_a, n1, v1, 2);
  make_source(&b, salt_a, n2, v2, 2);
  assert_int_equal(compare(&a, &b, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "3 settings changed"));
  assert_non_null(strstr(err.detail, "setting \"path\" of source connector \"fake\" changed"));
  assert_non_null(strstr(err.detail, "setting \"delimiter\" of source connector \"fake\""));
  assert_non_null(strstr(err.detail, "setting \"comment\" of source connector \"fake\" is set now"));
  assert_non_null(strstr(err.hint, "--allow-config-change"));
  nb_error_release(&err);
  nbh_config_print_free(&a);
  nbh_config_print_free(&b);
}

static void test_secret_is_hashed_and_never_shown(void **unused) {
  const char *n1[] = {"path", "password"}, *v1[] = {"in.csv", "hunter2-secret"};
  const char *n2[] = {"path", "password"}, *v2[] = {"in.csv", "swordfish-secret"};
  const char *n3[] = {"path", "comment"}, *v3[] = {"in.csv", "hunter2-secret"};
  NbhConfigPrint a, b, plain;
  NbError err;
  (void)unused;
  make_source(&a, salt_a, n1, v1, 2);
  make_source(&b, salt_a, n2, v2, 2);
  make_source(&plain, salt_a, n3, v3, 2);
  const NbhConfigEntry *secret = find(&a, "source.password");
  assert_non_null(secret);
  assert_true(secret->secret);
  assert_false(find(&plain, "source.comment")->secret);
  /* Iterated: not the plain salted hash of the same text. */
  assert_string_not_equal(secret->hash, find(&plain, "source.comment")->hash);
  assert_int_equal(compare(&a, &b, &err), NB_INVALID);
  assert_non_null(strstr(err.detail, "the value of secret setting \"password\" of source "
                                     "connector \"fake\" changed"));
  assert_null(strstr(err.message, "hunter2"));
  assert_null(strstr(err.detail, "hunter2"));
  assert_null(strstr(err.detail, "swordfish"));
  nb_error_release(&err);

  /* Nor in the state file. */
  NbhState st;
  char *text = NULL;
  size_t len = 0;
  memset(&st, 0, sizeof st);
  st.source_connector = "fake";
  st.dest_connector = "sink";
  st.config = a;
  nb_error_init(&err);
  assert_int_equal(nbh_state_format(&st, &text, &len, &err), NB_OK);
  assert_null(strstr(text, "hunter2"));
  assert_non_null(strstr(text, "\"setting\": \"source.password\", \"secret\": true"));
  free(text);
  nbh_config_print_free(&a);
  nbh_config_print_free(&b);
  nbh_config_print_free(&plain);
}

static void test_engine_options(void **unused) {
  NbhEngineOptions o1, o2;
  NbhConfigPrint a, b;
  NbError err;
  (void)unused;
  nbh_engine_options_init(&o1);
  nbh_engine_options_init(&o2);
  o2.batch_rows = 7;            /* tuning */
  o2.commit_seconds = 0.5;
  o2.progress = !o1.progress;
  o2.metrics_addr = "127.0.0.1:1";
  nb_error_init(&err);
  assert_int_equal(nbh_config_print_make(&a, salt_a, NULL, NULL, &o1, &err), NB_OK);
  assert_int_equal(nbh_config_print_make(&b, salt_a, NULL, NULL, &o2, &err), NB_OK);
  assert_int_equal(compare(&a, &b, &err), NB_OK);
  nbh_config_print_free(&b);
  o2.on_error = NBH_ON_ERROR_SKIP;
  assert_int_equal(nbh_config_print_make(&b, salt_a, NULL, NULL, &o2, &err), NB_OK);
  assert_int_equal(compare(&a, &b, &err), NB_INVALID);
  assert_non_null(strstr(err.detail, "engine setting \"on_error\" changed"));
  nb_error_release(&err);
  nbh_config_print_free(&a);
  nbh_config_print_free(&b);
}

static void test_state_round_trip(void **unused) {
  const char *n[] = {"path", "password"}, *v[] = {"in.csv", "pw"};
  NbhConfigPrint a;
  NbhState st, back, copy;
  char *text = NULL;
  size_t len = 0;
  NbError err;
  (void)unused;
  make_source(&a, salt_a, n, v, 2);
  memset(&st, 0, sizeof st);
  st.source_connector = "fake";
  st.dest_connector = "sink";
  st.config = a;
  nb_error_init(&err);
  assert_int_equal(nbh_state_format(&st, &text, &len, &err), NB_OK);
  assert_int_equal(nbh_state_parse("s.json", text, len, &back, &err), NB_OK);
  assert_true(back.config.present);
  assert_memory_equal(back.config.salt, salt_a, sizeof salt_a);
  assert_same(&a, &back.config);
  assert_int_equal(nbh_state_copy(&copy, &back, &err), NB_OK);
  assert_same(&a, &copy.config);
  nbh_state_free(&copy);
  nbh_state_free(&back);
  free(text);

  /* A file without the fingerprint (an earlier release) still parses. */
  st.config.present = false;
  assert_int_equal(nbh_state_format(&st, &text, &len, &err), NB_OK);
  assert_null(strstr(text, "config"));
  assert_int_equal(nbh_state_parse("s.json", text, len, &back, &err), NB_OK);
  assert_false(back.config.present);
  nbh_state_free(&back);
  free(text);
  nbh_config_print_free(&a);
}

/* Damaged fingerprints are refused (the checksum is recomputed so that
 * only the structure is tested). */
static uint64_t fnv(const char *t, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)t[i]) * 0x100000001b3ull;
  return h;
}

static int parse_with(const char *config_part, NbError *err) {
  char text[2048];
  int n = snprintf(text, sizeof text,
                   "{\"format\": \"nebula-state\", \"version\": 1, \"source\": \"a\", "
                   "\"destination\": \"b\", \"committed_at\": 0, \"commits\": 0, "
                   "\"dead_letter_length\": null, \"destination_state\": null, \"streams\": [], "
                   "%s\"checksum\"",
                   config_part);
  uint64_t h = fnv(text, (size_t)n - strlen("\"checksum\""));
  snprintf(text + n, sizeof text - (size_t)n, ": \"fnv1a64:%016llx\"}", (unsigned long long)h);
  NbhState st;
  nb_error_init(err);
  int rc = nbh_state_parse("s.json", text, strlen(text), &st, err);
  if (rc == NB_OK) nbh_state_free(&st);
  nb_error_release(err);
  return rc;
}

static void test_damaged_fingerprints(void **unused) {
  NbError err;
  const char *good_hash = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  char part[1024];
  (void)unused;
  snprintf(part, sizeof part,
           "\"config_salt\": \"000102030405060708090a0b0c0d0e0f\", \"config\": "
           "[{\"setting\": \"source.a\", \"secret\": false, \"hash\": \"%s\"}], ",
           good_hash);
  assert_int_equal(parse_with(part, &err), NB_OK);
  /* Salt without entries, entries without salt. */
  assert_int_equal(parse_with("\"config_salt\": \"000102030405060708090a0b0c0d0e0f\", ", &err),
                   NB_INVALID);
  assert_int_equal(parse_with("\"config\": [], ", &err), NB_INVALID);
  /* Short salt. */
  assert_int_equal(parse_with("\"config_salt\": \"0001\", \"config\": [], ", &err), NB_INVALID);
  /* A hash that is not one. */
  assert_int_equal(parse_with("\"config_salt\": \"000102030405060708090a0b0c0d0e0f\", \"config\": "
                              "[{\"setting\": \"source.a\", \"secret\": false, \"hash\": \"x\"}], ",
                              &err),
                   NB_INVALID);
  /* The same setting twice. */
  snprintf(part, sizeof part,
           "\"config_salt\": \"000102030405060708090a0b0c0d0e0f\", \"config\": "
           "[{\"setting\": \"source.a\", \"secret\": false, \"hash\": \"%s\"}, "
           "{\"setting\": \"source.a\", \"secret\": true, \"hash\": \"%s\"}], ",
           good_hash, good_hash);
  assert_int_equal(parse_with(part, &err), NB_INVALID);
  /* An unknown key in an entry. */
  snprintf(part, sizeof part,
           "\"config_salt\": \"000102030405060708090a0b0c0d0e0f\", \"config\": "
           "[{\"setting\": \"source.a\", \"secret\": false, \"hash\": \"%s\", \"value\": 1}], ",
           good_hash);
  assert_int_equal(parse_with(part, &err), NB_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_vectors),
      cmocka_unit_test(test_canonical_order_and_defaults),
      cmocka_unit_test(test_salt_changes_every_hash),
      cmocka_unit_test(test_tuning_change_compares_equal),
      cmocka_unit_test(test_changes_are_named),
      cmocka_unit_test(test_secret_is_hashed_and_never_shown),
      cmocka_unit_test(test_engine_options),
      cmocka_unit_test(test_state_round_trip),
      cmocka_unit_test(test_damaged_fingerprints),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
