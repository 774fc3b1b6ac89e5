/*
 * kit_data.c - conformance checks that move data: open the source with the
 * -s settings and read every stream to its end, validating each batch
 * against the exported schema; resume from a saved position when the
 * source is RESUMABLE; open the destination, write a generated batch,
 * commit and finish it, then open it again with the saved state (resume)
 * and do the same.
 */
#define _GNU_SOURCE 1
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit.h"

/* A source that keeps returning empty batches would loop forever. */
#define MAX_EMPTY_BATCHES 10000

/* Open one side with the -s settings; state (dest_open only) is the state
 * of an earlier commit to resume from, or NULL. */
static bool open_side_at(Kit *kit, uint32_t side, KitHost *host, void **handle,
                         const void *state, size_t state_len) {
  const NbConnector *c = &kit->conn;
  KitSettings ks;
  NbOpenArgs args;
  NbError err;
  int rc;
  kit_host_init(host);
  kit_settings_build(kit, side, &ks, NULL, NULL, NULL);
  memset(&args, 0, sizeof args);
  args.struct_size = sizeof args;
  args.settings = &ks.s;
  args.batch_rows = kit->opt->batch_rows;
  args.batch_bytes = kit->opt->batch_bytes;
  args.state = state;
  args.state_len = state_len;
  nb_error_init(&err);
  if (side == NB_SETTING_SOURCE)
    rc = c->source_open(&host->api, &args, handle, &err);
  else
    rc = c->dest_open(&host->api, &args, handle, &err);
  tap_result(kit->tap, rc == NB_OK, "%s opens with the given settings%s (%s)",
             side == NB_SETTING_SOURCE ? "source" : "destination",
             state != NULL ? " and a saved state" : "", nb_status_name(rc));
  if (rc != NB_OK) tap_error(&err);
  return rc == NB_OK;
}

static bool open_side(Kit *kit, uint32_t side, KitHost *host, void **handle) {
  return open_side_at(kit, side, host, handle, NULL, 0);
}

/* ------------------------------------------------------------------------
 * Source
 * ------------------------------------------------------------------------ */

typedef struct StreamTotals {
  int64_t rows;
  int64_t batches;
  int64_t bad_records;
  bool failed;
  unsigned char first_position[NB_POSITION_MAX_BYTES * 4];
  size_t first_position_len;  /* 0 if none was saved */
  int64_t rows_after_first;
} StreamTotals;

static bool fetch_schema(Kit *kit, void *src, uint32_t index,
                         struct ArrowSchema *schema, const char *name) {
  NbError err;
  NbField *fields = NULL;
  size_t n = 0;
  int rc;
  memset(schema, 0, sizeof *schema);
  nb_error_init(&err);
  rc = kit->conn.source_schema(src, index, schema, &err);
  tap_result(kit->tap, rc == NB_OK && schema->release != NULL,
             "stream \"%s\": source_schema exports a schema (%s)", name,
             nb_status_name(rc));
  if (rc != NB_OK || schema->release == NULL) {
    tap_error(&err);
    return false;
  }
  rc = nb_schema_fields(schema, &fields, &n, &err);
  tap_result(kit->tap, rc == NB_OK,
             "stream \"%s\": the schema is a struct of supported types (%zu "
             "columns)",
             name, n);
  if (rc != NB_OK) tap_error(&err);
  free(fields);
  return rc == NB_OK;
}

/* A stream's key (NbStreamInfo.key_columns, ABI 1.2) names distinct
 * top-level columns of its schema. */
static void check_key(Kit *kit, void *src, uint32_t index, const NbStreamInfo *info) {
  struct ArrowSchema schema;
  NbField *fields = NULL;
  size_t n = 0, i;
  NbError err;
  bool ok = true;
  uint32_t k, j;
  if (!NB_STRUCT_HAS(NbStreamInfo, info, key_count) || info->key_count == 0) return;
  memset(&schema, 0, sizeof schema);
  nb_error_init(&err);
  if (info->key_columns == NULL || kit->conn.source_schema(src, index, &schema, &err) != NB_OK ||
      nb_schema_fields(&schema, &fields, &n, &err) != NB_OK)
    ok = false;
  for (k = 0; ok && k < info->key_count; k++) {
    const char *name = info->key_columns[k];
    for (i = 0; name != NULL && i < n; i++)
      if (fields[i].name != NULL && strcmp(fields[i].name, name) == 0) break;
    for (j = 0; name != NULL && j < k; j++)
      if (strcmp(info->key_columns[j], name) == 0) i = n;
    if (name == NULL || i == n) ok = false;
  }
  tap_result(kit->tap, ok, "stream %u: its key of %u columns names distinct columns of its schema",
             index, info->key_count);
  tap_error(&err);
  free(fields);
  if (schema.release != NULL) schema.release(&schema);
}

