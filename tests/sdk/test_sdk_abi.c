/*
 * test_sdk_abi.c - the ABI guard.
 *
 * 1. Every field of every struct of include/nebula/abi.h sits at the offset
 *    and has the size the frozen ABI 1.0 header (abi/nebula_abi_1_0.h)
 *    gives it, and no struct shrank: moving, removing or retyping a field
 *    fails here.  On LP64 systems the sizes are also checked against
 *    numbers recorded when 1.0 was released.
 * 2. A connector built against the frozen header only
 *    (abi/connector_v1_0.c) is accepted by the host's loader
 *    (nbh_plugin_load_file), and its source and destination work through
 *    the current structs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "abi/nebula_abi_1_0.h"
#include "loader.h"
#include "nebula/sdk.h"

#define SAME(cur, old, field)                                              \
  do {                                                                     \
    assert_int_equal(offsetof(cur, field), offsetof(old, field));          \
    assert_int_equal(sizeof(((cur *)0)->field), sizeof(((old *)0)->field)); \
  } while (0)

static void error_layout(void **state) {
  (void)state;
  SAME(NbError, NbError_v1_0, struct_size);
  SAME(NbError, NbError_v1_0, code);
  SAME(NbError, NbError_v1_0, message);
  SAME(NbError, NbError_v1_0, detail);
  SAME(NbError, NbError_v1_0, hint);
  SAME(NbError, NbError_v1_0, location);
  SAME(NbError, NbError_v1_0, line);
  SAME(NbError, NbError_v1_0, column);
  SAME(NbError, NbError_v1_0, record);
  SAME(NbError, NbError_v1_0, record_len);
  SAME(NbError, NbError_v1_0, release);
  SAME(NbError, NbError_v1_0, private_data);
  assert_true(sizeof(NbError) >= sizeof(NbError_v1_0));
}

static void settings_layout(void **state) {
  (void)state;
  SAME(NbSettingSpec, NbSettingSpec_v1_0, struct_size);
  SAME(NbSettingSpec, NbSettingSpec_v1_0, type);
  SAME(NbSettingSpec, NbSettingSpec_v1_0, flags);
  SAME(NbSettingSpec, NbSettingSpec_v1_0, name);
  SAME(NbSettingSpec, NbSettingSpec_v1_0, default_value);
  SAME(NbSettingSpec, NbSettingSpec_v1_0, choices);
  SAME(NbSettingSpec, NbSettingSpec_v1_0, doc);
  assert_true(sizeof(NbSettingSpec) >= sizeof(NbSettingSpec_v1_0));
  SAME(NbSettings, NbSettings_v1_0, struct_size);
  SAME(NbSettings, NbSettings_v1_0, count);
  SAME(NbSettings, NbSettings_v1_0, names);
  SAME(NbSettings, NbSettings_v1_0, values);
  assert_true(sizeof(NbSettings) >= sizeof(NbSettings_v1_0));
  /* The values of 1.0's constants never change. */
  assert_int_equal(NB_SETTING_STRING, NB10_SETTING_STRING);
  assert_int_equal(NB_SETTING_INT, NB10_SETTING_INT);
  assert_int_equal(NB_SETTING_DOUBLE, NB10_SETTING_DOUBLE);
  assert_int_equal(NB_SETTING_BOOL, NB10_SETTING_BOOL);
  assert_int_equal(NB_SETTING_ENUM, NB10_SETTING_ENUM);
  assert_int_equal(NB_SETTING_REQUIRED, NB10_SETTING_REQUIRED);
  assert_int_equal(NB_SETTING_SECRET, NB10_SETTING_SECRET);
  assert_int_equal(NB_SETTING_SOURCE, NB10_SETTING_SOURCE);
  assert_int_equal(NB_SETTING_DEST, NB10_SETTING_DEST);
}

