/*
 * test_engine_options.c - the table of engine options (host/engine/
 * engine_options.c): its declarations pass the SDK's declaration check,
 * the defaults are the documented ones and within range, values read back
 * as written, the range check finds every kind of field out of range, and
 * nebula-host(1) and `nebula-host run --help` name every option (with the
 * default the table gives, where the man page states one).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_options.h"
#include "nebula/sdk.h"

static void test_declarations_pass_the_sdk_check(void **state) {
  (void)state;
  size_t n;
  const NbhEngineSetting *table = nbh_engine_settings(&n);
  NbSettingSpec *specs = calloc(n, sizeof *specs);
  assert_non_null(specs);
  for (size_t i = 0; i < n; i++) specs[i] = table[i].spec;
  NbError err;
  nb_error_init(&err);
  int rc = nb_settings_declaration_check(specs, (uint32_t)n, &err);
  if (rc != NB_OK) fail_msg("%s", err.message ? err.message : "declaration refused");
  nb_error_release(&err);
  free(specs);
}

static void test_defaults(void **state) {
  (void)state;
  NbhEngineOptions o;
  nbh_engine_options_init(&o);
  assert_int_equal(o.batch_rows, 4096);
  assert_int_equal(o.batch_bytes, 1048576);
  assert_int_equal(o.buffer_bytes, 67108864);
  assert_int_equal(o.buffer_batches, 16);
  assert_int_equal(o.commit_rows, 0);
  assert_int_equal(o.commit_bytes, 0);
  assert_true(o.commit_seconds == 5.0);
  assert_null(o.state_file);
  assert_int_equal(o.on_error, NBH_ON_ERROR_FAIL);
  assert_int_equal(o.max_errors, 0);
  assert_null(o.dead_letter_path);
  assert_int_equal(o.max_retries, 5);
  assert_true(o.retry_deadline_seconds == 300.0);
  assert_true(o.stall_timeout_seconds == 0.0);
  assert_int_equal(o.max_empty_batches, 10000);
  assert_null(o.metrics_addr);
  assert_false(o.progress);
  assert_false(o.allow_config_change);
  const char *bad = NULL;
  assert_true(nbh_engine_options_in_range(&o, &bad));
}

/* Every default is stored as given and reads back as the same text. */
static void test_defaults_read_back(void **state) {
  (void)state;
  size_t n;
  const NbhEngineSetting *table = nbh_engine_settings(&n);
  for (size_t i = 0; i < n; i++) {
    NbhEngineOptions o;
    char buf[64];
    const char *def = table[i].spec.default_value;
    nbh_engine_options_init(&o);
    if (def == NULL) {
      assert_null(nbh_engine_setting_text(&o, &table[i], buf, sizeof buf));
      continue;
    }
    assert_true(nbh_engine_setting_store(&o, &table[i], def));
    const char *text = nbh_engine_setting_text(&o, &table[i], buf, sizeof buf);
    assert_non_null(text);
    assert_string_equal(text, def);
  }
}

static void test_store_refuses_out_of_range(void **state) {
  (void)state;
  NbhEngineOptions o, before;
  nbh_engine_options_init(&o);
  before = o;
  assert_false(nbh_engine_setting_store(&o, nbh_engine_setting("batch_rows"), "0"));
  assert_false(nbh_engine_setting_store(&o, nbh_engine_setting("batch_rows"), "-1"));
  assert_false(nbh_engine_setting_store(&o, nbh_engine_setting("batch_rows"), "5x"));
  assert_false(
      nbh_engine_setting_store(&o, nbh_engine_setting("batch_rows"), "9223372036854775808"));
  assert_false(nbh_engine_setting_store(&o, nbh_engine_setting("buffer_batches"), "4294967296"));
  assert_false(nbh_engine_setting_store(&o, nbh_engine_setting("commit_interval"), "-0.5"));
  assert_false(nbh_engine_setting_store(&o, nbh_engine_setting("commit_interval"), "inf"));
  assert_false(nbh_engine_setting_store(&o, nbh_engine_setting("state_file"), ""));
  assert_false(nbh_engine_setting_store(&o, nbh_engine_setting("on_error"), "skipp"));
  assert_false(nbh_engine_setting_store(&o, nbh_engine_setting("progress"), "maybe"));
  assert_memory_equal(&o, &before, sizeof o);
  assert_true(nbh_engine_setting_store(&o, nbh_engine_setting("buffer_batches"), "4294967295"));
  assert_int_equal(o.buffer_batches, 4294967295u);
  assert_true(nbh_engine_setting_store(&o, nbh_engine_setting("on_error"), "dead_letter"));
  assert_int_equal(o.on_error, NBH_ON_ERROR_DEAD_LETTER);
  /* The text a connector setting of the same type accepts (the SDK's
   * readers): a sign, and the SDK's boolean words. */
  assert_true(nbh_engine_setting_store(&o, nbh_engine_setting("batch_rows"), "+5"));
  assert_int_equal(o.batch_rows, 5);
  assert_true(nbh_engine_setting_store(&o, nbh_engine_setting("progress"), "yes"));
  assert_true(o.progress);
}