/* Read stream index to its end; every batch is validated; failures are
 * reported once per kind so a long stream does not print thousands of
 * lines. */
static void read_stream(Kit *kit, void *src, uint32_t index, const char *name,
                        StreamTotals *t) {
  const NbConnector *c = &kit->conn;
  struct ArrowSchema schema;
  bool invalid_seen = false, release_bad = false, too_long = false;
  bool position_missing = false;
  int64_t empty_in_a_row = 0;
  int rc;
  if (!fetch_schema(kit, src, index, &schema, name)) {
    if (schema.release != NULL) schema.release(&schema);
    t->failed = true;
    return;
  }
  for (;;) {
    struct ArrowArray batch;
    NbBatchInfo info;
    NbError err;
    memset(&batch, 0, sizeof batch);
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    nb_error_init(&err);
    rc = c->source_next(src, index, &batch, &info, &err);
    if (rc == NB_END) {
      tap_result(kit->tap, batch.release == NULL,
                 "stream \"%s\": NB_END leaves the array released", name);
      break;
    }
    if (rc == NB_SCHEMA_CHANGED) {
      schema.release(&schema);
      if (!fetch_schema(kit, src, index, &schema, name)) {
        t->failed = true;
        return;
      }
      continue;
    }
    if (rc == NB_DATA) {
      /* A bad record: reported, and reading continues after it. */
      t->bad_records++;
      if (t->bad_records <= 3) {
        tap_diag("stream \"%s\": bad record (NB_DATA)", name);
        tap_error(&err);
      } else {
        nb_error_release(&err);
      }
      if (batch.release != NULL) {
        tap_result(kit->tap, false, "stream \"%s\": NB_DATA leaves the array released",
                   name);
        batch.release(&batch);
      }
      continue;
    }
    if (rc != NB_OK) {
      tap_result(kit->tap, false, "stream \"%s\": source_next fails with %s", name,
                 nb_status_name(rc));
      tap_error(&err);
      if (batch.release != NULL) batch.release(&batch);
      t->failed = true;
      break;
    }
    if (batch.release == NULL) {
      tap_result(kit->tap, false, "stream \"%s\": NB_OK comes with a batch", name);
      t->failed = true;
      break;
    }
    if (nb_arrow_validate(&schema, &batch, &err) != NB_OK && !invalid_seen) {
      invalid_seen = true;
      tap_diag("stream \"%s\", batch %" PRId64 ":", name, t->batches + 1);
      tap_error(&err);
    }
    nb_error_release(&err);
    if ((uint64_t)batch.length > kit->opt->batch_rows) too_long = true;
    if (info.position == NULL || info.position_len == 0) {
      position_missing = true;
    } else if (t->batches == 0 && batch.length > 0 &&
               info.position_len <= sizeof t->first_position) {
      memcpy(t->first_position, info.position, info.position_len);
      t->first_position_len = info.position_len;
    }
    if (t->first_position_len > 0 && t->batches > 0)
      t->rows_after_first += batch.length;
    t->rows += batch.length;
    t->batches++;
    empty_in_a_row = batch.length == 0 ? empty_in_a_row + 1 : 0;
    batch.release(&batch);
    if (batch.release != NULL) release_bad = true;
    if (empty_in_a_row > MAX_EMPTY_BATCHES) {
      tap_result(kit->tap, false,
                 "stream \"%s\": more than %d empty batches in a row", name,
                 MAX_EMPTY_BATCHES);
      t->failed = true;
      break;
    }
  }
  tap_result(kit->tap, !invalid_seen,
             "stream \"%s\": every batch is valid Arrow data for its schema "
             "(%" PRId64 " batches, %" PRId64 " rows, %" PRId64 " bad records)",
             name, t->batches, t->rows, t->bad_records);
  tap_result(kit->tap, !release_bad,
             "stream \"%s\": each batch's release sets release to NULL", name);
  tap_result(kit->tap, !too_long, "stream \"%s\": no batch exceeds batch_rows %" PRIu64,
             name, kit->opt->batch_rows);
  if (c->capabilities & NB_CAP_RESUMABLE)
    tap_result(kit->tap, !position_missing,
               "stream \"%s\": every batch reports a position", name);
  if (invalid_seen || release_bad || too_long) t->failed = true;
  schema.release(&schema);
}

/* Reopen, seek to the position after the first batch, and count the rows
 * that follow: they must be exactly the rows read after that batch. */
