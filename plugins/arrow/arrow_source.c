/*
 * arrow_source.c - the arrow source: Arrow IPC files and streams, one
 * stream per file (a glob pattern gives several, in sorted order).
 *
 * The format is detected from the first bytes: "ARROW1" is the file
 * format, read sequentially as the stream it contains (the footer repeats
 * the schema and lists the blocks; a sequential reader does not need it,
 * and the host's files cannot seek); anything else is the streaming
 * format.  Messages: 0xFFFFFFFF, int32 metadata length, Message
 * flatbuffer, body (the pre-0.15 form without the 0xFFFFFFFF is read too);
 * a zero length, or the end of the file at a message boundary, ends the
 * stream.  Every length is checked before anything is allocated: metadata
 * at most 64 MiB, a body at most max_batch_bytes; the message is decoded
 * by the checked flatbuffers reader and its columns by arrow_columns.c,
 * so a crafted file is an error naming the file and the message's offset.
 *
 * Dictionaries: a DictionaryBatch replaces the dictionary of its id (a
 * delta batch is appended to it); dictionary-encoded columns are decoded
 * to plain values, the engine has no dictionary type.
 *
 * Position: the offset just after the last record batch returned and the
 * number of record batches so far.  A resumed stream is read again from
 * the start, decoding schema and dictionaries but skipping the bodies of
 * the record batches before the saved offset.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrow_columns.h"
#include "arrow_connector.h"
#include "arrow_ipc.h"

typedef struct Dictionary {
  int64_t id;
  struct ArrowArray values; /* released when replaced */
} Dictionary;

typedef struct Stream {
  char *path;
  int64_t size;
  NbFile *file;
  uint64_t offset;         /* bytes consumed from the file */
  bool started;            /* magic and schema read */
  bool ended;
  bool file_format;
  uint8_t pending[8];      /* bytes read to detect the format, not yet
                              consumed (the streaming format) */
  size_t pending_len, pending_pos;
  IpcSchema ipc;
  NbField *fields;         /* engine types; names point into ipc */
  Dictionary *dicts;
  size_t n_dicts;
  bool held;               /* a message read by start_stream, for next */
  IpcMessage held_msg;     /* (its metadata stays in src->meta) */
  uint64_t held_at;
  uint64_t batches;        /* record batches passed (returned or skipped) */
  uint64_t resume_offset;  /* skip record batches ending at or before */
  uint64_t resume_batches;
  bool resuming;
  bool broken;             /* the stream lost its framing: no more reads */
  bool bad_batch;          /* the last NB_DATA was one batch's values; the
                              stream goes on after it */
  uint8_t position[NB_POSITION_MAX_BYTES];
} Stream;

typedef struct ArrowSource {
  const NbHostApi *host;
  int64_t max_batch_bytes;
  Stream *streams;
  size_t n_streams;
  uint8_t *meta;           /* metadata of the current message */
  size_t meta_cap;
} ArrowSource;

/* ------------------------------------------------------------------------
 * Errors and reading
 * ------------------------------------------------------------------------ */

static int data_error(const Stream *s, uint64_t at, NbError *err,
                      const char *what) {
  nb_error_set(err, NB_DATA, "file \"%s\" is not a valid Arrow IPC %s: %s (message at offset %llu)",
               s->path, s->file_format ? "file" : "stream", what, (unsigned long long)at);
  nb_error_locate(err, s->path, 0, 0);
  nb_error_hint(err, "The file is damaged, truncated, or was not written as Arrow IPC.");
  return NB_DATA;
}

static int footer_schema(const Stream *s, uint8_t **buf, FbTable *schema,
                         uint64_t at, NbError *err);

/* Read exactly n bytes; *got < n only at the end of the file. */
static int read_bytes(ArrowSource *src, Stream *s, void *buf, size_t n,
                      size_t *got, NbError *err) {
  *got = 0;
  while (*got < n && s->pending_pos < s->pending_len) {
    ((uint8_t *)buf)[(*got)++] = s->pending[s->pending_pos++];
    s->offset++;
  }
  while (*got < n) {
    size_t r = 0;
    if (src->host->is_cancelled(src->host->host_data))
      return nb_error_set(err, NB_CANCELLED, "reading file \"%s\" was cancelled", s->path);
    int rc = src->host->file_read(s->file, (uint8_t *)buf + *got, n - *got, &r, err);
    if (rc != NB_OK) return rc;
    if (r == 0) break;
    *got += r;
    s->offset += r;
  }
  return NB_OK;
}

