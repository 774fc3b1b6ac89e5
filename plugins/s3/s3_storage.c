/*
 * s3_storage.c - the storage module "s3" (abi.h, NbStorage): s3:// objects
 * read with ranged GETs, listed with ListObjectsV2, written with multipart
 * uploads (s3_writer.c).
 *
 * Reading: the object is fetched in chunks of read_chunk bytes (8 MiB by
 * default), each one ranged GET on the reader's connection, so memory is
 * one chunk whatever the object's size, and a reader opened at an offset
 * (a resumed run, a skip) starts there.  The first reply's ETag is kept:
 * a later chunk of another version of the object is refused (NB_DATA)
 * rather than spliced in.
 *
 * Read-ahead: once a chunk is in and the object's size says more follows,
 * the next range is fetched on a second connection by the reader's
 * read-ahead thread while the current chunk is consumed.  One range
 * ahead at most, so memory is two chunks; the range is applied (its
 * ETag checked, the offset advanced) on the caller's thread only when the
 * caller needs its bytes, exactly as a chunk fetched then would be.  An
 * object of one chunk never starts the thread or the second connection.
 */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nebula/sdk.h"
#include "s3_client.h"
#include "s3_writer.h"
#include "s3_xml.h"

#define LIST_PAGE_LIMIT ((size_t)16 << 20)
#define ERROR_BODY_LIMIT ((size_t)64 << 10)

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

/* One ranged GET of read_chunk bytes at offset into buf, and its outcome
 * (fetch_range; applied by apply_range on the reader's thread). */
typedef struct Range {
  uint64_t offset;
  uint8_t *buf;
  int rc;              /* NB_OK: status, len, etag, total_size are set */
  long status;
  size_t len;
  char etag[160];
  int64_t total_size;
  NbError err;         /* when rc != NB_OK */
} Range;

/* The read-ahead thread and the range it fetches.  busy, done and stop
 * are guarded by mu; range and client belong to the thread while busy
 * and not done. */
typedef struct Ahead {
  bool locks;          /* mu and cv are initialised */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool started;        /* the thread runs */
  pthread_t thread;
  bool client_open;
  S3Client client;     /* the second connection */
  bool busy;           /* a range is handed over */
  bool done;           /* ... and fetched (range.rc says how) */
  bool stop;
  Range range;         /* range.buf: the second chunk buffer */
} Ahead;

typedef struct S3Reader {
  S3Client client;
  char *bucket;
  char *key;
  uint64_t offset;     /* the next byte of the object to fetch */
  int64_t size;        /* the object's size once known, else -1 */
  uint8_t *buf;        /* one chunk */
  size_t len;
  size_t pos;
  bool at_end;
  char etag[160];      /* of the first reply */
  Ahead ahead;
} S3Reader;

static void stop_ahead(S3Reader *r);

static void reader_free(S3Reader *r) {
  if (r == NULL) return;
  stop_ahead(r);
  s3_client_close(&r->client);
  free(r->bucket);
  free(r->key);
  free(r->buf);
  free(r);
}

/* The object's size from a one-byte listing-free probe: HEAD. */
static int object_size(S3Reader *r, int64_t *size, NbError *err) {
  S3Reply reply;
  int rc;
  memset(&reply, 0, sizeof reply);
  reply.text_limit = ERROR_BODY_LIMIT;
  rc = s3_request(&r->client, "HEAD", r->bucket, r->key, NULL, NULL, &reply, err);
  if (rc == NB_OK && (reply.status < 200 || reply.status > 299))
    rc = s3_reply_error(&r->client, &reply, r->bucket, r->key, err);
  if (rc == NB_OK && reply.total_size < 0)
    rc = nb_error_set(err, NB_IO, "S3 gave no length for s3://%s/%s", r->bucket, r->key);
  if (rc == NB_OK) *size = reply.total_size;
  s3_reply_free(&reply);
  return rc;
}

/* The reply to a ranged GET past the end (416): the end itself when the
 * offset is the object's size, else NB_END. */
