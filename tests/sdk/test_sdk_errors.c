/*
 * test_sdk_errors.c - NbError handling of libnebula-sdk: setting, details,
 * release, struct_size honoured, NULL errors; status names; nb_log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nebula/sdk.h"

static void set_and_release(void **state) {
  NbError err;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nb_error_set(&err, NB_IO, "could not open file \"%s\": %s",
                                "in.csv", "No such file or directory"),
                   NB_IO);
  assert_int_equal(err.code, NB_IO);
  assert_string_equal(err.message,
                      "could not open file \"in.csv\": No such file or directory");
  assert_non_null(err.release);
  nb_error_detail(&err, "The file is %d bytes.", 12);
  nb_error_detail(&err, "It was truncated.");
  nb_error_hint(&err, "Check the path.");
  nb_error_locate(&err, "in.csv", 3, 7);
  nb_error_record(&err, "a,b\0c", 5);
  assert_string_equal(err.detail, "The file is 12 bytes. It was truncated.");
  assert_string_equal(err.hint, "Check the path.");
  assert_string_equal(err.location, "in.csv");
  assert_int_equal(err.line, 3);
  assert_int_equal(err.column, 7);
  assert_int_equal(err.record_len, 5);
  assert_memory_equal(err.record, "a,b\0c", 5);
  err.release(&err);
  assert_null(err.release);
  assert_null(err.message);
  assert_null(err.detail);
  assert_int_equal(err.code, 0);
  assert_int_equal(err.struct_size, sizeof(NbError));
}

static void set_twice_replaces(void **state) {
  NbError err;
  (void)state;
  nb_error_init(&err);
  nb_error_set(&err, NB_IO, "first");
  nb_error_detail(&err, "First detail.");
  nb_error_set(&err, NB_DATA, "second %d", 2);
  assert_int_equal(err.code, NB_DATA);
  assert_string_equal(err.message, "second 2");
  assert_null(err.detail); /* the earlier error was released first */
  nb_error_release(&err);
  assert_null(err.release);
  nb_error_release(&err); /* twice is harmless */
  nb_error_release(NULL);
}

static void null_error_is_fine(void **state) {
  (void)state;
  assert_int_equal(nb_error_set(NULL, NB_INVALID, "x %s", "y"), NB_INVALID);
  nb_error_detail(NULL, "x");
  nb_error_hint(NULL, "x");
  nb_error_locate(NULL, "f", 1, 1);
  nb_error_record(NULL, "x", 1);
}

static bool foreign_released;
static void foreign_release(NbError *e) {
  foreign_released = true;
  e->release = NULL;
}

static void foreign_error_released_first(void **state) {
  NbError err;
  (void)state;
  nb_error_init(&err);
  err.code = NB_IO;
  err.message = (char *)"static message of another producer";
  err.release = foreign_release;
  foreign_released = false;
  nb_error_set(&err, NB_INVALID, "ours");
  assert_true(foreign_released);
  assert_string_equal(err.message, "ours");
  nb_error_release(&err);
}

/* A caller whose NbError is shorter than ours: nothing beyond its
 * struct_size is written. */
static void struct_size_honoured(void **state) {
  unsigned char raw[sizeof(NbError) + 16];
  NbError *err = (NbError *)raw;
  (void)state;
  memset(raw, 0xAB, sizeof raw);
  err->struct_size = (uint32_t)offsetof(NbError, message);
  nb_error_set(err, NB_DATA, "cannot store this");
  assert_int_equal(err->code, NB_DATA);
  for (size_t i = offsetof(NbError, message); i < sizeof raw; i++)
    assert_int_equal(raw[i], 0xAB);

  /* struct_size covering message..release but not record: record stays
   * untouched. */
  memset(raw, 0, sizeof raw);
  memset(raw + offsetof(NbError, record), 0xCD,
         sizeof raw - offsetof(NbError, record));
  err->struct_size = (uint32_t)offsetof(NbError, record);
  nb_error_set(err, NB_DATA, "x");
  /* release is beyond struct_size: no string may be stored */
  assert_null(err->message);
  for (size_t i = offsetof(NbError, record); i < sizeof raw; i++)
    assert_int_equal(raw[i], 0xCD);
}