static int read_exact(ArrowSource *src, Stream *s, void *buf, size_t n,
                      uint64_t at, const char *what, NbError *err) {
  size_t got;
  int rc = read_bytes(src, s, buf, n, &got, err);
  if (rc != NB_OK) return rc;
  if (got < n) {
    char why[128];
    snprintf(why, sizeof why, "the file ends inside the %s", what);
    return data_error(s, at, err, why);
  }
  return NB_OK;
}

/* Skip n bytes (a body that is not needed); NB_END is a truncated file. */
static int skip_bytes(ArrowSource *src, Stream *s, uint64_t n, NbError *err) {
  while (n > 0 && s->pending_pos < s->pending_len) {
    s->pending_pos++;
    s->offset++;
    n--;
  }
  if (n == 0) return NB_OK;
  int rc = src->host->file_skip(s->file, n, err);
  if (rc == NB_OK) s->offset += n;
  return rc;
}

static int open_stream(ArrowSource *src, Stream *s, NbError *err) {
  if (s->file != NULL) return NB_OK;
  s->offset = 0;
  return src->host->file_open_read(src->host->host_data, s->path, &s->file, err);
}

/* A message: its metadata in src->meta (decoded into *msg) and its offset;
 * *eos at the end of the stream. */
static int read_message(ArrowSource *src, Stream *s, IpcMessage *msg,
                        uint64_t *at, bool *eos, NbError *err) {
  uint8_t prefix[4];
  size_t got;
  *eos = false;
  *at = s->offset;
  int rc = read_bytes(src, s, prefix, 4, &got, err);
  if (rc != NB_OK) return rc;
  if (got == 0) { /* end of file at a message boundary */
    *eos = true;
    return NB_OK;
  }
  if (got < 4) return data_error(s, *at, err, "the file ends inside a message prefix");
  uint32_t len = (uint32_t)fb_read_i32(prefix);
  if (len == IPC_CONTINUATION) {
    rc = read_exact(src, s, prefix, 4, *at, "message prefix", err);
    if (rc != NB_OK) return rc;
    len = (uint32_t)fb_read_i32(prefix);
  }
  if (len == 0) {
    *eos = true;
    return NB_OK;
  }
  if (len > IPC_MAX_METADATA || (int64_t)len > src->max_batch_bytes) {
    char why[160];
    snprintf(why, sizeof why, "metadata length %u is larger than the %u bytes accepted", len,
             (unsigned)IPC_MAX_METADATA);
    return data_error(s, *at, err, why);
  }
  if (len > src->meta_cap) {
    uint8_t *p = realloc(src->meta, len);
    if (p == NULL) return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", s->path);
    src->meta = p;
    src->meta_cap = len;
  }
  rc = read_exact(src, s, src->meta, len, *at, "message metadata", err);
  if (rc != NB_OK) return rc;
  const char *why = NULL;
  if (!ipc_message_decode(src->meta, len, msg, &why)) return data_error(s, *at, err, why);
  if (msg->body_length > src->max_batch_bytes) {
    char text[200];
    snprintf(text, sizeof text, "a body of %lld bytes is larger than max_batch_bytes (%lld)",
             (long long)msg->body_length, (long long)src->max_batch_bytes);
    data_error(s, *at, err, text);
    nb_error_hint(err, "Raise the setting \"max_batch_bytes\" if the file is trusted and its batches are that large.");
    return NB_DATA;
  }
  return NB_OK;
}

