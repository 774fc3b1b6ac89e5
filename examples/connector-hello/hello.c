/*
 * hello.c - "hello", an example Nebula connector built outside the Nebula
 * tree against the installed SDK (see docs/writing-a-connector.md).
 *
 * Source: one stream, "greetings", of `rows` rows (id int64, message utf8),
 * resumable.  Destination: writes every row as one tab-separated line of
 * text to `path`, and resumes by truncating to its last commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nebula/sdk.h>

static const NbSettingSpec hello_settings[] = {
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "rows", "10", NULL,
               "number of rows the source produces"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "greeting", "hello", NULL,
               "text before the row number"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_DEST | NB_SETTING_REQUIRED, "path",
               NULL, NULL, "file the destination writes"),
};

static const NbField hello_fields[] = {
    {"id", NB_TYPE_INT64, false, 0, 0, NULL},
    {"message", NB_TYPE_UTF8, false, 0, 0, NULL},
};

/* ------------------------------------------------------------------------
 * Source
 * ------------------------------------------------------------------------ */

typedef struct HelloSource {
  int64_t rows;
  int64_t next;              /* id of the next row */
  char *greeting;
  uint64_t batch_rows;
  NbBatchBuilder *builder;
  unsigned char position[NB_POSITION_MAX_BYTES];
} HelloSource;

static void source_close(void *handle) {
  HelloSource *s = handle;
  if (s == NULL) return;
  nb_batch_builder_free(s->builder);
  free(s->greeting);
  free(s);
}

