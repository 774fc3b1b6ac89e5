/*
 * s3_client.c - see s3_client.h.
 */
#define _GNU_SOURCE
#include "s3_client.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nebula/sdk.h"
#include "s3_xml.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000

/* ------------------------------------------------------------------------
 * Paths and URLs
 * ------------------------------------------------------------------------ */

static bool valid_bucket(const char *b, size_t n) {
  size_t i;
  if (n < 3 || n > 63) return false;
  for (i = 0; i < n; i++) {
    char c = b[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
      return false;
  }
  return true;
}

int s3_parse_path(const char *path, char **bucket, char **key, NbError *err) {
  const char *rest, *slash;
  size_t n;
  *bucket = *key = NULL;
  rest = strstr(path, "://");
  if (rest == NULL) return nb_error_set(err, NB_INVALID, "invalid S3 path \"%s\"", path);
  rest += 3;
  slash = strchr(rest, '/');
  n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
  if (!valid_bucket(rest, n)) {
    nb_error_set(err, NB_INVALID, "invalid bucket name in S3 path \"%s\"", path);
    nb_error_detail(err, "A bucket name is 3 to 63 lower-case letters, digits, dots and hyphens.");
    nb_error_hint(err, "Paths look like s3://bucket/key.");
    return NB_INVALID;
  }
  if (slash != NULL && strlen(slash + 1) > 1024) {
    nb_error_set(err, NB_INVALID, "S3 key too long in path \"%.200s...\"", path);
    nb_error_detail(err, "S3 keys are at most 1024 bytes.");
    return NB_INVALID;
  }
  *bucket = strndup(rest, n);
  *key = strdup(slash != NULL ? slash + 1 : "");
  if (*bucket == NULL || *key == NULL) {
    free(*bucket);
    free(*key);
    *bucket = *key = NULL;
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  return NB_OK;
}

char *s3_uri_encode(const char *text, bool keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(text), o = 0, i;
  char *out = malloc(n * 3 + 1);
  if (out == NULL) return NULL;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)text[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out[o++] = (char)c;
    } else {
      out[o++] = '%';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    }
  }
  out[o] = '\0';
  return out;
}

/* The URL of bucket/key: path-style on the endpoint, or virtual-hosted
 * (the bucket in the host name). */
static char *request_url(const S3Config *cfg, const char *bucket, const char *key,
                         const char *query) {
  char *enc = s3_uri_encode(key, true), *url = NULL;
  const char *q = query != NULL ? "?" : "", *qs = query != NULL ? query : "";
  int rc;
  if (enc == NULL) return NULL;
  if (cfg->endpoint == NULL && cfg->path_style)
    rc = asprintf(&url, "https://s3.%s.amazonaws.com/%s/%s%s%s", cfg->region, bucket, enc, q, qs);
  else if (cfg->endpoint == NULL)
    rc = asprintf(&url, "https://%s.s3.%s.amazonaws.com/%s%s%s", bucket, cfg->region, enc, q, qs);
  else if (cfg->path_style)
    rc = asprintf(&url, "%s/%s/%s%s%s", cfg->endpoint, bucket, enc, q, qs);
  else {
    const char *host = strstr(cfg->endpoint, "://") + 3;
    rc = asprintf(&url, "%.*s%s.%s/%s%s%s", (int)(host - cfg->endpoint), cfg->endpoint, bucket,
                  host, enc, q, qs);
  }
  free(enc);
  return rc < 0 ? NULL : url;
}

/* ------------------------------------------------------------------------
 * The connection
 * ------------------------------------------------------------------------ */

int s3_client_open(S3Client *c, const NbHostApi *host, NbError *err) {
  int rc;
  memset(c, 0, sizeof *c);
  c->host = host;
  rc = s3_config_load(&c->cfg, err);
  if (rc != NB_OK) return rc;
  c->curl = curl_easy_init();
  if (c->curl == NULL) {
    s3_config_free(&c->cfg);
    return nb_error_set(err, NB_NOMEM, "could not start libcurl");
  }
  return NB_OK;
}

void s3_client_close(S3Client *c) {
  if (c == NULL) return;
  if (c->curl != NULL) curl_easy_cleanup(c->curl);
  s3_config_free(&c->cfg);
  memset(c, 0, sizeof *c);
}

void s3_reply_free(S3Reply *reply) {
  free(reply->text);
  reply->text = NULL;
  reply->text_len = reply->text_cap = 0;
}

static void reply_reset(S3Reply *r) {
  r->status = 0;
  r->dst_len = 0;
  r->dst_overflow = false;
  r->text_len = 0;
  r->text_overflow = false;
  r->etag[0] = '\0';
  r->upload_token[0] = '\0';
  r->total_size = -1;
}

