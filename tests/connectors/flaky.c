/*
 * flaky.c - a test-only connector that misbehaves on request, to test the
 * engine's retries, bad-record policies, watchdog, signals and resume.
 *
 * As a source it generates `streams` streams ("flaky-0", "flaky-1", ...) of
 * `rows` deterministic rows (id int64, name utf8 "s<stream>-r<row>") and can:
 *   - return NB_UNAVAILABLE `unavailable_times` times when it reaches row
 *     `unavailable_at_row`;
 *   - return NB_IO (final, abi.h) whenever it reaches row `io_error_at_row`;
 *   - with `reopens`, flag its streams NB_STREAM_REOPENS (like an
 *     incremental table) and have `rows_added` more rows than `rows` (rows
 *     added between two runs: the environment, not the configuration);
 *   - report the rows listed in `bad_rows` ("3,17") as bad records (NB_DATA)
 *     in every stream;
 *   - sleep `stall_seconds` at row `stall_at_row`, returning NB_CANCELLED
 *     early only when `stall_polls_cancel` is true;
 *   - sleep `delay_ms` before each batch (polling is_cancelled), so a run
 *     lasts long enough to be signalled or scraped;
 *   - change its schema at row `schema_change_at_row` (a third column
 *     "extra" appears);
 *   - spin at row `spin_at_row`: return empty batches forever, without
 *     moving its position (a source that makes no progress);
 *   - get stuck at row `stuck_bad_at_row`: report a bad record there
 *     forever, without moving its position (a corrupt stream).
 *   - report a position `position_len` bytes long (when > 0) that points at
 *     its small position buffer: a lie the host must catch before it
 *     reads past the buffer.
 * These apply to every stream, or only to stream `only_stream` when set.
 * Positions are nb_position values (next row).  It is resumable.
 *
 * As a destination it writes each row as "stream,col1,col2...\n" to `path`
 * through the host's file layer, fails `write_unavailable_times` writes
 * once it has written `write_unavailable_at_row` rows, and the first
 * `commit_unavailable_times` commits, with NB_UNAVAILABLE, fails the first
 * dest_write with NB_DATA naming line `data_error_line` of the batch (when
 * not 0, in range or not),
 * and keeps the committed file length as its state.  Its dest_finish
 * (ABI 1.1) writes `finish_line` (if any) and commits it, or fails with
 * NB_IO when `finish_fails` is true.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nebula/sdk.h"

#define ROW_BYTES 16 /* the unit of size_bytes / bytes_read */

/* The fault-injection settings stand for the environment (a server that is
 * briefly away, a stalled disk), not for the pipeline's configuration: the
 * tests change them between a failed run and its resume, so they are
 * flagged TUNING and left out of the state file's configuration
 * fingerprint (host/engine/config_print.h). */
#define FAULT NB_SETTING_TUNING

