/*
 * s3_config.c - see s3_config.h.  The profile files are INI text; they are
 * read line by line with a size cap, and only the keys we need are kept.
 */
#include "s3_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nebula/sdk.h"

#define PROFILE_FILE_MAX ((long)1 << 20)
#define LINE_MAX_LEN 4096
#define DEFAULT_CHUNK ((size_t)8 << 20)

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

static int set_copy(char **slot, const char *value) {
  if (*slot != NULL || value == NULL) return NB_OK;
  *slot = strdup(value);
  return *slot != NULL ? NB_OK : NB_NOMEM;
}

static char *trim(char *s) {
  char *e;
  while (*s == ' ' || *s == '\t') s++;
  e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) *--e = '\0';
  return s;
}

/* The section a profile has in file kind: "name" in credentials, "profile
 * name" (or "default") in config. */
static bool is_section(const char *header, const char *profile, bool config_file) {
  if (strcmp(header, profile) == 0) return !config_file || strcmp(profile, "default") == 0;
  if (config_file && strncmp(header, "profile", 7) == 0) {
    const char *p = header + 7;
    while (*p == ' ' || *p == '\t') p++;
    return p != header + 7 && strcmp(p, profile) == 0;
  }
  return false;
}

/* Read the keys of profile from path (missing file: nothing). */
static int read_profile(S3Config *cfg, const char *path, const char *profile, bool config_file,
                        NbError *err) {
  FILE *f = fopen(path, "re");
  char line[LINE_MAX_LEN];
  bool in_section = false;
  long lineno = 0;
  int rc = NB_OK;
  if (f == NULL) {
    if (errno == ENOENT || errno == ENOTDIR) return NB_OK;
    return nb_error_set(err, NB_INVALID, "could not read \"%s\": %s", path, strerror(errno));
  }
  if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > PROFILE_FILE_MAX) {
    fclose(f);
    nb_error_set(err, NB_INVALID, "\"%s\" is larger than %ld bytes", path, PROFILE_FILE_MAX);
    return NB_INVALID;
  }
  rewind(f);
  while (rc == NB_OK && fgets(line, sizeof line, f) != NULL) {
    char *s, *eq, *key, *value;
    lineno++;
    if (strchr(line, '\n') == NULL && !feof(f)) {
      fclose(f);
      return nb_error_set(err, NB_INVALID, "line %ld of \"%s\" is longer than %d bytes", lineno,
                          path, LINE_MAX_LEN - 2);
    }
    s = trim(line);
    if (*s == '\0' || *s == '#' || *s == ';') continue;
    if (*s == '[') {
      char *end = strchr(s, ']');
      if (end == NULL) continue;
      *end = '\0';
      in_section = is_section(trim(s + 1), profile, config_file);
      continue;
    }
    eq = strchr(s, '=');
    if (!in_section || eq == NULL) continue;
    *eq = '\0';
    key = trim(s);
    value = trim(eq + 1);
    if (*value == '\0') continue;
    if (strcmp(key, "aws_access_key_id") == 0) rc = set_copy(&cfg->access_key, value);
    else if (strcmp(key, "aws_secret_access_key") == 0) rc = set_copy(&cfg->secret_key, value);
    else if (strcmp(key, "aws_session_token") == 0) rc = set_copy(&cfg->session_token, value);
    else if (strcmp(key, "region") == 0) rc = set_copy(&cfg->region, value);
    else if (strcmp(key, "endpoint_url") == 0) rc = set_copy(&cfg->endpoint, value);
  }
  fclose(f);
  if (rc == NB_NOMEM) return nb_error_set(err, NB_NOMEM, "out of memory reading \"%s\"", path);
  return rc;
}