static int read_body(ArrowSource *src, Stream *s, const IpcMessage *msg,
                     uint64_t at, IpcBody **out, NbError *err) {
  IpcBody *body = ipc_body_new((size_t)msg->body_length);
  if (body == NULL) return nb_error_set(err, NB_NOMEM, "out of memory reading a body of %lld bytes from file \"%s\"",
                                        (long long)msg->body_length, s->path);
  int rc = read_exact(src, s, body->data, (size_t)msg->body_length, at, "message body", err);
  if (rc != NB_OK) {
    ipc_body_unref(body);
    return rc;
  }
  *out = body;
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Schema and dictionaries
 * ------------------------------------------------------------------------ */

static int start_stream(ArrowSource *src, Stream *s, NbError *err) {
  if (s->started) return NB_OK;
  int rc = open_stream(src, s, err);
  if (rc != NB_OK) return rc;
  uint8_t magic[8];
  size_t got;
  rc = read_bytes(src, s, magic, 8, &got, err);
  if (rc != NB_OK) return rc;
  if (got >= 6 && memcmp(magic, IPC_MAGIC, 6) == 0) {
    s->file_format = true;
    if (got < 8) return data_error(s, 0, err, "the file ends after its magic");
  } else {
    /* The streaming format: those bytes are the first message's; read
     * them again from pending (standard input cannot be reopened). */
    memcpy(s->pending, magic, got);
    s->pending_len = got;
    s->pending_pos = 0;
    s->offset = 0;
  }
  IpcMessage msg;
  uint64_t at;
  bool eos;
  rc = read_message(src, s, &msg, &at, &eos, err);
  if (rc != NB_OK) return rc;
  if (eos && !s->file_format) return data_error(s, at, err, "the stream ends before its schema");
  const char *why = NULL;
  int drc;
  if (eos || msg.header_type != IPC_HDR_SCHEMA) {
    if (!s->file_format) return data_error(s, at, err, "the first message is not a schema");
    uint8_t *footer;
    FbTable schema;
    rc = footer_schema(s, &footer, &schema, at, err);
    if (rc != NB_OK) {
      free(footer);
      return rc;
    }
    drc = ipc_schema_decode(&schema, &s->ipc, &why);
    free(footer);
    s->held = !eos;
    s->ended = eos;
    s->held_msg = msg;
    s->held_at = at;
  } else {
    drc = ipc_schema_decode(&msg.header, &s->ipc, &why);
  }
  if (drc == -2) return nb_error_set(err, NB_NOMEM, "out of memory reading the schema of file \"%s\"", s->path);
  if (drc != 0) return data_error(s, at, err, why);
  if (!s->held && !s->ended && msg.body_length != 0) {
    /* a schema has no body; skip what a writer put there */
    rc = skip_bytes(src, s, (uint64_t)msg.body_length, err);
    if (rc == NB_END) return data_error(s, at, err, "the file ends inside the schema's body");
    if (rc != NB_OK) return rc;
  }
  s->fields = calloc(s->ipc.n ? s->ipc.n : 1, sizeof *s->fields);
  if (s->fields == NULL) return nb_error_set(err, NB_NOMEM, "out of memory reading the schema of file \"%s\"", s->path);
  for (size_t i = 0; i < s->ipc.n; i++) {
    if (!ipc_engine_field(&s->ipc.fields[i], &s->fields[i], &why)) {
      nb_error_set(err, NB_INVALID, "column \"%s\" of file \"%s\" cannot be read: %s",
                   s->ipc.fields[i].name, s->path, why);
      nb_error_locate(err, s->path, 0, (int64_t)i + 1);
      nb_error_hint(err, "Write the column as one of the types listed in docs/arrow-connector.md.");
      return NB_INVALID;
    }
  }
  s->started = true;
  return NB_OK;
}

/* The schema of a file format file from its footer (Arrow's JavaScript
 * writer puts it there only, not at the start of the stream).  Reads the
 * end of the file directly: the host's files cannot seek. */
static int footer_schema(const Stream *s, uint8_t **buf, FbTable *schema,
                         uint64_t at, NbError *err) {
  char why[200];
  int fd = open(s->path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  uint8_t tail[10];
  *buf = NULL;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) close(fd);
    return data_error(s, at, err, "the file format's stream has no schema, and the footer that holds it cannot be read (not a regular file)");
  }
  if (st.st_size < 18 || pread(fd, tail, 10, st.st_size - 10) != 10 ||
      memcmp(tail + 4, IPC_MAGIC, 6) != 0) {
    close(fd);
    return data_error(s, at, err, "the stream has no schema and the file does not end with a footer and \"ARROW1\"");
  }
  uint32_t len = (uint32_t)fb_read_i32(tail);
  if (len == 0 || len > IPC_MAX_METADATA || (int64_t)len > st.st_size - 18) {
    close(fd);
    snprintf(why, sizeof why, "footer length %u does not fit a file of %lld bytes", len, (long long)st.st_size);
    return data_error(s, (uint64_t)st.st_size - 10, err, why);
  }
  *buf = malloc(len);
  if (*buf == NULL) {
    close(fd);
    return nb_error_set(err, NB_NOMEM, "out of memory reading the footer of file \"%s\"", s->path);
  }
  off_t where = st.st_size - 10 - (off_t)len;
  ssize_t got = pread(fd, *buf, len, where);
  close(fd);
  FbTable footer;
  bool present;
  if (got != (ssize_t)len || !fb_root(*buf, len, &footer) ||
      !fb_table(&footer, 1, schema, &present) || !present)
    return data_error(s, (uint64_t)where, err, "the footer has no readable schema");
  return NB_OK;
}

