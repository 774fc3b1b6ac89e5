/*
 * test_sdk_settings.c - settings getters and checks of libnebula-sdk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nebula/sdk.h"

static const NbSettingSpec spec[] = {
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL,
               "file to read or write"),
    NB_SETTING(NB_SETTING_INT, 0, "batch_rows", "1000", NULL, "rows per batch"),
    NB_SETTING(NB_SETTING_DOUBLE, 0, "ratio", NULL, NULL, "a ratio"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_SOURCE, "header", "true", NULL,
               "first line holds column names"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_DEST, "format", "lines",
               "lines|array", "output layout"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SECRET, "password", NULL, NULL,
               "password"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SECRET, "pin", NULL, NULL, "pin"),
};
#define N_SPEC ((uint32_t)(sizeof spec / sizeof spec[0]))

typedef struct Kv {
  const char *names[8];
  const char *values[8];
  NbSettings s;
} Kv;

static NbSettings *make(Kv *kv, uint32_t n) {
  kv->s.struct_size = sizeof kv->s;
  kv->s.count = n;
  kv->s.names = kv->names;
  kv->s.values = kv->values;
  return &kv->s;
}

static void getters(void **state) {
  Kv kv = {{"path", "batch_rows", "ratio", "header", "format"},
           {"in.csv", "-42", "1e-3", "FALSE", "array"},
           {0, 0, NULL, NULL}};
  NbSettings *s = make(&kv, 5);
  const char *str;
  int64_t i;
  double d;
  bool b;
  int e;
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_string_equal(nb_settings_find(s, "path"), "in.csv");
  assert_null(nb_settings_find(s, "nope"));
  assert_int_equal(nb_setting_string(s, "path", "x", &str, &err), NB_OK);
  assert_string_equal(str, "in.csv");
  assert_int_equal(nb_setting_string(s, "nope", "fb", &str, &err), NB_OK);
  assert_string_equal(str, "fb");
  assert_int_equal(nb_setting_int(s, "batch_rows", 7, &i, &err), NB_OK);
  assert_int_equal(i, -42);
  assert_int_equal(nb_setting_int(s, "absent", 7, &i, &err), NB_OK);
  assert_int_equal(i, 7);
  assert_int_equal(nb_setting_double(s, "ratio", 0, &d, &err), NB_OK);
  assert_true(d == 1e-3);
  assert_int_equal(nb_setting_bool(s, "header", true, &b, &err), NB_OK);
  assert_false(b);
  assert_int_equal(nb_setting_enum(s, "format", "lines|array", 0, &e, &err), NB_OK);
  assert_int_equal(e, 1);
  assert_int_equal(nb_setting_enum(s, "absent", "lines|array", 0, &e, &err), NB_OK);
  assert_int_equal(e, 0);
  assert_null(err.release);
  assert_null(nb_settings_find(NULL, "path"));
}

static void getter_errors(void **state) {
  Kv kv = {{"n", "big", "d", "b", "e"},
           {"12x", "9223372036854775808", "abc", "maybe", "column"},
           {0, 0, NULL, NULL}};
  NbSettings *s = make(&kv, 5);
  int64_t i;
  double d;
  bool b;
  int e;
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_setting_int(s, "n", 0, &i, &err), NB_INVALID);
  assert_string_equal(err.message, "invalid value for setting \"n\": \"12x\"");
  assert_non_null(err.detail);
  nb_error_release(&err);
  assert_int_equal(nb_setting_int(s, "big", 0, &i, &err), NB_INVALID);
  nb_error_release(&err);
  assert_int_equal(nb_setting_double(s, "d", 0, &d, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "\"abc\""));
  nb_error_release(&err);
  assert_int_equal(nb_setting_bool(s, "b", 0, &b, &err), NB_INVALID);
  nb_error_release(&err);
  assert_int_equal(nb_setting_enum(s, "e", "lines|array", 0, &e, &err), NB_INVALID);
  assert_string_equal(err.detail, "Valid values are: lines, array.");
  nb_error_release(&err);
}

static void int_limits(void **state) {
  Kv kv = {{"lo", "hi"}, {"-9223372036854775808", "9223372036854775807"}, {0, 0, NULL, NULL}};
  NbSettings *s = make(&kv, 2);
  int64_t i;
  (void)state;
  assert_int_equal(nb_setting_int(s, "lo", 0, &i, NULL), NB_OK);
  assert_true(i == INT64_MIN);
  assert_int_equal(nb_setting_int(s, "hi", 0, &i, NULL), NB_OK);
  assert_true(i == INT64_MAX);
}

static void check_ok(void **state) {
  Kv kv = {{"path", "header"}, {"in.csv", "true"}, {0, 0, NULL, NULL}};
  (void)state;
  assert_int_equal(nb_settings_check(make(&kv, 2), spec, N_SPEC,
                                     NB_SETTING_SOURCE, NULL),
                   NB_OK);
}

static void check_unrecognized_with_hint(void **state) {
  Kv kv = {{"path", "batch_row"}, {"in.csv", "5"}, {0, 0, NULL, NULL}};
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_settings_check(make(&kv, 2), spec, N_SPEC,
                                     NB_SETTING_SOURCE, &err),
                   NB_INVALID);
  assert_string_equal(err.message, "unrecognized setting \"batch_row\"");
  assert_string_equal(err.hint, "Did you mean \"batch_rows\"?");
  nb_error_release(&err);

  kv.names[1] = "zzzzzzzzz"; /* nothing close: no hint */
  assert_int_equal(nb_settings_check(make(&kv, 2), spec, N_SPEC,
                                     NB_SETTING_SOURCE, &err),
                   NB_INVALID);
  assert_null(err.hint);
  nb_error_release(&err);
}

