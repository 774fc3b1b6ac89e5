/*
 * json_dest.c - the json destination: each row becomes one JSON object
 * whose keys are the schema's column names in schema order, written as
 * JSON Lines or as one JSON array.
 *
 * The rows are formatted by json_format.c (types, escaping, framing);
 * the state blob is json_dest_state.c.  dest_write is all or nothing: on
 * NB_DATA none of the batch is written.
 *
 * Array format: "[\n" before the first row, ",\n" between rows, and the
 * closing "\n]\n" ("[]\n" with no rows) by dest_finish (ABI 1.1), which
 * the host calls when the run completed: a failure to write or sync it
 * fails the run.  A destination closed without dest_finish (a failed or
 * stopped run, or a 1.0 host) still gets the bracket at close, as before,
 * where a failure can only be logged.  Commits never include the bracket,
 * so the state (committed length and whether a row was written, per file)
 * lets a resumed run truncate to the last commit and go on with ",\n".
 *
 * "{stream}" in path gives one file per stream (the stream name's base
 * name without extensions); without it all streams go to the one file,
 * which is created at open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_dest_internal.h"

/* ------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------ */

int json_dest_flush(JsonDest *d, OutFile *f, NbError *err) {
  if (f->buf.len == 0) return NB_OK;
  int rc = d->host->file_write(f->file, f->buf.data, f->buf.len, err);
  f->buf.len = 0;
  return rc;
}

