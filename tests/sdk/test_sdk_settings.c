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

/* One rule broken per case: nb_settings_declaration_check names it. */
static void expect_refused(const NbSettingSpec *decl, uint32_t n, const char *detail) {
  NbError err;
  nb_error_init(&err);
  assert_int_equal(nb_settings_declaration_check(decl, n, &err), NB_INVALID);
  assert_string_equal(err.message, "invalid settings declaration");
  assert_non_null(err.detail);
  if (strstr(err.detail, detail) == NULL) fail_msg("detail \"%s\" lacks \"%s\"", err.detail, detail);
  nb_error_release(&err);
}

#define SPEC(type_, flags_, name_, default_, choices_) \
  NB_SETTING(type_, flags_, name_, default_, choices_, "a setting")

static void declaration_rules(void **state) {
  const NbSettingSpec good[] = {
      SPEC(NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL),
      SPEC(NB_SETTING_ENUM, NB_SETTING_SOURCE, "format", "auto", "auto|lines"),
      SPEC(NB_SETTING_ENUM, NB_SETTING_DEST, "format", "lines", "lines|array"),
      SPEC(NB_SETTING_INT, 0, "level", "3", NULL),
  };
  const NbSettingSpec twice[] = {SPEC(NB_SETTING_INT, 0, "rows", NULL, NULL),
                                 SPEC(NB_SETTING_INT, NB_SETTING_DEST, "rows", NULL, NULL)};
  const NbSettingSpec required_default[] = {
      SPEC(NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", "x", NULL)};
  const NbSettingSpec no_choices[] = {SPEC(NB_SETTING_ENUM, 0, "mode", NULL, NULL)};
  const NbSettingSpec empty_choice[] = {SPEC(NB_SETTING_ENUM, 0, "mode", NULL, "a||b")};
  const NbSettingSpec choice_twice[] = {SPEC(NB_SETTING_ENUM, 0, "mode", NULL, "a|b|a")};
  const NbSettingSpec choices_on_int[] = {SPEC(NB_SETTING_INT, 0, "n", NULL, "a|b")};
  const NbSettingSpec bad_default[] = {SPEC(NB_SETTING_INT, 0, "n", "ten", NULL)};
  const NbSettingSpec bad_enum_default[] = {SPEC(NB_SETTING_ENUM, 0, "m", "c", "a|b")};
  const NbSettingSpec bad_name[] = {SPEC(NB_SETTING_INT, 0, "Rows", NULL, NULL)};
  const NbSettingSpec double_underscore[] = {SPEC(NB_SETTING_INT, 0, "a__b", NULL, NULL)};
  const NbSettingSpec bad_type[] = {SPEC(99, 0, "n", NULL, NULL)};
  const NbSettingSpec bad_flags[] = {SPEC(NB_SETTING_INT, 0x100, "n", NULL, NULL)};
  const NbSettingSpec both_sides[] = {
      SPEC(NB_SETTING_INT, NB_SETTING_SOURCE | NB_SETTING_DEST, "n", NULL, NULL)};
  const NbSettingSpec bad_doc[] = {NB_SETTING(NB_SETTING_INT, 0, "n", NULL, NULL, "ends.")};
  NbSettingSpec small[2] = {SPEC(NB_SETTING_INT, 0, "a", NULL, NULL),
                            SPEC(NB_SETTING_INT, 0, "b", NULL, NULL)};
  (void)state;
  assert_int_equal(nb_settings_declaration_check(good, 4, NULL), NB_OK);
  assert_int_equal(nb_settings_declaration_check(NULL, 0, NULL), NB_OK);
  expect_refused(NULL, 2, "declares 2 settings but no table");
  expect_refused(twice, 2, "Setting \"rows\" is declared twice.");
  expect_refused(required_default, 1, "is required and has a default");
  expect_refused(no_choices, 1, "Enum setting \"mode\" declares no choices.");
  expect_refused(empty_choice, 1, "has an empty choice");
  expect_refused(choice_twice, 1, "lists a choice twice");
  expect_refused(choices_on_int, 1, "is not an enum but declares choices");
  expect_refused(bad_default, 1, "The default value \"ten\" of integer setting \"n\"");
  expect_refused(bad_enum_default, 1, "of enum setting \"m\"");
  expect_refused(bad_name, 1, "has the name \"Rows\"");
  expect_refused(double_underscore, 1, "has the name \"a__b\"");
  expect_refused(bad_type, 1, "unrecognized type 99");
  expect_refused(bad_flags, 1, "unrecognized flags 0x100");
  expect_refused(both_sides, 1, "both source-only and destination-only");
  expect_refused(bad_doc, 1, "one line without a final period");
  small[0].struct_size = 8;
  expect_refused(small, 2, "struct_size 8; ABI 1.0 needs at least");
  small[0].struct_size = (uint32_t)sizeof(NbSettingSpec);
  small[1].struct_size = 8;
  expect_refused(small, 2, "Setting declaration 2 has struct_size 8, unlike the first one");
}

/* A declaration built against a later minor (longer entries) is stepped
 * through by its own stride, by the check and by every reader. */
static void declaration_of_a_later_minor(void **state) {
  typedef struct Longer {
    NbSettingSpec spec;
    const char *added_in_a_later_minor;
  } Longer;
  Longer longer[2];
  (void)state;
  memset(longer, 0, sizeof longer);
  for (int i = 0; i < 2; i++) {
    longer[i].spec.struct_size = (uint32_t)sizeof(Longer);
    longer[i].spec.type = NB_SETTING_INT;
    longer[i].spec.doc = "a setting";
    longer[i].added_in_a_later_minor = "x";
  }
  longer[0].spec.name = "first";
  longer[1].spec.name = "second";
  assert_int_equal(nb_settings_declaration_check(&longer[0].spec, 2, NULL), NB_OK);
  assert_string_equal(nb_setting_spec_at(&longer[0].spec, 1)->name, "second");
  assert_null(nb_setting_spec_at(NULL, 0));
}

/* Getters that read defaults and choices from the declaration: a name
 * declared once per side with its own default and choices, the given
 * value over the default, errors for bad values (a SECRET one never
 * quoted) and NB_INTERNAL for a getter that does not fit the
 * declaration. */
static const NbSettingSpec sided[] = {
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL, "file"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_SOURCE, "format", "auto", "auto|lines|array", "in"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_DEST, "format", "lines", "lines|array", "out"),
    NB_SETTING(NB_SETTING_INT, 0, "rows", "1000", NULL, "rows"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_DEST, "escape", "false", NULL, "escape"),
    NB_SETTING(NB_SETTING_STRING, 0, "null_string", NULL, NULL, "null text"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SECRET, "pin", "1", NULL, "pin"),
    NB_SETTING(NB_SETTING_INT, 0, "no_default", NULL, NULL, "an int without default"),
    NB_FILE_COMPRESSION_SETTINGS,
};

static void declared_getters(void **state) {
  Kv kv = {{"path"}, {"in.json"}, {0, 0, NULL, NULL}};
  NbSettings *s = make(&kv, 1);
  NbDeclaredSettings src = NB_DECLARED_SETTINGS(s, sided, NB_COUNT(sided), NB_SETTING_SOURCE);
  NbDeclaredSettings dst = NB_DECLARED_SETTINGS(s, sided, NB_COUNT(sided), NB_SETTING_DEST);
  const char *str;
  int64_t i;
  bool b;
  int e;
  NbError err;
  (void)state;
  nb_error_init(&err);
  /* Defaults, per side. */
  assert_int_equal(nb_declared_enum(&src, "format", &e, &err), NB_OK);
  assert_int_equal(e, 0);
  assert_int_equal(nb_declared_enum(&dst, "format", &e, &err), NB_OK);
  assert_int_equal(e, 0);
  assert_int_equal(nb_declared_string(&dst, "format", &str, &err), NB_OK);
  assert_string_equal(str, "lines");
  assert_int_equal(nb_declared_int(&src, "rows", &i, &err), NB_OK);
  assert_int_equal(i, 1000);
  assert_int_equal(nb_declared_bool(&dst, "escape", &b, &err), NB_OK);
  assert_false(b);
  assert_int_equal(nb_declared_string(&src, "null_string", &str, &err), NB_OK);
  assert_null(str);
  assert_int_equal(nb_declared_string(&dst, "compression", &str, &err), NB_OK);
  assert_string_equal(str, "auto");
  assert_int_equal(nb_declared_int(&dst, "compression_level", &i, &err), NB_OK);
  assert_int_equal(i, 0);
  assert_non_null(nb_declared_spec(&dst, "compression"));
  assert_null(nb_declared_spec(&src, "compression"));
  assert_ptr_equal(nb_declared_spec(&src, "format"), &sided[1]);
  assert_ptr_equal(nb_declared_spec(&dst, "format"), &sided[2]);

  /* Given values win; choices are the side's own. */
  kv.names[1] = "format";
  kv.values[1] = "array";
  kv.names[2] = "rows";
  kv.values[2] = "-7";
  make(&kv, 3);
  assert_int_equal(nb_declared_enum(&src, "format", &e, &err), NB_OK);
  assert_int_equal(e, 2);
  assert_int_equal(nb_declared_enum(&dst, "format", &e, &err), NB_OK);
  assert_int_equal(e, 1);
  assert_int_equal(nb_declared_int(&dst, "rows", &i, &err), NB_OK);
  assert_int_equal(i, -7);
  assert_int_equal(nb_declared_string(&src, "path", &str, &err), NB_OK);
  assert_string_equal(str, "in.json");

  /* "auto" is a choice of the source only. */
  kv.values[1] = "auto";
  assert_int_equal(nb_declared_enum(&dst, "format", &e, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "\"format\""));
  assert_non_null(strstr(err.detail, "lines, array"));
  nb_error_release(&err);
  assert_int_equal(nb_declared_string(&dst, "format", &str, &err), NB_INVALID);
  assert_null(str);
  nb_error_release(&err);

  /* A value that does not parse; a secret one is not quoted. */
  kv.values[2] = "many";
  assert_int_equal(nb_declared_int(&src, "rows", &i, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "many"));
  nb_error_release(&err);
  kv.names[2] = "pin";
  kv.values[2] = "s3cr3t";
  assert_int_equal(nb_declared_int(&src, "pin", &i, &err), NB_INVALID);
  assert_null(strstr(err.message, "s3cr3t"));
  assert_non_null(strstr(err.message, "pin"));
  nb_error_release(&err);

  /* A required setting without value. */
  kv.names[0] = "rows";
  kv.values[0] = "1";
  make(&kv, 1);
  assert_int_equal(nb_declared_string(&src, "path", &str, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "missing required setting \"path\""));
  nb_error_release(&err);

  /* A required setting with an empty value. */
  kv.names[1] = "path";
  kv.values[1] = "";
  make(&kv, 2);
  assert_int_equal(nb_declared_string(&dst, "path", &str, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "empty value for required setting \"path\""));
  nb_error_release(&err);

  /* Getters that do not fit the declaration: connector bugs. */
  assert_int_equal(nb_declared_int(&src, "nope", &i, &err), NB_INTERNAL);
  nb_error_release(&err);
  assert_int_equal(nb_declared_int(&src, "escape", &i, &err), NB_INTERNAL);
  assert_non_null(strstr(err.message, "not declared for the source"));
  nb_error_release(&err);
  assert_int_equal(nb_declared_bool(&src, "rows", &b, &err), NB_INTERNAL);
  nb_error_release(&err);
  assert_int_equal(nb_declared_int(&src, "no_default", &i, &err), NB_INTERNAL);
  nb_error_release(&err);
  assert_int_equal(nb_declared_string(NULL, "path", &str, &err), NB_INTERNAL);
  nb_error_release(&err);
  assert_null(nb_declared_spec(NULL, "path"));
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
      cmocka_unit_test(declaration_rules),
      cmocka_unit_test(declaration_of_a_later_minor),
      cmocka_unit_test(declared_getters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