static void check_resume(Kit *kit, uint32_t index, const char *name,
                         const StreamTotals *t) {
  const NbConnector *c = &kit->conn;
  KitHost host;
  void *src = NULL;
  struct ArrowSchema schema;
  NbError err;
  int64_t rows = 0;
  int rc;
  if (!open_side(kit, NB_SETTING_SOURCE, &host, &src)) return;
  nb_error_init(&err);
  rc = c->source_seek(src, index, "not a position", 14, &err);
  tap_result(kit->tap, rc == NB_INVALID,
             "stream \"%s\": source_seek refuses a foreign position with "
             "NB_INVALID (got %s)",
             name, nb_status_name(rc));
  nb_error_release(&err);
  c->source_close(src);

  if (!open_side(kit, NB_SETTING_SOURCE, &host, &src)) return;
  memset(&schema, 0, sizeof schema);
  rc = c->source_schema(src, index, &schema, &err);
  if (rc == NB_OK) schema.release(&schema);
  nb_error_release(&err);
  rc = c->source_seek(src, index, t->first_position, t->first_position_len, &err);
  tap_result(kit->tap, rc == NB_OK,
             "stream \"%s\": source_seek accepts the position after batch 1 (%s)",
             name, nb_status_name(rc));
  if (rc != NB_OK) {
    tap_error(&err);
    c->source_close(src);
    return;
  }
  for (;;) {
    struct ArrowArray batch;
    NbBatchInfo info;
    memset(&batch, 0, sizeof batch);
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    rc = c->source_next(src, index, &batch, &info, &err);
    nb_error_release(&err);
    if (rc == NB_OK) {
      rows += batch.length;
      batch.release(&batch);
    } else if (rc != NB_DATA && rc != NB_SCHEMA_CHANGED) {
      break;
    }
  }
  tap_result(kit->tap, rc == NB_END && rows == t->rows_after_first,
             "stream \"%s\": after resuming it yields the %" PRId64
             " remaining rows (got %" PRId64 ", %s)",
             name, t->rows_after_first, rows, nb_status_name(rc));
  c->source_close(src);
  tap_result(kit->tap, host.open_files == 0,
             "source_close closes every file it opened");
}

void kit_check_source(Kit *kit) {
  const NbConnector *c = &kit->conn;
  KitHost host;
  void *src = NULL;
  uint32_t count = 0;
  NbError err;
  int rc;
  bool failed = false;
  char **names;
  if (!open_side(kit, NB_SETTING_SOURCE, &host, &src)) return;
  nb_error_init(&err);
  rc = c->source_stream_count(src, &count, &err);
  tap_result(kit->tap, rc == NB_OK, "source_stream_count answers (%u streams)",
             count);
  if (rc != NB_OK) {
    tap_error(&err);
    c->source_close(src);
    return;
  }
  names = calloc(count > 0 ? count : 1, sizeof *names);
  if (names == NULL) {
    tap_result(kit->tap, false, "out of memory");
    c->source_close(src);
    return;
  }
  for (uint32_t i = 0; i < count; i++) {
    NbStreamInfo info;
    StreamTotals totals;
    bool unique = true;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    rc = c->source_stream_info(src, i, &info, &err);
    tap_result(kit->tap, rc == NB_OK && info.name != NULL && info.name[0] != '\0',
               "stream %u: source_stream_info gives a name (\"%s\")", i,
               rc == NB_OK && info.name != NULL ? info.name : "");
    if (rc != NB_OK || info.name == NULL) {
      tap_error(&err);
      failed = true;
      continue;
    }
    names[i] = strdup(info.name);
    for (uint32_t j = 0; j < i; j++)
      if (names[j] != NULL && names[i] != NULL && strcmp(names[j], names[i]) == 0)
        unique = false;
    tap_result(kit->tap, unique, "stream %u: name \"%s\" is unique", i, info.name);
    /* A reopening stream is sought to its saved end by a later run. */
    if (NB_STRUCT_HAS(NbStreamInfo, &info, flags) && (info.flags & NB_STREAM_REOPENS))
      tap_result(kit->tap, (c->capabilities & NB_CAP_RESUMABLE) && c->source_seek != NULL,
                 "stream %u: NB_STREAM_REOPENS comes with NB_CAP_RESUMABLE and source_seek", i);
    check_key(kit, src, i, &info);
    memset(&totals, 0, sizeof totals);
    read_stream(kit, src, i, names[i] != NULL ? names[i] : "?", &totals);
    failed |= totals.failed;
    if ((c->capabilities & NB_CAP_RESUMABLE) && totals.first_position_len > 0 &&
        !totals.failed)
      check_resume(kit, i, names[i] != NULL ? names[i] : "?", &totals);
  }
  for (uint32_t i = 0; i < count; i++) free(names[i]);
  free(names);
  c->source_close(src);
  tap_result(kit->tap, host.open_files == 0,
             "source_close closes every file it opened (%d left open)",
             host.open_files);
  (void)failed;
}