static void constants(void **state) {
  (void)state;
  assert_int_equal(NB_ABI_MAJOR_OF(NB_ABI_CURRENT), 1);
  assert_int_equal(NB_ABI_VERSION(1, 0), NB10_ABI_VERSION);
  assert_string_equal(NB_CONNECTOR_ENTRY_SYMBOL, NB10_ENTRY_SYMBOL);
  assert_int_equal(NB_OK, NB10_OK);
  assert_int_equal(NB_END, NB10_END);
  assert_int_equal(NB_SCHEMA_CHANGED, NB10_SCHEMA_CHANGED);
  assert_int_equal(NB_INVALID, NB10_INVALID);
  assert_int_equal(NB_IO, NB10_IO);
  assert_int_equal(NB_UNAVAILABLE, NB10_UNAVAILABLE);
  assert_int_equal(NB_DATA, NB10_DATA);
  assert_int_equal(NB_CANCELLED, NB10_CANCELLED);
  assert_int_equal(NB_NOT_IMPLEMENTED, NB10_NOT_IMPLEMENTED);
  assert_int_equal(NB_INTERNAL, NB10_INTERNAL);
  assert_int_equal(NB_NOMEM, NB10_NOMEM);
  assert_int_equal(NB_ABI_MISMATCH, NB10_ABI_MISMATCH);
  assert_int_equal(NB_NOT_FOUND, NB10_NOT_FOUND);
  assert_int_equal(NB_CAP_SOURCE, NB10_CAP_SOURCE);
  assert_int_equal(NB_CAP_DESTINATION, NB10_CAP_DESTINATION);
  assert_int_equal(NB_CAP_RESUMABLE, NB10_CAP_RESUMABLE);
}

static void host_api_layout(void **state) {
  (void)state;
  SAME(NbWriteOptions, NbWriteOptions_v1_0, struct_size);
  SAME(NbWriteOptions, NbWriteOptions_v1_0, compression);
  SAME(NbWriteOptions, NbWriteOptions_v1_0, level);
  SAME(NbWriteOptions, NbWriteOptions_v1_0, threads);
  SAME(NbWriteOptions, NbWriteOptions_v1_0, resume_length);
  assert_true(sizeof(NbWriteOptions) >= sizeof(NbWriteOptions_v1_0));
  SAME(NbHostApi, NbHostApi_v1_0, struct_size);
  SAME(NbHostApi, NbHostApi_v1_0, abi_version);
  SAME(NbHostApi, NbHostApi_v1_0, host_data);
  SAME(NbHostApi, NbHostApi_v1_0, log);
  SAME(NbHostApi, NbHostApi_v1_0, is_cancelled);
  SAME(NbHostApi, NbHostApi_v1_0, counter_add);
  SAME(NbHostApi, NbHostApi_v1_0, file_open_read);
  SAME(NbHostApi, NbHostApi_v1_0, file_read);
  SAME(NbHostApi, NbHostApi_v1_0, file_open_write);
  SAME(NbHostApi, NbHostApi_v1_0, file_write);
  SAME(NbHostApi, NbHostApi_v1_0, file_commit);
  SAME(NbHostApi, NbHostApi_v1_0, file_close);
  SAME(NbHostApi, NbHostApi_v1_0, file_skip);
  assert_true(sizeof(NbHostApi) >= sizeof(NbHostApi_v1_0));
}

static void call_args_layout(void **state) {
  (void)state;
  SAME(NbOpenArgs, NbOpenArgs_v1_0, struct_size);
  SAME(NbOpenArgs, NbOpenArgs_v1_0, settings);
  SAME(NbOpenArgs, NbOpenArgs_v1_0, batch_rows);
  SAME(NbOpenArgs, NbOpenArgs_v1_0, batch_bytes);
  SAME(NbOpenArgs, NbOpenArgs_v1_0, state);
  SAME(NbOpenArgs, NbOpenArgs_v1_0, state_len);
  assert_true(sizeof(NbOpenArgs) >= sizeof(NbOpenArgs_v1_0));
  SAME(NbStreamInfo, NbStreamInfo_v1_0, struct_size);
  SAME(NbStreamInfo, NbStreamInfo_v1_0, name);
  SAME(NbStreamInfo, NbStreamInfo_v1_0, size_bytes);
  assert_true(sizeof(NbStreamInfo) >= sizeof(NbStreamInfo_v1_0));
  SAME(NbBatchInfo, NbBatchInfo_v1_0, struct_size);
  SAME(NbBatchInfo, NbBatchInfo_v1_0, position);
  SAME(NbBatchInfo, NbBatchInfo_v1_0, position_len);
  SAME(NbBatchInfo, NbBatchInfo_v1_0, bytes_read);
  assert_true(sizeof(NbBatchInfo) >= sizeof(NbBatchInfo_v1_0));
}