static const NbSettingSpec flaky_settings[] = {
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "rows", "1000", NULL, "rows per stream"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "streams", "1", NULL, "number of streams"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE | FAULT, "unavailable_at_row", "-1", NULL,
               "row at which source_next fails transiently"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE | FAULT, "unavailable_times", "0", NULL,
               "how many times it fails there"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_SOURCE, "reopens", "false", NULL,
               "streams reopen after they finished (NB_STREAM_REOPENS)"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE | FAULT, "rows_added", "0", NULL,
               "rows per stream beyond `rows`, added since an earlier run"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE | FAULT, "io_error_at_row", "-1", NULL,
               "row at which source_next fails with NB_IO"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE | FAULT, "bad_rows", "", NULL,
               "comma-separated 0-based rows reported as bad records"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE | FAULT, "stall_at_row", "-1", NULL,
               "row at which source_next sleeps"),
    NB_SETTING(NB_SETTING_DOUBLE, NB_SETTING_SOURCE | FAULT, "stall_seconds", "3600", NULL,
               "how long it sleeps"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_SOURCE | FAULT, "stall_polls_cancel", "false", NULL,
               "whether the sleep ends when the host cancels"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE | NB_SETTING_TUNING, "delay_ms", "0", NULL,
               "sleep before each batch, in milliseconds"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "schema_change_at_row", "-1", NULL,
               "row from which a third column appears"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE | FAULT, "spin_at_row", "-1", NULL,
               "row at which source_next returns empty batches forever"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE | FAULT, "stuck_bad_at_row", "-1", NULL,
               "row at which source_next reports the same bad record forever"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE | FAULT, "position_len", "0", NULL,
               "position length to report instead of the real one"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE | FAULT, "await_commit_at_row", "-1", NULL,
               "at this row, wait inside source_next until the host's committed_position reports a position (10 s at most)"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_DEST | FAULT, "data_error_line", "0", NULL,
               "batch line the first dest_write names in an NB_DATA error"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE | FAULT, "only_stream", "-1", NULL,
               "stream the misbehaviour applies to, -1 for all"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_DEST, "path", NULL, NULL,
               "file the destination writes"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_DEST | FAULT, "write_unavailable_times", "0", NULL,
               "first dest_write calls that fail transiently"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_DEST | FAULT, "write_unavailable_at_row", "0", NULL,
               "rows written before dest_write starts failing"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_DEST | FAULT, "commit_unavailable_times", "0", NULL,
               "first dest_commit calls that fail transiently"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_DEST, "finish_line", "", NULL,
               "line dest_finish writes at the end of a complete run"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_DEST | FAULT, "finish_fails", "false", NULL,
               "whether dest_finish fails"),
};
#define N_SETTINGS (sizeof flaky_settings / sizeof flaky_settings[0])

/* ------------------------------------------------------------------------
 * Source
 * ------------------------------------------------------------------------ */

typedef struct Source {
  const NbHostApi *host;
  int64_t rows, streams, unavailable_at, unavailable_left, stall_at,
      delay_ms, schema_change_at, only_stream, spin_at, stuck_bad_at,
      position_len, io_error_at, await_commit_at;
  int64_t committed_row;     /* last row source_committed reported, -1: none */
  int64_t awaited_polls;     /* empty batches returned waiting for it */
  double stall_seconds;
  bool stall_polls_cancel;
  bool reopens;
  int64_t *bad_rows;
  size_t n_bad;
  uint64_t batch_rows;
  int64_t next_row;          /* of the stream being read */
  uint32_t current;          /* stream being read */
  bool wide;                 /* schema with the third column exported */
  char names[8][24];
  uint8_t position[NB_POSITION_MAX_BYTES];
  NbBatchBuilder *builder;
  bool builder_wide;
} Source;

static const NbField narrow_fields[] = {
    {"id", NB_TYPE_INT64, false, 0, 0, NULL},
    {"name", NB_TYPE_UTF8, false, 0, 0, NULL},
    {"extra", NB_TYPE_UTF8, true, 0, 0, NULL}};

