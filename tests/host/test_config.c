/*
 * test_config.c - pipeline configuration: parsing, ${ENV} substitution,
 * checks against the test connector's declarations (unrecognized settings
 * with "did you mean", types, required settings, enum choices), file and
 * line in every message, the command-line assembly, engine settings, and
 * secrets (never in messages, redacted by the logger).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pipeline_config.h"
#include "log.h"
#include "nebula/sdk.h"
#include "report.h"
#include "utf8.h"

#define DATA TOP_SRCDIR "/tests/data/config/"
#define GOOD_MODULE TOP_BUILDDIR "/tests/connectors/.libs/good_minimal.so"

typedef struct Fixture {
  NbhPluginSet plugins;
  NbhConfig cfg;
  NbError err;
} Fixture;

static int setup(void **state) {
  Fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  nbh_plugins_init(&f->plugins);
  if (nbh_plugin_load_file(GOOD_MODULE, &f->plugins) != 0) return -1;
  nbh_config_init(&f->cfg);
  nb_error_init(&f->err);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  Fixture *f = *state;
  nb_error_release(&f->err);
  nbh_config_free(&f->cfg);
  nbh_plugins_free(&f->plugins);
  free(f);
  return 0;
}

static void assert_contains(const char *text, const char *part) {
  if (text == NULL || strstr(text, part) == NULL) {
    print_error("expected \"%s\" in \"%s\"\n", part, text ? text : "(null)");
    fail();
  }
}

static void assert_lacks(const char *text, const char *part) {
  if (text != NULL && strstr(text, part) != NULL) {
    print_error("did not expect \"%s\" in \"%s\"\n", part, text);
    fail();
  }
}

/* Load and resolve a data file; returns the status. */
static int load(Fixture *f, const char *name, NbhLogger *logger) {
  char path[1024];
  int rc;
  snprintf(path, sizeof path, "%s%s", DATA, name);
  rc = nbh_config_load(&f->cfg, path, &f->err);
  if (rc != NB_OK) return rc;
  return nbh_config_resolve(&f->cfg, &f->plugins, logger, &f->err);
}

static const char *value_of(const NbhConfigSide *side, const char *name, bool *defaulted) {
  uint32_t i;
  for (i = 0; i < side->settings.count; i++) {
    if (strcmp(side->names[i], name) != 0) continue;
    if (defaulted != NULL) *defaulted = side->defaulted[i];
    return side->texts[i];
  }
  return NULL;
}

/* ------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------ */

static void test_good_file(void **state) {
  Fixture *f = *state;
  bool defaulted = false;
  assert_int_equal(load(f, "good.conf", NULL), NB_OK);
  assert_string_equal(f->cfg.source.plugin->vtable.name, "testgood");
  assert_string_equal(value_of(&f->cfg.source, "path", NULL), "in.csv");
  assert_string_equal(value_of(&f->cfg.source, "rows", &defaulted), "20");
  assert_false(defaulted);
  assert_string_equal(value_of(&f->cfg.source, "ratio", NULL), "2");
  assert_string_equal(value_of(&f->cfg.source, "header", NULL), "false");
  assert_string_equal(value_of(&f->cfg.source, "delimiter", &defaulted), ",");
  assert_true(defaulted);
  /* Destination-only settings are not given to the source, and the other
   * way round. */
  assert_null(value_of(&f->cfg.source, "format", NULL));
  assert_null(value_of(&f->cfg.destination, "delimiter", NULL));
  assert_null(value_of(&f->cfg.source, "password", NULL));
  assert_string_equal(value_of(&f->cfg.destination, "format", NULL), "array");
  /* 0.1 keeps its shortest exact form. */
  assert_string_equal(value_of(&f->cfg.destination, "ratio", NULL), "0.1");
  assert_int_equal(f->cfg.source.settings.struct_size, sizeof(NbSettings));
  assert_int_equal(f->cfg.engine.batch_rows, 1000);
  assert_true(f->cfg.engine.commit_seconds == 2.5);
  assert_int_equal(f->cfg.engine.on_error, NBH_ON_ERROR_SKIP);
  assert_string_equal(f->cfg.engine.state_file, "state.json");
}