typedef struct Transfer {
  S3Reply *reply;
  CURL *curl;
} Transfer;

static bool is_success(long status) { return status >= 200 && status < 300; }

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg) {
  Transfer *t = arg;
  S3Reply *r = t->reply;
  size_t n = size * nmemb;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (is_success(status) && r->dst != NULL) {
    if (n > r->dst_cap - r->dst_len) {
      r->dst_overflow = true;
      return 0;
    }
    memcpy(r->dst + r->dst_len, data, n);
    r->dst_len += n;
    return n;
  }
  if (n > r->text_limit - r->text_len) {
    r->text_overflow = true;
    /* An error document is read only for its message: keep the start. */
    if (!is_success(status)) return n;
    return 0;
  }
  if (r->text_len + n + 1 > r->text_cap) {
    size_t cap = r->text_cap ? r->text_cap : 4096;
    char *grown;
    while (cap < r->text_len + n + 1) cap *= 2;
    grown = realloc(r->text, cap);
    if (grown == NULL) return 0;
    r->text = grown;
    r->text_cap = cap;
  }
  memcpy(r->text + r->text_len, data, n);
  r->text_len += n;
  r->text[r->text_len] = '\0';
  return n;
}

/* "Name: value" when line starts with name (case-insensitive); the value
 * trimmed into out. */
static bool header_value(const char *line, size_t n, const char *name, char *out, size_t cap) {
  size_t k = strlen(name), v, e;
  if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':') return false;
  for (v = k + 1; v < n && (line[v] == ' ' || line[v] == '\t'); v++) {
  }
  for (e = n; e > v && (line[e - 1] == '\r' || line[e - 1] == '\n' || line[e - 1] == ' '); e--) {
  }
  if (e - v >= cap) e = v + cap - 1;
  memcpy(out, line + v, e - v);
  out[e - v] = '\0';
  return true;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg) {
  Transfer *t = arg;
  size_t n = size * nmemb;
  char value[160];
  if (header_value(data, n, "ETag", value, sizeof value)) {
    snprintf(t->reply->etag, sizeof t->reply->etag, "%s", value);
  } else if (header_value(data, n, "x-amz-meta-nebula-upload", t->reply->upload_token,
                          sizeof t->reply->upload_token)) {
    /* (a longer value is cut, and then never equals a token) */
  } else if (header_value(data, n, "Content-Range", value, sizeof value)) {
    const char *slash = strrchr(value, '/');
    char *end;
    if (slash != NULL && slash[1] >= '0' && slash[1] <= '9') {
      long long total = strtoll(slash + 1, &end, 10);
      if (*end == '\0' && total >= 0) t->reply->total_size = total;
    }
  }
  return n;
}

/* libcurl's progress callback, called at least once a second during a
 * transfer: a non-zero return ends it (CURLE_ABORTED_BY_CALLBACK), so a
 * run that must stop does not wait for a part of up to 5 GiB to finish
 * uploading, nor for a slow server's reply. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  const S3Client *c = arg;
  (void)dltotal;
  (void)dlnow;
  (void)ultotal;
  (void)ulnow;
  return c->host != NULL && c->host->is_cancelled != NULL &&
         c->host->is_cancelled(c->host->host_data);
}

/* Sleep ms, waking every 50 ms to see whether the run is stopping. */
static int backoff(const S3Client *c, long ms) {
  while (ms > 0) {
    long step = ms < 50 ? ms : 50;
    struct timespec ts = {0, step * 1000000L};
    if (c->host != NULL && c->host->is_cancelled != NULL &&
        c->host->is_cancelled(c->host->host_data))
      return NB_CANCELLED;
    nanosleep(&ts, NULL);
    ms -= step;
  }
  return NB_OK;
}

static bool transient_curl(CURLcode rc) {
  return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
         rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
         rc == CURLE_PARTIAL_FILE || rc == CURLE_COULDNT_RESOLVE_HOST ||
         rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM || rc == CURLE_SSL_CONNECT_ERROR;
}

/* 500, 502, 503 (SlowDown), 504: the server asks us to come back; so do
 * 408 (request timeout) and 429 (too many requests, from S3-compatible
 * stores), which a 4xx-is-final rule would make fatal. */
static bool transient_status(long status) {
  return (status >= 500 && status <= 599) || status == 408 || status == 429;
}

