/*
 * kit.h - shared state of nebula-connector-test, the conformance kit for
 * Nebula connectors: TAP output, the loaded connector, the kit's own small
 * NbHostApi, and the check groups.
 */
#ifndef NEBULA_KIT_H
#define NEBULA_KIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nebula/sdk.h"

#define KIT_MAX_SETTINGS 64

/* What the command line asked for. */
typedef struct KitOptions {
  const char *path;          /* absolute path of the .so */
  const char *names[KIT_MAX_SETTINGS];
  const char *values[KIT_MAX_SETTINGS];
  uint32_t n_settings;       /* the -s key=value pairs */
  bool source;               /* --source: read every stream */
  bool dest;                 /* --dest: write and commit a batch */
  uint64_t batch_rows;
  uint64_t batch_bytes;
} KitOptions;

/* TAP bookkeeping; numbers continue across the forked check groups. */
typedef struct Tap {
  int number;                /* last test number printed */
  int failures;
} Tap;

void tap_result(Tap *tap, bool ok, const char *fmt, ...) NB_PRINTF(3, 4);
void tap_skip(Tap *tap, const char *reason, const char *fmt, ...)
    NB_PRINTF(3, 4);
void tap_diag(const char *fmt, ...) NB_PRINTF(1, 2);
/* Print an NbError as diagnostics and release it. */
void tap_error(NbError *err);

/* The connector after a successful entry call. */
typedef struct Kit {
  const KitOptions *opt;
  Tap *tap;
  void *handle;              /* dlopen handle, never closed */
  NbConnectorEntryFn entry;
  NbConnector conn;          /* zeroed beyond conn.struct_size */
} Kit;

/* Load the module and call its entry with the current ABI.  Prints one
 * check per step; false when the connector cannot be used at all. */
bool kit_load(Kit *kit, bool report);

/* Check groups (each runs in its own process). */
void kit_check_entry(Kit *kit);
void kit_check_declaration(Kit *kit);
void kit_check_open_errors(Kit *kit, uint32_t side);
void kit_check_source(Kit *kit);
void kit_check_dest(Kit *kit);

/* Settings for an open call: the -s pairs plus declared defaults (as the
 * host fills them), with one entry optionally replaced, removed or added. */
typedef struct KitSettings {
  const char *names[KIT_MAX_SETTINGS * 2 + 1];
  const char *values[KIT_MAX_SETTINGS * 2 + 1];
  NbSettings s;
} KitSettings;

void kit_settings_build(const Kit *kit, uint32_t side, KitSettings *out,
                        const char *drop, const char *set_name,
                        const char *set_value);

/* The kit's NbHostApi: plain stdio files, no compression. */
typedef struct KitHost {
  NbHostApi api;
  int open_files;            /* files not closed yet */
  int64_t log_lines;
} KitHost;

void kit_host_init(KitHost *host);

/* Setting spec i of the declaration (stepping by the declared size). */
const NbSettingSpec *kit_spec(const NbConnector *c, uint32_t i);

#endif /* NEBULA_KIT_H */
