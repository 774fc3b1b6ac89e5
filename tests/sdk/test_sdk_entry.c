/*
 * test_sdk_entry.c - the SDK's entry helpers (nebula/sdk.h):
 * NB_CONNECTOR_EXPORT writes the entry of a connector described by one
 * static const NbConnector, and its opens check the settings against the
 * declaration before the connector's own open runs
 * (nb_connector_open_checked).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nebula/sdk.h"

/* The fake opens count their calls in the host's host_data: no globals. */
static int counting_open(const NbHostApi *host, const NbOpenArgs *args,
                         void **handle, NbError *err) {
  (void)args;
  (void)err;
  ++*(int *)host->host_data;
  *handle = host->host_data;
  return NB_OK;
}

static int unused_stream_count(void *s, uint32_t *n, NbError *e) {
  (void)s, (void)e;
  *n = 0;
  return NB_OK;
}

static void unused_close(void *h) { (void)h; }

static const NbSettingSpec specs[] = {
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "rows", "3", NULL, "rows"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_DEST | NB_SETTING_REQUIRED, "path",
               NULL, NULL, "output"),
};

static const NbConnector fake = {
    .name = "fake",
    .version = "0.0.1",
    .description = "test",
    .capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION,
    .settings = specs,
    .n_settings = NB_COUNT(specs),
    .source_open = counting_open,
    .source_stream_count = unused_stream_count,
    .source_close = unused_close,
    .dest_open = counting_open,
    .dest_close = unused_close,
};

NB_CONNECTOR_EXPORT(fake)

typedef struct Env {
  int calls;
  NbHostApi host;
  NbOpenArgs args;
  NbSettings settings;
  const char *names[2];
  const char *values[2];
  NbError err;
} Env;

static void env_init(Env *e, const char *name, const char *value) {
  memset(e, 0, sizeof *e);
  e->host.struct_size = sizeof e->host;
  e->host.host_data = &e->calls;
  e->names[0] = name;
  e->values[0] = value;
  e->settings.struct_size = sizeof e->settings;
  e->settings.count = name != NULL ? 1 : 0;
  e->settings.names = e->names;
  e->settings.values = e->values;
  e->args.struct_size = sizeof e->args;
  e->args.settings = &e->settings;
  e->args.batch_rows = 10;
  e->args.batch_bytes = 1000;
  nb_error_init(&e->err);
}

static void entry_describes_and_wraps(void **state) {
  NbConnector c;
  (void)state;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  assert_int_equal(nebula_connector_entry(NB_ABI_CURRENT, &c, NULL), NB_OK);
  assert_int_equal(c.struct_size, sizeof c);
  assert_int_equal(c.abi_version, NB_ABI_CURRENT);
  assert_string_equal(c.name, "fake");
  assert_int_equal(c.n_settings, 2);
  assert_ptr_equal(c.settings, specs);
  assert_ptr_equal(c.source_stream_count, unused_stream_count);
  /* The opens are the checked wrappers, not the connector's own. */
  assert_non_null(c.source_open);
  assert_non_null(c.dest_open);
  assert_true(c.source_open != counting_open);
  assert_true(c.dest_open != counting_open);
  assert_null(c.source_seek);
}

static void checked_open_refuses_before_opening(void **state) {
  NbConnector c;
  Env e;
  void *h = (void *)&h;
  (void)state;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  assert_int_equal(nebula_connector_entry(NB_ABI_CURRENT, &c, NULL), NB_OK);

  env_init(&e, "rows", "x3");
  assert_int_equal(c.source_open(&e.host, &e.args, &h, &e.err), NB_INVALID);
  assert_null(h);
  assert_int_equal(e.calls, 0);
  assert_non_null(strstr(e.err.message, "rows"));
  nb_error_release(&e.err);

  /* A destination-only setting given to the source. */
  env_init(&e, "path", "out.txt");
  assert_int_equal(c.source_open(&e.host, &e.args, &h, &e.err), NB_INVALID);
  assert_int_equal(e.calls, 0);
  nb_error_release(&e.err);

  /* The destination misses its required path. */
  env_init(&e, NULL, NULL);
  assert_int_equal(c.dest_open(&e.host, &e.args, &h, &e.err), NB_INVALID);
  assert_int_equal(e.calls, 0);
  nb_error_release(&e.err);

  env_init(&e, "rows", "7");
  assert_int_equal(c.source_open(&e.host, &e.args, &h, &e.err), NB_OK);
  assert_int_equal(e.calls, 1);
  env_init(&e, "path", "out.txt");
  assert_int_equal(c.dest_open(&e.host, &e.args, &h, &e.err), NB_OK);
  assert_int_equal(e.calls, 1);
  assert_ptr_equal(h, &e.calls);
}

static void checked_open_without_slot_or_args(void **state) {
  NbConnector c = fake;
  Env e;
  void *h = NULL;
  (void)state;
  c.dest_open = NULL;
  env_init(&e, "path", "out.txt");
  assert_int_equal(nb_connector_open_checked(&c, NB_SETTING_DEST, &e.host, &e.args, &h, &e.err),
                   NB_INVALID);
  assert_non_null(strstr(e.err.message, "destination opened without an open function"));
  nb_error_release(&e.err);
  assert_int_equal(nb_connector_open_checked(&c, NB_SETTING_SOURCE, &e.host, NULL, &h, &e.err),
                   NB_INVALID);
  nb_error_release(&e.err);
  assert_int_equal(nb_connector_open_checked(&c, NB_SETTING_SOURCE, &e.host, &e.args, NULL, NULL),
                   NB_INVALID);
  assert_int_equal(e.calls, 0);
}

/* A host that refuses the major gets a filled error, a host with a short
 * vtable gets nothing beyond its size. */
static void entry_protocol(void **state) {
  unsigned char raw[sizeof(NbConnector) + 16];
  NbConnector *c = (NbConnector *)raw;
  NbError err;
  (void)state;
  memset(raw, 0, sizeof raw);
  c->struct_size = 16;
  assert_int_equal(nebula_connector_entry(NB_ABI_CURRENT, c, NULL), NB_OK);
  assert_int_equal(c->struct_size, 16);
  for (size_t i = 16; i < sizeof raw; i++) assert_int_equal(raw[i], 0);
  memset(raw, 0, sizeof raw);
  c->struct_size = sizeof(NbConnector);
  nb_error_init(&err);
  assert_int_equal(nebula_connector_entry(NB_ABI_VERSION(3, 0), c, &err), NB_ABI_MISMATCH);
  assert_int_equal(err.code, NB_ABI_MISMATCH);
  assert_non_null(strstr(err.message, "connector \"fake\""));
  nb_error_release(&err);
  c->struct_size = 4;
  nb_error_init(&err);
  assert_int_equal(nebula_connector_entry(NB_ABI_CURRENT, c, &err), NB_INVALID);
  assert_non_null(err.message);
  nb_error_release(&err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(entry_describes_and_wraps),
      cmocka_unit_test(checked_open_refuses_before_opening),
      cmocka_unit_test(checked_open_without_slot_or_args),
      cmocka_unit_test(entry_protocol),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