static int profile_files(S3Config *cfg, NbError *err) {
  const char *home = env("HOME");
  const char *cred = env("AWS_SHARED_CREDENTIALS_FILE");
  const char *conf = env("AWS_CONFIG_FILE");
  char buf[4096];
  int rc;
  if (cred == NULL && home != NULL) {
    snprintf(buf, sizeof buf, "%s/.aws/credentials", home);
    cred = buf;
  }
  if (cred != NULL && (rc = read_profile(cfg, cred, cfg->profile, false, err)) != NB_OK) return rc;
  if (conf == NULL && home != NULL) {
    snprintf(buf, sizeof buf, "%s/.aws/config", home);
    conf = buf;
  }
  if (conf != NULL && (rc = read_profile(cfg, conf, cfg->profile, true, err)) != NB_OK) return rc;
  return NB_OK;
}

/* A positive integer from the environment, within [lo, hi]. */
static int env_number(const char *name, long long lo, long long hi, long long *out,
                      NbError *err) {
  const char *v = env(name);
  char *end;
  long long n;
  if (v == NULL) return NB_OK;
  errno = 0;
  n = strtoll(v, &end, 10);
  if (errno != 0 || *end != '\0' || n < lo || n > hi) {
    nb_error_set(err, NB_INVALID, "invalid value of %s: \"%.40s\"", name, v);
    nb_error_detail(err, "The value must be an integer between %lld and %lld.", lo, hi);
    return NB_INVALID;
  }
  *out = n;
  return NB_OK;
}

static int check_endpoint(S3Config *cfg, NbError *err) {
  size_t n;
  if (cfg->endpoint == NULL) return NB_OK;
  if (strncmp(cfg->endpoint, "http://", 7) != 0 && strncmp(cfg->endpoint, "https://", 8) != 0) {
    nb_error_set(err, NB_INVALID, "invalid S3 endpoint \"%.200s\"", cfg->endpoint);
    nb_error_hint(err, "AWS_ENDPOINT_URL (or endpoint_url of the profile) is a URL such as "
                       "https://storage.googleapis.com or http://127.0.0.1:9000.");
    return NB_INVALID;
  }
  n = strlen(cfg->endpoint);
  while (n > 0 && cfg->endpoint[n - 1] == '/') cfg->endpoint[--n] = '\0';
  return NB_OK;
}

static int addressing(S3Config *cfg, NbError *err) {
  const char *style = env("NEBULA_S3_ADDRESSING_STYLE");
  /* A custom endpoint (MinIO, s3rver, Ceph) rarely has wildcard DNS. */
  cfg->path_style = cfg->endpoint != NULL;
  if (style == NULL || strcmp(style, "auto") == 0) return NB_OK;
  if (strcmp(style, "path") == 0) cfg->path_style = true;
  else if (strcmp(style, "virtual") == 0) cfg->path_style = false;
  else {
    nb_error_set(err, NB_INVALID, "invalid value of NEBULA_S3_ADDRESSING_STYLE: \"%.40s\"", style);
    nb_error_detail(err, "The value must be auto, path or virtual.");
    return NB_INVALID;
  }
  return NB_OK;
}

static int tuning(S3Config *cfg, NbError *err) {
  long long chunk = (long long)DEFAULT_CHUNK, attempts = 6, timeout = 30;
  int rc = env_number("NEBULA_S3_READ_CHUNK_SIZE", 1024, 1LL << 30, &chunk, err);
  if (rc == NB_OK) rc = env_number("NEBULA_S3_MAX_ATTEMPTS", 1, 100, &attempts, err);
  if (rc == NB_OK) rc = env_number("NEBULA_S3_TIMEOUT", 1, 3600, &timeout, err);
  long long part = 8LL << 20;
  if (rc == NB_OK) rc = env_number("NEBULA_S3_PART_SIZE", 5LL << 20, 5LL << 30, &part, err);
  if (rc == NB_INVALID && env("NEBULA_S3_PART_SIZE") != NULL && part == (8LL << 20))
    nb_error_hint(err, "S3 refuses parts under 5 MiB (5242880 bytes) except the last one.");
  cfg->part_size = (size_t)part;
  long long uploads = 4;
  if (rc == NB_OK && (rc = env_number("NEBULA_S3_UPLOAD_CONCURRENCY", 1, 64, &uploads, err)) !=
                         NB_OK)
    nb_error_hint(err, "A writer holds NEBULA_S3_UPLOAD_CONCURRENCY + 1 parts of "
                       "NEBULA_S3_PART_SIZE bytes in memory.");
  cfg->upload_concurrency = (size_t)uploads;
  if (rc == NB_OK) {
    /* Not TMPDIR or /tmp: those are often a tmpfs, and a commit's tail
     * must survive a reboot.  /var/tmp is kept across reboots (FHS). */
    const char *dir = env("NEBULA_S3_SPOOL_DIR");
    if (dir == NULL) dir = "/var/tmp";
    if (set_copy(&cfg->spool_dir, dir) != NB_OK) rc = nb_error_set(err, NB_NOMEM, "out of memory");
  }
  cfg->read_chunk = (size_t)chunk;
  cfg->max_attempts = (int)attempts;
  cfg->timeout_seconds = (long)timeout;
  return rc;
}