static void connector_layout(void **state) {
  (void)state;
  SAME(NbConnector, NbConnector_v1_0, struct_size);
  SAME(NbConnector, NbConnector_v1_0, abi_version);
  SAME(NbConnector, NbConnector_v1_0, name);
  SAME(NbConnector, NbConnector_v1_0, version);
  SAME(NbConnector, NbConnector_v1_0, description);
  SAME(NbConnector, NbConnector_v1_0, capabilities);
  SAME(NbConnector, NbConnector_v1_0, settings);
  SAME(NbConnector, NbConnector_v1_0, n_settings);
  SAME(NbConnector, NbConnector_v1_0, source_open);
  SAME(NbConnector, NbConnector_v1_0, source_stream_count);
  SAME(NbConnector, NbConnector_v1_0, source_stream_info);
  SAME(NbConnector, NbConnector_v1_0, source_schema);
  SAME(NbConnector, NbConnector_v1_0, source_seek);
  SAME(NbConnector, NbConnector_v1_0, source_next);
  SAME(NbConnector, NbConnector_v1_0, source_close);
  SAME(NbConnector, NbConnector_v1_0, dest_open);
  SAME(NbConnector, NbConnector_v1_0, dest_prepare);
  SAME(NbConnector, NbConnector_v1_0, dest_write);
  SAME(NbConnector, NbConnector_v1_0, dest_commit);
  SAME(NbConnector, NbConnector_v1_0, dest_close);
  assert_true(sizeof(NbConnector) >= sizeof(NbConnector_v1_0));
  /* struct_size and abi_version stay at 0 and 4 in every major. */
  assert_int_equal(offsetof(NbConnector, struct_size), 0);
  assert_int_equal(offsetof(NbConnector, abi_version), 4);
  assert_int_equal(NB_CONNECTOR_SIZE_1_0, sizeof(NbConnector_v1_0));
}

/* ABI 1.1 appends dest_finish right after the last 1.0 slot, and nothing
 * else: every 1.0 offset above is unchanged. */
static void connector_1_1_appends_dest_finish(void **state) {
  (void)state;
  assert_int_equal(offsetof(NbConnector, dest_finish), NB_CONNECTOR_SIZE_1_0);
  assert_int_equal(NB_CONNECTOR_SIZE_1_1, sizeof(NbConnector));
  assert_int_equal(NB_SETTING_SPEC_SIZE_1_0, sizeof(NbSettingSpec_v1_0));
}

/* ABI 1.2 adds NbStorage: struct_size and abi_version at the connector's
 * offsets (the loader reads them the same way); the read-only size ends at
 * reader_close, the writer slots are appended after it. */
static void storage_1_2_layout(void **state) {
  (void)state;
  assert_int_equal(offsetof(NbStorage, struct_size), offsetof(NbConnector, struct_size));
  assert_int_equal(offsetof(NbStorage, abi_version), offsetof(NbConnector, abi_version));
  assert_int_equal(NB_STORAGE_SIZE_1_2, offsetof(NbStorage, reader_close) + sizeof(void (*)(void)));
  /* The writer slots follow reader_close in their documented order. */
  assert_int_equal(offsetof(NbStorage, writer_open), NB_STORAGE_SIZE_1_2);
  assert_int_equal(offsetof(NbStorage, writer_write),
                   offsetof(NbStorage, writer_open) + sizeof(void (*)(void)));
  assert_int_equal(offsetof(NbStorage, writer_commit),
                   offsetof(NbStorage, writer_write) + sizeof(void (*)(void)));
  assert_int_equal(offsetof(NbStorage, writer_finish),
                   offsetof(NbStorage, writer_commit) + sizeof(void (*)(void)));
  assert_int_equal(offsetof(NbStorage, writer_abort),
                   offsetof(NbStorage, writer_finish) + sizeof(void (*)(void)));
  assert_int_equal(offsetof(NbStorage, writer_close),
                   offsetof(NbStorage, writer_abort) + sizeof(void (*)(void)));
  assert_int_equal(NB_STORAGE_SIZE_1_2_WRITE, sizeof(NbStorage));
}

