/*
 * s3_client.h - one S3 connection (a libcurl easy handle) and the requests
 * the module makes over it: signed with libcurl's AWS SigV4, retried with
 * backoff on 5xx, SlowDown, resets and timeouts, replies bounded in size.
 */
#ifndef S3_CLIENT_H
#define S3_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nebula/abi.h"
#include "s3_config.h"

typedef struct S3Client {
  S3Config cfg;
  void *curl;                /* CURL * */
  const NbHostApi *host;     /* log, is_cancelled (borrowed) */
} S3Client;

/* A reply.  Object data goes to dst (at most dst_cap bytes) on a 2xx
 * status; any other body goes to text (at most text_limit bytes; an error
 * document's excess is dropped, a listing's is an error). */
typedef struct S3Reply {
  long status;
  uint8_t *dst;
  size_t dst_cap;
  size_t dst_len;
  bool dst_overflow;        /* the server sent more than dst_cap */
  char *text;
  size_t text_len;
  size_t text_cap;
  size_t text_limit;
  bool text_overflow;
  char etag[160];           /* ETag header, "" if none */
  char upload_token[64];    /* x-amz-meta-nebula-upload header, "" if none
                               (see s3_writer.c: Completion) */
  int64_t total_size;       /* from Content-Range ".../N", or the
                               Content-Length of a 200; -1 unknown */
} S3Reply;

/* "s3://bucket/key" into its parts (new strings; key may be "").
 * NB_INVALID names the path and what is wrong. */
int s3_parse_path(const char *path, char **bucket, char **key, NbError *err);

int s3_client_open(S3Client *c, const NbHostApi *host, NbError *err);
void s3_client_close(S3Client *c);

/* Send one request (method "GET" or "HEAD") for bucket/key (key may be ""
 * for the bucket itself) with query (already encoded, sorted; may be NULL)
 * and range ("bytes=a-b", may be NULL); retries transient failures.
 * reply->dst / dst_cap / text_limit are set by the caller; the rest is
 * filled.  Returns NB_OK with reply->status for any HTTP answer that is
 * not transient, NB_UNAVAILABLE when every attempt failed transiently,
 * NB_IO (a failure retrying cannot cure), NB_CANCELLED, NB_NOMEM. */
int s3_request(S3Client *c, const char *method, const char *bucket, const char *key,
               const char *query, const char *range, S3Reply *reply, NbError *err);

/* A request body (PUT, POST): sent as is, at most once per attempt. */
typedef struct S3Body {
  const uint8_t *data;
  size_t len;
  const char *content_md5;  /* base64 of the MD5 of data, or NULL */
  const char *content_type; /* or NULL */
  const char *upload_token; /* sent as x-amz-meta-nebula-upload, or NULL */
} S3Body;

/* s3_request with any method ("PUT", "POST", "DELETE" too) and a body
 * (NULL: none).  Retried as s3_request: the body is sent again whole. */
int s3_request_body(S3Client *c, const char *method, const char *bucket, const char *key,
                    const char *query, const char *range, const S3Body *body, S3Reply *reply,
                    NbError *err);

/* The error for a reply that is not a success: NB_NOT_FOUND (404:
 * NoSuchKey, NoSuchBucket), NB_INVALID (403 and other 4xx: credentials,
 * permissions), NB_IO otherwise; the message names the bucket, the key and
 * the server's Code and Message. */
int s3_reply_error(const S3Client *c, const S3Reply *reply, const char *bucket,
                   const char *key, NbError *err);

void s3_reply_free(S3Reply *reply);

/* Percent-encode text for a URL path (keep_slash) or a query value. */
char *s3_uri_encode(const char *text, bool keep_slash);

#endif
