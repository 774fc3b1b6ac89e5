/*
 * s3_writer.c - writing an s3:// object exactly once: one multipart upload
 * per object, parts of part_size bytes (the last one shorter), each sent
 * with its Content-MD5.
 *
 * Durability.  A commit makes every byte written so far durable: the full
 * parts are already uploaded (S3 keeps them until the upload is completed
 * or aborted), and the tail shorter than a part is written to a local
 * spool file and fsync'd.  The blob returned names the upload, the ETag of
 * every uploaded part, the spool file and the tail's length; the host keeps
 * it in its state file.  A resumed run reopens with that blob: the parts
 * after it are uploaded again under the same numbers (S3 keeps the last
 * upload of a part number), the tail is read back from the spool file.
 *
 * Spool files.  One per part number that a commit had to spool
 * ("nebula-s3-<hash of upload id>-<part>.spool" in spool_dir).  A commit
 * only ever appends to the file of its part (the bytes before are the same
 * bytes), so the blob of an earlier commit in the same part stays valid.
 * The host saves the state after each commit, before the next one: at a
 * commit, only the previous commit's spool file can still be named by the
 * saved state, so older ones are removed.  finish and abort remove them.
 *
 * Visibility.  The object appears only when CompleteMultipartUpload
 * succeeds (writer_finish).  Until then readers see nothing, or the
 * previous version of the key.  writer_close without finish leaves the
 * upload pending for a resume; its id is in the state file.
 *
 * Completion.  The host saves no state after writer_finish, so a run
 * killed after CompleteMultipartUpload succeeded, and any later run of the
 * same finished pipeline, resumes an upload that S3 no longer has (and
 * whose spool file finish removed).  So that such a run recognises its
 * object instead of failing, every upload is started with a random token
 * as user metadata (x-amz-meta-nebula-upload), kept in the blob.  An
 * object under the key whose token is ours and whose length is the
 * committed length can only come from completing this upload (S3 completes
 * an upload once, with the parts finish listed, after the last commit):
 * the resumed writer is then already complete and uploads nothing.  The
 * same check tells a CompleteMultipartUpload whose reply was lost from one
 * that failed.
 *
 * Parts in flight.  A full part is handed to one of upload_concurrency
 * uploader threads (NEBULA_S3_UPLOAD_CONCURRENCY, default 4), each with
 * its own connection, and the next part fills meanwhile.  Memory is
 * bounded by (upload_concurrency + 1) part buffers: one per uploader and
 * the one filling; when every uploader is busy the writer waits for the
 * oldest part.  Parts land (their ETags are recorded) strictly in part
 * number order, so the ETag list is always parts 1..n_parts without a
 * hole, whatever order the uploads end in.  A commit, finish or abort
 * first lands every part in flight (a commit is durable only once its
 * parts are stored); a part that failed after the connection's retries
 * fails the writer.
 */
#define _GNU_SOURCE
#include "s3_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nebula/sdk.h"
#include "s3_client.h"
#include "s3_md5.h"
#include "s3_xml.h"

#define BLOB_MAGIC "s3mpu2"
#define BLOB_MAGIC_V1 "s3mpu1"  /* no token: resumed, never recognised complete */
#define TOKEN_LEN 32
#define MAX_PARTS 10000
#define ETAG_MAX 64
#define REPLY_LIMIT ((size_t)64 << 10)

#define MAX_UPLOADERS 64

struct S3Writer;

/* One uploader thread and the part it holds.  busy, done and the
 * outcome (rc, etag, message, detail, hint) are guarded by the writer's
 * Pool mutex; buf, len, number and client belong to the thread while
 * busy && !done, else to the writer's thread, which alone sets
 * client_open and started. */
typedef struct Uploader {
  struct S3Writer *w;
  S3Client client;        /* this thread's own connection */
  bool client_open;
  bool started;           /* thread runs */
  pthread_t thread;
  bool busy;              /* a part is handed over (buf holds it) */
  bool done;              /* ... and its upload ended (rc, etag, message) */
  uint8_t *buf;           /* part_size bytes, NULL until first used */
  size_t len;
  uint32_t number;
  int rc;
  char etag[ETAG_MAX];
  char *message, *detail, *hint; /* the error when rc != NB_OK */
} Uploader;

typedef struct Pool {
  bool locks;             /* mu and cv are initialised */
  pthread_mutex_t mu;
  pthread_cond_t cv;      /* any change of busy/done/stop */
  bool stop;
  size_t count;           /* upload_concurrency */
  size_t in_flight;       /* uploaders holding a part not yet landed */
  Uploader *slots;
} Pool;

typedef struct S3Writer {
  S3Client client;
  char *path;
  char *bucket;
  char *key;
  char *upload_id;
  char token[TOKEN_LEN + 1]; /* x-amz-meta-nebula-upload ("": a v1 blob's) */
  size_t part_size;
  uint8_t *part;          /* the bytes of part n_parts + 1 */
  size_t part_len;
  char (*etags)[ETAG_MAX]; /* of parts 1..n_parts, without quotes */
  size_t n_parts;
  uint64_t length;        /* bytes written */
  /* The spool file of part n_parts + 1 holds its first spooled bytes. */
  size_t spooled;
  uint32_t prev_spool_part; /* of the previous commit (0: none) */
  uint32_t low_spool;     /* the lowest part that may have a spool file
                             (0: none) */
  char *blob;
  bool done;              /* finished or aborted */
  int failed;             /* an upload failed: the writer accepts no more */
  Pool pool;              /* parts n_parts + 1 .. n_parts + in_flight */
} S3Writer;