static void test_range_check_names_the_option(void **state) {
  (void)state;
  NbhEngineOptions o;
  const char *bad = NULL;
  nbh_engine_options_init(&o);
  o.buffer_batches = 0;
  assert_false(nbh_engine_options_in_range(&o, &bad));
  assert_string_equal(bad, "buffer_batches");
  nbh_engine_options_init(&o);
  o.stall_timeout_seconds = NAN;
  assert_false(nbh_engine_options_in_range(&o, &bad));
  assert_string_equal(bad, "stall_timeout");
  nbh_engine_options_init(&o);
  o.on_error = (NbhOnError)7;
  assert_false(nbh_engine_options_in_range(&o, &bad));
  assert_string_equal(bad, "on_error");
  nbh_engine_options_init(&o);
  o.metrics_addr = "";
  assert_false(nbh_engine_options_in_range(&o, &bad));
  assert_string_equal(bad, "metrics_addr");
}

static char *read_all(FILE *f) {
  size_t cap = 1 << 16, len = 0;
  char *text = malloc(cap);
  assert_non_null(text);
  for (;;) {
    if (len + 1 == cap) {
      cap *= 2;
      text = realloc(text, cap);
      assert_non_null(text);
    }
    size_t got = fread(text + len, 1, cap - len - 1, f);
    if (got == 0) break;
    len += got;
  }
  text[len] = '\0';
  return text;
}

/* "batch-rows" as roff writes it: "batch\-rows". */
static void roff_escape(const char *in, char *out, size_t size) {
  size_t k = 0;
  for (; *in && k + 3 < size; in++) {
    if (*in == '-') out[k++] = '\\';
    out[k++] = *in;
  }
  out[k] = '\0';
}

static void test_man_page_names_every_option(void **state) {
  (void)state;
  FILE *f = fopen(TOP_SRCDIR "/host/cli/nebula-host.1", "r");
  assert_non_null(f);
  char *man = read_all(f);
  fclose(f);
  size_t n;
  const NbhEngineSetting *table = nbh_engine_settings(&n);
  for (size_t i = 0; i < n; i++) {
    char needle[160], option[96];
    const char *name = table[i].spec.name;
    snprintf(needle, sizeof needle, ".B %s\n", name);
    const char *at = strstr(man, needle);
    if (at == NULL) {
      snprintf(needle, sizeof needle, ".BR %s ", name);
      at = strstr(man, needle);
    }
    if (at == NULL) fail_msg("nebula-host.1 does not name engine option \"%s\"", name);
    /* Where the man page gives the default right after the name, it is
     * the table's. */
    const char *next = at + strlen(needle);
    if (strncmp(next, "(default ", 9) == 0) {
      const char *def = table[i].spec.default_value;
      assert_non_null(def);
      if (strncmp(next + 9, def, strlen(def)) != 0 || strchr(",)", next[9 + strlen(def)]) == NULL)
        fail_msg("nebula-host.1 gives another default for \"%s\" than %s", name, def);
    }
    if (table[i].option == NULL) continue;
    roff_escape(table[i].option, option, sizeof option);
    snprintf(needle, sizeof needle, "\\-\\-%s", option);
    if (strstr(man, needle) == NULL)
      fail_msg("nebula-host.1 does not name option --%s", table[i].option);
  }
  free(man);
}

static void test_help_names_every_option(void **state) {
  (void)state;
  const char *host = getenv("NEBULA_HOST");
  if (host == NULL) host = TOP_BUILDDIR "/host/nebula-host";
  char command[4200];
  snprintf(command, sizeof command, "'%s' run --help", host);
  FILE *p = popen(command, "r");
  assert_non_null(p);
  char *help = read_all(p);
  assert_int_equal(pclose(p), 0);
  size_t n;
  const NbhEngineSetting *table = nbh_engine_settings(&n);
  for (size_t i = 0; i < n; i++) {
    char needle[96];
    if (table[i].option == NULL) continue;
    snprintf(needle, sizeof needle, "--%s ", table[i].option);
    if (strstr(help, needle) == NULL)
      fail_msg("`nebula-host run --help` does not name --%s", table[i].option);
  }
  free(help);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_declarations_pass_the_sdk_check),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_defaults_read_back),
      cmocka_unit_test(test_store_refuses_out_of_range),
      cmocka_unit_test(test_range_check_names_the_option),
      cmocka_unit_test(test_man_page_names_every_option),
      cmocka_unit_test(test_help_names_every_option),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