static void test_engine_group(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "engine.conf", NULL), NB_OK);
  assert_int_equal(f->cfg.engine.batch_rows, 65536);
  assert_int_equal(f->cfg.engine.buffer_bytes, 67108864);
  assert_true(f->cfg.engine.commit_seconds == 5.0);
  assert_int_equal(f->cfg.engine.on_error, NBH_ON_ERROR_DEAD_LETTER);
  assert_int_equal(f->cfg.engine.max_errors, 10);
  assert_string_equal(f->cfg.engine.dead_letter_path, "bad.jsonl");
  assert_int_equal(f->cfg.engine.max_retries, 3);
  assert_true(f->cfg.engine.retry_deadline_seconds == 300.0);
  assert_true(f->cfg.engine.stall_timeout_seconds == 0.0);
}

/* Numbers are read as written: beyond 32 bits, hex, a value on the next
 * line; and refused, with file, line and setting, when they do not fit. */
static const char *source_text(const Fixture *f, const char *name) {
  size_t i;
  for (i = 0; i < f->cfg.source.n_values; i++)
    if (strcmp(f->cfg.source.values[i].name, name) == 0) return f->cfg.source.values[i].text;
  return NULL;
}

static void test_numbers_as_written(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "numbers.conf", NULL), NB_OK);
  assert_string_equal(source_text(f, "rows"), "4294967296");
  assert_int_equal(f->cfg.engine.batch_rows, 4294967296ULL);
  assert_int_equal(f->cfg.engine.buffer_bytes, 9000000000ULL);
}

static void test_integer_overflow(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "int_overflow.conf", NULL), NB_INVALID);
  assert_string_equal(f->err.message, "number out of range for setting \"source.rows\" in file \""
                                      DATA "int_overflow.conf\" line 3");
  assert_contains(f->err.detail, "123456789012345678901234 does not fit a 64-bit integer");
}

static void test_float_overflow(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "float_overflow.conf", NULL), NB_INVALID);
  assert_contains(f->err.message, "number out of range for setting \"destination.ratio\"");
  assert_contains(f->err.message, "line 3");
  assert_contains(f->err.detail, "1.5e400 is beyond the range");
}

static void test_engine_overflow(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "engine_overflow.conf", NULL), NB_INVALID);
  assert_contains(f->err.message, "number out of range for setting \"engine.batch_rows\"");
  assert_contains(f->err.message, "line 3");
}

static void test_cli_integer_overflow(void **state) {
  Fixture *f = *state;
  assert_int_equal(nbh_config_set_connector(&f->cfg, &f->cfg.source, "testgood"), NB_OK);
  assert_int_equal(nbh_config_set_connector(&f->cfg, &f->cfg.destination, "testgood"), NB_OK);
  assert_int_equal(nbh_config_add_setting(&f->cfg, &f->cfg.source, "path", "a", "--source-path"),
                   NB_OK);
  assert_int_equal(nbh_config_add_setting(&f->cfg, &f->cfg.destination, "path", "b", "--dest-path"),
                   NB_OK);
  assert_int_equal(
      nbh_config_add_setting(&f->cfg, &f->cfg.source, "rows", "-123456789012345678901234", "-s"),
      NB_OK);
  assert_int_equal(nbh_config_resolve(&f->cfg, &f->plugins, NULL, &f->err), NB_INVALID);
  assert_string_equal(f->err.message,
                      "number out of range for setting \"source.rows\" given by option -s");
}

static void test_missing_file(void **state) {
  Fixture *f = *state;
  assert_int_equal(nbh_config_load(&f->cfg, DATA "no-such.conf", &f->err), NB_NOT_FOUND);
  assert_string_equal(f->err.message, "could not open configuration file \"" DATA
                                      "no-such.conf\": No such file or directory");
}

static void test_syntax_error_names_file_and_line(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "syntax.conf", NULL), NB_INVALID);
  assert_contains(f->err.message, "syntax error in file \"" DATA "syntax.conf\" line 4");
  assert_int_equal(f->err.line, 4);
  assert_string_equal(f->err.location, DATA "syntax.conf");
}