static Dictionary *find_dict(Stream *s, int64_t id) {
  for (size_t i = 0; i < s->n_dicts; i++)
    if (s->dicts[i].id == id) return &s->dicts[i];
  return NULL;
}

static const IpcField *dict_field(const Stream *s, int64_t id) {
  for (size_t i = 0; i < s->ipc.n; i++)
    if (s->ipc.fields[i].dictionary && s->ipc.fields[i].dict_id == id) return &s->ipc.fields[i];
  return NULL;
}

/* A delta dictionary batch: the values appended to those of the id. */
static int append_dict(Dictionary *d, struct ArrowArray *more, const NbField *vf,
                       NbError *err, const Stream *s);

static int read_dictionary(ArrowSource *src, Stream *s, const IpcMessage *msg,
                           uint64_t at, NbError *err) {
  const IpcField *f = dict_field(s, msg->dict_id);
  if (f == NULL) return data_error(s, at, err, "a dictionary batch has an id no column uses");
  IpcBody *body;
  int rc = read_body(src, s, msg, at, &body, err);
  if (rc != NB_OK) return rc;
  IpcField plain = *f;
  plain.dictionary = false;
  ColumnCtx c = {.host = src->host, .meta = &msg->batch, .body = body,
                 .max_bytes = src->max_batch_bytes};
  struct ArrowArray values;
  rc = ipc_decode_column(&c, &plain, NULL, msg->batch.length, &values);
  ipc_body_unref(body);
  if (rc != NB_OK) {
    if (rc == NB_NOMEM) return nb_error_set(err, NB_NOMEM, "%s", c.msg);
    return data_error(s, at, err, c.msg);
  }
  Dictionary *d = find_dict(s, msg->dict_id);
  if (d != NULL && msg->dict_delta) {
    NbField vf;
    const char *why;
    ipc_engine_field(&plain, &vf, &why);
    return append_dict(d, &values, &vf, err, s);
  }
  if (d == NULL) {
    Dictionary *v = realloc(s->dicts, (s->n_dicts + 1) * sizeof *v);
    if (v == NULL) {
      values.release(&values);
      return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", s->path);
    }
    s->dicts = v;
    d = &v[s->n_dicts++];
    d->id = msg->dict_id;
  } else {
    d->values.release(&d->values);
  }
  d->values = values;
  return NB_OK;
}

/* The owned concatenation of two arrays of the same engine type. */
typedef struct ConcatPriv {
  void *bufs_owned[3];
  const void *bufs[3];
} ConcatPriv;

static void release_concat(struct ArrowArray *a) {
  ConcatPriv *p = a->private_data;
  for (int i = 0; i < 3; i++) free(p->bufs_owned[i]);
  free(p);
  a->release = NULL;
}

static bool get_bit(const void *bits, int64_t i) {
  return bits == NULL || ((((const uint8_t *)bits)[i >> 3] >> (i & 7)) & 1);
}