/* ABI 1.2 appends the three block_* slots to NbHostApi right after the
 * last 1.0 slot (1.1 added none), and changes nothing else. */
static void host_1_2_appends_block_slots(void **state) {
  (void)state;
  assert_int_equal(NB_ABI_CURRENT, NB_ABI_VERSION(1, 2));
  assert_int_equal(NB_ABI_MINOR_OF(NB_ABI_CURRENT), 2);
  assert_int_equal(offsetof(NbHostApi, block_compress_bound), sizeof(NbHostApi_v1_0));
  assert_int_equal(offsetof(NbHostApi, block_compress),
                   offsetof(NbHostApi, block_compress_bound) + sizeof(void (*)(void)));
  assert_int_equal(offsetof(NbHostApi, block_decompress),
                   offsetof(NbHostApi, block_compress) + sizeof(void (*)(void)));
  /* Then file_list (storage modules) and committed_position, the last
   * slot of 1.2. */
  assert_int_equal(offsetof(NbHostApi, file_list),
                   offsetof(NbHostApi, block_decompress) + sizeof(void (*)(void)));
  assert_int_equal(offsetof(NbHostApi, committed_position),
                   offsetof(NbHostApi, file_list) + sizeof(void (*)(void)));
  assert_int_equal(sizeof(NbHostApi),
                   offsetof(NbHostApi, committed_position) + sizeof(void (*)(void)));
  /* A 1.0 host's struct_size does not cover them. */
  NbHostApi host;
  memset(&host, 0, sizeof host);
  host.struct_size = (uint32_t)sizeof(NbHostApi_v1_0);
  host.block_compress = NULL;
  assert_false(NB_STRUCT_HAS(NbHostApi, &host, block_compress));
}

/* ABI 1.2 appends NbStreamInfo.flags after the 1.0 fields: a 1.0 writer's
 * struct_size does not cover it, so the host reads no flags from it. */
static void stream_info_1_2_appends_flags(void **state) {
  NbStreamInfo info;
  (void)state;
  assert_int_equal(offsetof(NbStreamInfo, flags), sizeof(NbStreamInfo_v1_0));
  assert_true(sizeof(NbStreamInfo) >= sizeof(NbStreamInfo_v1_0) + sizeof(uint64_t));
  assert_int_equal(NB_STREAM_REOPENS, 1);
  memset(&info, 0, sizeof info);
  info.struct_size = (uint32_t)sizeof(NbStreamInfo_v1_0);
  assert_false(NB_STRUCT_HAS(NbStreamInfo, &info, flags));
  info.struct_size = (uint32_t)sizeof info;
  assert_true(NB_STRUCT_HAS(NbStreamInfo, &info, flags));
}

/* ABI 1.2 also appends the stream's key after flags: a writer whose
 * struct_size ends at flags holds no key. */
static void stream_info_1_2_appends_key(void **state) {
  NbStreamInfo info;
  (void)state;
  assert_true(offsetof(NbStreamInfo, key_columns) >= offsetof(NbStreamInfo, flags) + sizeof(uint64_t));
  assert_true(offsetof(NbStreamInfo, key_count) > offsetof(NbStreamInfo, key_columns));
  memset(&info, 0, sizeof info);
  info.struct_size = (uint32_t)(offsetof(NbStreamInfo, flags) + sizeof(uint64_t));
  assert_true(NB_STRUCT_HAS(NbStreamInfo, &info, flags));
  assert_false(NB_STRUCT_HAS(NbStreamInfo, &info, key_columns));
  assert_false(NB_STRUCT_HAS(NbStreamInfo, &info, key_count));
  info.struct_size = (uint32_t)sizeof info;
  assert_true(NB_STRUCT_HAS(NbStreamInfo, &info, key_count));
}