static void test_unrecognized_top_level(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "unknown_top.conf", NULL), NB_INVALID);
  assert_string_equal(f->err.message,
                      "unrecognized setting \"sorce\" in file \"" DATA "unknown_top.conf\" line 1");
  assert_string_equal(f->err.hint, "Did you mean \"source\"?");
}

static void test_unrecognized_connector_setting(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "unknown_setting.conf", NULL), NB_INVALID);
  assert_string_equal(f->err.message, "unrecognized setting \"source.pth\" in file \"" DATA
                                      "unknown_setting.conf\" line 3");
  assert_contains(f->err.detail, "\"testgood\"");
  assert_string_equal(f->err.hint, "Did you mean \"path\"?");
  assert_int_equal(f->err.line, 3);
}

static void test_setting_of_the_other_side(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "other_side.conf", NULL), NB_INVALID);
  assert_string_equal(f->err.message, "unrecognized setting \"source.format\" in file \"" DATA
                                      "other_side.conf\" line 4");
  assert_contains(f->err.detail, "only for destinations");
}

static void test_wrong_type(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "wrong_type.conf", NULL), NB_INVALID);
  assert_string_equal(f->err.message, "wrong type for setting \"source.rows\" in file \"" DATA
                                      "wrong_type.conf\" line 4");
  assert_contains(f->err.detail, "an integer");
  assert_contains(f->err.detail, "a string");
  assert_contains(f->err.hint, "without quotes");
}

static void test_missing_required(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "missing.conf", NULL), NB_INVALID);
  assert_string_equal(f->err.message, "missing required setting \"source.path\" in file \"" DATA
                                      "missing.conf\" line 1");
  assert_contains(f->err.detail, "file to read or write");
}

static void test_enum_choice(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "enum.conf", NULL), NB_INVALID);
  assert_string_equal(f->err.message, "invalid value for setting \"destination.format\" in file \"" DATA
                                      "enum.conf\" line 5");
  assert_string_equal(f->err.detail, "\"aray\" is not one of the choices \"lines\" or \"array\".");
  assert_string_equal(f->err.hint, "Did you mean \"array\"?");
}

static void test_engine_unrecognized(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "engine_bad.conf", NULL), NB_INVALID);
  assert_string_equal(f->err.message, "unrecognized setting \"engine.bach_rows\" in file \"" DATA
                                      "engine_bad.conf\" line 4");
  assert_string_equal(f->err.hint, "Did you mean \"batch_rows\"?");
}

/* Engine options are checked by the connectors' rules: type with a hint,
 * choices with a "did you mean", then the option's range; file and line
 * in every message. */
static void test_engine_wrong_type(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "engine_type.conf", NULL), NB_INVALID);
  assert_string_equal(f->err.message, "wrong type for setting \"engine.batch_rows\" in file \"" DATA
                                      "engine_type.conf\" line 4");
  assert_string_equal(f->err.detail,
                      "The engine declares \"batch_rows\" as an integer; the file gives a string.");
  assert_string_equal(f->err.hint, "Write the integer without quotes or a decimal point.");
}

static void test_engine_bad_choice(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "engine_choice.conf", NULL), NB_INVALID);
  assert_string_equal(f->err.message, "invalid value for setting \"engine.on_error\" in file \"" DATA
                                      "engine_choice.conf\" line 4");
  assert_string_equal(f->err.detail,
                      "\"skp\" is not one of the choices \"fail\", \"skip\" or \"dead_letter\".");
  assert_string_equal(f->err.hint, "Did you mean \"skip\"?");
}

static void test_engine_out_of_range(void **state) {
  Fixture *f = *state;
  assert_int_equal(load(f, "engine_range.conf", NULL), NB_INVALID);
  assert_string_equal(f->err.message, "invalid value for setting \"engine.buffer_batches\" in file \"" DATA
                                      "engine_range.conf\" line 4");
  assert_string_equal(f->err.detail, "The value must be an integer from 1 to 4294967295; 0 is not.");
  assert_string_equal(f->err.hint,
                      "engine.buffer_batches: batches queued between source and destination.");
}