static int append_dict(Dictionary *d, struct ArrowArray *more, const NbField *vf,
                       NbError *err, const Stream *s) {
  struct ArrowArray *a = &d->values;
  int64_t n = a->length + more->length;
  bool strings = vf->type == NB_TYPE_UTF8 || vf->type == NB_TYPE_NUMBER ||
                 vf->type == NB_TYPE_JSON || vf->type == NB_TYPE_LARGE_UTF8;
  bool large = vf->type == NB_TYPE_LARGE_UTF8;
  size_t width = vf->type == NB_TYPE_DATE32 ? 4 : vf->type == NB_TYPE_DECIMAL128 ? 16 : 8;
  ConcatPriv *p = calloc(1, sizeof *p);
  int rc = NB_NOMEM;
  if (p == NULL) goto out;
  p->bufs_owned[0] = calloc((size_t)(n + 7) / 8 + 1, 1);
  if (p->bufs_owned[0] == NULL) goto out;
  uint8_t *valid = p->bufs_owned[0];
  const struct ArrowArray *parts[2] = {a, more};
  int64_t row = 0;
  for (int k = 0; k < 2; k++)
    for (int64_t i = 0; i < parts[k]->length; i++, row++)
      if (parts[k]->null_count == 0 || get_bit(parts[k]->buffers[0], i))
        valid[row >> 3] |= (uint8_t)(1u << (row & 7));
  if (strings) {
    size_t ow = large ? 8 : 4;
    int64_t total = 0;
    for (int k = 0; k < 2; k++) {
      const struct ArrowArray *x = parts[k];
      int64_t first = large ? ((const int64_t *)x->buffers[1])[0] : ((const int32_t *)x->buffers[1])[0];
      int64_t last = large ? ((const int64_t *)x->buffers[1])[x->length] : ((const int32_t *)x->buffers[1])[x->length];
      total += last - first;
    }
    if (!large && total > INT32_MAX) {
      rc = NB_DATA;
      goto out;
    }
    p->bufs_owned[1] = malloc(((size_t)n + 1) * ow);
    p->bufs_owned[2] = malloc(total ? (size_t)total : 1);
    if (p->bufs_owned[1] == NULL || p->bufs_owned[2] == NULL) goto out;
    int64_t pos = 0;
    row = 0;
    if (large) ((int64_t *)p->bufs_owned[1])[0] = 0;
    else ((int32_t *)p->bufs_owned[1])[0] = 0;
    for (int k = 0; k < 2; k++) {
      const struct ArrowArray *x = parts[k];
      for (int64_t i = 0; i < x->length; i++, row++) {
        int64_t s0 = large ? ((const int64_t *)x->buffers[1])[i] : ((const int32_t *)x->buffers[1])[i];
        int64_t s1 = large ? ((const int64_t *)x->buffers[1])[i + 1] : ((const int32_t *)x->buffers[1])[i + 1];
        memcpy((uint8_t *)p->bufs_owned[2] + pos, (const uint8_t *)x->buffers[2] + s0, (size_t)(s1 - s0));
        pos += s1 - s0;
        if (large) ((int64_t *)p->bufs_owned[1])[row + 1] = pos;
        else ((int32_t *)p->bufs_owned[1])[row + 1] = (int32_t)pos;
      }
    }
  } else if (vf->type == NB_TYPE_BOOL) {
    p->bufs_owned[1] = calloc((size_t)(n + 7) / 8 + 1, 1);
    if (p->bufs_owned[1] == NULL) goto out;
    row = 0;
    for (int k = 0; k < 2; k++)
      for (int64_t i = 0; i < parts[k]->length; i++, row++)
        if (get_bit(parts[k]->buffers[1], i))
          ((uint8_t *)p->bufs_owned[1])[row >> 3] |= (uint8_t)(1u << (row & 7));
  } else {
    p->bufs_owned[1] = malloc((size_t)n * width + 1);
    if (p->bufs_owned[1] == NULL) goto out;
    memcpy(p->bufs_owned[1], a->buffers[1], (size_t)a->length * width);
    memcpy((uint8_t *)p->bufs_owned[1] + (size_t)a->length * width, more->buffers[1],
           (size_t)more->length * width);
  }
  int64_t nulls = a->null_count + more->null_count;
  for (int i = 0; i < 3; i++) p->bufs[i] = p->bufs_owned[i];
  a->release(a);
  more->release(more);
  memset(a, 0, sizeof *a);
  a->length = n;
  a->null_count = nulls;
  a->n_buffers = strings ? 3 : 2;
  a->buffers = p->bufs;
  a->private_data = p;
  a->release = release_concat;
  return NB_OK;
out:
  if (p != NULL) {
    for (int i = 0; i < 3; i++) free(p->bufs_owned[i]);
    free(p);
  }
  more->release(more);
  if (rc == NB_DATA)
    return nb_error_set(err, NB_DATA, "the dictionary of file \"%s\" passes 2 GiB of text", s->path);
  return nb_error_set(err, NB_NOMEM, "out of memory growing a dictionary of file \"%s\"", s->path);
}

