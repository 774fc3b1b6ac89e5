/*
 * kit_checks.c - conformance checks that need no data: the entry protocol
 * (ABI negotiation, struct_size), the connector's declaration (name,
 * version, capabilities, settings, required slots), and open calls with
 * wrong settings, which must fail with NB_INVALID and a message.
 */
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit.h"

/* ------------------------------------------------------------------------
 * Entry protocol
 * ------------------------------------------------------------------------ */

static bool all_bytes(const void *p, size_t n, unsigned char value) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != value) return false;
  return true;
}

void kit_check_entry(Kit *kit) {
  Tap *tap = kit->tap;
  NbConnector *c = &kit->conn;
  uint32_t good_abi;
  if (!kit_load(kit, true)) return;
  good_abi = c->abi_version;

  tap_result(tap, NB_ABI_MAJOR_OF(c->abi_version) == NB_ABI_MAJOR &&
                      NB_ABI_MINOR_OF(c->abi_version) <= NB_ABI_MINOR,
             "abi_version %u.%u is loadable by ABI %d.%d (same major, minor "
             "not newer)",
             NB_ABI_MAJOR_OF(c->abi_version), NB_ABI_MINOR_OF(c->abi_version),
             NB_ABI_MAJOR, NB_ABI_MINOR);
  tap_result(tap, c->struct_size >= NB_CONNECTOR_SIZE_1_0 &&
                      c->struct_size <= sizeof(NbConnector),
             "struct_size %u is between the ABI 1.0 size %zu and the host's "
             "%zu",
             c->struct_size, (size_t)NB_CONNECTOR_SIZE_1_0,
             sizeof(NbConnector));

  /* On success the error is left untouched. */
  {
    NbConnector again;
    NbError err;
    int rc;
    memset(&again, 0, sizeof again);
    again.struct_size = sizeof again;
    nb_error_init(&err);
    rc = kit->entry(NB_ABI_CURRENT, &again, &err);
    tap_result(tap, rc == NB_OK && err.release == NULL && err.message == NULL,
               "entry leaves the error untouched on success");
    tap_result(tap, rc == NB_OK && again.name == c->name &&
                        again.capabilities == c->capabilities &&
                        again.source_open == c->source_open,
               "entry gives the same answer when called again");
  }

  /* Another major: refuse, but still tell the version. */
  {
    unsigned char raw[sizeof(NbConnector)];
    NbConnector *other = (NbConnector *)raw;
    NbError err;
    int rc;
    uint32_t wrong = NB_ABI_VERSION(NB_ABI_MAJOR + 1, 0);
    memset(raw, 0, sizeof raw);
    other->struct_size = sizeof raw;
    nb_error_init(&err);
    rc = kit->entry(wrong, other, &err);
    tap_result(tap, rc == NB_ABI_MISMATCH,
               "entry returns NB_ABI_MISMATCH for host ABI %d.0 (got %s)",
               NB_ABI_MAJOR + 1, nb_status_name(rc));
    tap_result(tap, other->abi_version == good_abi,
               "entry writes abi_version even when refusing (%u.%u)",
               NB_ABI_MAJOR_OF(other->abi_version),
               NB_ABI_MINOR_OF(other->abi_version));
    tap_result(tap, all_bytes(raw + 8, sizeof raw - 8, 0),
               "entry fills nothing beyond abi_version when refusing");
    if (err.release != NULL) err.release(&err);
  }

  /* A host with a shorter NbConnector: nothing written beyond its size. */
  {
    enum { SMALL = 16 };
    unsigned char raw[sizeof(NbConnector) + 32];
    NbConnector *small = (NbConnector *)raw;
    int rc;
    memset(raw, 0, SMALL);
    memset(raw + SMALL, 0xA5, sizeof raw - SMALL);
    small->struct_size = SMALL;
    rc = kit->entry(NB_ABI_CURRENT, small, NULL);
    tap_result(tap, rc == NB_OK && small->struct_size == SMALL &&
                        all_bytes(raw + SMALL, sizeof raw - SMALL, 0xA5),
               "entry honours a host struct_size of %d bytes (writes nothing "
               "beyond, accepts a NULL error)",
               SMALL);
  }
}

/* ------------------------------------------------------------------------
 * Declaration
 * ------------------------------------------------------------------------ */