static void test_connector_not_found(void **state) {
  Fixture *f = *state;
  assert_int_equal(nbh_config_set_connector(&f->cfg, &f->cfg.source, "testgod"), NB_OK);
  assert_int_equal(nbh_config_set_connector(&f->cfg, &f->cfg.destination, "testgood"), NB_OK);
  assert_int_equal(nbh_config_resolve(&f->cfg, &f->plugins, NULL, &f->err), NB_NOT_FOUND);
  assert_string_equal(f->err.message, "connector \"testgod\" not found");
  assert_string_equal(f->err.hint, "Did you mean \"testgood\"?");
}

/* ------------------------------------------------------------------------
 * ${ENV}
 * ------------------------------------------------------------------------ */

static void test_env_substitution(void **state) {
  Fixture *f = *state;
  setenv("NEBULA_TEST_DIR", "/data/x", 1);
  unsetenv("NEBULA_TEST_UNSET_VARIABLE");
  assert_int_equal(load(f, "env.conf", NULL), NB_OK);
  assert_string_equal(value_of(&f->cfg.source, "path", NULL), "/data/x/in.csv");
  assert_string_equal(value_of(&f->cfg.destination, "path", NULL), "/data/x/out.jsonl");
  assert_string_equal(value_of(&f->cfg.source, "delimiter", NULL), "${NOT_A_VARIABLE} costs $5");
  assert_string_equal(value_of(&f->cfg.source, "password", NULL), "fallback");
  unsetenv("NEBULA_TEST_DIR");
}

static void test_env_unset_is_an_error(void **state) {
  Fixture *f = *state;
  unsetenv("NEBULA_TEST_UNSET_VARIABLE");
  assert_int_equal(load(f, "env_unset.conf", NULL), NB_INVALID);
  assert_string_equal(f->err.message,
                      "environment variable \"NEBULA_TEST_UNSET_VARIABLE\" is not set in file \"" DATA
                      "env_unset.conf\" line 4");
  assert_contains(f->err.detail, "\"destination.path\"");
  assert_contains(f->err.hint, "$${NEBULA_TEST_UNSET_VARIABLE}");
}

static void test_env_bad_reference(void **state) {
  Fixture *f = *state;
  char path[] = "/tmp/nebula-test-config-XXXXXX";
  int fd = mkstemp(path);
  FILE *out;
  assert_true(fd >= 0);
  out = fdopen(fd, "w");
  fputs("source = { connector = \"testgood\";\n  path = \"${1ABC}\"; };\n", out);
  fclose(out);
  assert_int_equal(nbh_config_load(&f->cfg, path, &f->err), NB_INVALID);
  assert_contains(f->err.message, "invalid environment variable reference \"${1ABC}\"");
  assert_contains(f->err.message, "line 2");
  nb_error_release(&f->err);
  out = fopen(path, "w");
  fputs("source = { connector = \"testgood\"; path = \"${OPEN\"; };\n", out);
  fclose(out);
  nbh_config_free(&f->cfg);
  nbh_config_init(&f->cfg);
  assert_int_equal(nbh_config_load(&f->cfg, path, &f->err), NB_INVALID);
  assert_contains(f->err.message, "unterminated environment variable reference");
  unlink(path);
}

/* ------------------------------------------------------------------------
 * The command line
 * ------------------------------------------------------------------------ */

static void cli_pipeline(Fixture *f) {
  assert_int_equal(nbh_config_set_connector(&f->cfg, &f->cfg.source, "testgood"), NB_OK);
  assert_int_equal(nbh_config_set_connector(&f->cfg, &f->cfg.destination, "testgood"), NB_OK);
  assert_int_equal(nbh_config_add_setting(&f->cfg, &f->cfg.source, "path", "in.csv",
                                          "--source-path"),
                   NB_OK);
  assert_int_equal(nbh_config_add_setting(&f->cfg, &f->cfg.destination, "path", "-",
                                          "--dest-path"),
                   NB_OK);
}