static void check_wrong_side(void **state) {
  Kv kv = {{"path", "format"}, {"in.csv", "lines"}, {0, 0, NULL, NULL}};
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_settings_check(make(&kv, 2), spec, N_SPEC,
                                     NB_SETTING_SOURCE, &err),
                   NB_INVALID);
  assert_string_equal(err.message,
                      "setting \"format\" applies only to a destination, not "
                      "to a source");
  nb_error_release(&err);
  assert_int_equal(nb_settings_check(make(&kv, 2), spec, N_SPEC,
                                     NB_SETTING_DEST, &err),
                   NB_OK);
}

static void check_missing_required(void **state) {
  Kv kv = {{"header"}, {"true"}, {0, 0, NULL, NULL}};
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_settings_check(make(&kv, 1), spec, N_SPEC,
                                     NB_SETTING_SOURCE, &err),
                   NB_INVALID);
  assert_string_equal(err.message, "missing required setting \"path\"");
  assert_non_null(strstr(err.detail, "file to read or write"));
  nb_error_release(&err);
  assert_int_equal(nb_settings_check(NULL, spec, N_SPEC, NB_SETTING_SOURCE, &err),
                   NB_INVALID);
  nb_error_release(&err);
}

static void check_types_and_choices(void **state) {
  Kv kv = {{"path", "batch_rows"}, {"in.csv", "ten"}, {0, 0, NULL, NULL}};
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_settings_check(make(&kv, 2), spec, N_SPEC,
                                     NB_SETTING_DEST, &err),
                   NB_INVALID);
  assert_string_equal(err.message,
                      "invalid value for setting \"batch_rows\": \"ten\"");
  nb_error_release(&err);
  kv.names[1] = "format";
  kv.values[1] = "csv";
  assert_int_equal(nb_settings_check(make(&kv, 2), spec, N_SPEC,
                                     NB_SETTING_DEST, &err),
                   NB_INVALID);
  assert_string_equal(err.message, "invalid value for setting \"format\": \"csv\"");
  assert_string_equal(err.detail, "Valid values are: lines, array.");
  nb_error_release(&err);
  kv.names[1] = "ratio";
  kv.values[1] = "1e999";
  assert_int_equal(nb_settings_check(make(&kv, 2), spec, N_SPEC,
                                     NB_SETTING_DEST, &err),
                   NB_INVALID);
  nb_error_release(&err);
}

static void check_duplicate(void **state) {
  Kv kv = {{"path", "path"}, {"a", "b"}, {0, 0, NULL, NULL}};
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_settings_check(make(&kv, 2), spec, N_SPEC,
                                     NB_SETTING_SOURCE, &err),
                   NB_INVALID);
  assert_string_equal(err.message, "setting \"path\" is given more than once");
  nb_error_release(&err);
}

static void secret_value_never_in_message(void **state) {
  Kv kv = {{"path", "pin"}, {"in.csv", "s3cr3t-value"}, {0, 0, NULL, NULL}};
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_settings_check(make(&kv, 2), spec, N_SPEC,
                                     NB_SETTING_SOURCE, &err),
                   NB_INVALID);
  assert_string_equal(err.message, "invalid value for setting \"pin\"");
  assert_null(strstr(err.message, "s3cr3t"));
  assert_true(err.detail == NULL || strstr(err.detail, "s3cr3t") == NULL);
  nb_error_release(&err);
}

static void value_check(void **state) {
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_setting_value_check(&spec[1], "123", &err), NB_OK);
  assert_int_equal(nb_setting_value_check(&spec[1], "", &err), NB_INVALID);
  nb_error_release(&err);
  assert_int_equal(nb_setting_value_check(&spec[3], "no", &err), NB_OK);
  assert_int_equal(nb_setting_value_check(&spec[4], "array", &err), NB_OK);
  assert_int_equal(nb_setting_value_check(&spec[4], "arr", &err), NB_INVALID);
  nb_error_release(&err);
  assert_int_equal(nb_setting_value_check(&spec[0], "", &err), NB_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(getters),
      cmocka_unit_test(getter_errors),
      cmocka_unit_test(int_limits),
      cmocka_unit_test(check_ok),
      cmocka_unit_test(check_unrecognized_with_hint),
      cmocka_unit_test(check_wrong_side),
      cmocka_unit_test(check_missing_required),
      cmocka_unit_test(check_types_and_choices),
      cmocka_unit_test(check_duplicate),
      cmocka_unit_test(secret_value_never_in_message),
      cmocka_unit_test(value_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