/* ------------------------------------------------------------------------
 * Record batches
 * ------------------------------------------------------------------------ */

typedef struct BatchPriv {
  struct ArrowArray **children;
  struct ArrowArray *child_arrays;
  int64_t n;
  const void *buffers[1];
} BatchPriv;

static void release_batch(struct ArrowArray *a) {
  BatchPriv *p = a->private_data;
  for (int64_t i = 0; i < p->n; i++)
    if (p->child_arrays[i].release != NULL) p->child_arrays[i].release(&p->child_arrays[i]);
  free(p->child_arrays);
  free(p->children);
  free(p);
  a->release = NULL;
}

static int decode_batch(ArrowSource *src, Stream *s, const IpcMessage *msg,
                        IpcBody *body, uint64_t at, struct ArrowArray *out,
                        NbError *err) {
  size_t n = s->ipc.n;
  BatchPriv *p = calloc(1, sizeof *p);
  if (p == NULL) return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", s->path);
  p->children = calloc(n ? n : 1, sizeof *p->children);
  p->child_arrays = calloc(n ? n : 1, sizeof *p->child_arrays);
  memset(out, 0, sizeof *out);
  out->private_data = p;
  out->release = release_batch;
  if (p->children == NULL || p->child_arrays == NULL) {
    release_batch(out);
    return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", s->path);
  }
  ColumnCtx c = {.host = src->host, .meta = &msg->batch, .body = body,
                 .max_bytes = src->max_batch_bytes};
  for (size_t i = 0; i < n; i++) {
    const IpcField *f = &s->ipc.fields[i];
    const Dictionary *d = f->dictionary ? find_dict(s, f->dict_id) : NULL;
    int rc = ipc_decode_column(&c, f, d != NULL ? &d->values : NULL, msg->batch.length,
                               &p->child_arrays[i]);
    if (rc != NB_OK) {
      release_batch(out);
      if (rc == NB_NOMEM) return nb_error_set(err, NB_NOMEM, "%s", c.msg);
      return data_error(s, at, err, c.msg);
    }
    p->children[i] = &p->child_arrays[i];
    p->n = (int64_t)i + 1;
  }
  out->length = msg->batch.length;
  out->null_count = 0;
  out->n_buffers = 1;
  out->buffers = p->buffers;
  out->n_children = (int64_t)n;
  out->children = p->children;
  return NB_OK;
}

static void fill_info(Stream *s, NbBatchInfo *info) {
  uint64_t values[2] = {s->offset, s->batches};
  size_t len = nb_position_encode(s->position, sizeof s->position, values, 2);
  if (info == NULL) return;
  if (NB_STRUCT_HAS(NbBatchInfo, info, position_len)) {
    info->position = s->position;
    info->position_len = len;
  }
  if (NB_STRUCT_HAS(NbBatchInfo, info, bytes_read)) info->bytes_read = (int64_t)s->offset;
}

/* ------------------------------------------------------------------------
 * The vtable
 * ------------------------------------------------------------------------ */

/* nb_path_expand's callback: one stream per file. */
static int add_stream(void *cookie, const char *path, int64_t size_bytes) {
  ArrowSource *src = cookie;
  Stream *v = realloc(src->streams, (src->n_streams + 1) * sizeof *v);
  if (v == NULL) return NB_NOMEM;
  src->streams = v;
  Stream *s = &v[src->n_streams];
  memset(s, 0, sizeof *s);
  s->path = strdup(path);
  if (s->path == NULL) return NB_NOMEM;
  s->size = size_bytes;
  src->n_streams++;
  return NB_OK;
}