/* NB_STRUCT_HAS compares the end of a field with struct_size: a struct_size
 * that cuts a field in half does not hold it (the 1.0 header's example
 * compared with the field's offset and accepted that). */
static void struct_has_needs_the_whole_field(void **state) {
  NbHostApi host;
  (void)state;
  memset(&host, 0, sizeof host);
  host.file_skip = NULL;
  host.struct_size = (uint32_t)sizeof host;
  assert_true(NB_STRUCT_HAS(NbHostApi, &host, file_skip));
  assert_false(NB_HOST_HAS(&host, file_skip)); /* covered but NULL */
  host.struct_size = (uint32_t)(offsetof(NbHostApi, file_skip) + 1);
  assert_false(NB_STRUCT_HAS(NbHostApi, &host, file_skip));
  host.struct_size = (uint32_t)offsetof(NbHostApi, file_skip);
  assert_false(NB_STRUCT_HAS(NbHostApi, &host, file_skip));
  assert_true(NB_STRUCT_HAS(NbHostApi, &host, file_close));
  assert_false(NB_HOST_HAS((const NbHostApi *)NULL, log));
}

/* Recorded when ABI 1.0 was released, for LP64 (x86_64, aarch64, ...). */
static void recorded_lp64_sizes(void **state) {
  (void)state;
#if UINTPTR_MAX == UINT64_MAX && SIZE_MAX == UINT64_MAX
  assert_int_equal(sizeof(NbError_v1_0), 88);
  assert_int_equal(sizeof(NbSettingSpec_v1_0), 48);
  assert_int_equal(sizeof(NbSettings_v1_0), 24);
  assert_int_equal(sizeof(NbWriteOptions_v1_0), 32);
  assert_int_equal(sizeof(NbHostApi_v1_0), 96);
  assert_int_equal(sizeof(NbOpenArgs_v1_0), 48);
  assert_int_equal(sizeof(NbStreamInfo_v1_0), 24);
  assert_int_equal(sizeof(NbBatchInfo_v1_0), 32);
  assert_int_equal(sizeof(NbConnector_v1_0), 152);
  assert_int_equal(offsetof(NbConnector_v1_0, source_open), 56);
  assert_int_equal(offsetof(NbConnector_v1_0, dest_open), 112);
  /* libnebula-sdk's frozen caller-allocated structs (sdk.h). */
  assert_int_equal(sizeof(NbField), 32);
  assert_int_equal(offsetof(NbField, timezone), 24);
  assert_int_equal(sizeof(NbStringRef), 16);
#else
  assert_true(sizeof(NbConnector_v1_0) > 0); /* other data models: part 1 only */
#endif
}

/* ------------------------------------------------------------------------
 * The old connector through the current loader
 * ------------------------------------------------------------------------ */

static const char *module_path(void) {
  return TOP_BUILDDIR "/tests/abi/.libs/connector_v1_0.so";
}

static void old_connector_loads(void **state) {
  NbhPluginSet set;
  const NbhPlugin *p;
  (void)state;
  nbh_plugins_init(&set);
  if (nbh_plugin_load_file(module_path(), &set) != 0) {
    for (size_t i = 0; i < set.n_errors; i++)
      print_error("%s: %s %s\n", set.errors[i].path, set.errors[i].message,
                  set.errors[i].detail != NULL ? set.errors[i].detail : "");
    fail_msg("the loader refused the ABI 1.0 connector");
  }
  p = nbh_plugins_find(&set, "numbers_v1_0");
  assert_non_null(p);
  assert_int_equal(p->abi_version, NB_ABI_VERSION(1, 0));
  assert_int_equal(p->vtable.struct_size, sizeof(NbConnector_v1_0));
  assert_null(p->vtable.dest_finish); /* beyond its struct_size: zero */
  assert_string_equal(p->vtable.version, "1.0.0");
  assert_non_null(p->vtable.source_next);
  assert_non_null(p->vtable.dest_close);
  assert_int_equal(p->vtable.n_settings, 1);
  assert_string_equal(nbh_connector_setting(&p->vtable, 0)->name, "rows");
  nbh_plugins_free(&set);
}