/* ------------------------------------------------------------------------
 * Destination
 * ------------------------------------------------------------------------ */

/* A batch of a few rows with several types and a null in each column. */
static int make_batch(const NbField *fields, size_t n, struct ArrowSchema *schema,
                      struct ArrowArray *batch) {
  static const char *const texts[][4] = {
      {"a", "b,c", "d \"quoted\"", "é\n"},
      {"1", "-2", "9223372036854775807", "0"},
      {"0.5", "-1e10", "3.25", "0"},
      {"true", "false", "true", "false"},
      {"501", "1.5e3", "-0", "12"},
  };
  NbBatchBuilder *b;
  int rc = nb_batch_builder_new(fields, n, 8, &b, NULL);
  if (rc != NB_OK) return rc;
  for (int row = 0; row < 5 && rc == NB_OK; row++) {
    for (size_t col = 0; col < n && rc == NB_OK; col++) {
      NbColumnBuilder *c = nb_batch_builder_column(b, col);
      if (row == 4)
        rc = nb_column_append_null(c);
      else
        rc = nb_column_append_text(c, texts[col][row], strlen(texts[col][row]),
                                   NULL);
    }
  }
  if (rc == NB_OK) rc = nb_batch_builder_finish(b, batch, NULL);
  nb_batch_builder_free(b);
  if (rc == NB_OK) rc = nb_schema_export(fields, n, schema, NULL);
  if (rc != NB_OK && batch->release != NULL) batch->release(batch);
  return rc;
}

/* The destination test's schemas (documented in the guide and printed when
 * refused): a typed one, then, if dest_prepare refuses it with NB_INVALID,
 * text only. */
static const NbField typed_fields[] = {
    {"text", NB_TYPE_UTF8, true, 0, 0, NULL},
    {"count", NB_TYPE_INT64, true, 0, 0, NULL},
    {"ratio", NB_TYPE_FLOAT64, true, 0, 0, NULL},
    {"flag", NB_TYPE_BOOL, true, 0, 0, NULL},
    {"amount", NB_TYPE_NUMBER, true, 0, 0, NULL},
};
static const NbField plain_fields[] = {
    {"text", NB_TYPE_UTF8, true, 0, 0, NULL},
    {"count", NB_TYPE_UTF8, true, 0, 0, NULL},
};

/* "text utf8, count int64, ..." for a diagnostic line. */
static void schema_diag(const char *what, const NbField *fields, size_t n) {
  char line[512], type[64];
  size_t used = 0;
  line[0] = '\0';
  for (size_t i = 0; i < n && used < sizeof line; i++) {
    int k = snprintf(line + used, sizeof line - used, "%s%s %s (nullable)",
                     i > 0 ? ", " : "", fields[i].name,
                     nb_type_name(&fields[i], type, sizeof type));
    if (k < 0) break;
    used += (size_t)k;
  }
  tap_diag("%s: %s", what, line);
}

/* What one destination run needs and leaves. */
typedef struct DestRun {
  const NbField *fields;        /* the schema dest_prepare accepted */
  size_t n_fields;
  unsigned char *state;         /* copy of the last commit's state */
  size_t state_len;
  bool committed;
} DestRun;

/* Announce the stream, falling back to text columns once if the typed
 * schema is refused.  On NB_OK *schema and *batch are built. */
static int prepare_stream(Kit *kit, void *dest, DestRun *run,
                          struct ArrowSchema *schema, struct ArrowArray *batch,
                          uint32_t *stream) {
  const NbConnector *c = &kit->conn;
  NbError err;
  int rc;
  nb_error_init(&err);
  rc = make_batch(run->fields, run->n_fields, schema, batch);
  if (rc != NB_OK) {
    tap_result(kit->tap, false, "the kit builds a test batch (%s)", nb_status_name(rc));
    return rc;
  }
  rc = c->dest_prepare(dest, "nebula_kit_stream", schema, stream, &err);
  if (rc == NB_INVALID && run->fields == typed_fields) {
    /* The destination may not store every type: retry with text only. */
    tap_diag("dest_prepare refused the typed schema; retrying with text columns");
    schema_diag("refused schema", typed_fields, sizeof typed_fields / sizeof typed_fields[0]);
    tap_error(&err);
    schema->release(schema);
    batch->release(batch);
    run->fields = plain_fields;
    run->n_fields = sizeof plain_fields / sizeof plain_fields[0];
    schema_diag("retrying with", plain_fields, run->n_fields);
    rc = make_batch(run->fields, run->n_fields, schema, batch);
    if (rc != NB_OK) return rc;
    rc = c->dest_prepare(dest, "nebula_kit_stream", schema, stream, &err);
  }
  tap_result(kit->tap, rc == NB_OK, "dest_prepare accepts a schema (%s)",
             nb_status_name(rc));
  if (rc != NB_OK) {
    schema_diag("refused schema", run->fields, run->n_fields);
    tap_error(&err);
  }
  return rc;
}

