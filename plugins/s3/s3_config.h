/*
 * s3_config.h - where the S3 module's configuration comes from: the
 * environment (AWS_*, NEBULA_S3_*) first, then the profile (AWS_PROFILE,
 * else "default") of ~/.aws/credentials and ~/.aws/config.  Read at every
 * open: no global state.  The secret key and session token are kept only
 * here and handed to libcurl; no message ever contains them.
 */
#ifndef S3_CONFIG_H
#define S3_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "nebula/abi.h"

typedef struct S3Config {
  char *access_key;      /* AWS_ACCESS_KEY_ID / aws_access_key_id */
  char *secret_key;      /* secret */
  char *session_token;   /* secret, may be NULL */
  char *region;          /* AWS_REGION, AWS_DEFAULT_REGION, profile; us-east-1 */
  char *endpoint;        /* scheme://host[:port], no final '/'; NULL: AWS */
  bool path_style;       /* path-style addressing (bucket in the path) */
  size_t read_chunk;     /* bytes per ranged GET */
  int max_attempts;      /* tries of one request (retries + 1) */
  long timeout_seconds;  /* low-speed limit window and connect timeout */
  char *profile;         /* the profile used (for messages) */
  size_t part_size;      /* NEBULA_S3_PART_SIZE: bytes per uploaded part,
                            5 MiB (the protocol's minimum) to 5 GiB;
                            default 8 MiB */
  size_t upload_concurrency; /* NEBULA_S3_UPLOAD_CONCURRENCY: parts a writer
                            uploads at once, 1 to 64; default 4 */
  char *spool_dir;       /* NEBULA_S3_SPOOL_DIR, else $TMPDIR, else /tmp:
                            where commits keep the tail of a part */
} S3Config;

/* Fill cfg.  Returns NB_OK, NB_INVALID (no credentials, a bad value: err
 * names the variable or file and line, never a secret), NB_NOMEM. */
int s3_config_load(S3Config *cfg, NbError *err);

void s3_config_free(S3Config *cfg);

#endif