static void old_connector_moves_data(void **state) {
  NbhPluginSet set;
  const NbhPlugin *p;
  const NbConnector *c;
  const char *names[1] = {"rows"}, *values[1] = {"25"};
  NbSettings settings = {sizeof settings, 1, names, values};
  NbOpenArgs args;
  NbHostApi host;
  void *src = NULL, *dest = NULL;
  struct ArrowSchema schema;
  uint32_t stream;
  int64_t rows = 0, batches = 0;
  const void *dstate;
  size_t dstate_len;
  uint64_t committed;
  NbError err;
  (void)state;
  nbh_plugins_init(&set);
  assert_int_equal(nbh_plugin_load_file(module_path(), &set), 0);
  p = nbh_plugins_find(&set, "numbers_v1_0");
  assert_non_null(p);
  c = &p->vtable;
  memset(&host, 0, sizeof host);
  host.struct_size = sizeof host;
  host.abi_version = NB_ABI_CURRENT;
  memset(&args, 0, sizeof args);
  args.struct_size = sizeof args;
  args.settings = &settings;
  args.batch_rows = 10;
  args.batch_bytes = 1 << 20;
  nb_error_init(&err);
  assert_int_equal(c->source_open(&host, &args, &src, &err), NB_OK);
  assert_int_equal(c->source_schema(src, 0, &schema, &err), NB_OK);
  assert_int_equal(c->dest_open(&host, &args, &dest, &err), NB_OK);
  assert_int_equal(c->dest_prepare(dest, "numbers", &schema, &stream, &err), NB_OK);
  for (;;) {
    struct ArrowArray batch;
    NbBatchInfo info;
    int rc;
    memset(&batch, 0, sizeof batch);
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    rc = c->source_next(src, 0, &batch, &info, &err);
    if (rc == NB_END) break;
    assert_int_equal(rc, NB_OK);
    assert_int_equal(nb_arrow_validate(&schema, &batch, &err), NB_OK);
    assert_int_equal(((const int64_t *)batch.children[0]->buffers[1])[0], rows);
    assert_int_equal(c->dest_write(dest, stream, &batch, &err), NB_OK);
    rows += batch.length;
    batches++;
    batch.release(&batch);
    assert_null(batch.release);
  }
  assert_int_equal(rows, 25);
  assert_int_equal(batches, 3);
  assert_int_equal(c->dest_commit(dest, &dstate, &dstate_len, &err), NB_OK);
  assert_int_equal(dstate_len, sizeof committed);
  memcpy(&committed, dstate, sizeof committed);
  assert_int_equal(committed, 25);
  c->dest_close(dest);
  c->source_close(src);
  schema.release(&schema);

  /* An unrecognized setting comes back as an error the host can read with
   * the current NbError. */
  names[0] = "rowz";
  assert_int_equal(c->source_open(&host, &args, &src, &err), NB_INVALID);
  assert_string_equal(err.message, "unrecognized setting \"rowz\"");
  assert_int_equal(err.code, NB_INVALID);
  nb_error_release(&err);
  nbh_plugins_free(&set);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(error_layout),
      cmocka_unit_test(settings_layout),
      cmocka_unit_test(constants),
      cmocka_unit_test(host_api_layout),
      cmocka_unit_test(call_args_layout),
      cmocka_unit_test(connector_layout),
      cmocka_unit_test(recorded_lp64_sizes),
      cmocka_unit_test(connector_1_1_appends_dest_finish),
      cmocka_unit_test(host_1_2_appends_block_slots),
      cmocka_unit_test(storage_1_2_layout),
      cmocka_unit_test(stream_info_1_2_appends_flags),
      cmocka_unit_test(stream_info_1_2_appends_key),
      cmocka_unit_test(struct_has_needs_the_whole_field),
      cmocka_unit_test(old_connector_loads),
      cmocka_unit_test(old_connector_moves_data),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