/* Append one header line to *headers; NB_OK or NB_NOMEM. */
static int add_header(struct curl_slist **headers, const char *line) {
  struct curl_slist *grown = curl_slist_append(*headers, line);
  if (grown == NULL) return NB_NOMEM;
  *headers = grown;
  return NB_OK;
}

/* The headers and options of a request that sends body. */
static int configure_body(CURL *h, const char *method, const S3Body *body,
                          struct curl_slist **headers) {
  char line[128];
  /* The body is covered by Content-MD5 (checked by the server), not by
   * the signature: hashing each part twice would halve the upload rate. */
  if (add_header(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD") != NB_OK ||
      add_header(headers, "Expect:") != NB_OK)
    return NB_NOMEM;
  if (body->content_md5 != NULL) {
    snprintf(line, sizeof line, "Content-MD5: %s", body->content_md5);
    if (add_header(headers, line) != NB_OK) return NB_NOMEM;
  }
  if (body->content_type != NULL) {
    snprintf(line, sizeof line, "Content-Type: %s", body->content_type);
    if (add_header(headers, line) != NB_OK) return NB_NOMEM;
  }
  if (body->upload_token != NULL) {
    snprintf(line, sizeof line, "x-amz-meta-nebula-upload: %s", body->upload_token);
    if (add_header(headers, line) != NB_OK) return NB_NOMEM;
  }
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->len > 0 ? (const char *)body->data : "");
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  return NB_OK;
}

static int configure(S3Client *c, const char *method, const char *url, const char *range,
                     const S3Body *body, struct curl_slist **headers, Transfer *t) {
  CURL *h = c->curl;
  char sigv4[128], line[256];
  curl_easy_reset(h);
  snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", c->cfg.region);
  *headers = NULL;
  if (body != NULL) {
    if (configure_body(h, method, body, headers) != NB_OK) return NB_NOMEM;
  } else {
    /* S3 wants the payload's hash; these requests have no body, and the
     * hash of nothing is what the signature covers. */
    if (add_header(headers, "x-amz-content-sha256: "
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") !=
        NB_OK)
      return NB_NOMEM;
    if (strcmp(method, "DELETE") == 0) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  }
  if (range != NULL) {
    struct curl_slist *grown;
    snprintf(line, sizeof line, "Range: %s", range);
    grown = curl_slist_append(*headers, line);
    if (grown == NULL) return NB_NOMEM;
    *headers = grown;
  }
  if (c->cfg.session_token != NULL) {
    char *token = NULL;
    if (asprintf(&token, "x-amz-security-token: %s", c->cfg.session_token) < 0) return NB_NOMEM;
    struct curl_slist *grown = curl_slist_append(*headers, token);
    explicit_bzero(token, strlen(token));
    free(token);
    if (grown == NULL) return NB_NOMEM;
    *headers = grown;
  }
  if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
      curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4) != CURLE_OK ||
      curl_easy_setopt(h, CURLOPT_USERNAME, c->cfg.access_key) != CURLE_OK ||
      curl_easy_setopt(h, CURLOPT_PASSWORD, c->cfg.secret_key) != CURLE_OK)
    return NB_IO;
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->cfg.timeout_seconds);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->cfg.timeout_seconds);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
  if (strcmp(method, "HEAD") == 0) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  return NB_OK;
}

/* One attempt.  *transient says whether another may help. */
static int attempt(S3Client *c, const char *method, const char *url, const char *range,
                   const S3Body *body, S3Reply *reply, bool *transient, char *why,
                   size_t why_cap) {
  struct curl_slist *headers = NULL;
  Transfer t = {reply, c->curl};
  CURLcode cc;
  int rc;
  reply_reset(reply);
  *transient = false;
  rc = configure(c, method, url, range, body, &headers, &t);
  if (rc != NB_OK) {
    curl_slist_free_all(headers);
    snprintf(why, why_cap, "%s", rc == NB_NOMEM ? "out of memory" : "libcurl refused an option");
    return rc;
  }
  cc = curl_easy_perform(c->curl);
  curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &reply->status);
  curl_slist_free_all(headers);
  if (cc == CURLE_WRITE_ERROR && (reply->dst_overflow || reply->text_overflow)) {
    snprintf(why, why_cap, "the reply is larger than expected (%s)",
             reply->dst_overflow ? "object data beyond the requested range" : "listing page");
    return NB_IO;
  }
  if (cc == CURLE_ABORTED_BY_CALLBACK) { /* on_progress: the run stops */
    snprintf(why, why_cap, "cancelled");
    return NB_CANCELLED;
  }
  if (cc == CURLE_WRITE_ERROR) { /* on_body refused: its buffer could not grow */
    snprintf(why, why_cap, "out of memory");
    return NB_NOMEM;
  }
  if (cc != CURLE_OK) {
    *transient = transient_curl(cc);
    snprintf(why, why_cap, "%s", curl_easy_strerror(cc));
    return *transient ? NB_UNAVAILABLE : NB_IO;
  }
  if (transient_status(reply->status)) {
    *transient = true;
    snprintf(why, why_cap, "HTTP status %ld", reply->status);
    return NB_UNAVAILABLE;
  }
  if (is_success(reply->status) && reply->dst == NULL && reply->total_size < 0) {
    curl_off_t length = -1;
    curl_easy_getinfo(c->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (reply->status == 200 && length >= 0) reply->total_size = (int64_t)length;
  }
  return NB_OK;
}