static int expand_paths(ArrowSource *src, const char *pattern, NbError *err) {
  int rc = nb_path_expand(NULL, pattern, add_stream, src, err);
  if (rc == NB_NOMEM) nb_error_set(err, NB_NOMEM, "out of memory opening the arrow source");
  return rc;
}

int arrow_source_open(const NbHostApi *host, const NbOpenArgs *args, void **source,
                      NbError *err) {
  const char *path;
  int64_t max_bytes;
  *source = NULL;
  int rc = nb_setting_string(args->settings, "path", NULL, &path, err);
  if (rc == NB_OK) rc = nb_setting_int(args->settings, "max_batch_bytes", 268435456, &max_bytes, err);
  if (rc != NB_OK) return rc;
  if (path == NULL || path[0] == '\0')
    return nb_error_set(err, NB_INVALID, "setting \"path\" of the arrow source is required");
  if (max_bytes < 1024 || max_bytes > ((int64_t)1 << 40)) {
    nb_error_set(err, NB_INVALID, "invalid value %lld for setting \"max_batch_bytes\"", (long long)max_bytes);
    nb_error_hint(err, "Give a size from 1024 bytes to 1 TiB.");
    return NB_INVALID;
  }
  ArrowSource *src = calloc(1, sizeof *src);
  if (src == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening the arrow source");
  src->host = host;
  src->max_batch_bytes = max_bytes;
  rc = expand_paths(src, path, err);
  if (rc != NB_OK) {
    arrow_source_close(src);
    return rc;
  }
  *source = src;
  return NB_OK;
}

int arrow_source_stream_count(void *source, uint32_t *count, NbError *err) {
  (void)err;
  *count = (uint32_t)((ArrowSource *)source)->n_streams;
  return NB_OK;
}

static Stream *stream_at(ArrowSource *src, uint32_t index, NbError *err) {
  return nb_stream_index_check(index, src->n_streams, err) == NB_OK ? &src->streams[index] : NULL;
}

int arrow_source_stream_info(void *source, uint32_t index, NbStreamInfo *out, NbError *err) {
  Stream *s = stream_at(source, index, err);
  if (s == NULL) return NB_INVALID;
  nb_stream_info_set(out, s->path, s->size);
  return NB_OK;
}

int arrow_source_schema(void *source, uint32_t index, struct ArrowSchema *out, NbError *err) {
  ArrowSource *src = source;
  Stream *s = stream_at(src, index, err);
  if (s == NULL) return NB_INVALID;
  int rc = start_stream(src, s, err);
  if (rc != NB_OK) return rc;
  return nb_schema_export(s->fields, s->ipc.n, out, err);
}

int arrow_source_seek(void *source, uint32_t index, const void *position, size_t position_len,
                      NbError *err) {
  ArrowSource *src = source;
  Stream *s = stream_at(src, index, err);
  uint64_t values[2];
  if (s == NULL) return NB_INVALID;
  int rc = nb_position_decode(position, position_len, values, 2, err);
  if (rc != NB_OK) return rc;
  s->resume_offset = values[0];
  s->resume_batches = values[1];
  s->resuming = true;
  return NB_OK;
}

static int next_batch(ArrowSource *src, Stream *s, struct ArrowArray *out, NbBatchInfo *info,
                      NbError *err);

/* A batch whose values are wrong (bad offsets, indices, conversions) is a
 * bad record: the position moves past it and the stream goes on.  Broken
 * framing (a length that lies, a truncated message, a flatbuffer that does
 * not verify) ends the stream: a later call repeats the error without
 * moving, so the host stops reading it. */
int arrow_source_next(void *source, uint32_t index, struct ArrowArray *out, NbBatchInfo *info,
                      NbError *err) {
  ArrowSource *src = source;
  Stream *s = stream_at(src, index, err);
  if (s == NULL) return NB_INVALID;
  if (s->broken) {
    nb_error_set(err, NB_DATA, "file \"%s\" cannot be read past offset %llu after the error reported before",
                 s->path, (unsigned long long)s->offset);
    nb_error_locate(err, s->path, 0, 0);
    fill_info(s, info);
    return NB_DATA;
  }
  s->bad_batch = false;
  int rc = next_batch(src, s, out, info, err);
  if (rc == NB_DATA && !s->bad_batch) s->broken = true;
  return rc;
}

static int next_batch(ArrowSource *src, Stream *s, struct ArrowArray *out, NbBatchInfo *info,
                      NbError *err) {
  int rc = start_stream(src, s, err);
  if (rc != NB_OK) return rc;
  for (;;) {
    IpcMessage msg;
    uint64_t at;
    bool eos;
    if (s->ended) {
      fill_info(s, info);
      return NB_END;
    }
    if (s->held) { /* the first message, read while looking for the schema */
      msg = s->held_msg;
      at = s->held_at;
      eos = false;
      s->held = false;
    } else {
      rc = read_message(src, s, &msg, &at, &eos, err);
      if (rc != NB_OK) return rc;
    }
    if (eos) {
      s->ended = true;
      if (s->resuming && s->resume_offset > s->offset) {
        nb_error_set(err, NB_INVALID, "the saved position (offset %llu) lies beyond the end of file \"%s\" (%llu bytes of messages)",
                     (unsigned long long)s->resume_offset, s->path, (unsigned long long)s->offset);
        nb_error_hint(err, "The file changed since the interrupted run; remove the state file to start afresh.");
        return NB_INVALID;
      }
      continue;
    }
    if (msg.header_type == IPC_HDR_SCHEMA)
      return data_error(s, at, err, "a second schema message in the stream");
    if (msg.header_type == IPC_HDR_DICTIONARY) {
      rc = read_dictionary(src, s, &msg, at, err);
      if (rc != NB_OK) return rc;
      continue;
    }
    /* A record batch already delivered before a resume: skip its body. */
    uint64_t end = s->offset + (uint64_t)msg.body_length;
    if (s->resuming && end <= s->resume_offset) {
      rc = skip_bytes(src, s, (uint64_t)msg.body_length, err);
      if (rc == NB_END) return data_error(s, at, err, "the file ends inside a record batch body");
      if (rc != NB_OK) return rc;
      s->batches++;
      if (end == s->resume_offset) {
        s->resuming = false;
        if (s->batches != s->resume_batches) {
          nb_error_set(err, NB_INVALID, "the saved position of file \"%s\" (offset %llu after %llu batches) does not match the file (%llu batches)",
                       s->path, (unsigned long long)s->resume_offset,
                       (unsigned long long)s->resume_batches, (unsigned long long)s->batches);
          nb_error_hint(err, "The file changed since the interrupted run; remove the state file to start afresh.");
          return NB_INVALID;
        }
      }
      continue;
    }
    if (s->resuming) {
      nb_error_set(err, NB_INVALID, "the saved position (offset %llu) of file \"%s\" is not the end of a record batch",
                   (unsigned long long)s->resume_offset, s->path);
      nb_error_hint(err, "The file changed since the interrupted run; remove the state file to start afresh.");
      return NB_INVALID;
    }
    IpcBody *body;
    rc = read_body(src, s, &msg, at, &body, err);
    if (rc != NB_OK) return rc;
    rc = decode_batch(src, s, &msg, body, at, out, err);
    ipc_body_unref(body);
    if (rc == NB_DATA) { /* the stream is intact after this batch */
      s->batches++;
      s->bad_batch = true;
      fill_info(s, info);
    }
    if (rc != NB_OK) return rc;
    s->batches++;
    fill_info(s, info);
    return NB_OK;
  }
}

void arrow_source_close(void *source) {
  ArrowSource *src = source;
  if (src == NULL) return;
  for (size_t i = 0; i < src->n_streams; i++) {
    Stream *s = &src->streams[i];
    if (s->file != NULL) src->host->file_close(s->file, NULL);
    for (size_t d = 0; d < s->n_dicts; d++)
      if (s->dicts[d].values.release != NULL) s->dicts[d].values.release(&s->dicts[d].values);
    free(s->dicts);
    free(s->fields);
    ipc_schema_free(&s->ipc);
    free(s->path);
  }
  free(src->streams);
  free(src->meta);
  free(src);
}