static void test_cli_either_side(void **state) {
  Fixture *f = *state;
  cli_pipeline(f);
  assert_int_equal(nbh_config_add_either(&f->cfg, "delimiter", ";", "-s"), NB_OK);
  assert_int_equal(nbh_config_add_either(&f->cfg, "format", "array", "-s"), NB_OK);
  assert_int_equal(nbh_config_resolve(&f->cfg, &f->plugins, NULL, &f->err), NB_OK);
  assert_string_equal(value_of(&f->cfg.source, "delimiter", NULL), ";");
  assert_string_equal(value_of(&f->cfg.destination, "format", NULL), "array");
  assert_string_equal(value_of(&f->cfg.destination, "path", NULL), "-");
}

static void test_cli_ambiguous(void **state) {
  Fixture *f = *state;
  cli_pipeline(f);
  assert_int_equal(nbh_config_add_either(&f->cfg, "rows", "5", "-s"), NB_OK);
  assert_int_equal(nbh_config_resolve(&f->cfg, &f->plugins, NULL, &f->err), NB_INVALID);
  assert_string_equal(f->err.message, "ambiguous setting \"rows\" given by option -s");
  assert_contains(f->err.hint, "--source-setting");
}

static void test_cli_unrecognized(void **state) {
  Fixture *f = *state;
  cli_pipeline(f);
  assert_int_equal(nbh_config_add_either(&f->cfg, "fromat", "lines", "-s"), NB_OK);
  assert_int_equal(nbh_config_resolve(&f->cfg, &f->plugins, NULL, &f->err), NB_INVALID);
  assert_string_equal(f->err.message, "unrecognized setting \"fromat\" given by option -s");
  assert_string_equal(f->err.hint, "Did you mean \"format\"?");
}

static void test_cli_bad_int(void **state) {
  Fixture *f = *state;
  cli_pipeline(f);
  assert_int_equal(nbh_config_add_setting(&f->cfg, &f->cfg.source, "rows", "12x",
                                          "--source-setting"),
                   NB_OK);
  assert_int_equal(nbh_config_resolve(&f->cfg, &f->plugins, NULL, &f->err), NB_INVALID);
  assert_string_equal(f->err.message,
                      "invalid value for setting \"source.rows\" given by option --source-setting");
  assert_contains(f->err.detail, "\"12x\"");
}

static void test_cli_missing_path_hint(void **state) {
  Fixture *f = *state;
  assert_int_equal(nbh_config_set_connector(&f->cfg, &f->cfg.source, "testgood"), NB_OK);
  assert_int_equal(nbh_config_set_connector(&f->cfg, &f->cfg.destination, "testgood"), NB_OK);
  assert_int_equal(nbh_config_resolve(&f->cfg, &f->plugins, NULL, &f->err), NB_INVALID);
  assert_string_equal(f->err.message, "missing required setting \"source.path\"");
  assert_string_equal(f->err.hint, "Give it with --source-path PATH.");
}

static void test_cli_engine_settings(void **state) {
  Fixture *f = *state;
  assert_int_equal(nbh_config_set_engine(&f->cfg, "batch_rows", "500", "--batch-rows", &f->err),
                   NB_OK);
  assert_int_equal(f->cfg.engine.batch_rows, 500);
  assert_int_equal(nbh_config_set_engine(&f->cfg, "batch_rows", "0", "--batch-rows", &f->err),
                   NB_INVALID);
  assert_string_equal(f->err.message,
                      "invalid value for setting \"engine.batch_rows\" given by option --batch-rows");
  nb_error_release(&f->err);
  assert_int_equal(nbh_config_set_engine(&f->cfg, "on_error", "skipp", "--on-error", &f->err),
                   NB_INVALID);
  assert_string_equal(f->err.hint, "Did you mean \"skip\"?");
  nb_error_release(&f->err);
  /* dead_letter without a file is caught when the pipeline is resolved. */
  cli_pipeline(f);
  assert_int_equal(nbh_config_set_engine(&f->cfg, "on_error", "dead_letter", "--on-error",
                                         &f->err),
                   NB_OK);
  assert_int_equal(nbh_config_resolve(&f->cfg, &f->plugins, NULL, &f->err), NB_INVALID);
  assert_contains(f->err.message, "\"dead_letter\"");
}