static int source_open(const NbHostApi *host, const NbOpenArgs *args,
                       void **out, NbError *err) {
  NbDeclaredSettings set = NB_DECLARED_SETTINGS(
      args->settings, hello_settings, NB_COUNT(hello_settings), NB_SETTING_SOURCE);
  HelloSource *s;
  const char *greeting;
  int64_t rows;
  int rc;
  (void)host;
  /* Defaults come from hello_settings, the one place they are written. */
  if ((rc = nb_declared_int(&set, "rows", &rows, err)) != NB_OK ||
      (rc = nb_declared_string(&set, "greeting", &greeting, err)) != NB_OK)
    return rc;
  if (rows < 0)
    return nb_error_set(err, NB_INVALID,
                        "invalid value for setting \"rows\": \"%lld\"",
                        (long long)rows);
  s = calloc(1, sizeof *s);
  if (s == NULL || (s->greeting = strdup(greeting)) == NULL) {
    free(s);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  s->rows = rows;
  s->batch_rows = args->batch_rows;
  rc = nb_batch_builder_new(hello_fields, 2, args->batch_rows, &s->builder, err);
  if (rc != NB_OK) {
    source_close(s);
    return rc;
  }
  *out = s;
  return NB_OK;
}

static int stream_count(void *handle, uint32_t *count, NbError *err) {
  (void)handle, (void)err;
  *count = 1;
  return NB_OK;
}

static int stream_info(void *handle, uint32_t index, NbStreamInfo *out,
                       NbError *err) {
  (void)handle;
  if (index != 0) return nb_error_set(err, NB_NOT_FOUND, "no stream %u", index);
  out->name = "greetings";
  out->size_bytes = -1;
  return NB_OK;
}

static int source_schema(void *handle, uint32_t index, struct ArrowSchema *out,
                         NbError *err) {
  (void)handle;
  if (index != 0) return nb_error_set(err, NB_NOT_FOUND, "no stream %u", index);
  return nb_schema_export(hello_fields, 2, out, err);
}

/* The position is the id of the next row. */
static int source_seek(void *handle, uint32_t index, const void *position,
                       size_t len, NbError *err) {
  HelloSource *s = handle;
  uint64_t next;
  int rc;
  (void)index;
  if ((rc = nb_position_decode(position, len, &next, 1, err)) != NB_OK) return rc;
  s->next = (int64_t)next;
  return NB_OK;
}

static int source_next(void *handle, uint32_t index, struct ArrowArray *out,
                       NbBatchInfo *info, NbError *err) {
  HelloSource *s = handle;
  NbColumnBuilder *ids = nb_batch_builder_column(s->builder, 0);
  NbColumnBuilder *messages = nb_batch_builder_column(s->builder, 1);
  uint64_t next;
  char text[256];
  (void)index;
  if (s->next >= s->rows) return NB_END;
  for (uint64_t n = 0; n < s->batch_rows && s->next < s->rows; n++, s->next++) {
    int len = snprintf(text, sizeof text, "%s %lld", s->greeting,
                       (long long)s->next);
    if (len < 0 || (size_t)len >= sizeof text)
      return nb_error_set(err, NB_INVALID, "setting \"greeting\" is too long");
    if (nb_column_append_int64(ids, s->next) != NB_OK ||
        nb_column_append_utf8(messages, text, (size_t)len) != NB_OK)
      return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  next = (uint64_t)s->next;
  info->position_len = nb_position_encode(s->position, sizeof s->position, &next, 1);
  info->position = s->position;
  info->bytes_read = -1;
  return nb_batch_builder_finish(s->builder, out, err);
}

/* ------------------------------------------------------------------------
 * Destination
 * ------------------------------------------------------------------------ */

typedef struct HelloDest {
  const NbHostApi *host;
  NbFile *file;
  struct ArrowSchema schema;  /* of the stream being written */
  uint64_t committed;
  unsigned char state[NB_POSITION_MAX_BYTES];
} HelloDest;

static void dest_close(void *handle) {
  HelloDest *d = handle;
  if (d == NULL) return;
  d->host->file_close(d->file, NULL);
  if (d->schema.release != NULL) d->schema.release(&d->schema);
  free(d);
}

static int dest_open(const NbHostApi *host, const NbOpenArgs *args, void **out,
                     NbError *err) {
  NbDeclaredSettings set = NB_DECLARED_SETTINGS(
      args->settings, hello_settings, NB_COUNT(hello_settings), NB_SETTING_DEST);
  NbWriteOptions options = {sizeof options, "none", 0, 0, -1};
  HelloDest *d;
  const char *path;
  int rc;
  if ((rc = nb_declared_string(&set, "path", &path, err)) != NB_OK) return rc;
  d = calloc(1, sizeof *d);
  if (d == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  d->host = host;
  if (args->state != NULL) {
    /* Resume: drop whatever was written after the last commit. */
    if ((rc = nb_position_decode(args->state, args->state_len, &d->committed,
                                 1, err)) != NB_OK) {
      free(d);
      return rc;
    }
    options.resume_length = (int64_t)d->committed;
  }
  rc = host->file_open_write(host->host_data, path, &options, &d->file, err);
  if (rc != NB_OK) {
    free(d);
    return rc;
  }
  *out = d;
  return NB_OK;
}

/* The schema is borrowed for this call: keep a copy to read the batches
 * of dest_write with. */
static int dest_prepare(void *handle, const char *stream_name,
                        const struct ArrowSchema *schema, uint32_t *stream,
                        NbError *err) {
  HelloDest *d = handle;
  (void)stream_name;
  *stream = 0;
  return nb_schema_copy(schema, &d->schema, err);
}

static int dest_write(void *handle, uint32_t stream,
                      const struct ArrowArray *batch, NbError *err) {
  HelloDest *d = handle;
  NbColumnView *views;
  size_t n;
  int rc = nb_batch_views(&d->schema, batch, &views, &n, err);
  (void)stream;
  if (rc != NB_OK) return rc;
  for (int64_t row = 0; row < batch->length && rc == NB_OK; row++) {
    for (size_t col = 0; col < n && rc == NB_OK; col++) {
      char scratch[NB_TEXT_SCRATCH];
      const char *text = "";
      size_t len = 0;
      if (!nb_view_is_null(&views[col], row))
        len = nb_view_text_n(&views[col], row, scratch, sizeof scratch, &text);
      rc = d->host->file_write(d->file, text, len, err);
      if (rc == NB_OK)
        rc = d->host->file_write(d->file, col + 1 < n ? "\t" : "\n", 1, err);
    }
  }
  free(views);
  return rc;
}

static int dest_commit(void *handle, const void **state, size_t *state_len,
                       NbError *err) {
  HelloDest *d = handle;
  int rc = d->host->file_commit(d->file, &d->committed, err);
  if (rc != NB_OK) return rc;
  *state_len = nb_position_encode(d->state, sizeof d->state, &d->committed, 1);
  *state = d->state;
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Entry
 * ------------------------------------------------------------------------ */

static const NbConnector hello = {
    .name = "hello",
    .version = "1.0.0",
    .description = "greets N times; writes rows as tab-separated text",
    .capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION | NB_CAP_RESUMABLE,
    .settings = hello_settings,
    .n_settings = NB_COUNT(hello_settings),
    .source_open = source_open,
    .source_stream_count = stream_count,
    .source_stream_info = stream_info,
    .source_schema = source_schema,
    .source_seek = source_seek,
    .source_next = source_next,
    .source_close = source_close,
    .dest_open = dest_open,
    .dest_prepare = dest_prepare,
    .dest_write = dest_write,
    .dest_commit = dest_commit,
    .dest_close = dest_close,
};

/* The exported entry; the opens check the settings before calling ours. */
NB_CONNECTOR_EXPORT(hello)