static int past_end(S3Reader *r, NbError *err) {
  int64_t size = -1;
  int rc;
  if (r->offset == 0) { /* an empty object: no byte can be ranged */
    r->size = 0;
    r->at_end = true;
    return NB_OK;
  }
  rc = object_size(r, &size, err);
  if (rc != NB_OK) return rc;
  r->size = size;
  if ((uint64_t)size == r->offset) {
    r->at_end = true;
    return NB_OK;
  }
  return nb_error_set(err, NB_END, "s3://%s/%s has %" PRId64 " bytes; offset %" PRIu64
                      " is past its end", r->bucket, r->key, size, r->offset);
}

/* The ranged GET of g over connection c (any thread: it reads only what
 * open fixed in r).  Statuses other than 200, 206 and 416 become errors
 * in g->err. */
static void fetch_range(const S3Reader *r, S3Client *c, Range *g) {
  S3Reply reply;
  char range[64];
  size_t chunk = r->client.cfg.read_chunk; /* the size of both buffers */
  memset(&reply, 0, sizeof reply);
  reply.dst = g->buf;
  reply.dst_cap = chunk;
  reply.text_limit = ERROR_BODY_LIMIT;
  snprintf(range, sizeof range, "bytes=%" PRIu64 "-%" PRIu64, g->offset,
           g->offset + chunk - 1);
  nb_error_init(&g->err);
  g->rc = s3_request(c, "GET", r->bucket, r->key, NULL, range, &reply, &g->err);
  if (g->rc == NB_OK && reply.status != 200 && reply.status != 206 && reply.status != 416)
    g->rc = s3_reply_error(c, &reply, r->bucket, r->key, &g->err);
  g->status = reply.status;
  g->len = reply.dst_len;
  memcpy(g->etag, reply.etag, sizeof g->etag);
  g->total_size = reply.total_size;
  s3_reply_free(&reply);
}

/* Make g (fetched at r->offset, its bytes in r->buf) the current chunk. */
static int apply_range(S3Reader *r, Range *g, NbError *err) {
  int rc = g->rc;
  if (rc != NB_OK) {
    nb_error_set(err, rc, "%s", g->err.message != NULL ? g->err.message : "could not read S3");
    if (g->err.detail != NULL) nb_error_detail(err, "%s", g->err.detail);
    if (g->err.hint != NULL) nb_error_hint(err, "%s", g->err.hint);
  } else if (g->status == 416) {
    rc = past_end(r, err);
  } else if (g->status == 200 && r->offset > 0) {
    rc = nb_error_set(err, NB_IO, "S3 ignored the range of s3://%s/%s at offset %" PRIu64,
                      r->bucket, r->key, r->offset);
  } else {
    if (r->etag[0] == '\0') {
      memcpy(r->etag, g->etag, sizeof r->etag);
    } else if (g->etag[0] != '\0' && strcmp(r->etag, g->etag) != 0) {
      rc = nb_error_set(err, NB_DATA, "s3://%s/%s changed while it was read (ETag %s, then %s)",
                        r->bucket, r->key, r->etag, g->etag);
    }
    if (g->status == 200) r->size = (int64_t)g->len;
    else if (g->total_size >= 0) r->size = g->total_size;
    r->len = g->len;
    r->offset += g->len;
    if (g->len == 0) r->at_end = true;
  }
  nb_error_release(&g->err);
  return rc;
}

/* Fetch the next chunk into buf, on the reader's own connection. */
static int fetch(S3Reader *r, NbError *err) {
  Range g;
  r->pos = r->len = 0;
  if (r->size >= 0 && r->offset >= (uint64_t)r->size) {
    r->at_end = true;
    return NB_OK;
  }
  memset(&g, 0, sizeof g);
  g.offset = r->offset;
  g.buf = r->buf;
  fetch_range(r, &r->client, &g);
  return apply_range(r, &g, err);
}

/* ------------------------------------------------------------------------
 * Read-ahead: one range fetched on a second connection meanwhile.
 * ------------------------------------------------------------------------ */

static void *ahead_main(void *arg) {
  S3Reader *r = arg;
  Ahead *a = &r->ahead;
  pthread_mutex_lock(&a->mu);
  for (;;) {
    while (!(a->busy && !a->done) && !a->stop) pthread_cond_wait(&a->cv, &a->mu);
    if (a->stop) break; /* a range not begun is dropped at close */
    pthread_mutex_unlock(&a->mu);
    fetch_range(r, &a->client, &a->range);
    pthread_mutex_lock(&a->mu);
    a->done = true;
    pthread_cond_broadcast(&a->cv);
  }
  pthread_mutex_unlock(&a->mu);
  return NULL;
}