static bool is_snake(const char *s) {
  if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (const char *p = s; *p != '\0'; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
      return false;
  return s[strlen(s) - 1] != '_' && strstr(s, "__") == NULL;
}

static bool one_line(const char *s) {
  return s != NULL && s[0] != '\0' && strchr(s, '\n') == NULL &&
         s[strlen(s) - 1] != '.';
}

/* The declaration against the host's own rules (the SDK's
 * nb_settings_declaration_check, which the loader applies: a connector
 * passes here exactly when the host accepts its declaration), then what
 * only the kit can judge: each side a setting names is one the connector
 * has. */
static void check_settings(Kit *kit) {
  Tap *tap = kit->tap;
  const NbConnector *c = &kit->conn;
  NbError err;
  bool ok;
  if (c->n_settings == 0) {
    tap_result(tap, true, "declares no settings");
    return;
  }
  tap_result(tap, c->settings != NULL, "settings array is present (%u entries)",
             c->n_settings);
  if (c->settings == NULL) return;
  nb_error_init(&err);
  ok = nb_settings_declaration_check(c->settings, c->n_settings, &err) == NB_OK;
  tap_result(tap, ok, "the settings declaration follows the host's rules "
             "(nb_settings_declaration_check)");
  if (!ok) {
    tap_error(&err);
    return;
  }
  for (uint32_t i = 0; i < c->n_settings; i++) {
    const NbSettingSpec *s = kit_spec(c, i);
    uint32_t sides = s->flags & (NB_SETTING_SOURCE | NB_SETTING_DEST);
    ok = !((sides & NB_SETTING_SOURCE) && !(c->capabilities & NB_CAP_SOURCE)) &&
         !((sides & NB_SETTING_DEST) && !(c->capabilities & NB_CAP_DESTINATION));
    tap_result(tap, ok, "setting \"%s\": its side is one the connector has", s->name);
  }
}

/* The slots a capability requires, as (name, present). */
static void check_slots(Kit *kit) {
  Tap *tap = kit->tap;
  const NbConnector *c = &kit->conn;
  struct {
    const char *name;
    bool present;
    uint64_t cap;
  } slots[] = {
      {"source_open", c->source_open != NULL, NB_CAP_SOURCE},
      {"source_stream_count", c->source_stream_count != NULL, NB_CAP_SOURCE},
      {"source_stream_info", c->source_stream_info != NULL, NB_CAP_SOURCE},
      {"source_schema", c->source_schema != NULL, NB_CAP_SOURCE},
      {"source_next", c->source_next != NULL, NB_CAP_SOURCE},
      {"source_close", c->source_close != NULL, NB_CAP_SOURCE},
      {"source_seek", c->source_seek != NULL, NB_CAP_RESUMABLE},
      {"dest_open", c->dest_open != NULL, NB_CAP_DESTINATION},
      {"dest_prepare", c->dest_prepare != NULL, NB_CAP_DESTINATION},
      {"dest_write", c->dest_write != NULL, NB_CAP_DESTINATION},
      {"dest_commit", c->dest_commit != NULL, NB_CAP_DESTINATION},
      {"dest_close", c->dest_close != NULL, NB_CAP_DESTINATION},
  };
  for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
    if (!(c->capabilities & slots[i].cap)) continue;
    tap_result(tap, slots[i].present, "required slot %s is set", slots[i].name);
  }
}

void kit_check_declaration(Kit *kit) {
  Tap *tap = kit->tap;
  const NbConnector *c = &kit->conn;
  uint64_t known = NB_CAP_SOURCE | NB_CAP_DESTINATION | NB_CAP_RESUMABLE |
                   NB_CAP_HOST_FILE_COMPRESSION;
  tap_result(tap, is_snake(c->name), "name \"%s\" is lower_snake_case",
             c->name != NULL ? c->name : "(null)");
  tap_result(tap, c->version != NULL && c->version[0] >= '0' &&
                      c->version[0] <= '9',
             "version \"%s\" is set and starts with a digit",
             c->version != NULL ? c->version : "(null)");
  tap_result(tap, one_line(c->description),
             "description is one line without a final period");
  tap_result(tap, (c->capabilities & (NB_CAP_SOURCE | NB_CAP_DESTINATION)) != 0,
             "capabilities include source or destination");
  tap_result(tap, (c->capabilities & ~known) == 0,
             "capabilities 0x%llx use only bits ABI %d.%d defines",
             (unsigned long long)c->capabilities, NB_ABI_MAJOR, NB_ABI_MINOR);
  tap_result(tap, !(c->capabilities & NB_CAP_RESUMABLE) ||
                      (c->capabilities & NB_CAP_SOURCE),
             "RESUMABLE is only given with SOURCE");
  if (c->capabilities & NB_CAP_HOST_FILE_COMPRESSION) {
    /* The loader's rules: the host declares these two for the connector. */
    bool own = false;
    for (uint32_t i = 0; i < c->n_settings && c->settings != NULL; i++) {
      const NbSettingSpec *s = nb_setting_spec_at(c->settings, i);
      if (strcmp(s->name, "compression") == 0 || strcmp(s->name, "compression_level") == 0)
        own = true;
    }
    tap_result(tap, (c->capabilities & NB_CAP_DESTINATION) != 0,
               "HOST_FILE_COMPRESSION is only given with DESTINATION");
    tap_result(tap, !own,
               "with HOST_FILE_COMPRESSION, \"compression\" and \"compression_level\" are "
               "not declared by the connector");
  }
  check_slots(kit);
  check_settings(kit);
}

/* ------------------------------------------------------------------------
 * Open with wrong settings
 * ------------------------------------------------------------------------ */

typedef int (*OpenFn)(const NbHostApi *, const NbOpenArgs *, void **,
                      NbError *);

/* Open with settings s; expects failure with NB_INVALID and a message that
 * names `mention` (when not NULL). */
