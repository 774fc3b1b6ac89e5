/*
 * good_minimal.c - the smallest sound test connector, "testgood": a source
 * of one empty stream (columns id int64, name utf8) and a destination that
 * opens its file through the host and writes nothing.  Its settings cover
 * every setting type, side and flag, for the configuration tests.
 *
 * A source path starting with "missing" fails to open (NB_NOT_FOUND), so
 * `check` can be tested without touching real files.
 */
#include <stdlib.h>
#include <string.h>

#include "nebula/sdk.h"

static const NbSettingSpec good_settings[] = {
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL, "file to read or write"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_DEST, "format", "lines", "lines|array",
               "output layout"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "delimiter", ",", NULL, "field separator"),
    NB_SETTING(NB_SETTING_INT, 0, "rows", "10", NULL, "rows per batch"),
    NB_SETTING(NB_SETTING_DOUBLE, 0, "ratio", "0.5", NULL, "a fraction"),
    NB_SETTING(NB_SETTING_BOOL, 0, "header", "true", NULL, "whether there is a header line"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SECRET, "password", NULL, NULL, "a secret"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SECRET | NB_SETTING_SOURCE, "pin", NULL, NULL,
               "a secret number"),
};

typedef struct GoodSource {
  char *path;
} GoodSource;

typedef struct GoodDest {
  const NbHostApi *host;
  NbFile *file;
} GoodDest;

static int good_source_open(const NbHostApi *host, const NbOpenArgs *args, void **source,
                            NbError *err) {
  const char *path;
  GoodSource *s;
  int rc = nb_setting_string(args->settings, "path", NULL, &path, err);
  (void)host;
  if (rc != NB_OK) return rc;
  if (strncmp(path, "missing", 7) == 0)
    return nb_error_set(err, NB_NOT_FOUND, "could not open file \"%s\": No such file or directory",
                        path);
  s = calloc(1, sizeof *s);
  if (s == NULL || (s->path = strdup(path)) == NULL) {
    free(s);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  *source = s;
  return NB_OK;
}

static int good_stream_count(void *source, uint32_t *count, NbError *err) {
  (void)source, (void)err;
  *count = 1;
  return NB_OK;
}

static int good_stream_info(void *source, uint32_t index, NbStreamInfo *out, NbError *err) {
  GoodSource *s = source;
  if (index != 0) return nb_error_set(err, NB_INVALID, "no stream %u", (unsigned)index);
  out->name = s->path;
  out->size_bytes = 0;
  return NB_OK;
}

static int good_schema(void *source, uint32_t index, struct ArrowSchema *out, NbError *err) {
  NbField fields[2];
  (void)source, (void)index;
  memset(fields, 0, sizeof fields);
  fields[0].name = "id";
  fields[0].type = NB_TYPE_INT64;
  fields[1].name = "name";
  fields[1].type = NB_TYPE_UTF8;
  fields[1].nullable = true;
  return nb_schema_export(fields, 2, out, err);
}

static int good_next(void *source, uint32_t index, struct ArrowArray *out, NbBatchInfo *info,
                     NbError *err) {
  (void)source, (void)index, (void)out, (void)info, (void)err;
  return NB_END;
}

static void good_source_close(void *source) {
  GoodSource *s = source;
  if (s == NULL) return;
  free(s->path);
  free(s);
}

static int good_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest,
                          NbError *err) {
  const char *path;
  GoodDest *d;
  int rc = nb_setting_string(args->settings, "path", NULL, &path, err);
  if (rc != NB_OK) return rc;
  d = calloc(1, sizeof *d);
  if (d == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  d->host = host;
  rc = host->file_open_write(host->host_data, path, NULL, &d->file, err);
  if (rc != NB_OK) {
    free(d);
    return rc;
  }
  *dest = d;
  return NB_OK;
}

static int good_prepare(void *dest, const char *stream, const struct ArrowSchema *schema,
                        uint32_t *dest_stream, NbError *err) {
  (void)dest, (void)stream, (void)schema, (void)err;
  *dest_stream = 0;
  return NB_OK;
}

static int good_write(void *dest, uint32_t dest_stream, const struct ArrowArray *batch,
                      NbError *err) {
  (void)dest, (void)dest_stream, (void)batch, (void)err;
  return NB_OK;
}

static int good_commit(void *dest, const void **state, size_t *state_len, NbError *err) {
  GoodDest *d = dest;
  uint64_t length;
  int rc = d->host->file_commit(d->file, &length, err);
  *state = NULL;
  *state_len = 0;
  return rc;
}

static void good_dest_close(void *dest) {
  GoodDest *d = dest;
  if (d == NULL) return;
  d->host->file_close(d->file, NULL);
  free(d);
}

static void good_describe(NbConnector *c) {
  c->name = "testgood";
  c->version = "1.2.3";
  c->description = "minimal test connector";
  c->capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION;
  c->settings = good_settings;
  c->n_settings = sizeof good_settings / sizeof good_settings[0];
  c->source_open = good_source_open;
  c->source_stream_count = good_stream_count;
  c->source_stream_info = good_stream_info;
  c->source_schema = good_schema;
  c->source_next = good_next;
  c->source_close = good_source_close;
  c->dest_open = good_dest_open;
  c->dest_prepare = good_prepare;
  c->dest_write = good_write;
  c->dest_commit = good_commit;
  c->dest_close = good_dest_close;
}

NB_CONNECTOR_ENTRY(good_describe)