int s3_config_load(S3Config *cfg, NbError *err) {
  int rc = NB_OK;
  memset(cfg, 0, sizeof *cfg);
  cfg->profile = strdup(env("AWS_PROFILE") != NULL ? env("AWS_PROFILE") : "default");
  if (cfg->profile == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  /* The environment wins over the profile; both keys come from one place. */
  if (env("AWS_ACCESS_KEY_ID") != NULL && env("AWS_SECRET_ACCESS_KEY") != NULL) {
    rc = set_copy(&cfg->access_key, env("AWS_ACCESS_KEY_ID"));
    if (rc == NB_OK) rc = set_copy(&cfg->secret_key, env("AWS_SECRET_ACCESS_KEY"));
    if (rc == NB_OK) rc = set_copy(&cfg->session_token, env("AWS_SESSION_TOKEN"));
  }
  if (rc == NB_OK) rc = set_copy(&cfg->region, env("AWS_REGION"));
  if (rc == NB_OK) rc = set_copy(&cfg->region, env("AWS_DEFAULT_REGION"));
  if (rc == NB_OK) rc = set_copy(&cfg->endpoint, env("AWS_ENDPOINT_URL_S3"));
  if (rc == NB_OK) rc = set_copy(&cfg->endpoint, env("AWS_ENDPOINT_URL"));
  if (rc == NB_NOMEM) nb_error_set(err, NB_NOMEM, "out of memory");
  if (rc == NB_OK) rc = profile_files(cfg, err);
  if (rc == NB_OK && cfg->region == NULL) rc = set_copy(&cfg->region, "us-east-1") == NB_OK
                                                   ? NB_OK
                                                   : nb_error_set(err, NB_NOMEM, "out of memory");
  if (rc == NB_OK && (cfg->access_key == NULL || cfg->secret_key == NULL)) {
    nb_error_set(err, NB_INVALID, "no S3 credentials");
    nb_error_detail(err, "Neither AWS_ACCESS_KEY_ID with AWS_SECRET_ACCESS_KEY nor the profile "
                         "\"%s\" of ~/.aws/credentials gives an access key and a secret key.",
                    cfg->profile);
    nb_error_hint(err, "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE.");
    rc = NB_INVALID;
  }
  if (rc == NB_OK) rc = check_endpoint(cfg, err);
  if (rc == NB_OK) rc = addressing(cfg, err);
  if (rc == NB_OK) rc = tuning(cfg, err);
  if (rc != NB_OK) s3_config_free(cfg);
  return rc;
}

/* Secrets are wiped before their memory is returned. */
static void free_secret(char *s) {
  if (s == NULL) return;
  explicit_bzero(s, strlen(s));
  free(s);
}

void s3_config_free(S3Config *cfg) {
  free(cfg->access_key);
  free_secret(cfg->secret_key);
  free_secret(cfg->session_token);
  free(cfg->region);
  free(cfg->endpoint);
  free(cfg->profile);
  free(cfg->spool_dir);
  memset(cfg, 0, sizeof *cfg);
}