static void expect_refusal(Kit *kit, uint32_t side, const NbSettings *s,
                           const char *mention, const char *what) {
  const NbConnector *c = &kit->conn;
  OpenFn open = side == NB_SETTING_SOURCE ? c->source_open : c->dest_open;
  KitHost host;
  NbOpenArgs args;
  NbError err;
  void *handle = NULL;
  int rc;
  bool ok;
  kit_host_init(&host);
  memset(&args, 0, sizeof args);
  args.struct_size = sizeof args;
  args.settings = s;
  args.batch_rows = kit->opt->batch_rows;
  args.batch_bytes = kit->opt->batch_bytes;
  nb_error_init(&err);
  rc = open(&host.api, &args, &handle, &err);
  if (rc == NB_OK) {
    tap_result(kit->tap, false, "%s: open refuses it with NB_INVALID (it succeeded)",
               what);
    if (side == NB_SETTING_SOURCE)
      c->source_close(handle);
    else
      c->dest_close(handle);
    return;
  }
  ok = rc == NB_INVALID;
  tap_result(kit->tap, ok, "%s: open refuses it with NB_INVALID (got %s)", what,
             nb_status_name(rc));
  ok = err.message != NULL && err.message[0] != '\0' && err.code == rc &&
       err.release != NULL;
  tap_result(kit->tap, ok, "%s: the error has a message, its code and a release",
             what);
  if (mention != NULL) {
    ok = err.message != NULL && strstr(err.message, mention) != NULL;
    tap_result(kit->tap, ok, "%s: the message names \"%s\"", what, mention);
  }
  if (err.message != NULL) tap_diag("message: %s", err.message);
  if (err.release != NULL) {
    err.release(&err);
    tap_result(kit->tap, err.release == NULL, "%s: release sets release to NULL",
               what);
  }
  tap_result(kit->tap, host.open_files == 0,
             "%s: a failed open leaves no file open (%d open)", what,
             host.open_files);
}

/* A value that cannot parse as the type. */
static const char *wrong_value(uint32_t type) {
  switch (type) {
    case NB_SETTING_INT: return "not-an-integer";
    case NB_SETTING_DOUBLE: return "not-a-number";
    case NB_SETTING_BOOL: return "perhaps";
    case NB_SETTING_ENUM: return "no-such-choice";
    default: return NULL;
  }
}

static bool applies(const NbSettingSpec *s, uint32_t side) {
  uint32_t sides = s->flags & (NB_SETTING_SOURCE | NB_SETTING_DEST);
  return sides == 0 || (sides & side) != 0;
}

void kit_check_open_errors(Kit *kit, uint32_t side) {
  const NbConnector *c = &kit->conn;
  const char *side_name = side == NB_SETTING_SOURCE ? "source" : "destination";
  KitSettings ks;
  char what[256];
  bool base_ok;
  NbError err;
  bool tested_type = false;

  if ((side == NB_SETTING_SOURCE && c->source_open == NULL) ||
      (side == NB_SETTING_DEST && c->dest_open == NULL))
    return;

  /* Each required setting missing in turn. */
  for (uint32_t i = 0; i < c->n_settings; i++) {
    const NbSettingSpec *s = kit_spec(c, i);
    if (s->name == NULL || !(s->flags & NB_SETTING_REQUIRED) || !applies(s, side))
      continue;
    kit_settings_build(kit, side, &ks, s->name, NULL, NULL);
    snprintf(what, sizeof what, "%s without required setting \"%s\"",
             side_name, s->name);
    expect_refusal(kit, side, &ks.s, s->name, what);
  }

  /* The other checks change one thing in otherwise valid settings. */
  kit_settings_build(kit, side, &ks, NULL, NULL, NULL);
  nb_error_init(&err);
  base_ok = c->n_settings == 0 ||
            nb_settings_check(&ks.s, c->settings, c->n_settings, side, &err) == NB_OK;
  nb_error_release(&err);
  if (!base_ok) {
    tap_skip(kit->tap, "the -s settings are not complete for this side",
             "%s with an unrecognized or wrongly typed setting", side_name);
    return;
  }
  kit_settings_build(kit, side, &ks, NULL, "nebula_kit_no_such_setting", "1");
  snprintf(what, sizeof what, "%s with unrecognized setting "
           "\"nebula_kit_no_such_setting\"", side_name);
  expect_refusal(kit, side, &ks.s, "nebula_kit_no_such_setting", what);

  for (uint32_t i = 0; i < c->n_settings; i++) {
    const NbSettingSpec *s = kit_spec(c, i);
    const char *bad;
    if (s->name == NULL || !applies(s, side)) continue;
    bad = wrong_value(s->type);
    if (bad == NULL) continue;
    kit_settings_build(kit, side, &ks, NULL, s->name, bad);
    snprintf(what, sizeof what, "%s with setting \"%s\" = \"%s\"", side_name,
             s->name, bad);
    expect_refusal(kit, side, &ks.s, s->name, what);
    tested_type = true;
  }
  if (!tested_type)
    tap_skip(kit->tap, "no typed setting on this side", "%s with a wrongly typed setting",
             side_name);
}