/* ------------------------------------------------------------------------
 * Secrets and the logger
 * ------------------------------------------------------------------------ */

static void test_secrets_are_registered_and_redacted(void **state) {
  Fixture *f = *state;
  NbhLogger logger;
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  uint32_t i;
  assert_non_null(out);
  assert_int_equal(nbh_logger_init(&logger, NBH_LOG_LOGFMT, NB_LOG_DEBUG, out), 0);
  assert_int_equal(load(f, "secret.conf", &logger), NB_OK);
  for (i = 0; i < f->cfg.source.settings.count; i++)
    assert_int_equal(f->cfg.source.secret[i], strcmp(f->cfg.source.names[i], "password") == 0 ||
                                                  strcmp(f->cfg.source.names[i], "pin") == 0);
  nbh_log(&logger, NB_LOG_INFO, "testgood", "connecting with hunter2-secret and pin 1234");
  nbh_log_report(&logger, NB_LOG_ERROR, "testgood", "login failed for other-secret",
                 "password hunter2-secret rejected", NULL);
  fflush(out);
  assert_lacks(text, "hunter2");
  assert_lacks(text, "1234");
  assert_lacks(text, "other-secret");
  assert_contains(text, "connecting with [REDACTED] and pin [REDACTED]");
  assert_contains(text, "DETAIL: password [REDACTED] rejected");
  nbh_logger_destroy(&logger);
  fclose(out);
  free(text);
}

static void test_secret_value_not_in_errors(void **state) {
  Fixture *f = *state;
  cli_pipeline(f);
  assert_int_equal(nbh_config_add_setting(&f->cfg, &f->cfg.source, "pin", "98x76",
                                          "--source-setting"),
                   NB_OK);
  assert_int_equal(nbh_config_resolve(&f->cfg, &f->plugins, NULL, &f->err), NB_INVALID);
  assert_contains(f->err.message, "\"source.pin\"");
  assert_lacks(f->err.message, "98x76");
  assert_lacks(f->err.detail, "98x76");
}

static void test_logger_formats(void **state) {
  NbhLogger logger;
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  (void)state;
  assert_int_equal(nbh_logger_init(&logger, NBH_LOG_JSON, NB_LOG_INFO, out), 0);
  assert_int_equal(nbh_logger_add_secret(&logger, "abc"), 0);
  assert_int_equal(nbh_logger_add_secret(&logger, "abcdef"), 0);
  assert_int_equal(nbh_logger_add_secret(&logger, ""), 0);
  nbh_log(&logger, NB_LOG_INFO, "engine", "quote \" tab \t key abcdef and abc, bad \xff byte");
  nbh_log(&logger, NB_LOG_DEBUG, "engine", "dropped: above the level");
  fflush(out);
  /* Longest secret first: no tail of "abcdef" leaks. */
  assert_contains(text, "\"level\":\"info\",\"component\":\"engine\",\"msg\":\"quote \\\" tab "
                        "\\t key [REDACTED] and [REDACTED], bad \\ufffd byte\"}\n");
  assert_lacks(text, "dropped");
  assert_lacks(text, "def and");
  nbh_logger_destroy(&logger);
  fclose(out);
  free(text);

  text = NULL;
  out = open_memstream(&text, &len);
  assert_int_equal(nbh_logger_init(&logger, NBH_LOG_LOGFMT, NB_LOG_WARN, out), 0);
  nbh_log(&logger, NB_LOG_WARN, "csv", "plain");
  nbh_log(&logger, NB_LOG_ERROR, "csv", "two words");
  nbh_log(&logger, NB_LOG_INFO, "csv", "hidden");
  fflush(out);
  assert_contains(text, " level=warn component=csv msg=plain\n");
  assert_contains(text, " level=error component=csv msg=\"two words\"\n");
  assert_lacks(text, "hidden");
  assert_int_equal(strncmp(text, "ts=", 3), 0);
  nbh_logger_destroy(&logger);
  fclose(out);
  free(text);
}

/* Every unsafe character escaped as \xNN per byte, the rest kept, the
 * length capped with "...", and the function idempotent. */