/* Its buffer, connection, lock and thread, at the first range ahead.  A
 * failure is not an error: the reader goes on without read-ahead. */
static bool ahead_ready(S3Reader *r) {
  Ahead *a = &r->ahead;
  if (a->started) return true;
  if (a->range.buf == NULL && (a->range.buf = malloc(r->client.cfg.read_chunk)) == NULL)
    return false;
  if (!a->client_open) {
    NbError e;
    nb_error_init(&e);
    a->client_open = s3_client_open(&a->client, r->client.host, &e) == NB_OK;
    nb_error_release(&e);
    if (!a->client_open) return false;
  }
  if (!a->locks) {
    if (pthread_mutex_init(&a->mu, NULL) != 0) return false;
    if (pthread_cond_init(&a->cv, NULL) != 0) {
      pthread_mutex_destroy(&a->mu);
      return false;
    }
    a->locks = true;
  }
  a->started = pthread_create(&a->thread, NULL, ahead_main, r) == 0;
  return a->started;
}

/* Start fetching the range after the current chunk when the object's
 * size says there is one. */
static void start_ahead(S3Reader *r) {
  Ahead *a = &r->ahead;
  if (r->at_end || r->size < 0 || r->offset >= (uint64_t)r->size || a->busy) return;
  if (!ahead_ready(r)) return;
  pthread_mutex_lock(&a->mu);
  a->range.offset = r->offset;
  a->busy = true;
  a->done = false;
  pthread_cond_broadcast(&a->cv);
  pthread_mutex_unlock(&a->mu);
}

/* The next chunk: the range ahead when one is under way (waited for,
 * its buffer swapped with the consumed one), else a fetch now; then the
 * range after it is started. */
static int next_chunk(S3Reader *r, NbError *err) {
  Ahead *a = &r->ahead;
  int rc;
  if (a->busy) {
    pthread_mutex_lock(&a->mu);
    while (!a->done) pthread_cond_wait(&a->cv, &a->mu);
    a->busy = a->done = false;
    pthread_mutex_unlock(&a->mu);
    uint8_t *consumed = r->buf;
    r->buf = a->range.buf;
    a->range.buf = consumed;
    r->pos = r->len = 0;
    rc = apply_range(r, &a->range, err);
  } else {
    rc = fetch(r, err);
  }
  if (rc == NB_OK) start_ahead(r);
  return rc;
}

/* Stop the thread (a range under way is waited for: the thread reads
 * the reader) and free what read-ahead holds. */
static void stop_ahead(S3Reader *r) {
  Ahead *a = &r->ahead;
  if (a->started) {
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    if (a->busy && a->done) nb_error_release(&a->range.err);
  }
  if (a->locks) {
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
  }
  if (a->client_open) s3_client_close(&a->client);
  free(a->range.buf);
  memset(a, 0, sizeof *a);
}