static int parse_bad_rows(Source *s, const char *text, NbError *err) {
  const char *p = text;
  while (*p != '\0') {
    char *end;
    long long v = strtoll(p, &end, 10);
    int64_t *grown;
    if (end == p || v < 0)
      return nb_error_set(err, NB_INVALID, "invalid value for setting \"bad_rows\": \"%s\"", text);
    grown = realloc(s->bad_rows, (s->n_bad + 1) * sizeof *grown);
    if (grown == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    s->bad_rows = grown;
    s->bad_rows[s->n_bad++] = v;
    p = *end == ',' ? end + 1 : end;
    if (*end != ',' && *end != '\0')
      return nb_error_set(err, NB_INVALID, "invalid value for setting \"bad_rows\": \"%s\"", text);
  }
  return NB_OK;
}

/* Whether the misbehaviour settings apply to the stream being read. */
static bool targeted(const Source *s) {
  return s->only_stream < 0 || (uint32_t)s->only_stream == s->current;
}

static bool is_bad(const Source *s, int64_t row) {
  size_t i;
  if (!targeted(s)) return false;
  for (i = 0; i < s->n_bad; i++)
    if (s->bad_rows[i] == row) return true;
  return false;
}

static void source_close(void *handle) {
  Source *s = handle;
  if (s == NULL) return;
  nb_batch_builder_free(s->builder);
  free(s->bad_rows);
  free(s);
}

static int source_open(const NbHostApi *host, const NbOpenArgs *args, void **out,
                       NbError *err) {
  const NbSettings *st = args->settings;
  Source *s = calloc(1, sizeof *s);
  const char *bad = NULL;
  int64_t times, added;
  uint32_t i;
  int rc;

  if (s == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  s->host = host;
  s->batch_rows = args->batch_rows;
  if ((rc = nb_setting_int(st, "rows", 1000, &s->rows, err)) ||
      (rc = nb_setting_int(st, "streams", 1, &s->streams, err)) ||
      (rc = nb_setting_int(st, "unavailable_at_row", -1, &s->unavailable_at, err)) ||
      (rc = nb_setting_int(st, "unavailable_times", 0, &times, err)) ||
      (rc = nb_setting_int(st, "io_error_at_row", -1, &s->io_error_at, err)) ||
      (rc = nb_setting_bool(st, "reopens", false, &s->reopens, err)) ||
      (rc = nb_setting_int(st, "rows_added", 0, &added, err)) ||
      (rc = nb_setting_string(st, "bad_rows", "", &bad, err)) ||
      (rc = nb_setting_int(st, "stall_at_row", -1, &s->stall_at, err)) ||
      (rc = nb_setting_double(st, "stall_seconds", 3600, &s->stall_seconds, err)) ||
      (rc = nb_setting_bool(st, "stall_polls_cancel", false, &s->stall_polls_cancel, err)) ||
      (rc = nb_setting_int(st, "delay_ms", 0, &s->delay_ms, err)) ||
      (rc = nb_setting_int(st, "schema_change_at_row", -1, &s->schema_change_at, err)) ||
      (rc = nb_setting_int(st, "only_stream", -1, &s->only_stream, err)) ||
      (rc = nb_setting_int(st, "spin_at_row", -1, &s->spin_at, err)) ||
      (rc = nb_setting_int(st, "stuck_bad_at_row", -1, &s->stuck_bad_at, err)) ||
      (rc = nb_setting_int(st, "position_len", 0, &s->position_len, err)) ||
      (rc = nb_setting_int(st, "await_commit_at_row", -1, &s->await_commit_at, err)) ||
      (rc = parse_bad_rows(s, bad, err))) {
    source_close(s);
    return rc;
  }
  if (s->streams < 0 || s->streams > 8) {
    source_close(s);
    return nb_error_set(err, NB_INVALID, "setting \"streams\" must be between 0 and 8");
  }
  s->unavailable_left = times;
  if (added < 0 || added > INT64_MAX - s->rows) {
    source_close(s);
    return nb_error_set(err, NB_INVALID, "setting \"rows_added\" is out of range");
  }
  s->rows += added;
  for (i = 0; i < (uint32_t)s->streams; i++)
    snprintf(s->names[i], sizeof s->names[i], "flaky-%u", i);
  s->current = UINT32_MAX;
  s->committed_row = -1;
  *out = s;
  return NB_OK;
}

static int stream_count(void *handle, uint32_t *count, NbError *err) {
  (void)err;
  *count = (uint32_t)((Source *)handle)->streams;
  return NB_OK;
}

static int check_index(const Source *s, uint32_t index, NbError *err) {
  if (index >= (uint32_t)s->streams)
    return nb_error_set(err, NB_NOT_FOUND, "no stream %u", index);
  return NB_OK;
}

static void start_stream(Source *s, uint32_t index) {
  if (s->current == index) return;
  s->current = index;
  s->next_row = 0;
  s->wide = false;
}

static int stream_info(void *handle, uint32_t index, NbStreamInfo *out, NbError *err) {
  Source *s = handle;
  if (check_index(s, index, err)) return NB_NOT_FOUND;
  out->name = s->names[index];
  out->size_bytes = s->rows * ROW_BYTES;
  if (s->reopens && NB_STRUCT_HAS(NbStreamInfo, out, flags)) out->flags |= NB_STREAM_REOPENS;
  return NB_OK;
}

static int source_schema(void *handle, uint32_t index, struct ArrowSchema *out,
                         NbError *err) {
  Source *s = handle;
  if (check_index(s, index, err)) return NB_NOT_FOUND;
  start_stream(s, index);
  s->wide = targeted(s) && s->schema_change_at >= 0 && s->next_row >= s->schema_change_at;
  return nb_schema_export(narrow_fields, s->wide ? 3 : 2, out, err);
}

static int source_seek(void *handle, uint32_t index, const void *position,
                       size_t len, NbError *err) {
  Source *s = handle;
  uint64_t row;
  int rc;
  if (check_index(s, index, err)) return NB_NOT_FOUND;
  rc = nb_position_decode(position, len, &row, 1, err);
  if (rc != NB_OK) return rc;
  if (row > (uint64_t)s->rows)
    return nb_error_set(err, NB_INVALID, "position row %" PRIu64 " is past the end", row);
  start_stream(s, index);
  s->next_row = (int64_t)row;
  s->wide = targeted(s) && s->schema_change_at >= 0 && s->next_row >= s->schema_change_at;
  return NB_OK;
}

/* Sleep seconds in small steps; returns false when cancelled (and asked to
 * notice). */
static bool nap(const Source *s, double seconds, bool polls) {
  struct timespec step = {0, 10 * 1000 * 1000};
  double slept = 0;
  while (slept < seconds) {
    if (polls && s->host->is_cancelled(s->host->host_data)) return false;
    nanosleep(&step, NULL);
    slept += 0.01;
  }
  return true;
}

static void report(Source *s, NbBatchInfo *info) {
  uint64_t v = (uint64_t)s->next_row;
  info->position_len = nb_position_encode(s->position, sizeof s->position, &v, 1);
  info->position = s->position;
  if (s->position_len > 0) info->position_len = (size_t)s->position_len;
  info->bytes_read = s->next_row * ROW_BYTES;
}

static bool stalls_here(const Source *s) {
  return targeted(s) && s->next_row == s->stall_at;
}

static bool unavailable_here(const Source *s) {
  return targeted(s) && s->next_row == s->unavailable_at && s->unavailable_left > 0;
}

static bool io_error_here(const Source *s) {
  return targeted(s) && s->next_row == s->io_error_at;
}

static bool spins_here(const Source *s) {
  return targeted(s) && s->next_row == s->spin_at;
}

static bool stuck_here(const Source *s) {
  return targeted(s) && s->next_row == s->stuck_bad_at;
}

/* ABI 1.2: ask the host which position is committed.  Logged when it
 * moved, so tests can check what arrived and when; a position that goes
 * back is an error. */
static int poll_committed(Source *s, uint32_t index, NbError *err) {
  uint8_t buf[NB_POSITION_MAX_BYTES];
  size_t len = 0;
  uint64_t row;
  int rc;
  if (!NB_HOST_HAS(s->host, committed_position)) return NB_OK;
  rc = s->host->committed_position(s->host->host_data, index, buf, sizeof buf, &len);
  if (rc == NB_END) return NB_OK;
  if (rc != NB_OK) return nb_error_set(err, rc, "committed_position failed");
  rc = nb_position_decode(buf, len, &row, 1, err);
  if (rc != NB_OK) return rc;
  if ((int64_t)row < s->committed_row || row > (uint64_t)s->rows)
    return nb_error_set(err, NB_INTERNAL, "committed row %" PRIu64 " after %" PRId64, row,
                        s->committed_row);
  if ((int64_t)row == s->committed_row) return NB_OK;
  s->committed_row = (int64_t)row;
  nb_log(s->host, NB_LOG_INFO, "committed stream %" PRIu32 " row %" PRIu64 " while at row %" PRId64,
         index, row, s->next_row);
  return NB_OK;
}

static bool awaits_here(const Source *s) {
  return targeted(s) && s->next_row == s->await_commit_at && s->committed_row < 0;
}

static bool changes_schema_here(const Source *s) {
  return targeted(s) && !s->wide && s->schema_change_at >= 0 &&
         s->next_row >= s->schema_change_at;
}

static int build_batch(Source *s, uint32_t index, struct ArrowArray *out, NbError *err) {
  char text[64];
  int rc;
  if (s->builder == NULL || s->builder_wide != s->wide) {
    nb_batch_builder_free(s->builder);
    s->builder = NULL;
    rc = nb_batch_builder_new(narrow_fields, s->wide ? 3 : 2, s->batch_rows, &s->builder, err);
    if (rc != NB_OK) return rc;
    s->builder_wide = s->wide;
  }
  while (nb_batch_builder_rows(s->builder) < s->batch_rows && s->next_row < s->rows &&
         !is_bad(s, s->next_row) && !stalls_here(s) && !unavailable_here(s) && !io_error_here(s) &&
         !changes_schema_here(s) && !spins_here(s) && !stuck_here(s) && !awaits_here(s)) {
    int n = snprintf(text, sizeof text, "s%u-r%" PRId64, index, s->next_row);
    if ((rc = nb_column_append_int64(nb_batch_builder_column(s->builder, 0), s->next_row)) ||
        (rc = nb_column_append_utf8(nb_batch_builder_column(s->builder, 1), text, (size_t)n)))
      return nb_error_set(err, rc, "out of memory");
    if (s->wide) {
      n = snprintf(text, sizeof text, "x%" PRId64, s->next_row);
      rc = nb_column_append_utf8(nb_batch_builder_column(s->builder, 2), text, (size_t)n);
      if (rc != NB_OK) return nb_error_set(err, rc, "out of memory");
    }
    s->next_row++;
  }
  return nb_batch_builder_finish(s->builder, out, err);
}

static int source_next(void *handle, uint32_t index, struct ArrowArray *out,
                       NbBatchInfo *info, NbError *err) {
  Source *s = handle;
  char record[64];
  int n;

  if (check_index(s, index, err)) return NB_NOT_FOUND;
  start_stream(s, index);
  if (s->next_row >= s->rows) return NB_END;
  if (s->delay_ms > 0 && !nap(s, (double)s->delay_ms / 1000.0, true))
    return nb_error_set(err, NB_CANCELLED, "cancelled");
  if (unavailable_here(s)) {
    s->unavailable_left--;
    return nb_error_set(err, NB_UNAVAILABLE, "flaky server is busy at row %" PRId64,
                        s->next_row);
  }
  if (io_error_here(s))
    return nb_error_set(err, NB_IO, "flaky read failed at row %" PRId64, s->next_row);
  if (stalls_here(s)) {
    s->stall_at = -1;  /* once */
    if (!nap(s, s->stall_seconds, s->stall_polls_cancel))
      return nb_error_set(err, NB_CANCELLED, "cancelled while stalled");
  }
  if (changes_schema_here(s)) return NB_SCHEMA_CHANGED;
  if (awaits_here(s)) {
    /* Waits inside source_next, as a source waiting for new data does. */
    struct timespec step = {0, 10 * 1000 * 1000};
    while (s->committed_row < 0) {
      int rc = poll_committed(s, index, err);
      if (rc != NB_OK) return rc;
      if (s->committed_row >= 0) break;
      if (++s->awaited_polls > 1000)
        return nb_error_set(err, NB_IO, "no committed position at row %" PRId64 " after 10 s",
                            s->next_row);
      nanosleep(&step, NULL);
    }
  } else if (s->await_commit_at >= 0) {
    int rc = poll_committed(s, index, err);
    if (rc != NB_OK) return rc;
  }
  if (stuck_here(s)) {
    nb_error_set(err, NB_DATA, "corrupt input at row %" PRId64, s->next_row);
    report(s, info);
    return NB_DATA;
  }
  if (is_bad(s, s->next_row)) {
    n = snprintf(record, sizeof record, "%" PRId64 ",\"bad\x01value\"", s->next_row);
    nb_error_set(err, NB_DATA, "invalid value \"bad\" in column \"name\"");
    nb_error_locate(err, s->names[index], s->next_row + 1, 2);
    nb_error_record(err, record, (size_t)n);
    s->next_row++;
    report(s, info);
    return NB_DATA;
  }
  {
    int rc = build_batch(s, index, out, err);
    if (rc != NB_OK) return rc;
  }
  report(s, info);
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Destination
 * ------------------------------------------------------------------------ */

typedef struct DestStream {
  char *name;
  struct ArrowSchema schema;  /* our own copy */
} DestStream;

typedef struct Dest {
  const NbHostApi *host;
  NbFile *file;
  int64_t write_unavailable_left, write_unavailable_at, commit_unavailable_left;
  int64_t rows_written, data_error_line;
  const char *finish_line;   /* borrowed from the settings: copied below */
  char *finish_copy;
  bool finish_fails;
  DestStream *streams;
  uint32_t n_streams;
  uint8_t state[NB_POSITION_MAX_BYTES];
  char *line;
  size_t line_cap;
} Dest;

static void dest_close(void *handle) {
  Dest *d = handle;
  uint32_t i;
  if (d == NULL) return;
  if (d->file != NULL) d->host->file_close(d->file, NULL);
  for (i = 0; i < d->n_streams; i++) {
    free(d->streams[i].name);
    if (d->streams[i].schema.release) d->streams[i].schema.release(&d->streams[i].schema);
  }
  free(d->streams);
  free(d->line);
  free(d->finish_copy);
  free(d);
}

static int dest_open(const NbHostApi *host, const NbOpenArgs *args, void **out,
                     NbError *err) {
  Dest *d = calloc(1, sizeof *d);
  NbWriteOptions wo;
  const char *path = NULL;
  uint64_t length;
  int rc;

  if (d == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  d->host = host;
  if ((rc = nb_setting_string(args->settings, "path", NULL, &path, err)) ||
      (rc = nb_setting_int(args->settings, "write_unavailable_times", 0,
                           &d->write_unavailable_left, err)) ||
      (rc = nb_setting_int(args->settings, "write_unavailable_at_row", 0,
                           &d->write_unavailable_at, err)) ||
      (rc = nb_setting_int(args->settings, "commit_unavailable_times", 0,
                           &d->commit_unavailable_left, err)) ||
      (rc = nb_setting_string(args->settings, "finish_line", "", &d->finish_line, err)) ||
      (rc = nb_setting_bool(args->settings, "finish_fails", false, &d->finish_fails, err)) ||
      (rc = nb_setting_int(args->settings, "data_error_line", 0, &d->data_error_line, err))) {
    dest_close(d);
    return rc;
  }
  if (path == NULL) {
    dest_close(d);
    return nb_error_set(err, NB_INVALID, "setting \"path\" is required");
  }
  /* The settings are borrowed for the open call only. */
  d->finish_copy = strdup(d->finish_line);
  if (d->finish_copy == NULL) {
    dest_close(d);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  memset(&wo, 0, sizeof wo);
  wo.struct_size = (uint32_t)sizeof wo;
  wo.compression = "none";
  wo.resume_length = -1;
  if (args->state != NULL) {
    rc = nb_position_decode(args->state, args->state_len, &length, 1, err);
    if (rc != NB_OK) {
      dest_close(d);
      return rc;
    }
    wo.resume_length = (int64_t)length;
  }
  rc = host->file_open_write(host->host_data, path, &wo, &d->file, err);
  if (rc != NB_OK) {
    dest_close(d);
    return rc;
  }
  *out = d;
  return NB_OK;
}

/* Copy a borrowed schema by its fields. */
static int copy_schema(const struct ArrowSchema *schema, struct ArrowSchema *out,
                       NbError *err) {
  NbField *fields;
  size_t n;
  int rc = nb_schema_fields(schema, &fields, &n, err);
  if (rc != NB_OK) return rc;
  rc = nb_schema_export(fields, n, out, err);
  free(fields);
  return rc;
}

static int dest_prepare(void *handle, const char *name, const struct ArrowSchema *schema,
                        uint32_t *dest_stream, NbError *err) {
  Dest *d = handle;
  DestStream *grown;
  uint32_t i;
  for (i = 0; i < d->n_streams; i++) {
    if (strcmp(d->streams[i].name, name) == 0) {
      d->streams[i].schema.release(&d->streams[i].schema);
      *dest_stream = i;
      return copy_schema(schema, &d->streams[i].schema, err);
    }
  }
  grown = realloc(d->streams, (d->n_streams + 1) * sizeof *grown);
  if (grown == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  d->streams = grown;
  memset(&d->streams[i], 0, sizeof d->streams[i]);
  d->streams[i].name = strdup(name);
  if (d->streams[i].name == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  d->n_streams++;
  *dest_stream = i;
  return copy_schema(schema, &d->streams[i].schema, err);
}

static int append(Dest *d, size_t *len, const char *text, size_t n, NbError *err) {
  if (*len + n + 2 > d->line_cap) {
    size_t cap = (*len + n + 2) * 2;
    char *grown = realloc(d->line, cap);
    if (grown == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    d->line = grown;
    d->line_cap = cap;
  }
  memcpy(d->line + *len, text, n);
  *len += n;
  return NB_OK;
}

static int dest_write(void *handle, uint32_t dest_stream, const struct ArrowArray *batch,
                      NbError *err) {
  Dest *d = handle;
  DestStream *ds;
  NbColumnView *views;
  size_t n_views, c;
  int64_t row;
  char scratch[NB_TEXT_SCRATCH];
  int rc = NB_OK;

  if (dest_stream >= d->n_streams) return nb_error_set(err, NB_INVALID, "unprepared stream");
  if (d->write_unavailable_left > 0 && d->rows_written >= d->write_unavailable_at) {
    d->write_unavailable_left--;
    return nb_error_set(err, NB_UNAVAILABLE, "flaky destination is busy");
  }
  if (d->data_error_line != 0) {
    rc = nb_error_set(err, NB_DATA, "flaky destination refuses a record");
    err->line = d->data_error_line;
    d->data_error_line = 0;
    return rc;
  }
  ds = &d->streams[dest_stream];
  rc = nb_batch_views(&ds->schema, batch, &views, &n_views, err);
  if (rc != NB_OK) return rc;
  for (row = 0; rc == NB_OK && row < batch->length; row++) {
    size_t len = 0;
    rc = append(d, &len, ds->name, strlen(ds->name), err);
    for (c = 0; rc == NB_OK && c < n_views; c++) {
      const char *text = "";
      size_t n = 0;
      if (!nb_view_is_null(&views[c], row)) n = nb_view_text(&views[c], row, scratch, &text);
      rc = append(d, &len, ",", 1, err);
      if (rc == NB_OK) rc = append(d, &len, text, n, err);
    }
    if (rc == NB_OK) rc = append(d, &len, "\n", 1, err);
    if (rc == NB_OK) rc = d->host->file_write(d->file, d->line, len, err);
  }
  free(views);
  if (rc == NB_OK) d->rows_written += batch->length;
  return rc;
}

static int dest_commit(void *handle, const void **state, size_t *state_len, NbError *err) {
  Dest *d = handle;
  uint64_t length;
  int rc;
  if (d->commit_unavailable_left > 0) {
    d->commit_unavailable_left--;
    return nb_error_set(err, NB_UNAVAILABLE, "flaky destination cannot commit now");
  }
  rc = d->host->file_commit(d->file, &length, err);
  if (rc != NB_OK) return rc;
  *state_len = nb_position_encode(d->state, sizeof d->state, &length, 1);
  *state = d->state;
  return NB_OK;
}

static int dest_finish(void *handle, NbError *err) {
  Dest *d = handle;
  uint64_t length;
  int rc;
  if (d->finish_fails) return nb_error_set(err, NB_IO, "flaky destination cannot finish");
  if (d->finish_copy[0] == '\0') return NB_OK;
  rc = d->host->file_write(d->file, d->finish_copy, strlen(d->finish_copy), err);
  if (rc == NB_OK) rc = d->host->file_write(d->file, "\n", 1, err);
  if (rc == NB_OK) rc = d->host->file_commit(d->file, &length, err);
  return rc;
}

static void flaky_describe(NbConnector *c) {
  c->name = "flaky";
  c->version = "1.0.0";
  c->description = "test connector that fails, stalls and rejects records on request";
  c->capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION | NB_CAP_RESUMABLE;
  c->settings = flaky_settings;
  c->n_settings = (uint32_t)N_SETTINGS;
  c->source_open = source_open;
  c->source_stream_count = stream_count;
  c->source_stream_info = stream_info;
  c->source_schema = source_schema;
  c->source_seek = source_seek;
  c->source_next = source_next;
  c->source_close = source_close;
  c->dest_open = dest_open;
  c->dest_prepare = dest_prepare;
  c->dest_write = dest_write;
  c->dest_commit = dest_commit;
  c->dest_close = dest_close;
  c->dest_finish = dest_finish;
}

NB_CONNECTOR_ENTRY(flaky_describe)
