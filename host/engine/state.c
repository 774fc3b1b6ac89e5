/*
 * state.c - reading, checking and atomically writing the pipeline's state
 * file (see state.h for what it holds).
 *
 * The text is written in a fixed key order with "checksum" last; the
 * checksum is FNV-1a 64 of every byte before the "checksum" key, so any
 * change to the file (a torn write on a filesystem that does not honour
 * rename atomicity, a hand edit) is caught before the positions are used.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "jsonread.h"
#include "nebula/sdk.h"
#include "state.h"
#include "textutil.h"

/* The state file is small; anything this large is not one. */
#define MAX_STATE_FILE_BYTES (256u * 1024u * 1024u)
#define CHECKSUM_KEY "\"checksum\""
#define CHECKSUM_PREFIX "fnv1a64:"

/* The keys of an object, each list in the order of its enum: the list
 * both says which keys are allowed and, through take_members, fetches
 * them, so a key is named once. */
enum { T_FORMAT, T_VERSION, T_SOURCE, T_DEST, T_COMMITTED_AT, T_COMMITS, T_DEAD,
       T_DEST_STATE, T_STREAMS, T_FILES, T_CONFIG_SALT, T_CONFIG, T_CHECKSUM, N_TOP_KEYS };
static const char *const TOP_KEYS[N_TOP_KEYS] = {
    "format", "version", "source", "destination", "committed_at", "commits",
    "dead_letter_length", "destination_state", "streams", "files", "config_salt",
    "config", "checksum"};
static const char *const CONFIG_KEYS[] = {"setting", "secret", "hash"};
static const char *const FILE_KEYS[] = {"role", "path", "length", "size", "mtime_ns",
                                        "window_hash", "storage"};
enum { S_NAME, S_NAME_HEX, S_FINISHED, S_RECORDS, S_REJECTED, S_POSITION, N_STREAM_KEYS };
static const char *const STREAM_KEYS[N_STREAM_KEYS] = {"name", "name_hex", "finished",
                                                       "records", "rejected", "position"};