/* ------------------------------------------------------------------------
 * Names and checks
 * ------------------------------------------------------------------------ */

static uint64_t fnv1a64(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 0x100000001b3ull;
  }
  return h;
}

/* The spool file of part (new string, NULL when out of memory). */
static char *spool_path(const S3Writer *w, uint32_t part) {
  char *out = NULL;
  if (asprintf(&out, "%s/nebula-s3-%016" PRIx64 "-%05u.spool", w->client.cfg.spool_dir,
               fnv1a64(w->upload_id), part) < 0)
    return NULL;
  return out;
}

/* Characters a blob field may hold: printable ASCII, none of the blob's
 * separators or of what a JSON string would have to escape. */
static bool blob_safe(const char *s) {
  for (; *s; s++)
    if (*s <= ' ' || *s > '~' || *s == ';' || *s == ',' || *s == '"' || *s == '\\' || *s == '=')
      return false;
  return true;
}

/* An ETag as S3 sends it ("\"hex\"") without its quotes, checked. */
static bool etag_clean(const char *raw, char out[ETAG_MAX]) {
  size_t n = strlen(raw);
  if (n >= 2 && raw[0] == '"' && raw[n - 1] == '"') {
    raw++;
    n -= 2;
  }
  if (n == 0 || n >= ETAG_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char c = raw[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'))
      return false;
  }
  memcpy(out, raw, n);
  out[n] = '\0';
  return true;
}

static int cancelled(const S3Client *c, NbError *err) {
  const NbHostApi *h = c->host;
  if (h != NULL && h->is_cancelled != NULL && h->is_cancelled(h->host_data))
    return nb_error_set(err, NB_CANCELLED, "cancelled");
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Requests
 * ------------------------------------------------------------------------ */

/* The error of a reply that is not 2xx, with the upload's context. */
static int upload_error(const S3Writer *w, const S3Client *c, const S3Reply *reply,
                        const char *what, NbError *err) {
  int rc = s3_reply_error(c, reply, w->bucket, w->key, err);
  if (reply->text != NULL && strstr(reply->text, "NoSuchUpload") != NULL) {
    nb_error_detail(err, "%s: the multipart upload %s no longer exists (completed, aborted or "
                         "expired by a lifecycle rule).", what, w->upload_id);
    nb_error_hint(err, "The bytes committed so far are gone: delete the state file and run "
                       "again from the start.");
    return NB_INVALID;
  }
  nb_error_detail(err, "While %s.", what);
  return rc;
}

/* A new random token (TOKEN_LEN hex digits) into w->token. */
static int new_token(S3Writer *w, NbError *err) {
  uint8_t raw[TOKEN_LEN / 2];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return nb_error_set(err, NB_IO, "could not draw a random upload token for s3://%s/%s: %s",
                          w->bucket, w->key, strerror(errno));
    got += (size_t)n;
  }
  for (size_t i = 0; i < sizeof raw; i++) snprintf(w->token + 2 * i, 3, "%02x", raw[i]);
  return NB_OK;
}

static int create_upload(S3Writer *w, NbError *err) {
  S3Reply reply;
  S3Body body = {NULL, 0, NULL, "application/octet-stream", w->token};
  bool nomem = false;
  int rc = new_token(w, err);
  if (rc != NB_OK) return rc;
  memset(&reply, 0, sizeof reply);
  reply.text_limit = REPLY_LIMIT;
  rc = s3_request_body(&w->client, "POST", w->bucket, w->key, "uploads", NULL, &body, &reply,
                       err);
  if (rc == NB_OK && (reply.status < 200 || reply.status > 299))
    rc = upload_error(w, &w->client, &reply, "starting the multipart upload", err);
  if (rc == NB_OK) {
    S3Slice text = {reply.text != NULL ? reply.text : "", reply.text_len};
    w->upload_id = s3_xml_text(text, "UploadId", &nomem);
    if (w->upload_id == NULL)
      rc = nomem ? nb_error_set(err, NB_NOMEM, "out of memory")
                 : nb_error_set(err, NB_IO, "S3 gave no UploadId starting the upload of s3://%s/%s",
                                w->bucket, w->key);
    else if (!blob_safe(w->upload_id) || strlen(w->upload_id) > 1024)
      rc = nb_error_set(err, NB_IO, "S3 gave an UploadId this module cannot keep for s3://%s/%s",
                        w->bucket, w->key);
  }
  s3_reply_free(&reply);
  return rc;
}

/* Upload data[0..len) as part number over connection c; its ETag
 * (without quotes) into etag.  Reads only what open fixed in w, so
 * uploader threads call it concurrently, each with its own c. */
static int upload_buffer(const S3Writer *w, S3Client *c, const uint8_t *data, size_t len,
                         uint32_t number, char etag[ETAG_MAX], NbError *err) {
  S3Reply reply;
  uint8_t digest[16];
  char md5[25], *query = NULL, *id = NULL;
  int rc = cancelled(c, err);
  if (rc != NB_OK) return rc;
  if (number > MAX_PARTS) {
    nb_error_set(err, NB_INVALID, "s3://%s/%s needs more than %d parts", w->bucket, w->key,
                 MAX_PARTS);
    nb_error_hint(err, "Raise NEBULA_S3_PART_SIZE (now %zu bytes).", w->part_size);
    return NB_INVALID;
  }
  s3_md5(data, len, digest);
  s3_md5_base64(digest, md5);
  id = s3_uri_encode(w->upload_id, false);
  if (id == NULL || asprintf(&query, "partNumber=%u&uploadId=%s", number, id) < 0) {
    free(id);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  free(id);
  S3Body body = {data, len, md5, NULL, NULL};
  memset(&reply, 0, sizeof reply);
  reply.text_limit = REPLY_LIMIT;
  rc = s3_request_body(c, "PUT", w->bucket, w->key, query, NULL, &body, &reply, err);
  free(query);
  if (rc == NB_OK && (reply.status < 200 || reply.status > 299)) {
    char what[64];
    snprintf(what, sizeof what, "uploading part %u", number);
    rc = upload_error(w, c, &reply, what, err);
  }
  if (rc == NB_OK && !etag_clean(reply.etag, etag))
    rc = nb_error_set(err, NB_IO, "S3 gave no usable ETag for part %u of s3://%s/%s", number,
                      w->bucket, w->key);
  s3_reply_free(&reply);
  return rc;
}

/* Append the ETag of part n_parts + 1. */
static int record_part(S3Writer *w, const char etag[ETAG_MAX], NbError *err) {
  if (w->n_parts % 64 == 0) {
    char(*grown)[ETAG_MAX] = realloc(w->etags, (w->n_parts + 64) * sizeof *grown);
    if (grown == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    w->etags = grown;
  }
  memcpy(w->etags[w->n_parts], etag, ETAG_MAX);
  w->n_parts++;
  return NB_OK;
}

/* Upload the part buffer now, on the caller's thread (the last part). */
static int upload_part(S3Writer *w, NbError *err) {
  char etag[ETAG_MAX];
  int rc = upload_buffer(w, &w->client, w->part, w->part_len, (uint32_t)w->n_parts + 1, etag, err);
  if (rc == NB_OK) rc = record_part(w, etag, err);
  if (rc == NB_OK) {
    w->part_len = 0;
    w->spooled = 0;
  }
  return rc;
}

/* ------------------------------------------------------------------------
 * The uploaders: up to pool.count full parts upload while the next one
 * fills.  Everything in Pool and the state fields of each Uploader are
 * guarded by pool.mu; a part's buffer and the uploader's connection
 * belong to its thread while the part is busy and not done.
 * ------------------------------------------------------------------------ */

/* Keep the error of a failed upload for the writer's thread (the strings
 * of e go; a copy that cannot be made leaves a generic message). */
static void keep_error(Uploader *u, NbError *e) {
  u->message = e->message != NULL ? strdup(e->message) : NULL;
  u->detail = e->detail != NULL ? strdup(e->detail) : NULL;
  u->hint = e->hint != NULL ? strdup(e->hint) : NULL;
}

static void *uploader_main(void *arg) {
  Uploader *u = arg;
  Pool *p = &u->w->pool;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!(u->busy && !u->done) && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
    if (p->stop) break; /* a part not begun at close is not sent */
    pthread_mutex_unlock(&p->mu);
    NbError e;
    nb_error_init(&e);
    char etag[ETAG_MAX] = "";
    int rc = upload_buffer(u->w, &u->client, u->buf, u->len, u->number, etag, &e);
    pthread_mutex_lock(&p->mu);
    u->rc = rc;
    memcpy(u->etag, etag, ETAG_MAX);
    if (rc != NB_OK) keep_error(u, &e);
    nb_error_release(&e);
    u->done = true;
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* The uploader array and its lock, made at the first full part (all or
 * nothing: a failure leaves the pool unmade, to be tried again). */
static int pool_init(S3Writer *w, NbError *err) {
  Pool *p = &w->pool;
  if (p->slots != NULL) return NB_OK;
  size_t count = w->client.cfg.upload_concurrency;
  if (count < 1 || count > MAX_UPLOADERS) count = 1;
  Uploader *slots = calloc(count, sizeof *slots);
  if (slots == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  if (pthread_mutex_init(&p->mu, NULL) != 0) {
    free(slots);
    return nb_error_set(err, NB_INTERNAL, "could not create the upload threads' lock");
  }
  if (pthread_cond_init(&p->cv, NULL) != 0) {
    pthread_mutex_destroy(&p->mu);
    free(slots);
    return nb_error_set(err, NB_INTERNAL, "could not create the upload threads' lock");
  }
  for (size_t i = 0; i < count; i++) slots[i].w = w;
  p->locks = true;
  p->count = count;
  p->slots = slots;
  return NB_OK;
}

/* Give uploader u its buffer, connection and thread (first use only). */
static int uploader_start(S3Writer *w, Uploader *u, NbError *err) {
  if (u->buf == NULL && (u->buf = malloc(w->part_size)) == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory for part buffer of %zu bytes (%zu parts in "
                        "flight)", w->part_size, w->pool.count);
  if (!u->client_open) {
    int rc = s3_client_open(&u->client, w->client.host, err);
    if (rc != NB_OK) return rc;
    u->client_open = true;
  }
  if (!u->started) {
    int e = pthread_create(&u->thread, NULL, uploader_main, u);
    if (e != 0)
      return nb_error_set(err, NB_IO, "could not start an upload thread: %s", strerror(e));
    u->started = true;
  }
  return NB_OK;
}

/* The uploader holding the lowest part number in flight (parts are
 * numbered in launch order: the oldest), NULL if none.  Under pool.mu. */
static Uploader *oldest_in_flight(Pool *p) {
  Uploader *oldest = NULL;
  for (size_t i = 0; i < p->count; i++)
    if (p->slots[i].busy && (oldest == NULL || p->slots[i].number < oldest->number))
      oldest = &p->slots[i];
  return oldest;
}

/* Record the part uploader u finished (the oldest in flight: number
 * n_parts + 1 while nothing failed) and free u.  A failure fails the
 * writer; after one, later parts are only freed (their ETags would sit
 * at the failed part's place). */
static int land_one(S3Writer *w, Uploader *u, NbError *err) {
  int rc = u->rc;
  pthread_mutex_lock(&w->pool.mu);
  u->busy = u->done = false;
  w->pool.in_flight--;
  pthread_mutex_unlock(&w->pool.mu);
  if (rc == NB_OK && w->failed != NB_OK)
    return nb_error_set(err, w->failed, "an earlier part of s3://%s/%s failed", w->bucket, w->key);
  if (rc == NB_OK) return record_part(w, u->etag, err);
  nb_error_set(err, rc, "%s", u->message != NULL ? u->message : "could not upload a part");
  if (u->detail != NULL) nb_error_detail(err, "%s", u->detail);
  if (u->hint != NULL) nb_error_hint(err, "%s", u->hint);
  free(u->message);
  free(u->detail);
  free(u->hint);
  u->message = u->detail = u->hint = NULL;
  w->failed = rc;
  return rc;
}

/* Land the oldest part in flight: wait for it when block, else only if
 * it has ended already.  *landed says whether one was. */
static int land_oldest(S3Writer *w, bool block, bool *landed, NbError *err) {
  Pool *p = &w->pool;
  *landed = false;
  if (p->slots == NULL) return NB_OK;
  pthread_mutex_lock(&p->mu);
  Uploader *u = oldest_in_flight(p);
  while (u != NULL && block && !u->done) pthread_cond_wait(&p->cv, &p->mu);
  bool ready = u != NULL && u->done;
  pthread_mutex_unlock(&p->mu);
  if (!ready) return NB_OK;
  *landed = true;
  return land_one(w, u, err);
}

/* Land every part in flight, in order: afterwards none is in flight and
 * n_parts counts them all.  The first failure is returned, but every
 * part is still waited for (no thread uses the writer's data after). */
static int land_all(S3Writer *w, NbError *err) {
  int first = NB_OK;
  bool landed = true;
  while (landed) {
    NbError e;
    nb_error_init(&e);
    int rc = land_oldest(w, true, &landed, first == NB_OK ? err : &e);
    nb_error_release(&e);
    if (rc != NB_OK && first == NB_OK) first = rc;
  }
  return first;
}

/* The part buffer is full: hand it to a free uploader (landing finished
 * parts first, and waiting for the oldest when all are busy), take that
 * uploader's spare buffer and continue filling it. */
static int launch_part(S3Writer *w, NbError *err) {
  Pool *p = &w->pool;
  bool landed = true;
  int rc = pool_init(w, err);
  while (rc == NB_OK && landed) rc = land_oldest(w, p->in_flight == p->count, &landed, err);
  if (rc != NB_OK) return rc;
  Uploader *u = NULL;
  for (size_t i = 0; i < p->count && u == NULL; i++)
    if (!p->slots[i].busy) u = &p->slots[i];
  if (u == NULL) return nb_error_set(err, NB_INTERNAL, "no free upload thread");
  rc = uploader_start(w, u, err);
  if (rc != NB_OK) return rc;
  uint8_t *spare = u->buf;
  pthread_mutex_lock(&p->mu);
  u->buf = w->part;
  u->len = w->part_len;
  u->number = (uint32_t)(w->n_parts + p->in_flight + 1);
  u->rc = NB_OK;
  u->busy = true;
  u->done = false;
  p->in_flight++;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  w->part = spare;
  w->part_len = 0;
  w->spooled = 0;
  return NB_OK;
}

/* Stop and join every uploader (a part still in flight at close is
 * waited for: its thread reads the writer), free their buffers. */
static void stop_uploaders(S3Writer *w) {
  Pool *p = &w->pool;
  if (p->locks) {
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  for (size_t i = 0; p->slots != NULL && i < p->count; i++) {
    Uploader *u = &p->slots[i];
    if (u->started) pthread_join(u->thread, NULL);
    if (u->client_open) s3_client_close(&u->client);
    free(u->buf);
    free(u->message);
    free(u->detail);
    free(u->hint);
  }
  free(p->slots);
  if (p->locks) {
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
  }
  memset(p, 0, sizeof *p);
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The ETag S3 gives an object made of the parts: the MD5 of their binary
 * MD5s, "-", their count.  false when a part's ETag is not a hex MD5. */
static bool multipart_etag(const S3Writer *w, char *out, size_t cap) {
  uint8_t *md5s = malloc(w->n_parts * 16 + 1), digest[16];
  if (md5s == NULL) return false;
  for (size_t i = 0; i < w->n_parts; i++) {
    if (strlen(w->etags[i]) != 32) {
      free(md5s);
      return false;
    }
    for (size_t k = 0; k < 16; k++) {
      int hi = hex_value(w->etags[i][2 * k]), lo = hex_value(w->etags[i][2 * k + 1]);
      if (hi < 0 || lo < 0) {
        free(md5s);
        return false;
      }
      md5s[i * 16 + k] = (uint8_t)(hi << 4 | lo);
    }
  }
  s3_md5(md5s, w->n_parts * 16, digest);
  free(md5s);
  size_t o = 0;
  for (size_t k = 0; k < 16 && o + 3 < cap; k++) o += (size_t)snprintf(out + o, cap - o, "%02x", digest[k]);
  snprintf(out + o, cap - o, "-%zu", w->n_parts);
  return true;
}

/* Whether the object under the key is this upload completed (see
 * Completion at the top): its token is ours and its length w->length, or,
 * with all_parts (every part is in etags), it has the S3 ETag of exactly
 * these parts.  false also when the HEAD fails: nothing is assumed. */
static bool upload_completed(S3Writer *w, bool all_parts) {
  char want[64], got[ETAG_MAX];
  S3Reply reply;
  NbError e;
  bool same = false;
  memset(&reply, 0, sizeof reply);
  reply.text_limit = REPLY_LIMIT;
  nb_error_init(&e);
  int rc = s3_request(&w->client, "HEAD", w->bucket, w->key, NULL, NULL, &reply, &e);
  if (rc == NB_OK && reply.status == 200 && w->token[0] != '\0' &&
      strcmp(reply.upload_token, w->token) == 0 && reply.total_size >= 0 &&
      (uint64_t)reply.total_size == w->length) {
    same = true;
  } else if (rc == NB_OK && reply.status >= 200 && reply.status <= 299 && all_parts &&
             multipart_etag(w, want, sizeof want)) {
    const char *raw = reply.etag;
    size_t n = strlen(raw);
    if (n >= 2 && raw[0] == '"' && raw[n - 1] == '"') {
      raw++;
      n -= 2;
    }
    if (n < sizeof got) {
      memcpy(got, raw, n);
      got[n] = '\0';
      same = strcmp(got, want) == 0;
    }
  }
  nb_error_release(&e);
  s3_reply_free(&reply);
  return same;
}

/* The CompleteMultipartUpload document (new string). */
static char *complete_document(const S3Writer *w) {
  size_t cap = 64 + w->n_parts * (ETAG_MAX + 96), len = 0;
  char *doc = malloc(cap);
  if (doc == NULL) return NULL;
  len += (size_t)snprintf(doc + len, cap - len, "<CompleteMultipartUpload>");
  for (size_t i = 0; i < w->n_parts; i++)
    len += (size_t)snprintf(doc + len, cap - len,
                            "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1,
                            w->etags[i]);
  snprintf(doc + len, cap - len, "</CompleteMultipartUpload>");
  return doc;
}

static int complete_upload(S3Writer *w, NbError *err) {
  S3Reply reply;
  char *doc = complete_document(w), *id = s3_uri_encode(w->upload_id, false), *query = NULL;
  int rc;
  if (doc == NULL || id == NULL || asprintf(&query, "uploadId=%s", id) < 0) {
    free(doc);
    free(id);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  free(id);
  uint8_t digest[16];
  char md5[25];
  s3_md5((const uint8_t *)doc, strlen(doc), digest);
  s3_md5_base64(digest, md5);
  S3Body body = {(const uint8_t *)doc, strlen(doc), md5, "application/xml", NULL};
  memset(&reply, 0, sizeof reply);
  reply.text_limit = REPLY_LIMIT;
  rc = s3_request_body(&w->client, "POST", w->bucket, w->key, query, NULL, &body, &reply, err);
  free(query);
  free(doc);
  /* S3 may answer 200 and still fail: the error is then in the body. */
  if (rc == NB_OK && reply.status >= 200 && reply.status <= 299 && reply.text != NULL &&
      strstr(reply.text, "<Error>") != NULL)
    reply.status = 500;
  if (rc == NB_OK && (reply.status < 200 || reply.status > 299))
    rc = upload_error(w, &w->client, &reply, "completing the multipart upload", err);
  s3_reply_free(&reply);
  if (rc != NB_OK && rc != NB_CANCELLED && rc != NB_NOMEM) {
    if (upload_completed(w, true)) {
      nb_error_release(err);
      nb_error_init(err);
      return NB_OK;
    }
    nb_error_hint(err, "If an attempt succeeded but its reply was lost, s3://%s/%s may exist "
                       "already with %" PRIu64 " bytes: check it before running again.",
                  w->bucket, w->key, w->length);
  }
  return rc;
}

static int abort_upload(S3Writer *w, NbError *err) {
  S3Reply reply;
  char *id = s3_uri_encode(w->upload_id, false), *query = NULL;
  int rc;
  if (id == NULL || asprintf(&query, "uploadId=%s", id) < 0) {
    free(id);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  free(id);
  memset(&reply, 0, sizeof reply);
  reply.text_limit = REPLY_LIMIT;
  rc = s3_request(&w->client, "DELETE", w->bucket, w->key, query, NULL, &reply, err);
  free(query);
  if (rc == NB_OK && (reply.status < 200 || reply.status > 299) && reply.status != 404)
    rc = upload_error(w, &w->client, &reply, "aborting the multipart upload", err);
  s3_reply_free(&reply);
  return rc;
}

/* ------------------------------------------------------------------------
 * Spool files
 * ------------------------------------------------------------------------ */

static int sync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd) != 0 && errno != EINVAL ? -1 : 0;
  close(fd);
  return rc;
}

/* Write part[spooled..part_len) to the spool file of the current part at
 * offset spooled, cut it there and fsync it. */
static int spool_tail(S3Writer *w, char *path, NbError *err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  const uint8_t *p = w->part + w->spooled;
  size_t left = w->part_len - w->spooled;
  off_t at = (off_t)w->spooled;
  if (fd < 0) goto fail;
  while (left > 0) {
    ssize_t n = pwrite(fd, p, left, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) goto fail;
    p += n;
    at += n;
    left -= (size_t)n;
  }
  if (ftruncate(fd, (off_t)w->part_len) != 0 || fsync(fd) != 0) goto fail;
  close(fd);
  fd = -1;
  if (w->spooled == 0 && sync_dir(w->client.cfg.spool_dir) != 0) goto fail;
  w->spooled = w->part_len;
  return NB_OK;
fail:;
  int e = errno;
  if (fd >= 0) close(fd);
  nb_error_set(err, NB_IO, "could not write the spool file \"%s\" of s3://%s/%s: %s", path,
               w->bucket, w->key, strerror(e));
  nb_error_hint(err, "The spool directory is NEBULA_S3_SPOOL_DIR, else /var/tmp.");
  return NB_IO;
}

static void remove_spool(const S3Writer *w, uint32_t part) {
  char *path;
  if (part == 0 || (path = spool_path(w, part)) == NULL) return;
  unlink(path);
  free(path);
}

/* At a commit whose spool file is that of part now (0: no tail): the
 * state saved before it names at most the previous commit's spool file;
 * every older one goes. */
static void forget_spools(S3Writer *w, uint32_t now) {
  uint32_t keep = w->prev_spool_part != 0 ? w->prev_spool_part : now;
  uint32_t end = keep != 0 ? keep : (uint32_t)w->n_parts + 1;
  for (uint32_t q = w->low_spool; q != 0 && q < end; q++) remove_spool(w, q);
  w->low_spool = keep;
  w->prev_spool_part = now;
}

/* Remove every spool file the upload may still have, also those a killed
 * run left (one part past the last is the furthest an unsaved commit of
 * the same bytes reaches). */
static void forget_all_spools(S3Writer *w) {
  for (uint32_t q = 1; q <= (uint32_t)w->n_parts + 2; q++) remove_spool(w, q);
  w->low_spool = 0;
}

/* Read the first len bytes of the spool file path into the part buffer. */
static int read_spool(S3Writer *w, const char *path, size_t len, NbError *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  size_t got = 0;
  if (fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_size < len) {
    int e = errno;
    bool short_file = fd >= 0 && (uint64_t)st.st_size < len;
    if (fd >= 0) close(fd);
    nb_error_set(err, NB_INVALID, "cannot resume s3://%s/%s: its spool file \"%s\" %s%s",
                 w->bucket, w->key, path, short_file ? "is shorter than the committed tail"
                                                     : "cannot be read: ",
                 short_file ? "" : strerror(e));
    nb_error_detail(err, "The last commit kept the %zu bytes after part %zu in that file.", len,
                    w->n_parts);
    nb_error_hint(err, "Restore the file, or delete the state file to start over.");
    return NB_INVALID;
  }
  while (got < len) {
    ssize_t n = pread(fd, w->part + got, len - got, (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return nb_error_set(err, NB_IO, "could not read the spool file \"%s\"", path);
    }
    got += (size_t)n;
  }
  close(fd);
  w->part_len = len;
  w->spooled = len;
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * The blob: BLOB_MAGIC;length=L;part_size=P;upload=ID;token=K;tail=T;spool=PATH;
 * etags=E1,E2 (BLOB_MAGIC_V1: the same without token=)
 * ------------------------------------------------------------------------ */

static int build_blob(S3Writer *w, const char *spool, NbError *err) {
  size_t cap = 256 + strlen(w->upload_id) + strlen(spool) + w->n_parts * ETAG_MAX, len;
  char *b = malloc(cap);
  if (b == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  len = (size_t)snprintf(b, cap, BLOB_MAGIC ";length=%" PRIu64 ";part_size=%zu;upload=%s;"
                         "token=%s;tail=%zu;spool=%s;etags=", w->length, w->part_size,
                         w->upload_id, w->token, w->part_len, spool);
  for (size_t i = 0; i < w->n_parts && len < cap; i++)
    len += (size_t)snprintf(b + len, cap - len, "%s%s", i ? "," : "", w->etags[i]);
  if (len >= cap || len > NB_STORAGE_BLOB_MAX) {
    free(b);
    return nb_error_set(err, NB_INTERNAL, "the upload state of s3://%s/%s is too large",
                        w->bucket, w->key);
  }
  free(w->blob);
  w->blob = b;
  return NB_OK;
}

/* The value of field name= in the ';'-separated blob copy (NUL-cut). */
static char *blob_field(char *fields[], size_t n, const char *name) {
  size_t k = strlen(name);
  for (size_t i = 0; i < n; i++)
    if (strncmp(fields[i], name, k) == 0 && fields[i][k] == '=') return fields[i] + k + 1;
  return NULL;
}

static bool parse_u64(const char *s, uint64_t *out) {
  char *end;
  if (s == NULL || *s < '0' || *s > '9') return false;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

static int bad_blob(S3Writer *w, const char *why, NbError *err) {
  nb_error_set(err, NB_INVALID, "cannot resume s3://%s/%s: the saved upload state is invalid (%s)",
               w->bucket, w->key, why);
  nb_error_hint(err, "The state file was damaged or edited; delete it to start over.");
  return NB_INVALID;
}

/* Restore the writer from blob (resume_length committed bytes). */
static int restore(S3Writer *w, const char *blob, uint64_t resume_length, NbError *err) {
  char *copy = strdup(blob), *fields[9], *save = NULL, *f;
  size_t n = 0;
  uint64_t length = 0, part_size = 0, tail = 0;
  int rc = NB_OK;
  if (copy == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  for (f = strtok_r(copy, ";", &save); f != NULL && n < 9; f = strtok_r(NULL, ";", &save))
    fields[n++] = f;
  const char *upload = n > 0 ? blob_field(fields, n, "upload") : NULL;
  const char *spool = n > 0 ? blob_field(fields, n, "spool") : NULL;
  const char *token = n > 0 ? blob_field(fields, n, "token") : NULL;
  char *etags = n > 0 ? blob_field(fields, n, "etags") : NULL;
  bool v2 = n == 8 && strcmp(fields[0], BLOB_MAGIC) == 0;
  if (!v2 && !(n == 7 && strcmp(fields[0], BLOB_MAGIC_V1) == 0))
    rc = bad_blob(w, "not an s3 upload state", err);
  else if (v2 && (token == NULL || strlen(token) != TOKEN_LEN || strspn(token, "0123456789abcdef")
                  != TOKEN_LEN))
    rc = bad_blob(w, "a malformed token", err);
  else if (!parse_u64(blob_field(fields, n, "length"), &length) ||
           !parse_u64(blob_field(fields, n, "part_size"), &part_size) ||
           !parse_u64(blob_field(fields, n, "tail"), &tail) || upload == NULL || spool == NULL ||
           etags == NULL || !blob_safe(upload) || upload[0] == '\0')
    rc = bad_blob(w, "a field is missing or malformed", err);
  else if (part_size < ((uint64_t)5 << 20) || part_size > ((uint64_t)5 << 30) || tail >= part_size)
    rc = bad_blob(w, "impossible part size or tail", err);
  else if (length != resume_length)
    rc = bad_blob(w, "its length differs from the committed length", err);
  else if (part_size != w->client.cfg.part_size) {
    /* Also what bounds the part buffer: never a size only the blob says. */
    nb_error_set(err, NB_INVALID, "cannot resume s3://%s/%s: its upload uses parts of %" PRIu64
                 " bytes, NEBULA_S3_PART_SIZE is %zu now", w->bucket, w->key, part_size,
                 w->client.cfg.part_size);
    nb_error_hint(err, "Resume with NEBULA_S3_PART_SIZE=%" PRIu64 ", as the run that started "
                       "the upload.", part_size);
    rc = NB_INVALID;
  }
  if (rc == NB_OK) {
    w->part_size = (size_t)part_size;
    w->upload_id = strdup(upload);
    w->part = malloc(w->part_size);
    if (w->upload_id == NULL || w->part == NULL) rc = nb_error_set(err, NB_NOMEM, "out of memory");
  }
  /* The ETags: exactly (length - tail) / part_size of them. */
  for (char *e = etags, *next; rc == NB_OK && e != NULL && *e != '\0'; e = next) {
    next = strchr(e, ',');
    if (next != NULL) *next++ = '\0';
    if (w->n_parts % 64 == 0) {
      char(*grown)[ETAG_MAX] = realloc(w->etags, (w->n_parts + 64) * sizeof *grown);
      if (grown == NULL) {
        rc = nb_error_set(err, NB_NOMEM, "out of memory");
        break;
      }
      w->etags = grown;
    }
    if (w->n_parts >= MAX_PARTS || !etag_clean(e, w->etags[w->n_parts]))
      rc = bad_blob(w, "an invalid ETag", err);
    else w->n_parts++;
  }
  if (rc == NB_OK && (uint64_t)w->n_parts * part_size + tail != length)
    rc = bad_blob(w, "its parts and tail do not add up to its length", err);
  if (rc == NB_OK) {
    char *expected = spool_path(w, (uint32_t)w->n_parts + 1);
    if (expected == NULL) rc = nb_error_set(err, NB_NOMEM, "out of memory");
    else if (tail > 0 && strcmp(expected, spool) != 0)
      rc = bad_blob(w, "its spool file is not where NEBULA_S3_SPOOL_DIR points now", err);
    free(expected);
  }
  if (rc == NB_OK) {
    w->length = length;
    if (v2) memcpy(w->token, token, TOKEN_LEN + 1);
    /* Killed after completing, or a finished pipeline run again. */
    if (v2 && upload_completed(w, false)) {
      const NbHostApi *h = w->client.host;
      char line[512];
      snprintf(line, sizeof line, "s3://%.200s/%.200s is already complete (%" PRIu64 " bytes, "
               "this upload's token): nothing to upload", w->bucket, w->key, w->length);
      if (h != NULL && h->log != NULL) h->log(h->host_data, NB_LOG_INFO, line);
      w->done = true;
      w->blob = strdup(blob);
      if (w->blob == NULL) rc = nb_error_set(err, NB_NOMEM, "out of memory");
      forget_all_spools(w);
      free(copy);
      return rc;
    }
  }
  if (rc == NB_OK && tail > 0) rc = read_spool(w, spool, (size_t)tail, err);
  if (rc == NB_OK) {
    w->prev_spool_part = tail > 0 ? (uint32_t)w->n_parts + 1 : 0;
    /* A killed run may have left spool files of parts uploaded since: the
     * first commit removes every one below the saved state's. */
    w->low_spool = 1;
  }
  free(copy);
  return rc;
}

/* ------------------------------------------------------------------------
 * The slots
 * ------------------------------------------------------------------------ */

static void writer_free(S3Writer *w) {
  if (w == NULL) return;
  stop_uploaders(w);
  s3_client_close(&w->client);
  free(w->path);
  free(w->bucket);
  free(w->key);
  free(w->upload_id);
  free(w->part);
  free(w->etags);
  free(w->blob);
  free(w);
}

int s3_writer_open(const NbHostApi *host, const char *path, const char *resume_blob,
                   uint64_t resume_length, void **writer, NbError *err) {
  S3Writer *w = calloc(1, sizeof *w);
  int rc;
  *writer = NULL;
  if (w == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  rc = s3_parse_path(path, &w->bucket, &w->key, err);
  if (rc == NB_OK && w->key[0] == '\0')
    rc = nb_error_set(err, NB_INVALID, "S3 path \"%s\" names no object to write", path);
  if (rc == NB_OK) rc = s3_client_open(&w->client, host, err);
  if (rc == NB_OK && !blob_safe(w->client.cfg.spool_dir)) {
    nb_error_set(err, NB_INVALID, "the S3 spool directory \"%.200s\" has a character the upload "
                 "state cannot hold (space, ';', ',', '=', quote or backslash)",
                 w->client.cfg.spool_dir);
    nb_error_hint(err, "Set NEBULA_S3_SPOOL_DIR to a plain directory path.");
    rc = NB_INVALID;
  }
  if (rc == NB_OK && (w->path = strdup(path)) == NULL)
    rc = nb_error_set(err, NB_NOMEM, "out of memory");
  if (rc == NB_OK && resume_blob != NULL) {
    rc = restore(w, resume_blob, resume_length, err);
  } else if (rc == NB_OK) {
    w->part_size = w->client.cfg.part_size;
    w->part = malloc(w->part_size);
    if (w->part == NULL) rc = nb_error_set(err, NB_NOMEM, "out of memory");
    if (rc == NB_OK) rc = create_upload(w, err);
  }
  if (rc != NB_OK) {
    writer_free(w);
    return rc;
  }
  *writer = w;
  return NB_OK;
}

int s3_writer_write(void *writer, const void *buf, size_t len, NbError *err) {
  S3Writer *w = writer;
  const uint8_t *p = buf;
  if (w->done) return nb_error_set(err, NB_INVALID, "s3://%s/%s is already complete", w->bucket, w->key);
  if (w->failed != NB_OK)
    return nb_error_set(err, w->failed, "an earlier part of s3://%s/%s failed", w->bucket, w->key);
  while (len > 0) {
    size_t room = w->part_size - w->part_len, n = len < room ? len : room;
    memcpy(w->part + w->part_len, p, n);
    w->part_len += n;
    w->length += n;
    p += n;
    len -= n;
    if (w->part_len == w->part_size) {
      int rc = launch_part(w, err);
      if (rc != NB_OK) return rc;
    }
  }
  return NB_OK;
}

int s3_writer_commit(void *writer, const char **blob, NbError *err) {
  S3Writer *w = writer;
  /* Durable means uploaded: every part in flight lands first. */
  int rc = w->failed != NB_OK ? nb_error_set(err, w->failed, "an earlier part of s3://%s/%s "
                                             "failed", w->bucket, w->key)
                              : land_all(w, err);
  if (rc != NB_OK) return rc;
  if (w->done && w->blob != NULL) {
    /* Complete already (at open, see Completion): nothing was written. */
    *blob = w->blob;
    return NB_OK;
  }
  uint32_t part = (uint32_t)w->n_parts + 1;
  char *spool = spool_path(w, part);
  rc = spool == NULL ? nb_error_set(err, NB_NOMEM, "out of memory") : NB_OK;
  if (w->done) rc = nb_error_set(err, NB_INVALID, "s3://%s/%s is already complete", w->bucket, w->key);
  if (rc == NB_OK && w->part_len > w->spooled) rc = spool_tail(w, spool, err);
  if (rc == NB_OK) rc = build_blob(w, w->part_len > 0 ? spool : "-", err);
  if (rc == NB_OK) {
    forget_spools(w, w->part_len > 0 ? part : 0);
    *blob = w->blob;
  }
  free(spool);
  return rc;
}

int s3_writer_finish(void *writer, NbError *err) {
  S3Writer *w = writer;
  int rc = NB_OK;
  if (w->done) return NB_OK;
  if (w->failed != NB_OK)
    return nb_error_set(err, w->failed, "an earlier part of s3://%s/%s failed", w->bucket, w->key);
  rc = land_all(w, err);
  /* The last part may be short (or empty for an empty object). */
  if (rc == NB_OK && (w->part_len > 0 || w->n_parts == 0)) rc = upload_part(w, err);
  if (rc == NB_OK) rc = complete_upload(w, err);
  if (rc == NB_OK) {
    w->done = true;
    forget_all_spools(w);
  }
  return rc;
}

int s3_writer_abort(void *writer, NbError *err) {
  S3Writer *w = writer;
  if (w->done) return NB_OK;
  NbError ignored;
  nb_error_init(&ignored);
  land_all(w, &ignored); /* their results no longer matter */
  nb_error_release(&ignored);
  int rc = abort_upload(w, err);
  if (rc == NB_OK) {
    w->done = true;
    forget_all_spools(w);
  }
  return rc;
}

void s3_writer_close(void *writer) { writer_free(writer); }
