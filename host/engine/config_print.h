/*
 * config_print.h - the fingerprint of a pipeline's configuration that the
 * state file keeps, so that a resume with different settings is refused
 * instead of continuing someone else's run with new rules.
 *
 * Canonical form: one entry per setting that has a value (given, or the
 * connector's default), named "source.NAME", "destination.NAME" or
 * "engine.NAME", sorted by that name, so neither the order of the
 * configuration nor spelling out a default changes it.  Settings flagged
 * NB_SETTING_TUNING, and the engine's speed and reporting options
 * (batch and buffer sizes, commit triggers, retries, watchdog, progress,
 * metrics), are left out: changing them never blocks a resume.
 *
 * Each entry keeps a salted SHA-256 of the value, never the value; for a
 * SECRET setting the hash is iterated (NBH_CONFIG_SECRET_ROUNDS) so that a
 * copied state file does not make guessing the secret cheap.  The salt is
 * random per state file and kept with it, so a resume hashes with the
 * same salt and compares.
 */
#ifndef NBH_CONFIG_PRINT_H
#define NBH_CONFIG_PRINT_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "nebula/abi.h"

#define NBH_CONFIG_SALT_BYTES 16
#define NBH_CONFIG_HASH_PREFIX "sha256:"
#define NBH_CONFIG_HASH_CHARS (7 + 64)   /* prefix + hex digits */
#define NBH_CONFIG_SECRET_ROUNDS 20000u
#define NBH_CONFIG_MAX_ENTRIES 4096u     /* a state file listing more is damaged */

typedef struct NbhConfigEntry {
  char *setting;                          /* "source.path", owned */
  bool secret;
  char hash[NBH_CONFIG_HASH_CHARS + 1];   /* "sha256:" and 64 hex digits */
} NbhConfigEntry;

typedef struct NbhConfigPrint {
  bool present;                           /* false: a state file of an
                                             earlier release, no fingerprint */
  unsigned char salt[NBH_CONFIG_SALT_BYTES];
  NbhConfigEntry *entries;                /* owned, sorted by setting */
  size_t n;
} NbhConfigPrint;

void nbh_config_print_free(NbhConfigPrint *print);

/* Deep copy into *dst.  NB_OK or NB_NOMEM. */
int nbh_config_print_copy(NbhConfigPrint *dst, const NbhConfigPrint *src, NbError *err);

/* Fill salt with random bytes (getrandom).  NB_OK or NB_IO. */
int nbh_config_print_new_salt(unsigned char salt[NBH_CONFIG_SALT_BYTES], NbError *err);

/* The fingerprint of a pipeline (either endpoint may be NULL in tests)
 * with the given salt, into *out (zeroed first).  NB_OK or NB_NOMEM. */
int nbh_config_print_make(NbhConfigPrint *out, const unsigned char salt[NBH_CONFIG_SALT_BYTES],
                          const NbhEndpoint *source, const NbhEndpoint *dest,
                          const NbhEngineOptions *options, NbError *err);

/* Add one entry (used by nbh_config_print_make and the state reader);
 * keeps the entries sorted.  NB_OK, NB_NOMEM, or NB_INVALID when the
 * setting is already listed. */
int nbh_config_print_add(NbhConfigPrint *print, const char *setting, bool secret,
                         const char *hash, NbError *err);

/* Compare the saved fingerprint with the current one (made with the saved
 * salt).  NB_OK when every entry matches; otherwise NB_INVALID with a
 * message naming the state file and a detail naming every changed setting
 * with its connector (a secret's value is never shown: "the value of secret
 * setting ... changed"), and a hint about --allow-config-change. */
int nbh_config_print_compare(const NbhConfigPrint *saved, const NbhConfigPrint *now,
                             const char *state_path, const char *source_connector,
                             const char *dest_connector, NbError *err);

#endif /* NBH_CONFIG_PRINT_H */