int s3_request(S3Client *c, const char *method, const char *bucket, const char *key,
               const char *query, const char *range, S3Reply *reply, NbError *err) {
  return s3_request_body(c, method, bucket, key, query, range, NULL, reply, err);
}

int s3_request_body(S3Client *c, const char *method, const char *bucket, const char *key,
                    const char *query, const char *range, const S3Body *body, S3Reply *reply,
                    NbError *err) {
  char *url = request_url(&c->cfg, bucket, key, query);
  char why[256] = "";
  long wait_ms = BACKOFF_FIRST_MS;
  int i, rc = NB_IO;
  if (url == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  for (i = 1; i <= c->cfg.max_attempts; i++) {
    bool transient;
    rc = attempt(c, method, url, range, body, reply, &transient, why, sizeof why);
    if (rc == NB_OK || !transient) break;
    if (i == c->cfg.max_attempts) break;
    if (c->host != NULL && c->host->log != NULL) {
      char line[512];
      snprintf(line, sizeof line, "retrying %s s3://%s/%s in %ld ms (attempt %d of %d): %s",
               method, bucket, key, wait_ms, i + 1, c->cfg.max_attempts, why);
      c->host->log(c->host->host_data, NB_LOG_WARN, line);
    }
    /* Full jitter would need a random source; half of it is spread by the
     * address of the reply, which differs per reader. */
    rc = backoff(c, wait_ms + (long)(((uintptr_t)reply >> 4) % 50));
    if (rc != NB_OK) break;
    wait_ms = wait_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wait_ms * 2;
  }
  free(url);
  if (rc == NB_CANCELLED) return nb_error_set(err, NB_CANCELLED, "cancelled");
  if (rc == NB_UNAVAILABLE) {
    nb_error_set(err, NB_UNAVAILABLE, "%s s3://%s/%s failed after %d attempts: %s", method,
                 bucket, key, c->cfg.max_attempts, why);
    nb_error_hint(err, "Check that the endpoint %s is reachable; NEBULA_S3_MAX_ATTEMPTS sets "
                       "the number of attempts.",
                  c->cfg.endpoint != NULL ? c->cfg.endpoint : "of AWS");
    return NB_UNAVAILABLE;
  }
  if (rc != NB_OK) return nb_error_set(err, rc, "%s s3://%s/%s failed: %s", method, bucket, key, why);
  return NB_OK;
}

int s3_reply_error(const S3Client *c, const S3Reply *reply, const char *bucket,
                   const char *key, NbError *err) {
  S3Slice body = {reply->text != NULL ? reply->text : "", reply->text_len};
  bool nomem = false;
  char *code = s3_xml_text(body, "Code", &nomem);
  char *message = s3_xml_text(body, "Message", &nomem);
  int rc = reply->status == 404 ? NB_NOT_FOUND : reply->status >= 400 && reply->status < 500
                                                     ? NB_INVALID
                                                     : NB_IO;
  const char *what = code == NULL && reply->status == 404 ? (key[0] ? "NoSuchKey" : "NoSuchBucket")
                                                          : code;
  nb_error_set(err, rc, "S3 refused s3://%s/%s: %s%s%s (HTTP %ld)", bucket, key,
               what != NULL ? what : "error", message != NULL ? ": " : "",
               message != NULL ? message : "", reply->status);
  if (reply->status == 403)
    nb_error_hint(err, "Check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or the "
                       "profile \"%s\"), the region (%s) and the bucket's permissions.",
                  c->cfg.profile, c->cfg.region);
  else if (what != NULL && strcmp(what, "NoSuchBucket") == 0)
    nb_error_hint(err, "Check the bucket name \"%s\" and the endpoint.", bucket);
  else if (reply->status == 404)
    nb_error_hint(err, "Check the key; listings are case-sensitive.");
  free(code);
  free(message);
  return rc;
}