static int s3_reader_open(const NbHostApi *host, const char *path, uint64_t offset,
                          void **out, NbError *err) {
  S3Reader *r = calloc(1, sizeof *r);
  int rc;
  *out = NULL;
  if (r == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  r->size = -1;
  r->offset = offset;
  rc = s3_parse_path(path, &r->bucket, &r->key, err);
  if (rc == NB_OK && r->key[0] == '\0')
    rc = nb_error_set(err, NB_INVALID, "S3 path \"%s\" names a bucket, not an object", path);
  if (rc == NB_OK) rc = s3_client_open(&r->client, host, err);
  if (rc == NB_OK) {
    r->buf = malloc(r->client.cfg.read_chunk);
    if (r->buf == NULL) rc = nb_error_set(err, NB_NOMEM, "out of memory");
  }
  /* The first chunk now: a missing object fails the open, not a read. */
  if (rc == NB_OK) rc = next_chunk(r, err);
  if (rc != NB_OK) {
    reader_free(r);
    return rc;
  }
  *out = r;
  return NB_OK;
}

static int s3_reader_read(void *reader, void *buf, size_t capacity, size_t *n_read,
                          NbError *err) {
  S3Reader *r = reader;
  *n_read = 0;
  if (r->pos == r->len && !r->at_end) {
    int rc = next_chunk(r, err);
    if (rc != NB_OK) return rc == NB_END ? NB_IO : rc;
  }
  if (r->pos < r->len) {
    size_t n = r->len - r->pos < capacity ? r->len - r->pos : capacity;
    memcpy(buf, r->buf + r->pos, n);
    r->pos += n;
    *n_read = n;
  }
  return NB_OK;
}

static void s3_reader_close(void *reader) { reader_free(reader); }

/* ------------------------------------------------------------------------
 * Listing
 * ------------------------------------------------------------------------ */

typedef struct Listing {
  S3Client client;
  const char *scheme_end; /* pattern up to "://" included */
  size_t scheme_len;
  char *bucket;
  char *key_pattern;
  char *prefix;           /* the literal start of key_pattern */
  char *token;            /* continuation token, NULL on the first page */
  int (*each)(void *cookie, const char *path, int64_t size_bytes);
  void *cookie;
  uint64_t matches;
} Listing;

static char *literal_prefix(const char *pattern) {
  size_t n = strcspn(pattern, "*?[\\");
  return strndup(pattern, n);
}

/* list-type=2 query, parameters in sorted order (SigV4's canonical form). */
static char *list_query(const Listing *l) {
  char *prefix = s3_uri_encode(l->prefix, false), *token = NULL, *q = NULL;
  int rc;
  if (prefix == NULL) return NULL;
  if (l->token != NULL && (token = s3_uri_encode(l->token, false)) == NULL) {
    free(prefix);
    return NULL;
  }
  if (token != NULL)
    rc = asprintf(&q, "continuation-token=%s&list-type=2&prefix=%s", token, prefix);
  else
    rc = asprintf(&q, "list-type=2&prefix=%s", prefix);
  free(prefix);
  free(token);
  return rc < 0 ? NULL : q;
}

/* One <Contents> element: report it when its key matches. */
static int one_entry(Listing *l, S3Slice contents, NbError *err) {
  size_t pos = 0;
  S3Slice key_raw, size_raw;
  char *key, *path = NULL;
  bool bad;
  int64_t size = -1;
  int rc;
  if (!s3_xml_next(contents, &pos, "Key", &key_raw)) return NB_OK;
  key = s3_xml_unescape(key_raw, &bad);
  if (key == NULL)
    return bad ? nb_error_set(err, NB_IO, "S3 listing of s3://%s/ holds a malformed key",
                              l->bucket)
               : nb_error_set(err, NB_NOMEM, "out of memory");
  pos = 0;
  if (s3_xml_next(contents, &pos, "Size", &size_raw) && size_raw.n > 0 && size_raw.n < 20) {
    char digits[24];
    memcpy(digits, size_raw.p, size_raw.n);
    digits[size_raw.n] = '\0';
    size = strtoll(digits, NULL, 10);
  }
  if (fnmatch(l->key_pattern, key, FNM_PATHNAME) != 0) {
    free(key);
    return NB_OK;
  }
  if (asprintf(&path, "%.*s%s/%s", (int)l->scheme_len, l->scheme_end, l->bucket, key) < 0) {
    free(key);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  free(key);
  l->matches++;
  rc = l->each(l->cookie, path, size);
  free(path);
  return rc;
}

/* One page: its entries, then the next token (NULL: the last page). */
static int one_page(Listing *l, NbError *err) {
  S3Reply reply;
  char *query = list_query(l);
  size_t pos = 0;
  S3Slice contents, truncated, body;
  bool nomem = false;
  int rc;
  if (query == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  memset(&reply, 0, sizeof reply);
  reply.text_limit = LIST_PAGE_LIMIT;
  rc = s3_request(&l->client, "GET", l->bucket, "", query, NULL, &reply, err);
  free(query);
  if (rc == NB_OK && reply.status != 200)
    rc = s3_reply_error(&l->client, &reply, l->bucket, l->key_pattern, err);
  body.p = reply.text != NULL ? reply.text : "";
  body.n = reply.text_len;
  while (rc == NB_OK && s3_xml_next(body, &pos, "Contents", &contents))
    rc = one_entry(l, contents, err);
  if (rc == NB_OK) {
    char *next = NULL;
    pos = 0;
    if (s3_xml_next(body, &pos, "IsTruncated", &truncated) && truncated.n == 4 &&
        memcmp(truncated.p, "true", 4) == 0) {
      next = s3_xml_text(body, "NextContinuationToken", &nomem);
      if (next == NULL || (l->token != NULL && strcmp(next, l->token) == 0) || next[0] == '\0')
        rc = nomem ? nb_error_set(err, NB_NOMEM, "out of memory")
                   : nb_error_set(err, NB_IO, "S3 listing of s3://%s/%s is truncated without a "
                                  "new continuation token", l->bucket, l->prefix);
    }
    free(l->token);
    l->token = rc == NB_OK ? next : NULL;
    if (rc != NB_OK) free(next);
  }
  s3_reply_free(&reply);
  return rc;
}

static int s3_object_list(const NbHostApi *host, const char *pattern,
                          int (*each)(void *cookie, const char *path, int64_t size_bytes),
                          void *cookie, NbError *err) {
  Listing l;
  int rc;
  memset(&l, 0, sizeof l);
  l.each = each;
  l.cookie = cookie;
  l.scheme_end = pattern;
  l.scheme_len = (size_t)(strstr(pattern, "://") - pattern) + 3;
  rc = s3_parse_path(pattern, &l.bucket, &l.key_pattern, err);
  if (rc == NB_OK && (l.prefix = literal_prefix(l.key_pattern)) == NULL)
    rc = nb_error_set(err, NB_NOMEM, "out of memory");
  if (rc == NB_OK) rc = s3_client_open(&l.client, host, err);
  if (rc == NB_OK) {
    do {
      if (host != NULL && host->is_cancelled != NULL && host->is_cancelled(host->host_data)) {
        rc = nb_error_set(err, NB_CANCELLED, "cancelled");
        break;
      }
      rc = one_page(&l, err);
    } while (rc == NB_OK && l.token != NULL);
  }
  if (rc == NB_OK && l.matches == 0) {
    nb_error_set(err, NB_NOT_FOUND, "no object matches \"%s\"", pattern);
    nb_error_hint(err, "Check the bucket and the key; '*' does not match '/'.");
    rc = NB_NOT_FOUND;
  }
  s3_client_close(&l.client);
  free(l.bucket);
  free(l.key_pattern);
  free(l.prefix);
  free(l.token);
  return rc;
}

/* ------------------------------------------------------------------------
 * The entry
 * ------------------------------------------------------------------------ */

NB_EXPORT int nebula_storage_entry(uint32_t host_abi, NbStorage *out, NbError *err) {
  NbStorage mine;
  uint32_t size;
  if (out == NULL || out->struct_size < 8) return NB_INVALID;
  size = out->struct_size < sizeof mine ? out->struct_size : (uint32_t)sizeof mine;
  out->abi_version = NB_ABI_CURRENT;
  out->struct_size = size;
  if (NB_ABI_MAJOR_OF(host_abi) != NB_ABI_MAJOR)
    return nb_error_set(err, NB_ABI_MISMATCH, "storage module s3 needs ABI major %d",
                        NB_ABI_MAJOR);
  memset(&mine, 0, sizeof mine);
  mine.struct_size = size;
  mine.abi_version = NB_ABI_CURRENT;
  mine.name = "s3";
  mine.version = "1.0.0";
  mine.description = "Amazon S3 and S3-compatible object storage (s3://bucket/key), read and "
                     "written (multipart uploads, exactly once)";
  mine.schemes = "s3";
  mine.object_list = s3_object_list;
  mine.reader_open = s3_reader_open;
  mine.reader_read = s3_reader_read;
  mine.reader_close = s3_reader_close;
  mine.writer_open = s3_writer_open;
  mine.writer_write = s3_writer_write;
  mine.writer_commit = s3_writer_commit;
  mine.writer_finish = s3_writer_finish;
  mine.writer_abort = s3_writer_abort;
  mine.writer_close = s3_writer_close;
  memcpy(out, &mine, size);
  return NB_OK;
}
