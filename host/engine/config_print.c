/*
 * config_print.c - making and comparing the configuration fingerprint
 * (see config_print.h for the canonical form).
 */
#define _GNU_SOURCE
#include "config_print.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "engine_options.h"
#include "loader.h"
#include "nebula/sdk.h"
#include "sha256.h"
#include "textutil.h"

/* A resume refusal lists at most this many settings, then a count. */
#define MAX_CHANGES_LISTED 12

void nbh_config_print_free(NbhConfigPrint *print) {
  if (print == NULL) return;
  for (size_t i = 0; i < print->n; i++) free(print->entries[i].setting);
  free(print->entries);
  memset(print, 0, sizeof *print);
}

int nbh_config_print_copy(NbhConfigPrint *dst, const NbhConfigPrint *src, NbError *err) {
  memset(dst, 0, sizeof *dst);
  dst->present = src->present;
  memcpy(dst->salt, src->salt, sizeof dst->salt);
  for (size_t i = 0; i < src->n; i++) {
    int rc = nbh_config_print_add(dst, src->entries[i].setting, src->entries[i].secret,
                                  src->entries[i].hash, err);
    if (rc != NB_OK) {
      nbh_config_print_free(dst);
      return rc;
    }
  }
  return NB_OK;
}

int nbh_config_print_new_salt(unsigned char salt[NBH_CONFIG_SALT_BYTES], NbError *err) {
  size_t got = 0;
  while (got < NBH_CONFIG_SALT_BYTES) {
    ssize_t n = getrandom(salt + got, NBH_CONFIG_SALT_BYTES - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return nb_error_set(err, NB_IO, "could not get random bytes for the state file's salt: %s",
                          strerror(errno));
    got += (size_t)n;
  }
  return NB_OK;
}

int nbh_config_print_add(NbhConfigPrint *print, const char *setting, bool secret,
                         const char *hash, NbError *err) {
  size_t at = print->n;
  /* Binary search for the place that keeps the entries sorted. */
  size_t lo = 0, hi = print->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int cmp = strcmp(print->entries[mid].setting, setting);
    if (cmp == 0)
      return nb_error_set(err, NB_INVALID, "setting \"%s\" is listed twice", setting);
    if (cmp < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  at = lo;
  if (strlen(hash) != NBH_CONFIG_HASH_CHARS)
    return nb_error_set(err, NB_INVALID, "setting \"%s\" has a malformed hash", setting);
  NbhConfigEntry *grown = realloc(print->entries, (print->n + 1) * sizeof *grown);
  if (grown == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  print->entries = grown;
  char *name = strdup(setting);
  if (name == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  memmove(&grown[at + 1], &grown[at], (print->n - at) * sizeof *grown);
  grown[at].setting = name;
  grown[at].secret = secret;
  memcpy(grown[at].hash, hash, NBH_CONFIG_HASH_CHARS + 1);
  print->n++;
  return NB_OK;
}

/* "sha256:" + hex of SHA-256(salt, setting, NUL, value); a secret's digest
 * is then re-hashed with the salt NBH_CONFIG_SECRET_ROUNDS times. */
static void hash_value(const unsigned char salt[NBH_CONFIG_SALT_BYTES], const char *setting,
                       const char *value, bool secret, char out[NBH_CONFIG_HASH_CHARS + 1]) {
  static const char digits[] = "0123456789abcdef";
  unsigned char digest[NBH_SHA256_BYTES];
  NbhSha256 ctx;
  nbh_sha256_init(&ctx);
  nbh_sha256_update(&ctx, salt, NBH_CONFIG_SALT_BYTES);
  nbh_sha256_update(&ctx, setting, strlen(setting) + 1);
  nbh_sha256_update(&ctx, value, strlen(value));
  nbh_sha256_final(&ctx, digest);
  for (unsigned round = 0; secret && round < NBH_CONFIG_SECRET_ROUNDS; round++) {
    nbh_sha256_init(&ctx);
    nbh_sha256_update(&ctx, salt, NBH_CONFIG_SALT_BYTES);
    nbh_sha256_update(&ctx, digest, sizeof digest);
    nbh_sha256_final(&ctx, digest);
  }
  memcpy(out, NBH_CONFIG_HASH_PREFIX, strlen(NBH_CONFIG_HASH_PREFIX));
  char *p = out + strlen(NBH_CONFIG_HASH_PREFIX);
  for (size_t i = 0; i < sizeof digest; i++) {
    *p++ = digits[digest[i] >> 4];
    *p++ = digits[digest[i] & 15];
  }
  *p = '\0';
}

static int add_value(NbhConfigPrint *print, const char *side, const char *name,
                     const char *value, bool secret, NbError *err) {
  char hash[NBH_CONFIG_HASH_CHARS + 1];
  NbhBuf key = NBH_BUF_INIT;
  nbh_buf_printf(&key, "%s.%s", side, name);
  if (key.failed) {
    nbh_buf_free(&key);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  hash_value(print->salt, nbh_buf_text(&key), value, secret, hash);
  int rc = nbh_config_print_add(print, nbh_buf_text(&key), secret, hash, err);
  nbh_buf_free(&key);
  return rc;
}

/* The connector's declared settings that apply to this side and are not
 * tuning: the given value, else the default, else no entry. */
static int add_connector(NbhConfigPrint *print, const char *side, uint32_t side_flag,
                         const NbhEndpoint *ep, NbError *err) {
  const NbConnector *c = &ep->plugin->vtable;
  for (uint32_t i = 0; i < c->n_settings; i++) {
    const NbSettingSpec *s = nbh_connector_setting(c, i);
    uint32_t sides = s->flags & (NB_SETTING_SOURCE | NB_SETTING_DEST);
    if ((sides != 0 && (sides & side_flag) == 0) || (s->flags & NB_SETTING_TUNING) != 0)
      continue;
    const char *value = ep->settings ? nb_settings_find(ep->settings, s->name) : NULL;
    if (value == NULL) value = s->default_value;
    if (value == NULL) continue;
    int rc = add_value(print, side, s->name, value, (s->flags & NB_SETTING_SECRET) != 0, err);
    if (rc != NB_OK) return rc;
  }
  return NB_OK;
}

/* The engine options that change what a run produces: every row of the
 * table without NB_SETTING_TUNING (on_error, max_errors, dead_letter), as
 * the file would write it; an unset one has no entry. */
static int add_engine(NbhConfigPrint *print, const NbhEngineOptions *o, NbError *err) {
  size_t n;
  const NbhEngineSetting *table = nbh_engine_settings(&n);
  for (size_t i = 0; i < n; i++) {
    char buf[64];
    if ((table[i].spec.flags & NB_SETTING_TUNING) != 0) continue;
    const char *text = nbh_engine_setting_text(o, &table[i], buf, sizeof buf);
    if (text == NULL) continue;
    int rc = add_value(print, "engine", table[i].spec.name, text, false, err);
    if (rc != NB_OK) return rc;
  }
  return NB_OK;
}

int nbh_config_print_make(NbhConfigPrint *out, const unsigned char salt[NBH_CONFIG_SALT_BYTES],
                          const NbhEndpoint *source, const NbhEndpoint *dest,
                          const NbhEngineOptions *options, NbError *err) {
  int rc = NB_OK;
  memset(out, 0, sizeof *out);
  out->present = true;
  memcpy(out->salt, salt, NBH_CONFIG_SALT_BYTES);
  if (source != NULL) rc = add_connector(out, "source", NB_SETTING_SOURCE, source, err);
  if (rc == NB_OK && dest != NULL)
    rc = add_connector(out, "destination", NB_SETTING_DEST, dest, err);
  if (rc == NB_OK && options != NULL) rc = add_engine(out, options, err);
  if (rc != NB_OK) nbh_config_print_free(out);
  return rc;
}

/* ------------------------------------------------------------------------
 * Comparing
 * ------------------------------------------------------------------------ */

/* "setting \"path\" of source connector \"csv\"" for "source.path". */
static void describe_setting(NbhBuf *buf, const char *setting, const char *source_connector,
                             const char *dest_connector) {
  const char *dot = strchr(setting, '.');
  const char *name = dot ? dot + 1 : setting;
  if (strncmp(setting, "source.", 7) == 0)
    nbh_buf_printf(buf, "setting \"%s\" of source connector \"%s\"", name, source_connector);
  else if (strncmp(setting, "destination.", 12) == 0)
    nbh_buf_printf(buf, "setting \"%s\" of destination connector \"%s\"", name, dest_connector);
  else
    nbh_buf_printf(buf, "engine setting \"%s\"", name);
}

static void describe_change(NbhBuf *buf, const NbhConfigEntry *was, const NbhConfigEntry *is,
                            const char *source_connector, const char *dest_connector) {
  const NbhConfigEntry *any = was ? was : is;
  bool secret = (was && was->secret) || (is && is->secret);
  if (secret) nbh_buf_puts(buf, "the value of secret ");
  describe_setting(buf, any->setting, source_connector, dest_connector);
  if (was == NULL)
    nbh_buf_puts(buf, " is set now and was not");
  else if (is == NULL)
    nbh_buf_puts(buf, " was set and is not now");
  else
    nbh_buf_puts(buf, " changed");
}

int nbh_config_print_compare(const NbhConfigPrint *saved, const NbhConfigPrint *now,
                             const char *state_path, const char *source_connector,
                             const char *dest_connector, NbError *err) {
  NbhBuf list = NBH_BUF_INIT;
  size_t i = 0, k = 0, changes = 0;
  while (i < saved->n || k < now->n) {
    const NbhConfigEntry *was = i < saved->n ? &saved->entries[i] : NULL;
    const NbhConfigEntry *is = k < now->n ? &now->entries[k] : NULL;
    int cmp = was == NULL ? 1 : is == NULL ? -1 : strcmp(was->setting, is->setting);
    if (cmp < 0) {
      is = NULL;
      i++;
    } else if (cmp > 0) {
      was = NULL;
      k++;
    } else {
      i++;
      k++;
      if (strcmp(was->hash, is->hash) == 0) continue;
    }
    changes++;
    if (changes <= MAX_CHANGES_LISTED) {
      nbh_buf_puts(&list, changes == 1 ? "" : "; ");
      describe_change(&list, was, is, source_connector, dest_connector);
    }
  }
  if (changes == 0) {
    nbh_buf_free(&list);
    return NB_OK;
  }
  if (changes > MAX_CHANGES_LISTED)
    nbh_buf_printf(&list, "; and %zu more", changes - MAX_CHANGES_LISTED);
  nb_error_set(err, NB_INVALID,
               "state file \"%s\" was written with a different configuration: %zu setting%s "
               "changed",
               state_path, changes, changes == 1 ? "" : "s");
  nb_error_detail(err, "%s.", list.failed ? "(out of memory listing them)" : nbh_buf_text(&list));
  nb_error_hint(err,
                "Run with the configuration the state was written with; or pass "
                "--allow-config-change to resume with this one; or delete the state file "
                "to run from the start.");
  nbh_buf_free(&list);
  return NB_INVALID;
}