static uint64_t fnv1a64(const char *text, size_t len) {
  uint64_t h = 0xcbf29ce484222325ull;
  size_t i;
  for (i = 0; i < len; i++) {
    h ^= (unsigned char)text[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

/* ------------------------------------------------------------------------
 * Memory
 * ------------------------------------------------------------------------ */

void nbh_state_free(NbhState *state) {
  size_t i;
  if (state == NULL) return;
  for (i = 0; i < state->n_streams; i++) {
    free(state->streams[i].name);
    free(state->streams[i].position);
  }
  free(state->streams);
  free(state->source_connector);
  free(state->dest_connector);
  free(state->dest_state);
  nbh_file_marks_free(state->files, state->n_files);
  nbh_config_print_free(&state->config);
  memset(state, 0, sizeof *state);
}

static void *dup_bytes(const void *src, size_t len) {
  void *p;
  if (src == NULL) return NULL;
  p = malloc(len > 0 ? len : 1);
  if (p != NULL && len > 0) memcpy(p, src, len);
  return p;
}

int nbh_state_copy(NbhState *dst, const NbhState *src, NbError *err) {
  size_t i;
  memset(dst, 0, sizeof *dst);
  *dst = *src;
  dst->source_connector = NULL;
  dst->dest_connector = NULL;
  dst->streams = NULL;
  dst->dest_state = NULL;
  dst->n_streams = 0;
  dst->files = NULL;
  dst->n_files = 0;
  memset(&dst->config, 0, sizeof dst->config);
  if (nbh_config_print_copy(&dst->config, &src->config, err) != NB_OK) goto nomem;
  if (src->n_files > 0) {
    dst->files = calloc(src->n_files, sizeof *dst->files);
    if (dst->files == NULL) goto nomem;
    for (i = 0; i < src->n_files; i++) {
      dst->files[i] = src->files[i];
      dst->files[i].storage = NULL;
      dst->files[i].path = strdup(src->files[i].path);
      if (dst->files[i].path == NULL) goto nomem;
      if (src->files[i].storage != NULL &&
          (dst->files[i].storage = strdup(src->files[i].storage)) == NULL) {
        dst->n_files = i + 1;
        goto nomem;
      }
      dst->n_files = i + 1;
    }
  }
  if ((src->source_connector &&
       !(dst->source_connector = strdup(src->source_connector))) ||
      (src->dest_connector &&
       !(dst->dest_connector = strdup(src->dest_connector))) ||
      (src->dest_state &&
       !(dst->dest_state = dup_bytes(src->dest_state, src->dest_state_len))))
    goto nomem;
  if (src->n_streams > 0) {
    dst->streams = calloc(src->n_streams, sizeof *dst->streams);
    if (dst->streams == NULL) goto nomem;
  }
  for (i = 0; i < src->n_streams; i++) {
    const NbhStreamState *s = &src->streams[i];
    NbhStreamState *d = &dst->streams[i];
    *d = *s;
    d->name = NULL;
    d->position = NULL;
    dst->n_streams = i + 1;
    if ((s->name && !(d->name = strdup(s->name))) ||
        (s->position && !(d->position = dup_bytes(s->position, s->position_len))))
      goto nomem;
  }
  return NB_OK;
nomem:
  nbh_state_free(dst);
  return nb_error_set(err, NB_NOMEM, "out of memory copying the pipeline state");
}

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

static void put_hex(NbhBuf *buf, const void *bytes, size_t len) {
  static const char digits[] = "0123456789abcdef";
  const unsigned char *b = bytes;
  char pair[2];
  size_t i;
  for (i = 0; i < len; i++) {
    pair[0] = digits[b[i] >> 4];
    pair[1] = digits[b[i] & 15];
    nbh_buf_append(buf, pair, 2);
  }
}

static void put_string(NbhBuf *buf, const char *text) {
  nbh_buf_puts(buf, "\"");
  nbh_buf_json_escape(buf, text, strlen(text));
  nbh_buf_puts(buf, "\"");
}

static void put_stream(NbhBuf *buf, const NbhStreamState *s, int last) {
  size_t name_len = strlen(s->name);
  nbh_buf_puts(buf, "    {");
  /* A name that is not UTF-8 (a file name with Latin-1 bytes) cannot be a
   * JSON string without loss; it is kept exactly as hex. */
  if (nbh_utf8_valid(s->name, name_len)) {
    nbh_buf_puts(buf, "\"name\": ");
    put_string(buf, s->name);
  } else {
    nbh_buf_puts(buf, "\"name_hex\": \"");
    put_hex(buf, s->name, name_len);
    nbh_buf_puts(buf, "\"");
  }
  nbh_buf_printf(buf,
                 ", \"finished\": %s, \"records\": %" PRIu64
                 ", \"rejected\": %" PRIu64 ", \"position\": ",
                 s->finished ? "true" : "false", s->records, s->rejected);
  if (s->position != NULL) {
    nbh_buf_puts(buf, "\"");
    put_hex(buf, s->position, s->position_len);
    nbh_buf_puts(buf, "\"");
  } else {
    nbh_buf_puts(buf, "null");
  }
  nbh_buf_puts(buf, last ? "}\n" : "},\n");
}

/* A path that is not UTF-8 cannot be a JSON string without loss: such a
 * file is not recorded (and so not checked on resume). */
static void put_file(NbhBuf *buf, const NbhFileMark *m, bool *first) {
  if (!nbh_utf8_valid(m->path, strlen(m->path))) return;
  nbh_buf_puts(buf, *first ? "    " : ",\n    ");
  *first = false;
  nbh_buf_printf(buf, "{\"role\": \"%s\", \"path\": ", m->output ? "output" : "input");
  put_string(buf, m->path);
  nbh_buf_printf(buf, ", \"length\": %" PRIu64 ", \"size\": %" PRIu64 ", \"mtime_ns\": %" PRIu64
                 ", \"window_hash\": \"" CHECKSUM_PREFIX "%016" PRIx64 "\"",
                 m->length, m->size, (uint64_t)(m->mtime_ns > 0 ? m->mtime_ns : 0),
                 m->window_hash);
  if (m->storage != NULL) {
    /* An object of a storage module: its upload state (abi.h, writer_commit). */
    nbh_buf_puts(buf, ", \"storage\": ");
    put_string(buf, m->storage);
  }
  nbh_buf_puts(buf, "}");
}

/* The configuration's fingerprint: the salt, then one entry per setting
 * (hashes only, never values).  A name that is not UTF-8 is kept as JSON
 * escapes of its bytes would lose it, so such an entry is left out. */
static void put_config(NbhBuf *buf, const NbhConfigPrint *config) {
  bool first = true;
  nbh_buf_puts(buf, "\"config_salt\": \"");
  put_hex(buf, config->salt, sizeof config->salt);
  nbh_buf_puts(buf, "\",\n  \"config\": [");
  for (size_t i = 0; i < config->n; i++) {
    const NbhConfigEntry *c = &config->entries[i];
    if (!nbh_utf8_valid(c->setting, strlen(c->setting))) continue;
    nbh_buf_puts(buf, first ? "\n    {\"setting\": " : ",\n    {\"setting\": ");
    first = false;
    put_string(buf, c->setting);
    nbh_buf_printf(buf, ", \"secret\": %s, \"hash\": \"%s\"}", c->secret ? "true" : "false",
                   c->hash);
  }
  nbh_buf_puts(buf, first ? "],\n  " : "\n  ],\n  ");
}

int nbh_state_format(const NbhState *state, char **out, size_t *out_len,
                     NbError *err) {
  NbhBuf buf = NBH_BUF_INIT;
  size_t i;

  nbh_buf_printf(&buf, "{\n  \"format\": \"%s\",\n  \"version\": %d,\n",
                 NBH_STATE_FORMAT, NBH_STATE_VERSION);
  nbh_buf_puts(&buf, "  \"source\": ");
  put_string(&buf, state->source_connector ? state->source_connector : "");
  nbh_buf_puts(&buf, ",\n  \"destination\": ");
  put_string(&buf, state->dest_connector ? state->dest_connector : "");
  nbh_buf_printf(&buf,
                 ",\n  \"committed_at\": %" PRIu64 ",\n  \"commits\": %" PRIu64
                 ",\n  \"dead_letter_length\": ",
                 (uint64_t)(state->committed_at > 0 ? state->committed_at : 0),
                 state->commits);
  if (state->has_dead_letter)
    nbh_buf_printf(&buf, "%" PRIu64, state->dead_letter_length);
  else
    nbh_buf_puts(&buf, "null");
  nbh_buf_puts(&buf, ",\n  \"destination_state\": ");
  if (state->dest_state != NULL) {
    nbh_buf_puts(&buf, "\"");
    put_hex(&buf, state->dest_state, state->dest_state_len);
    nbh_buf_puts(&buf, "\"");
  } else {
    nbh_buf_puts(&buf, "null");
  }
  nbh_buf_puts(&buf, ",\n  \"streams\": [\n");
  for (i = 0; i < state->n_streams; i++)
    put_stream(&buf, &state->streams[i], i + 1 == state->n_streams);
  nbh_buf_puts(&buf, "  ],\n  \"files\": [\n");
  bool first = true;
  for (i = 0; i < state->n_files; i++) put_file(&buf, &state->files[i], &first);
  nbh_buf_puts(&buf, first ? "  ],\n  " : "\n  ],\n  ");
  if (state->config.present) put_config(&buf, &state->config);
  if (buf.failed) {
    nbh_buf_free(&buf);
    return nb_error_set(err, NB_NOMEM, "out of memory formatting the pipeline state");
  }
  nbh_buf_printf(&buf, CHECKSUM_KEY ": \"" CHECKSUM_PREFIX "%016" PRIx64 "\"\n}\n",
                 fnv1a64(buf.data, buf.len));
  if (buf.failed) {
    nbh_buf_free(&buf);
    return nb_error_set(err, NB_NOMEM, "out of memory formatting the pipeline state");
  }
  *out_len = buf.len;
  *out = nbh_buf_take(&buf);
  return NB_OK;
}

static int io_error(NbError *err, const char *what, const char *path) {
  int saved = errno;
  nb_error_set(err, NB_IO, "could not %s \"%s\": %s", what, path,
               strerror(saved));
  return NB_IO;
}

/* fsync the directory holding path, so the rename itself is durable. */
static int sync_parent_dir(const char *path, NbError *err) {
  const char *slash = strrchr(path, '/');
  char *dir;
  int fd, rc = NB_OK;

  if (slash == NULL)
    dir = strdup(".");
  else if (slash == path)
    dir = strdup("/");
  else
    dir = strndup(path, (size_t)(slash - path));
  if (dir == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) rc = io_error(err, "sync directory", dir);
  if (fd >= 0) close(fd);
  free(dir);
  return rc;
}

int nbh_state_write(const char *path, const NbhState *state, NbError *err) {
  char *text = NULL, *tmp;
  size_t len = 0;
  int fd, rc;

  rc = nbh_state_format(state, &text, &len, err);
  if (rc != NB_OK) return rc;
  tmp = malloc(strlen(path) + 5);
  if (tmp == NULL) {
    free(text);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  sprintf(tmp, "%s.tmp", path);

  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc = io_error(err, "create state file", tmp);
    goto out;
  }
  if (nbh_write_all(fd, text, len) != 0) {
    rc = io_error(err, "write state file", tmp);
    close(fd);
    goto out;
  }
  if (fsync(fd) != 0) {
    rc = io_error(err, "sync state file", tmp);
    close(fd);
    goto out;
  }
  if (close(fd) != 0) {
    rc = io_error(err, "close state file", tmp);
    goto out;
  }
  if (rename(tmp, path) != 0) {
    rc = io_error(err, "rename state file", tmp);
    goto out;
  }
  rc = sync_parent_dir(path, err);
out:
  if (rc != NB_OK) unlink(tmp);
  free(tmp);
  free(text);
  return rc;
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

static int damaged(NbError *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int damaged(NbError *err, const char *path, const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  nb_error_set(err, NB_INVALID, "state file \"%s\" is damaged: %s", path, what);
  nb_error_hint(err,
                "Restore a good copy of the file, or delete it to run the "
                "pipeline again from the start.");
  return NB_INVALID;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decode a lower-case hex string into a malloc'ed buffer. */
static int from_hex(const NbhJson *v, void **out, size_t *out_len) {
  unsigned char *bytes;
  size_t i;
  if (v->kind != NBH_JSON_STRING || v->len % 2 != 0) return -1;
  bytes = malloc(v->len / 2 + 1);
  if (bytes == NULL) return -2;
  for (i = 0; i < v->len / 2; i++) {
    int hi = hex_value(v->string[2 * i]), lo = hex_value(v->string[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      free(bytes);
      return -1;
    }
    bytes[i] = (unsigned char)(hi * 16 + lo);
  }
  *out = bytes;
  *out_len = v->len / 2;
  return 0;
}

static const char *unexpected_key(const NbhJson *object,
                                  const char *const *allowed, size_t n) {
  size_t i, k;
  for (i = 0; i < object->n; i++) {
    for (k = 0; k < n; k++)
      if (strcmp(object->keys[i], allowed[k]) == 0) break;
    if (k == n) return object->keys[i];
  }
  return NULL;
}

/* out[k] = the member keys[k] of object (NULL when absent), for n keys.
 * Returns the first key of object that is not in keys, or NULL. */
static const char *take_members(const NbhJson *object, const char *const *keys, size_t n,
                                const NbhJson **out) {
  for (size_t k = 0; k < n; k++) out[k] = nbh_json_get(object, keys[k]);
  return unexpected_key(object, keys, n);
}

static int parse_stream(const char *path, size_t index, const NbhJson *v,
                        NbhStreamState *out, NbError *err) {
  const NbhJson *m[N_STREAM_KEYS];
  const char *extra;
  size_t len;
  int rc;

  if (v->kind != NBH_JSON_OBJECT)
    return damaged(err, path, "stream %zu is not an object", index + 1);
  if ((extra = take_members(v, STREAM_KEYS, N_STREAM_KEYS, m)) != NULL)
    return damaged(err, path, "stream %zu has an unrecognized key \"%s\"",
                   index + 1, extra);
  const NbhJson *name = m[S_NAME], *name_hex = m[S_NAME_HEX], *finished = m[S_FINISHED];
  const NbhJson *records = m[S_RECORDS], *rejected = m[S_REJECTED], *position = m[S_POSITION];
  if (finished == NULL || finished->kind != NBH_JSON_BOOL || records == NULL ||
      records->kind != NBH_JSON_UINT || rejected == NULL ||
      rejected->kind != NBH_JSON_UINT || position == NULL ||
      (position->kind != NBH_JSON_NULL && position->kind != NBH_JSON_STRING))
    return damaged(err, path, "stream %zu lacks a field or has one of the wrong type",
                   index + 1);
  if ((name == NULL) == (name_hex == NULL))
    return damaged(err, path, "stream %zu needs exactly one of \"name\" and \"name_hex\"",
                   index + 1);
  if (name != NULL) {
    if (name->kind != NBH_JSON_STRING || memchr(name->string, 0, name->len))
      return damaged(err, path, "stream %zu has an invalid name", index + 1);
    out->name = strdup(name->string);
    if (out->name == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  } else {
    void *bytes;
    rc = from_hex(name_hex, &bytes, &len);
    if (rc == -2) return nb_error_set(err, NB_NOMEM, "out of memory");
    if (rc != 0 || memchr(bytes, 0, len) != NULL) {
      if (rc == 0) free(bytes);
      return damaged(err, path, "stream %zu has an invalid name_hex", index + 1);
    }
    out->name = bytes;
    out->name[len] = '\0';
  }
  out->finished = finished->boolean;
  out->records = records->uint;
  out->rejected = rejected->uint;
  if (position->kind == NBH_JSON_STRING) {
    rc = from_hex(position, &out->position, &out->position_len);
    if (rc == -2) return nb_error_set(err, NB_NOMEM, "out of memory");
    if (rc != 0)
      return damaged(err, path, "stream %zu has a position that is not hex", index + 1);
  }
  return NB_OK;
}

static int parse_file(const char *path, size_t index, const NbhJson *v, NbhFileMark *out,
                      NbError *err) {
  const NbhJson *role = nbh_json_get(v, "role"), *file = nbh_json_get(v, "path");
  const NbhJson *length = nbh_json_get(v, "length"), *size = nbh_json_get(v, "size");
  const NbhJson *mtime = nbh_json_get(v, "mtime_ns"), *hash = nbh_json_get(v, "window_hash");
  const NbhJson *storage = nbh_json_get(v, "storage");
  const char *extra;
  char *end = NULL;

  if (v->kind != NBH_JSON_OBJECT)
    return damaged(err, path, "file %zu is not an object", index + 1);
  if ((extra = unexpected_key(v, FILE_KEYS, sizeof FILE_KEYS / sizeof FILE_KEYS[0])) != NULL)
    return damaged(err, path, "file %zu has an unrecognized key \"%s\"", index + 1, extra);
  if (role == NULL || role->kind != NBH_JSON_STRING || file == NULL ||
      file->kind != NBH_JSON_STRING || length == NULL || length->kind != NBH_JSON_UINT ||
      size == NULL || size->kind != NBH_JSON_UINT || mtime == NULL ||
      mtime->kind != NBH_JSON_UINT || mtime->uint > INT64_MAX || hash == NULL ||
      hash->kind != NBH_JSON_STRING)
    return damaged(err, path, "file %zu lacks a field or has one of the wrong type", index + 1);
  if (strcmp(role->string, "input") != 0 && strcmp(role->string, "output") != 0)
    return damaged(err, path, "file %zu has role \"%s\", not \"input\" or \"output\"",
                   index + 1, role->string);
  if (file->len == 0 || memchr(file->string, 0, file->len) != NULL)
    return damaged(err, path, "file %zu has an invalid path", index + 1);
  size_t prefix = strlen(CHECKSUM_PREFIX);
  if (hash->len != prefix + 16 || strncmp(hash->string, CHECKSUM_PREFIX, prefix) != 0 ||
      strspn(hash->string + prefix, "0123456789abcdef") != 16)
    return damaged(err, path, "file %zu has an invalid window_hash", index + 1);
  out->window_hash = strtoull(hash->string + prefix, &end, 16);
  out->output = role->string[0] == 'o';
  out->length = length->uint;
  out->size = size->uint;
  out->mtime_ns = (int64_t)mtime->uint;
  if (storage != NULL && (storage->kind != NBH_JSON_STRING || storage->len == 0 ||
                          storage->len > NB_STORAGE_BLOB_MAX ||
                          memchr(storage->string, 0, storage->len) != NULL || !out->output))
    return damaged(err, path, "file %zu has an invalid storage state", index + 1);
  out->path = strdup(file->string);
  if (out->path == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  if (storage != NULL && (out->storage = strdup(storage->string)) == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  return NB_OK;
}

static int parse_files(const char *path, const NbhJson *root, NbhState *out, NbError *err) {
  const NbhJson *files = nbh_json_get(root, "files");
  int rc = NB_OK;
  if (files == NULL) return NB_OK;   /* written by an earlier release */
  if (files->kind != NBH_JSON_ARRAY) return damaged(err, path, "\"files\" is not an array");
  if (files->n == 0) return NB_OK;
  out->files = calloc(files->n, sizeof *out->files);
  if (out->files == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  for (size_t i = 0; rc == NB_OK && i < files->n; i++) {
    rc = parse_file(path, i, &files->items[i], &out->files[i], err);
    if (rc == NB_OK) out->n_files = i + 1;
  }
  return rc;
}

static int parse_config_entry(const char *path, size_t index, const NbhJson *v,
                              NbhConfigPrint *out, NbError *err) {
  const NbhJson *setting = nbh_json_get(v, "setting"), *secret = nbh_json_get(v, "secret");
  const NbhJson *hash = nbh_json_get(v, "hash");
  const char *extra;
  size_t prefix = strlen(NBH_CONFIG_HASH_PREFIX);
  NbError why;

  if (v->kind != NBH_JSON_OBJECT)
    return damaged(err, path, "config entry %zu is not an object", index + 1);
  if ((extra = unexpected_key(v, CONFIG_KEYS, sizeof CONFIG_KEYS / sizeof CONFIG_KEYS[0])))
    return damaged(err, path, "config entry %zu has an unrecognized key \"%s\"", index + 1,
                   extra);
  if (setting == NULL || setting->kind != NBH_JSON_STRING || setting->len == 0 ||
      memchr(setting->string, 0, setting->len) != NULL || secret == NULL ||
      secret->kind != NBH_JSON_BOOL || hash == NULL || hash->kind != NBH_JSON_STRING ||
      hash->len != NBH_CONFIG_HASH_CHARS ||
      strncmp(hash->string, NBH_CONFIG_HASH_PREFIX, prefix) != 0 ||
      strspn(hash->string + prefix, "0123456789abcdef") != NBH_CONFIG_HASH_CHARS - prefix)
    return damaged(err, path, "config entry %zu lacks a field or has an invalid one",
                   index + 1);
  nb_error_init(&why);
  int rc = nbh_config_print_add(out, setting->string, secret->boolean, hash->string, &why);
  if (rc == NB_NOMEM) {
    nb_error_release(&why);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  nb_error_release(&why);
  if (rc != NB_OK) return damaged(err, path, "config entry %zu repeats a setting", index + 1);
  return NB_OK;
}

/* "config_salt" and "config" come together, or neither (a file of an
 * earlier release). */
static int parse_config(const char *path, const NbhJson *root, NbhState *out, NbError *err) {
  const NbhJson *salt = nbh_json_get(root, "config_salt");
  const NbhJson *config = nbh_json_get(root, "config");
  void *bytes = NULL;
  size_t len = 0;
  int rc = NB_OK;

  if (salt == NULL && config == NULL) return NB_OK;
  if (salt == NULL || config == NULL || config->kind != NBH_JSON_ARRAY)
    return damaged(err, path, "\"config_salt\" and the \"config\" array must come together");
  if (config->n > NBH_CONFIG_MAX_ENTRIES)
    return damaged(err, path, "\"config\" lists %zu settings, more than %u", config->n,
                   NBH_CONFIG_MAX_ENTRIES);
  int hex = from_hex(salt, &bytes, &len);
  if (hex == -2) return nb_error_set(err, NB_NOMEM, "out of memory");
  if (hex != 0 || len != NBH_CONFIG_SALT_BYTES) {
    if (hex == 0) free(bytes);
    return damaged(err, path, "\"config_salt\" is not %d hex bytes", NBH_CONFIG_SALT_BYTES);
  }
  out->config.present = true;
  memcpy(out->config.salt, bytes, NBH_CONFIG_SALT_BYTES);
  free(bytes);
  for (size_t i = 0; rc == NB_OK && i < config->n; i++)
    rc = parse_config_entry(path, i, &config->items[i], &out->config, err);
  return rc;
}

static int check_checksum(const char *path, const char *text,
                          const NbhJson *root, NbError *err) {
  const NbhJson *sum = nbh_json_get(root, "checksum");
  char expected[64];
  size_t offset;

  if (sum == NULL || sum->kind != NBH_JSON_STRING)
    return damaged(err, path, "the checksum is missing");
  /* The checksum covers the bytes before its own key, which is last. */
  if (strcmp(root->keys[root->n - 1], "checksum") != 0)
    return damaged(err, path, "\"checksum\" is not the last key");
  offset = root->key_offsets[root->n - 1];
  snprintf(expected, sizeof expected, CHECKSUM_PREFIX "%016" PRIx64,
           fnv1a64(text, offset));
  if (strcmp(sum->string, expected) != 0)
    return damaged(err, path, "checksum mismatch (file says %s, content gives %s)",
                   sum->string, expected);
  return NB_OK;
}

static int parse_header(const char *path, const NbhJson *root, NbhState *out,
                        NbError *err) {
  const NbhJson *m[N_TOP_KEYS];
  const char *extra = take_members(root, TOP_KEYS, N_TOP_KEYS, m);
  const NbhJson *format = m[T_FORMAT], *version = m[T_VERSION], *source = m[T_SOURCE];
  const NbhJson *dest = m[T_DEST], *committed_at = m[T_COMMITTED_AT], *commits = m[T_COMMITS];
  const NbhJson *dead = m[T_DEAD], *dest_state = m[T_DEST_STATE];
  int rc;

  if (format == NULL || format->kind != NBH_JSON_STRING ||
      strcmp(format->string, NBH_STATE_FORMAT) != 0) {
    nb_error_set(err, NB_INVALID, "file \"%s\" is not a Nebula state file", path);
    nb_error_detail(err, "It has no \"format\": \"%s\" member.", NBH_STATE_FORMAT);
    nb_error_hint(err, "Check the --state option or the engine's state_file setting.");
    return NB_INVALID;
  }
  if (version == NULL || version->kind != NBH_JSON_UINT)
    return damaged(err, path, "the version is missing");
  if (version->uint != NBH_STATE_VERSION) {
    nb_error_set(err, NB_INVALID, "state file \"%s\" has unsupported version %" PRIu64,
                 path, version->uint);
    nb_error_detail(err, "This nebula-host reads state files of version %d.",
                    NBH_STATE_VERSION);
    nb_error_hint(err, "Run the pipeline with the nebula-host that wrote the file.");
    return NB_INVALID;
  }
  if (extra != NULL) return damaged(err, path, "unrecognized key \"%s\"", extra);
  if (source == NULL || source->kind != NBH_JSON_STRING || dest == NULL ||
      dest->kind != NBH_JSON_STRING || committed_at == NULL ||
      committed_at->kind != NBH_JSON_UINT || commits == NULL ||
      commits->kind != NBH_JSON_UINT || dead == NULL ||
      (dead->kind != NBH_JSON_UINT && dead->kind != NBH_JSON_NULL) ||
      dest_state == NULL ||
      (dest_state->kind != NBH_JSON_STRING && dest_state->kind != NBH_JSON_NULL))
    return damaged(err, path, "a field is missing or has the wrong type");
  out->source_connector = strdup(source->string);
  out->dest_connector = strdup(dest->string);
  if (out->source_connector == NULL || out->dest_connector == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  out->committed_at = (int64_t)committed_at->uint;
  out->commits = commits->uint;
  out->has_dead_letter = dead->kind == NBH_JSON_UINT;
  out->dead_letter_length = dead->uint;
  if (dest_state->kind == NBH_JSON_STRING) {
    rc = from_hex(dest_state, &out->dest_state, &out->dest_state_len);
    if (rc == -2) return nb_error_set(err, NB_NOMEM, "out of memory");
    if (rc != 0) return damaged(err, path, "destination_state is not hex");
  }
  return NB_OK;
}

int nbh_state_parse(const char *path, const char *text, size_t len,
                    NbhState *out, NbError *err) {
  NbhJson root;
  const NbhJson *streams;
  char why[160];
  size_t i;
  int rc;

  memset(out, 0, sizeof *out);
  if (nbh_json_parse(text, len, &root, why, sizeof why) != 0) {
    if (strcmp(why, "out of memory") == 0)
      return nb_error_set(err, NB_NOMEM, "out of memory reading state file \"%s\"", path);
    return damaged(err, path, "%s", why);
  }
  if (root.kind != NBH_JSON_OBJECT || root.n == 0) {
    nbh_json_free(&root);
    nb_error_set(err, NB_INVALID, "file \"%s\" is not a Nebula state file", path);
    nb_error_hint(err, "Check the --state option or the engine's state_file setting.");
    return NB_INVALID;
  }
  rc = parse_header(path, &root, out, err);
  if (rc == NB_OK) rc = check_checksum(path, text, &root, err);
  if (rc == NB_OK) {
    streams = nbh_json_get(&root, "streams");
    if (streams == NULL || streams->kind != NBH_JSON_ARRAY) {
      rc = damaged(err, path, "\"streams\" is missing or not an array");
    } else if (streams->n > 0) {
      out->streams = calloc(streams->n, sizeof *out->streams);
      if (out->streams == NULL)
        rc = nb_error_set(err, NB_NOMEM, "out of memory");
      for (i = 0; rc == NB_OK && i < streams->n; i++) {
        out->n_streams = i + 1;
        rc = parse_stream(path, i, &streams->items[i], &out->streams[i], err);
      }
    }
  }
  if (rc == NB_OK) rc = parse_files(path, &root, out, err);
  if (rc == NB_OK) rc = parse_config(path, &root, out, err);
  nbh_json_free(&root);
  if (rc != NB_OK) nbh_state_free(out);
  return rc;
}

int nbh_state_read(const char *path, NbhState *out, NbError *err) {
  struct stat st;
  char *text;
  size_t got = 0;
  int fd, rc;

  memset(out, 0, sizeof *out);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NB_NOT_FOUND;
    return io_error(err, "open state file", path);
  }
  if (fstat(fd, &st) != 0) {
    rc = io_error(err, "stat state file", path);
    close(fd);
    return rc;
  }
  if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_STATE_FILE_BYTES) {
    close(fd);
    nb_error_set(err, NB_INVALID, "file \"%s\" is not a Nebula state file", path);
    nb_error_detail(err, "It is not a regular file of at most %u bytes.",
                    MAX_STATE_FILE_BYTES);
    return NB_INVALID;
  }
  text = malloc((size_t)st.st_size + 1);
  if (text == NULL) {
    close(fd);
    return nb_error_set(err, NB_NOMEM, "out of memory reading state file \"%s\"", path);
  }
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      rc = io_error(err, "read state file", path);
      close(fd);
      free(text);
      return rc;
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  close(fd);
  text[got] = '\0';
  rc = nbh_state_parse(path, text, got, out, err);
  free(text);
  return rc;
}

/* ------------------------------------------------------------------------
 * Identity
 * ------------------------------------------------------------------------ */

static int foreign(NbError *err, const char *path) {
  nb_error_set(err, NB_INVALID, "state file \"%s\" belongs to another pipeline", path);
  nb_error_hint(err,
                "Use the state file of this pipeline, or delete the file to run "
                "this pipeline from the start.");
  return NB_INVALID;
}

int nbh_state_check_identity(const NbhState *state, const char *path,
                             const char *source_connector,
                             const char *dest_connector,
                             const char *const *stream_names,
                             size_t n_streams, NbError *err) {
  size_t i;
  if (strcmp(state->source_connector, source_connector) != 0) {
    foreign(err, path);
    nb_error_detail(err, "It was written for source connector \"%s\"; this pipeline's is \"%s\".",
                    state->source_connector, source_connector);
    return NB_INVALID;
  }
  if (strcmp(state->dest_connector, dest_connector) != 0) {
    foreign(err, path);
    nb_error_detail(err,
                    "It was written for destination connector \"%s\"; this pipeline's is \"%s\".",
                    state->dest_connector, dest_connector);
    return NB_INVALID;
  }
  for (i = 0; i < state->n_streams && i < n_streams; i++) {
    if (strcmp(state->streams[i].name, stream_names[i]) != 0) {
      foreign(err, path);
      nb_error_detail(err, "Its stream %zu is \"%s\"; the source's stream %zu is \"%s\".",
                      i + 1, state->streams[i].name, i + 1, stream_names[i]);
      return NB_INVALID;
    }
  }
  if (state->n_streams != n_streams) {
    foreign(err, path);
    nb_error_detail(err, "It lists %zu streams; the source offers %zu.",
                    state->n_streams, n_streams);
    return NB_INVALID;
  }
  return NB_OK;
}

int nbh_state_check_files(const NbhState *state, const char *path, NbError *err) {
  for (size_t i = 0; i < state->n_files; i++) {
    int rc = nbh_file_mark_check(&state->files[i], path, err);
    if (rc != NB_OK) return rc;
  }
  return NB_OK;
}