/* Write one batch, commit, keep a copy of the state, finish. */
static void write_and_commit(Kit *kit, void *dest, DestRun *run, uint32_t stream,
                             struct ArrowArray *batch) {
  const NbConnector *c = &kit->conn;
  const void *state = NULL;
  size_t state_len = 0;
  NbError err;
  int rc;
  nb_error_init(&err);
  rc = c->dest_write(dest, stream, batch, &err);
  tap_result(kit->tap, rc == NB_OK, "dest_write writes a batch of %" PRId64
             " rows (%s)", batch->length, nb_status_name(rc));
  if (rc != NB_OK) tap_error(&err);
  tap_result(kit->tap, batch->release != NULL,
             "dest_write leaves the borrowed batch to its owner");
  rc = c->dest_commit(dest, &state, &state_len, &err);
  tap_result(kit->tap, rc == NB_OK, "dest_commit succeeds (%s, state of %zu bytes)",
             nb_status_name(rc), state_len);
  if (rc != NB_OK) {
    tap_error(&err);
    return;
  }
  tap_result(kit->tap, state_len == 0 || state != NULL,
             "dest_commit's state pointer is set when its length is not 0");
  free(run->state);
  run->state = NULL;
  run->state_len = 0;
  if (state_len > 0 && state != NULL) {
    run->state = malloc(state_len);
    if (run->state == NULL) {
      tap_result(kit->tap, false, "out of memory");
      return;
    }
    memcpy(run->state, state, state_len);
    run->state_len = state_len;
  }
  run->committed = true;
  /* ABI 1.1: the run completed, so the host would now call dest_finish. */
  if (NB_STRUCT_HAS(NbConnector, c, dest_finish) && c->dest_finish != NULL) {
    rc = c->dest_finish(dest, &err);
    tap_result(kit->tap, rc == NB_OK, "dest_finish ends the output (%s)",
               nb_status_name(rc));
    if (rc != NB_OK) tap_error(&err);
  }
}

/* One run of the destination: open (resuming from state when given),
 * prepare, write, commit, finish, close. */
static void dest_run(Kit *kit, DestRun *run, const void *state, size_t state_len) {
  const NbConnector *c = &kit->conn;
  KitHost host;
  void *dest = NULL;
  struct ArrowSchema schema;
  struct ArrowArray batch;
  uint32_t stream = 0;
  memset(&schema, 0, sizeof schema);
  memset(&batch, 0, sizeof batch);
  run->committed = false;
  if (!open_side_at(kit, NB_SETTING_DEST, &host, &dest, state, state_len)) return;
  if (prepare_stream(kit, dest, run, &schema, &batch, &stream) == NB_OK)
    write_and_commit(kit, dest, run, stream, &batch);
  c->dest_close(dest);
  tap_result(kit->tap, host.open_files == 0,
             "dest_close closes every file it opened (%d left open)",
             host.open_files);
  if (batch.release != NULL) batch.release(&batch);
  if (schema.release != NULL) schema.release(&schema);
}

void kit_check_dest(Kit *kit) {
  DestRun run = {typed_fields, sizeof typed_fields / sizeof typed_fields[0], NULL, 0, false};
  unsigned char *saved;
  size_t saved_len;
  dest_run(kit, &run, NULL, 0);
  if (!run.committed || run.state_len == 0) {
    if (run.committed)
      tap_diag("dest_commit returned no state: nothing to resume from");
    free(run.state);
    return;
  }
  /* Resume: an interrupted run's successor opens with the state of the
   * last durable commit, and must be able to go on writing after it. */
  tap_diag("resuming the destination from the state of its commit (%zu bytes)",
           run.state_len);
  saved = run.state;
  saved_len = run.state_len;
  run.state = NULL;
  run.state_len = 0;
  dest_run(kit, &run, saved, saved_len);
  tap_result(kit->tap, run.committed, "a resumed destination writes and commits again");
  free(saved);
  free(run.state);
}