static void test_printable(void **state) {
  char *t;
  (void)state;
  t = nbh_printable("a\033[2J\nb\tc\x7f", 100);
  assert_string_equal(t, "a\\x1B[2J\\x0Ab\\x09c\\x7F");
  free(t);
  t = nbh_printable("C1 \xc2\x9b bidi \xe2\x80\xae bad \xff \xc3 ok \xc3\xa9 \xe2\x82\xac", 100);
  assert_string_equal(t, "C1 \\xC2\\x9B bidi \\xE2\\x80\\xAE bad \\xFF \\xC3 ok \xc3\xa9 \xe2\x82\xac");
  {
    char *again = nbh_printable(t, 1000);
    assert_string_equal(again, t);
    free(again);
  }
  free(t);
  t = nbh_printable("abcdefgh", 4);
  assert_string_equal(t, "abcd...");
  free(t);
  /* A character cut by the cap is dropped, not reported as malformed. */
  t = nbh_printable("abc\xc3\xa9", 4);
  assert_string_equal(t, "abc...");
  free(t);
  t = nbh_printable(NULL, 10);
  assert_string_equal(t, "(null)");
  free(t);
  assert_true(nbh_utf8_valid("\xc3\xa9", 2));
  assert_false(nbh_utf8_valid("\xc3", 1));
  assert_false(nbh_utf8_valid("\xed\xa0\x80", 3));
  assert_false(nbh_utf8_valid("\xc0\x80", 2));
}

/* The human report format escapes what it prints and names the connector
 * a report comes from. */
static void test_report_is_printable_and_named(void **state) {
  NbhLogger logger;
  char *text = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&text, &size);
  (void)state;
  assert_non_null(out);
  assert_int_equal(nbh_logger_init(&logger, NBH_LOG_LOGFMT, NB_LOG_INFO, out), 0);
  nbh_log_report(&logger, NB_LOG_ERROR, "csv", "bad\nnebula-host: forged", "d\033[2J", "h\x9b");
  nbh_log_report(&logger, NB_LOG_ERROR, "engine", "plain", NULL, NULL);
  fflush(out);
  assert_contains(text, "nebula-host: connector \"csv\": bad\\x0Anebula-host: forged\n"
                        "DETAIL: d\\x1B[2J\nHINT: h\\x9B\n");
  assert_contains(text, "nebula-host: plain\n");
  nbh_logger_destroy(&logger);
  fclose(out);
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_good_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_engine_group, setup, teardown),
      cmocka_unit_test_setup_teardown(test_numbers_as_written, setup, teardown),
      cmocka_unit_test_setup_teardown(test_integer_overflow, setup, teardown),
      cmocka_unit_test_setup_teardown(test_float_overflow, setup, teardown),
      cmocka_unit_test_setup_teardown(test_engine_overflow, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_integer_overflow, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_syntax_error_names_file_and_line, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unrecognized_top_level, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unrecognized_connector_setting, setup, teardown),
      cmocka_unit_test_setup_teardown(test_setting_of_the_other_side, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_type, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_required, setup, teardown),
      cmocka_unit_test_setup_teardown(test_enum_choice, setup, teardown),
      cmocka_unit_test_setup_teardown(test_engine_unrecognized, setup, teardown),
      cmocka_unit_test_setup_teardown(test_engine_wrong_type, setup, teardown),
      cmocka_unit_test_setup_teardown(test_engine_bad_choice, setup, teardown),
      cmocka_unit_test_setup_teardown(test_engine_out_of_range, setup, teardown),
      cmocka_unit_test_setup_teardown(test_connector_not_found, setup, teardown),
      cmocka_unit_test_setup_teardown(test_env_substitution, setup, teardown),
      cmocka_unit_test_setup_teardown(test_env_unset_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_env_bad_reference, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_either_side, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_ambiguous, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_unrecognized, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_bad_int, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_missing_path_hint, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_engine_settings, setup, teardown),
      cmocka_unit_test_setup_teardown(test_secrets_are_registered_and_redacted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_secret_value_not_in_errors, setup, teardown),
      cmocka_unit_test(test_logger_formats),
      cmocka_unit_test(test_printable),
      cmocka_unit_test(test_report_is_printable_and_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