static void status_names(void **state) {
  (void)state;
  assert_string_equal(nb_status_name(NB_OK), "NB_OK");
  assert_string_equal(nb_status_name(NB_DATA), "NB_DATA");
  assert_string_equal(nb_status_name(NB_NOT_FOUND), "NB_NOT_FOUND");
  assert_string_equal(nb_status_name(NB_ABI_MISMATCH), "NB_ABI_MISMATCH");
  assert_string_equal(nb_status_name(99), "NB_UNRECOGNIZED");
  assert_string_equal(nb_status_name(-1), "NB_UNRECOGNIZED");
}

typedef struct LogSink {
  int level;
  char line[4096];
  int calls;
} LogSink;

static void sink_log(void *data, int level, const char *message) {
  LogSink *s = data;
  s->level = level;
  s->calls++;
  strncpy(s->line, message, sizeof s->line - 1);
}

static void log_through_host(void **state) {
  LogSink sink = {0};
  NbHostApi host;
  char big[2000];
  (void)state;
  memset(&host, 0, sizeof host);
  host.struct_size = sizeof host;
  host.host_data = &sink;
  host.log = sink_log;
  nb_log(&host, NB_LOG_WARN, "read %d rows from \"%s\"", 10, "a.csv");
  assert_int_equal(sink.calls, 1);
  assert_int_equal(sink.level, NB_LOG_WARN);
  assert_string_equal(sink.line, "read 10 rows from \"a.csv\"");
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  nb_log(&host, NB_LOG_INFO, "%s!", big);
  assert_int_equal(strlen(sink.line), sizeof big);
  nb_log(NULL, NB_LOG_INFO, "nobody listens");
  host.struct_size = (uint32_t)offsetof(NbHostApi, log); /* log absent */
  nb_log(&host, NB_LOG_INFO, "not sent");
  assert_int_equal(sink.calls, 2);
}

/* A file_close that fails with a message, or (message NULL) without one. */
static const char *close_message;
static int failing_close(NbFile *file, NbError *err) {
  (void)file;
  if (close_message == NULL) return NB_IO;
  return nb_error_set(err, NB_IO, "%s", close_message);
}

static void close_logged(void **state) {
  LogSink sink = {0};
  NbHostApi host;
  (void)state;
  memset(&host, 0, sizeof host);
  host.struct_size = sizeof host;
  host.host_data = &sink;
  host.log = sink_log;
  host.file_close = failing_close;
  NbFile *file = (NbFile *)&sink; /* never read by failing_close */
  close_message = "disk full";
  assert_int_equal(nb_file_close_logged(&host, file, "out/a.json"), NB_IO);
  assert_int_equal(sink.calls, 1);
  assert_int_equal(sink.level, NB_LOG_ERROR);
  assert_string_equal(sink.line, "could not close file \"out/a.json\": disk full");
  close_message = NULL;
  assert_int_equal(nb_file_close_logged(&host, file, "b"), NB_IO);
  assert_string_equal(sink.line, "could not close file \"b\": NB_IO");
  /* No file: nothing closed, nothing logged. */
  assert_int_equal(nb_file_close_logged(&host, NULL, "c"), NB_OK);
  assert_int_equal(sink.calls, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(set_and_release),
      cmocka_unit_test(set_twice_replaces),
      cmocka_unit_test(null_error_is_fine),
      cmocka_unit_test(foreign_error_released_first),
      cmocka_unit_test(struct_size_honoured),
      cmocka_unit_test(status_names),
      cmocka_unit_test(log_through_host),
      cmocka_unit_test(close_logged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