/* The index of the open file for path, opening it if needed. */
static int open_file(JsonDest *d, const char *path, size_t *index,
                     NbError *err) {
  *index = NB_KEYED_FIND(d->files, d->n_files, OutFile, path, path);
  if (*index < d->n_files) return NB_OK;
  OutFile *v = NB_KEYED_APPEND(d->files, d->n_files, OutFile, path, path);
  if (v == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening file \"%s\"", path);
  d->files = v;
  OutFile *f = &v[d->n_files];
  if (!json_buf_reserve(&f->buf, JSON_IO_SIZE + JSON_IO_SIZE / 4)) {
    free(f->path);
    json_buf_free(&f->buf);
    return nb_error_set(err, NB_NOMEM, "out of memory opening file \"%s\"", path);
  }

  NbWriteOptions opts;
  memset(&opts, 0, sizeof opts);
  opts.struct_size = (uint32_t)sizeof opts;
  /* compression NULL: the host applies the pipeline's (NB_CAP_HOST_FILE_COMPRESSION). */
  opts.resume_length = -1;
  const SavedFile *saved = json_dest_saved_find(d, path);
  if (saved != NULL) {
    /* Resume: drop what was written after the last commit. */
    opts.resume_length = (int64_t)saved->length;
    f->any_row = saved->any_row;
  }
  int rc = d->host->file_open_write(d->host->host_data, path, &opts, &f->file, err);
  if (rc != NB_OK) {
    free(f->path);
    json_buf_free(&f->buf);
    return rc;
  }
  *index = d->n_files++;
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Streams
 * ------------------------------------------------------------------------ */

static void stream_clear_schema(DestStream *s) {
  if (s->schema.release != NULL) s->schema.release(&s->schema);
  memset(&s->schema, 0, sizeof s->schema);
  free(s->fields);
  free(s->keys);
  free(s->key_off);
  free(s->key_len);
  s->fields = NULL;
  s->keys = NULL;
  s->key_off = s->key_len = NULL;
  s->n_fields = 0;
}

/* Keep a copy of the schema and escape each column's key once. */
static int stream_set_schema(JsonDest *d, DestStream *s,
                             const struct ArrowSchema *schema, NbError *err) {
  struct ArrowSchema copy;
  memset(&copy, 0, sizeof copy);
  int rc = nb_schema_copy(schema, &copy, err);
  if (rc != NB_OK) return rc;
  stream_clear_schema(s);
  s->schema = copy;
  rc = nb_schema_fields(&s->schema, &s->fields, &s->n_fields, err);
  if (rc != NB_OK) return rc;
  return json_format_keys(d, s, err);
}

/* The file of a new stream: its own ("{stream}" in path) or the one. */
static int open_stream_file(JsonDest *d, DestStream *s, NbError *err) {
  char *path = nb_stream_path(d->path, s->name);
  int rc = path == NULL ? nb_error_set(err, NB_NOMEM, "out of memory preparing stream \"%s\"", s->name)
                        : open_file(d, path, &s->out, err);
  free(path);
  s->opened = rc == NB_OK;
  return rc;
}

/* ------------------------------------------------------------------------
 * The vtable
 * ------------------------------------------------------------------------ */

int json_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest,
                   NbError *err) {
  const char *path;
  int format;
  bool escape;
  int rc;

  NbDeclaredSettings set = NB_DECLARED_SETTINGS(args->settings, json_settings, JSON_N_SETTINGS,
                                                 NB_SETTING_DEST);
  *dest = NULL;
  rc = nb_declared_string(&set, "path", &path, err); /* REQUIRED: not NULL, not empty */
  if (rc != NB_OK) return rc;
  rc = nb_declared_enum(&set, "format", &format, err);
  if (rc != NB_OK) return rc;
  rc = nb_declared_bool(&set, "escape_unicode_separators", &escape, err);
  if (rc != NB_OK) return rc;

  JsonDest *d = calloc(1, sizeof *d);
  if (d == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening the json destination");
  d->host = host;
  d->format = format == 0 ? JSON_FORMAT_LINES : JSON_FORMAT_ARRAY; /* "lines|array" */
  d->escape_separators = escape;
  d->path = strdup(path);
  d->per_stream = nb_path_has_stream(path);
  if (d->path == NULL || !json_parser_init(&d->validator, UINT32_MAX)) {
    json_dest_close(d);
    return nb_error_set(err, NB_NOMEM, "out of memory opening the json destination");
  }
  if (args->state != NULL) {
    rc = json_dest_parse_state(d, args->state, args->state_len, err);
    if (rc != NB_OK) {
      json_dest_close(d);
      return rc;
    }
  }
  if (!d->per_stream) {
    size_t index;
    rc = open_file(d, d->path, &index, err);
    if (rc != NB_OK) {
      json_dest_close(d);
      return rc;
    }
  }
  *dest = d;
  return NB_OK;
}

int json_dest_prepare(void *dest, const char *stream_name,
                      const struct ArrowSchema *schema, uint32_t *dest_stream,
                      NbError *err) {
  JsonDest *d = dest;
  size_t i;
  DestStream *v = NB_KEYED_FIND_OR_ADD(d->streams, &d->n_streams, DestStream, name, stream_name, &i);
  if (v == NULL) return nb_error_set(err, NB_NOMEM, "out of memory preparing stream \"%s\"", stream_name);
  d->streams = v;
  int rc = v[i].opened ? NB_OK : open_stream_file(d, &v[i], err);
  if (rc == NB_OK) rc = stream_set_schema(d, &v[i], schema, err);
  if (rc != NB_OK) return rc;
  *dest_stream = (uint32_t)i;
  return NB_OK;
}

int json_dest_write(void *dest, uint32_t dest_stream,
                    const struct ArrowArray *batch, NbError *err) {
  JsonDest *d = dest;
  if (dest_stream >= d->n_streams || !d->streams[dest_stream].opened)
    return nb_error_set(err, NB_INVALID, "destination stream %u was not prepared", dest_stream);
  DestStream *s = &d->streams[dest_stream];
  OutFile *f = &d->files[s->out];
  int rc = json_format_batch(d, f, s, batch, err);
  if (rc != NB_OK) return rc;
  if (f->buf.len >= FLUSH_BYTES) return json_dest_flush(d, f, err);
  return NB_OK;
}

int json_dest_commit(void *dest, const void **state, size_t *state_len,
                     NbError *err) {
  JsonDest *d = dest;
  for (size_t i = 0; i < d->n_files; i++) {
    OutFile *f = &d->files[i];
    uint64_t length = 0;
    int rc = json_dest_flush(d, f, err);
    if (rc != NB_OK) return rc;
    rc = d->host->file_commit(f->file, &length, err);
    if (rc != NB_OK) return rc;
    if (json_dest_saved_set(d, f->path, length, f->any_row) != NB_OK)
      return nb_error_set(err, NB_NOMEM, "out of memory committing file \"%s\"", f->path);
  }
  if (json_dest_build_state(d) != NB_OK)
    return nb_error_set(err, NB_NOMEM, "out of memory committing the json destination");
  *state = d->state.data;
  *state_len = d->state.len;
  return NB_OK;
}

int json_dest_finish(void *dest, NbError *err) {
  JsonDest *d = dest;
  for (size_t i = 0; i < d->n_files; i++) {
    OutFile *f = &d->files[i];
    uint64_t length = 0;
    if (!json_format_end(d, f))
      return nb_error_set(err, NB_NOMEM, "out of memory ending file \"%s\"", f->path);
    int rc = json_dest_flush(d, f, err);
    /* Durable, as a commit would make it, but not part of any state: a
     * resumed run truncates to the last commit. */
    if (rc == NB_OK) rc = d->host->file_commit(f->file, &length, err);
    if (rc != NB_OK) {
      nb_error_detail(err, "Could not write the end of file \"%s\"%s.", f->path,
                      d->format == JSON_FORMAT_ARRAY ? " (the closing bracket of the JSON array)" : "");
      return rc;
    }
  }
  return NB_OK;
}

void json_dest_close(void *dest) {
  JsonDest *d = dest;
  if (d == NULL) return;
  for (size_t i = 0; i < d->n_files; i++) {
    OutFile *f = &d->files[i];
    NbError e;
    nb_error_init(&e);
    json_format_end(d, f);
    int rc = json_dest_flush(d, f, &e);
    if (rc != NB_OK)
      nb_log(d->host, NB_LOG_ERROR, "could not finish file \"%s\": %s", f->path,
             e.message ? e.message : nb_status_name(rc));
    nb_error_release(&e);
    nb_file_close_logged(d->host, f->file, f->path);
    json_buf_free(&f->buf);
    free(f->path);
  }
  for (size_t i = 0; i < d->n_streams; i++) {
    stream_clear_schema(&d->streams[i]);
    free(d->streams[i].name);
  }
  for (size_t i = 0; i < d->n_saved; i++) free(d->saved[i].path);
  free(d->saved);
  free(d->files);
  free(d->streams);
  json_parser_free(&d->validator);
  json_buf_free(&d->scratch);
  json_buf_free(&d->state);
  free(d->path);
  free(d);
}
