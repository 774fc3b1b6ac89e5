/*
 * loader.c - finds connector modules, loads them with libltdl and decides,
 * step by step, whether each one may be used.
 *
 * The steps follow PostgreSQL's dfmgr.c and GStreamer's plugin checks: path,
 * stat, open, entry symbol, then the entry's answer (ABI major, minor,
 * struct_size, status, name, required slots, settings declarations,
 * duplicate names).  Finding the files is search.c's part.  Each refusal has its own message, DETAIL and HINT, and
 * every string in it is copied out of the module first.  A refused file
 * never stops the others.  Modules are made resident and never closed: an
 * NbError's release callback, and every pointer in a vtable, is connector
 * code that must stay mapped (see STYLE.md, "Unloading modules").
 */
#include "loader.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ltdl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nebula/sdk.h"
#include "textutil.h"
#include "utf8.h"


/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

/* A string from the connector, as it may appear in a message: at most
 * NBH_SHOW_NAME bytes, control characters escaped (utf8.h).  The logger
 * escapes again when printing; the cap is what matters here (a 10 KB
 * "name" must not be echoed whole).  Free the result. */
static char *shown(const char *text) { return nbh_printable(text, NBH_SHOW_NAME); }

static char *copy_or_null(const char *text) {
  return text != NULL ? strdup(text) : NULL;
}

const char *nbh_abi_version_text(uint32_t version, char *buf, size_t cap) {
  snprintf(buf, cap, "%u.%u", (unsigned)NB_ABI_MAJOR_OF(version),
           (unsigned)NB_ABI_MINOR_OF(version));
  return buf;
}

int nbh_plugins_refuse(NbhPluginSet *set, const char *path, char *message, char *detail,
                       char *hint) {
  NbhLoadError *grown;
  NbhLoadError *e;
  grown = realloc(set->errors, (set->n_errors + 1) * sizeof *grown);
  if (grown == NULL) {
    free(message);
    free(detail);
    free(hint);
    return -1;
  }
  set->errors = grown;
  e = &set->errors[set->n_errors++];
  e->path = copy_or_null(path != NULL ? path : "");
  e->message = message != NULL ? message : strdup("out of memory");
  e->detail = detail;
  e->hint = hint;
  return -1;
}

void nbh_plugins_init(NbhPluginSet *set) { memset(set, 0, sizeof *set); }

int nbh_plugins_start(NbhPluginSet *set) {
  const char *why;
  if (set->ltdl_ready) return 0;
  if (set->storages == NULL) {
    set->storages = calloc(1, sizeof *set->storages);
    if (set->storages == NULL) {
      nbh_plugins_refuse(set, "", strdup("out of memory"), NULL, NULL);
      return -1;
    }
  }
  lt_dlerror();
  if (lt_dlinit() != 0) {
    why = lt_dlerror();
    nbh_plugins_refuse(set, "", nbh_format("could not initialize libltdl: %s", why ? why : "unknown error"),
           NULL, NULL);
    return -1;
  }
  set->ltdl_ready = 1;
  return 0;
}

/* ------------------------------------------------------------------------
 * The checks on the entry's answer
 * ------------------------------------------------------------------------ */

/* Required slots per capability, in vtable order. */
typedef struct RequiredSlot {
  uint64_t capability;
  size_t offset;
  const char *name;
  const char *capability_name;
} RequiredSlot;

#define SLOT(cap, field, capname) \
  { cap, offsetof(NbConnector, field), #field, capname }
static const RequiredSlot required_slots[] = {
    SLOT(NB_CAP_SOURCE, source_open, "source"),
    SLOT(NB_CAP_SOURCE, source_stream_count, "source"),
    SLOT(NB_CAP_SOURCE, source_stream_info, "source"),
    SLOT(NB_CAP_SOURCE, source_schema, "source"),
    SLOT(NB_CAP_RESUMABLE, source_seek, "resumable"),
    SLOT(NB_CAP_SOURCE, source_next, "source"),
    SLOT(NB_CAP_SOURCE, source_close, "source"),
    SLOT(NB_CAP_DESTINATION, dest_open, "destination"),
    SLOT(NB_CAP_DESTINATION, dest_prepare, "destination"),
    SLOT(NB_CAP_DESTINATION, dest_write, "destination"),
    SLOT(NB_CAP_DESTINATION, dest_commit, "destination"),
    SLOT(NB_CAP_DESTINATION, dest_close, "destination"),
};
#undef SLOT

static bool slot_is_set(const NbConnector *c, size_t offset) {
  void (*fn)(void);
  memcpy(&fn, (const char *)c + offset, sizeof fn);
  return fn != NULL;
}

static bool is_identifier(const char *name) {
  const char *p;
  if (name == NULL || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  for (p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) return false;
  return p - name <= 64;
}

const NbSettingSpec *nbh_connector_setting(const NbConnector *c, uint32_t i) {
  return nb_setting_spec_at(c->settings, i);
}

/* NULL when the declarations are sound, else a malloc'ed DETAIL sentence.
 * The rules are the SDK's, shared with the conformance kit. */
static char *settings_problem(const NbConnector *c) {
  NbError err;
  char *detail;
  nb_error_init(&err);
  if (nb_settings_declaration_check(c->settings, c->n_settings, &err) == NB_OK) return NULL;
  detail = strdup(err.detail != NULL ? err.detail : "The settings declaration is invalid.");
  nb_error_release(&err);
  return detail != NULL ? detail : strdup("");
}

/* The settings the host declares for a destination with
 * NB_CAP_HOST_FILE_COMPRESSION: the SDK's one declaration of them. */
static const NbSettingSpec host_compression_settings[] = {NB_FILE_COMPRESSION_SETTINGS};
#define N_HOST_COMPRESSION_SETTINGS \
  (sizeof host_compression_settings / sizeof host_compression_settings[0])

/* NULL when NB_CAP_HOST_FILE_COMPRESSION is absent or usable, else a
 * malloc'ed DETAIL sentence. */
static char *host_compression_problem(const NbConnector *c) {
  if (!(c->capabilities & NB_CAP_HOST_FILE_COMPRESSION)) return NULL;
  if (!(c->capabilities & NB_CAP_DESTINATION))
    return strdup("NB_CAP_HOST_FILE_COMPRESSION is for destinations; the connector does not "
                  "declare NB_CAP_DESTINATION.");
  for (uint32_t i = 0; i < c->n_settings; i++)
    for (size_t k = 0; k < N_HOST_COMPRESSION_SETTINGS; k++)
      if (strcmp(nbh_connector_setting(c, i)->name, host_compression_settings[k].name) == 0)
        return nbh_format("The connector declares \"%s\" and NB_CAP_HOST_FILE_COMPRESSION, "
                          "with which the host declares it.",
                          host_compression_settings[k].name);
  return NULL;
}

/* With NB_CAP_HOST_FILE_COMPRESSION: p->vtable.settings becomes a host
 * copy of the connector's declarations (at the host's stride) followed by
 * the host's compression settings.  Returns false when out of memory. */
static bool merge_host_settings(NbhPlugin *p) {
  const NbConnector *c = &p->vtable;
  if (!(c->capabilities & NB_CAP_HOST_FILE_COMPRESSION)) return true;
  size_t n = (size_t)c->n_settings + N_HOST_COMPRESSION_SETTINGS;
  NbSettingSpec *merged = calloc(n, sizeof *merged);
  if (merged == NULL) return false;
  for (uint32_t i = 0; i < c->n_settings; i++) {
    const NbSettingSpec *s = nbh_connector_setting(c, i);
    size_t size = s->struct_size < sizeof *merged ? s->struct_size : sizeof *merged;
    memcpy(&merged[i], s, size);
    merged[i].struct_size = (uint32_t)sizeof *merged;
  }
  memcpy(&merged[c->n_settings], host_compression_settings, sizeof host_compression_settings);
  p->merged_settings = merged;
  p->vtable.settings = merged;
  p->vtable.n_settings = (uint32_t)n;
  return true;
}

/* The refusal for an ABI version the host cannot serve, or 0 when the
 * version is acceptable (rc, the entry's status, is judged later). */
static int check_abi(NbhPluginSet *set, const char *path, int rc, uint32_t abi) {
  char mine[16], theirs[16];
  bool known = abi != 0;
  nbh_abi_version_text(NB_ABI_CURRENT, mine, sizeof mine);
  nbh_abi_version_text(abi, theirs, sizeof theirs);
  if (known && NB_ABI_MAJOR_OF(abi) != NB_ABI_MAJOR) {
    bool newer = NB_ABI_MAJOR_OF(abi) > NB_ABI_MAJOR;
    return nbh_plugins_refuse(set, path, nbh_format("incompatible connector \"%s\": ABI version mismatch", path),
                  nbh_format("The connector was built for ABI %s. This nebula-host provides ABI %s.",
                         theirs, mine),
                  newer ? nbh_format("Install a build of the connector for ABI %u, or upgrade "
                                 "nebula-host.", (unsigned)NB_ABI_MAJOR)
                        : nbh_format("Install a build of the connector for ABI %u.",
                                 (unsigned)NB_ABI_MAJOR));
  }
  if (rc == NB_ABI_MISMATCH)
    return nbh_plugins_refuse(set, path, nbh_format("incompatible connector \"%s\": ABI version mismatch", path),
                  known ? nbh_format("The connector declares ABI %s but refused ABI %s, which this "
                                 "nebula-host provides.", theirs, mine)
                        : nbh_format("The connector refused ABI %s, which this nebula-host provides, "
                                 "without declaring a version of its own.", mine),
                  nbh_format("Install a build of the connector for ABI %u.", (unsigned)NB_ABI_MAJOR));
  if (!known && rc == NB_OK)
    return nbh_plugins_refuse(set, path, nbh_format("incompatible connector \"%s\": ABI version mismatch", path),
                  nbh_format("The connector did not declare the ABI version it was built for. "
                         "This nebula-host provides ABI %s.", mine),
                  nbh_format("Rebuild the connector against nebula/abi.h of ABI %u.",
                         (unsigned)NB_ABI_MAJOR));
  if (known && NB_ABI_MINOR_OF(abi) > NB_ABI_MINOR)
    return nbh_plugins_refuse(set, path, nbh_format("incompatible connector \"%s\": ABI version mismatch", path),
                  nbh_format("The connector was built for ABI %s. This nebula-host provides ABI %s, "
                         "and a connector built for a newer minor version may use functions it "
                         "lacks.", theirs, mine),
                  nbh_format("Upgrade nebula-host to a release providing ABI %s or later, or install "
                         "a build of the connector for ABI %s.", theirs, mine));
  return 0;
}

/* Checks after the version: status, size, name, slots, settings.  The
 * vtable has already been copied into c with the connector's size. */
static int check_vtable(NbhPluginSet *set, const char *path, const NbConnector *c,
                        uint32_t declared_size) {
  size_t i;
  char *problem;
  if (declared_size < NB_CONNECTOR_SIZE_1_0)
    return nbh_plugins_refuse(set, path, nbh_format("incompatible connector \"%s\": vtable too small", path),
                  nbh_format("The connector declares a vtable of %u bytes; ABI 1.0 defines %zu bytes.",
                         (unsigned)declared_size, (size_t)NB_CONNECTOR_SIZE_1_0),
                  strdup("Rebuild the connector against nebula/abi.h; struct_size must be "
                         "sizeof(NbConnector)."));
  /* Larger than the host's own: the conformance kit refuses it, and so do
   * we.  A connector of a newer minor version was refused before this
   * (check_abi), so a larger size can only be a wrong value, and whatever
   * else the entry wrote cannot be trusted either. */
  if (declared_size > sizeof(NbConnector))
    return nbh_plugins_refuse(set, path, nbh_format("incompatible connector \"%s\": vtable too large", path),
                  nbh_format("The connector declares a vtable of %u bytes; ABI %u.%u, which it "
                         "was built for, defines at most %zu bytes.",
                         (unsigned)declared_size, (unsigned)NB_ABI_MAJOR_OF(c->abi_version),
                         (unsigned)NB_ABI_MINOR_OF(c->abi_version), sizeof(NbConnector)),
                  strdup("Rebuild the connector against nebula/abi.h; struct_size must be "
                         "sizeof(NbConnector)."));
  if (c->name == NULL || c->name[0] == '\0')
    return nbh_plugins_refuse(set, path, nbh_format("invalid connector \"%s\": the connector has no name", path),
                  NULL, strdup("This is a bug in the connector; report it to its authors."));
  if (!is_identifier(c->name)) {
    char *name = shown(c->name);
    char *message = nbh_format("invalid connector \"%s\": invalid connector name \"%s\"", path,
                           name != NULL ? name : "?");
    free(name);
    return nbh_plugins_refuse(set, path, message,
                  strdup("Connector names are a lower-case letter followed by lower-case "
                         "letters, digits or underscores, at most 64 characters."),
                  NULL);
  }
  if ((c->capabilities & (NB_CAP_SOURCE | NB_CAP_DESTINATION)) == 0)
    return nbh_plugins_refuse(set, path,
                  nbh_format("invalid connector \"%s\": connector \"%s\" is neither a source nor a "
                         "destination", path, c->name),
                  strdup("Its capabilities include neither NB_CAP_SOURCE nor NB_CAP_DESTINATION."),
                  NULL);
  for (i = 0; i < sizeof required_slots / sizeof required_slots[0]; i++) {
    const RequiredSlot *slot = &required_slots[i];
    if (!(c->capabilities & slot->capability) || slot_is_set(c, slot->offset)) continue;
    return nbh_plugins_refuse(set, path,
                  nbh_format("incompatible connector \"%s\": required function \"%s\" is missing",
                         path, slot->name),
                  nbh_format("Connector \"%s\" declares the %s capability, which requires the "
                         "function \"%s\", but that slot is NULL.",
                         c->name, slot->capability_name, slot->name),
                  strdup("This is a bug in the connector; report it to its authors."));
  }
  problem = settings_problem(c);
  if (problem == NULL) problem = host_compression_problem(c);
  if (problem != NULL)
    return nbh_plugins_refuse(set, path,
                  nbh_format("invalid connector \"%s\": invalid settings declaration in connector "
                         "\"%s\"", path, c->name),
                  problem, strdup("This is a bug in the connector; report it to its authors."));
  return 0;
}

/* ------------------------------------------------------------------------
 * Loading one file
 * ------------------------------------------------------------------------ */

static bool same_file(const char *a, const char *b) {
  char ra[PATH_MAX], rb[PATH_MAX];
  if (strcmp(a, b) == 0) return true;
  if (realpath(a, ra) == NULL || realpath(b, rb) == NULL) return false;
  return strcmp(ra, rb) == 0;
}

static int check_path(NbhPluginSet *set, const char *path) {
  struct stat st;
  if (path == NULL || path[0] == '\0')
    return nbh_plugins_refuse(set, "", strdup("connector file name is empty"), NULL, NULL);
  if (path[0] != '/')
    return nbh_plugins_refuse(set, path, nbh_format("connector path \"%s\" is not absolute", path),
                  strdup("Connectors are loaded by absolute path only, so the file loaded "
                         "does not depend on the current directory."),
                  NULL);
  if (strlen(path) >= PATH_MAX)
    return nbh_plugins_refuse(set, path, nbh_format("connector path is too long: %zu bytes", strlen(path)),
                  nbh_format("Paths are limited to %d bytes.", PATH_MAX - 1), NULL);
  if (stat(path, &st) != 0)
    return nbh_plugins_refuse(set, path, nbh_format("could not access file \"%s\": %s", path, strerror(errno)),
                  NULL, NULL);
  if (!S_ISREG(st.st_mode))
    return nbh_plugins_refuse(set, path, nbh_format("connector file \"%s\" is not a regular file", path),
                  NULL, NULL);
  return 0;
}

/* Why the dynamic linker may have refused path, read from the file itself,
 * or NULL when the file looks like a loadable shared library of this
 * machine (then a missing dependency is the likely cause, and the hint
 * says ldd).  Malloc'ed DETAIL sentence. */
static char *header_problem(const char *path) {
  unsigned char h[EI_NIDENT + 64];
  ElfW(Ehdr) eh;
  ssize_t n;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nbh_format("The file cannot be read: %s.", strerror(errno));
  n = pread(fd, h, sizeof h, 0);
  if (n < 0) {
    int saved = errno;
    close(fd);
    return nbh_format("The file cannot be read: %s.", strerror(saved));
  }
  if (n == 0) {
    close(fd);
    return strdup("The file is empty.");
  }
  if (n < (ssize_t)sizeof eh || memcmp(h, ELFMAG, SELFMAG) != 0) {
    close(fd);
    if (n >= 2 && h[0] == '#' && h[1] == '!') return strdup("The file is a script, not a shared library.");
    return strdup("The file is not a shared library: it does not start with the ELF magic "
                  "number.");
  }
  memcpy(&eh, h, sizeof eh);
  if (h[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32)) {
    close(fd);
    return nbh_format("The file is a %s-bit ELF object; this nebula-host is %zu-bit.",
                      h[EI_CLASS] == ELFCLASS32 ? "32" : h[EI_CLASS] == ELFCLASS64 ? "64" : "?",
                      sizeof(void *) * 8);
  }
  if (eh.e_type != ET_DYN) {
    close(fd);
    return nbh_format("The file is %s, not a shared library.",
                      eh.e_type == ET_EXEC ? "an executable program"
                      : eh.e_type == ET_REL ? "a relocatable object (a .o file)"
                      : eh.e_type == ET_CORE ? "a core dump"
                                              : "an ELF file of an unknown type");
  }
#if defined(__x86_64__)
  if (eh.e_machine != EM_X86_64) {
    close(fd);
    return nbh_format("The file was built for another architecture (ELF machine %u).",
                      (unsigned)eh.e_machine);
  }
#elif defined(__aarch64__)
  if (eh.e_machine != EM_AARCH64) {
    close(fd);
    return nbh_format("The file was built for another architecture (ELF machine %u).",
                      (unsigned)eh.e_machine);
  }
#endif
  /* A position-independent executable is ET_DYN too; it asks for a
   * program interpreter, which a library does not. */
  {
    unsigned i;
    for (i = 0; i < eh.e_phnum && i < 256; i++) {
      ElfW(Phdr) ph;
      if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (ElfW(Off))i * eh.e_phentsize)) !=
          (ssize_t)sizeof ph)
        break;
      if (ph.p_type == PT_INTERP) {
        close(fd);
        return strdup("The file is an executable program, not a shared library.");
      }
    }
  }
  close(fd);
  return NULL;
}

/* Open path.  The dynamic linker does it first, with RTLD_NOW | RTLD_LOCAL,
 * for two reasons: libltdl binds lazily and cannot be told otherwise (a
 * missing symbol would surface as a crash mid-run, apache/arrow-adbc#4663),
 * and for a file that is not a libtool archive it replaces the linker's
 * message with its own "file not found", which for a file we have just
 * stat'ed is wrong and hides the real cause (a missing dependency, a wrong
 * architecture).  libltdl then finds the object already loaded and gives
 * us the handle we mark resident and look the entry up in. */
static lt_dlhandle open_module(NbhPluginSet *set, const char *path) {
  lt_dladvise advise;
  lt_dlhandle handle = NULL;
  const char *why;
  char *why_copy;
  void *direct;

  dlerror();
  direct = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (direct == NULL) {
    char *problem;
    why = dlerror();
    why_copy = copy_or_null(why != NULL ? why : "unknown error");
    problem = header_problem(path);
    nbh_plugins_refuse(set, path, nbh_format("could not load library \"%s\": %s", path,
                                             why_copy != NULL ? why_copy : "?"),
                       problem,
                       problem != NULL
                           ? strdup("Connector files are shared libraries (*.so) built for "
                                    "this machine; remove this file from the search path.")
                           : nbh_format("The most common cause is a library the connector "
                                        "depends on that cannot be found; run \"ldd %s\" to "
                                        "list its dependencies.", path));
    free(why_copy);
    return NULL;
  }
  /* `direct` is deliberately never closed: modules are never unloaded. */

  lt_dlerror();
  /* Local symbols (RTLD_LOCAL): two connectors may define the same names.
   * Resident: never unloaded.  No extension search: we pass the exact
   * file name, and retrying other names would hide the real error. */
  if (lt_dladvise_init(&advise) == 0 && lt_dladvise_local(&advise) == 0 &&
      lt_dladvise_resident(&advise) == 0) {
    handle = lt_dlopenadvise(path, advise);
  }
  why = lt_dlerror();
  why_copy = copy_or_null(why != NULL ? why : "unknown error");
  lt_dladvise_destroy(&advise);
  if (handle != NULL) {
    free(why_copy);
    /* Belt and braces: the resident advice is ignored for a module that
     * libltdl had already opened. */
    if (!lt_dlisresident(handle)) lt_dlmakeresident(handle);
    return handle;
  }
  nbh_plugins_refuse(set, path, nbh_format("could not load library \"%s\" with libltdl: %s", path,
                           why_copy ? why_copy : "?"),
         strdup("The dynamic linker loaded the file, but libltdl did not."), NULL);
  free(why_copy);
  return NULL;
}

static NbConnectorEntryFn find_entry(NbhPluginSet *set, const char *path, lt_dlhandle handle) {
  void *symbol;
  NbConnectorEntryFn entry;
  const lt_dlinfo *info;
  lt_dlerror();
  symbol = lt_dlsym(handle, NB_CONNECTOR_ENTRY_SYMBOL);
  lt_dlerror();
  if (symbol == NULL) {
    info = lt_dlgetinfo(handle);
    nbh_plugins_refuse(set, path, nbh_format("file \"%s\" is not a Nebula connector", path),
           (info != NULL && info->name != NULL)
               ? nbh_format("It exports neither \"%s_LTX_%s\" nor \"%s\".", info->name,
                        NB_CONNECTOR_ENTRY_SYMBOL, NB_CONNECTOR_ENTRY_SYMBOL)
               : nbh_format("It does not export \"%s\".", NB_CONNECTOR_ENTRY_SYMBOL),
           strdup("A connector defines its entry function with NB_CONNECTOR_ENTRY from "
                  "nebula/sdk.h and is linked with -export-symbols-regex "
                  "'^nebula_connector_entry$'."));
    return NULL;
  }
  /* dlsym returns an object pointer; POSIX guarantees the conversion. */
  memcpy(&entry, &symbol, sizeof entry);
  return entry;
}

/* "NB_INVALID", or "unrecognized status 77" for a value no ABI defines
 * (nb_status_name would say only "NB_UNRECOGNIZED"). */
static char *status_text(int rc) {
  if (strcmp(nb_status_name(rc), "NB_UNRECOGNIZED") == 0)
    return nbh_format("unrecognized status %d", rc);
  return strdup(nb_status_name(rc));
}

/* Copy what an entry's NbError says (bounded and escaped); the caller
 * releases it (release is connector code, and the strings live in
 * connector memory). */
static int refuse_entry_error(NbhPluginSet *set, const char *path, int rc, NbError *err) {
  char *message, *detail, *hint, *what, *status = status_text(rc);
  bool unknown = strcmp(nb_status_name(rc), "NB_UNRECOGNIZED") == 0;
  what = err->message != NULL ? nbh_printable(err->message, NBH_SHOW_TEXT)
                              : copy_or_null(status);
  if (unknown && err->message != NULL)
    message = nbh_format("could not initialize connector \"%s\": %s (entry returned %s)", path,
                         what ? what : "?", status ? status : "?");
  else
    message = nbh_format("could not initialize connector \"%s\": %s", path, what ? what : "?");
  free(what);
  detail = err->detail != NULL ? nbh_printable(err->detail, NBH_SHOW_TEXT)
                               : nbh_format("The entry function returned %s.", status ? status : "?");
  free(status);
  hint = err->hint != NULL ? nbh_printable(err->hint, NBH_SHOW_TEXT) : NULL;
  return nbh_plugins_refuse(set, path, message, detail, hint);
}

static int already_loaded(NbhPluginSet *set, const char *path, const NbConnector *c) {
  size_t i;
  for (i = 0; i < set->n_plugins; i++) {
    if (strcmp(set->plugins[i].vtable.name, c->name) != 0) continue;
    if (same_file(set->plugins[i].path, path)) return 1;
    nbh_plugins_refuse(set, path, nbh_format("connector \"%s\" is already loaded", c->name),
           nbh_format("File \"%s\" provides connector \"%s\", which was already loaded from \"%s\".",
                  path, c->name, set->plugins[i].path),
           strdup("The file found first in the search order is used; remove the other one "
                  "or change the search order."));
    return -1;
  }
  return 0;
}

static int add_plugin(NbhPluginSet *set, const char *path, const NbConnector *c,
                      lt_dlhandle handle) {
  NbhPlugin *grown = realloc(set->plugins, (set->n_plugins + 1) * sizeof *grown);
  NbhPlugin *p;
  if (grown == NULL) return nbh_plugins_refuse(set, path, strdup("out of memory"), NULL, NULL);
  set->plugins = grown;
  p = &set->plugins[set->n_plugins];
  memset(p, 0, sizeof *p);
  p->path = strdup(path);
  if (p->path == NULL) return nbh_plugins_refuse(set, path, strdup("out of memory"), NULL, NULL);
  p->vtable = *c;
  p->abi_version = c->abi_version;
  p->module = handle;
  p->storages = set->storages;
  if (!merge_host_settings(p)) {
    free(p->path);
    return nbh_plugins_refuse(set, path, strdup("out of memory"), NULL, NULL);
  }
  set->n_plugins++;
  return 0;
}

/* Standard output is the commands' answer (list, discover, a pipeline
 * writing to "-"): connector code run while loading (constructors, the
 * entry function) must not write into it.  fd 1 points at /dev/null for
 * that time; whatever the connector left in stdout's stdio buffer is
 * flushed there too before fd 1 comes back. */
typedef struct StdoutGuard {
  int saved;               /* dup of the real fd 1, or -1 */
} StdoutGuard;

static int stdout_guard_begin(StdoutGuard *g) {
  int null_fd;
  g->saved = -1;
  if (fflush(stdout) != 0) return -1;
  null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_fd < 0) return -1;
  g->saved = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (g->saved < 0 || dup2(null_fd, STDOUT_FILENO) < 0) {
    if (g->saved >= 0) close(g->saved);
    g->saved = -1;
    close(null_fd);
    return -1;
  }
  close(null_fd);
  return 0;
}

static void stdout_guard_end(StdoutGuard *g) {
  if (g->saved < 0) return;
  fflush(stdout);
  clearerr(stdout);
  dup2(g->saved, STDOUT_FILENO);
  close(g->saved);
  g->saved = -1;
}

/* ------------------------------------------------------------------------
 * Storage modules (abi.h, NbStorage): same file rules, same version rules
 * ------------------------------------------------------------------------ */

/* A file exporting nebula_storage_entry and no connector entry. */
static bool is_storage_module(lt_dlhandle handle) {
  bool storage, connector;
  lt_dlerror();
  storage = lt_dlsym(handle, NB_STORAGE_ENTRY_SYMBOL) != NULL;
  lt_dlerror();
  connector = lt_dlsym(handle, NB_CONNECTOR_ENTRY_SYMBOL) != NULL;
  lt_dlerror();
  return storage && !connector;
}

static bool valid_schemes(const char *schemes) {
  const char *p;
  size_t word = 0;
  if (schemes == NULL || schemes[0] == '\0' || strlen(schemes) > 256) return false;
  for (p = schemes; *p; p++) {
    if (*p == '|') {
      if (word == 0) return false;
      word = 0;
      continue;
    }
    if (!((*p >= 'a' && *p <= 'z') || (word > 0 && ((*p >= '0' && *p <= '9') || *p == '+' ||
                                                     *p == '.' || *p == '-'))))
      return false;
    word++;
  }
  return word > 0 && strncmp(schemes, "file", 4) != 0;
}

/* The checks of the vtable a storage entry filled; 0 when sound. */
static int check_storage(NbhPluginSet *set, const char *path, const NbStorage *st,
                         uint32_t declared_size) {
  if (declared_size < NB_STORAGE_SIZE_1_2 || declared_size > sizeof *st)
    return nbh_plugins_refuse(set, path, nbh_format("incompatible storage module \"%s\": vtable "
                                                    "of %u bytes", path, (unsigned)declared_size),
                              nbh_format("ABI 1.2 defines NbStorage as %zu bytes; this "
                                         "nebula-host reads at most %zu.",
                                         (size_t)NB_STORAGE_SIZE_1_2, sizeof *st),
                              strdup("Rebuild the module against nebula/abi.h."));
  if (!is_identifier(st->name))
    return nbh_plugins_refuse(set, path, nbh_format("invalid storage module \"%s\": missing or "
                                                    "invalid name", path), NULL, NULL);
  if (!valid_schemes(st->schemes))
    return nbh_plugins_refuse(set, path, nbh_format("invalid storage module \"%s\": invalid "
                                                    "schemes", path),
                              strdup("Schemes are '|'-separated lower-case URL schemes other "
                                     "than \"file\"."), NULL);
  if (st->object_list == NULL || st->reader_open == NULL || st->reader_read == NULL ||
      st->reader_close == NULL)
    return nbh_plugins_refuse(set, path, nbh_format("incompatible storage module \"%s\": a "
                                                    "required function is missing", path),
                              strdup("object_list, reader_open, reader_read and reader_close "
                                     "must be set."),
                              strdup("This is a bug in the module; report it to its authors."));
  /* Writing is all six writer slots or none (abi.h). */
  if (NB_STRUCT_HAS(NbStorage, st, writer_close)) {
    int n = (st->writer_open != NULL) + (st->writer_write != NULL) +
            (st->writer_commit != NULL) + (st->writer_finish != NULL) +
            (st->writer_abort != NULL) + (st->writer_close != NULL);
    if (n != 0 && n != 6)
      return nbh_plugins_refuse(set, path, nbh_format("incompatible storage module \"%s\": "
                                                      "some writer functions are missing", path),
                                strdup("writer_open, writer_write, writer_commit, writer_finish, "
                                       "writer_abort and writer_close are set together."),
                                strdup("This is a bug in the module; report it to its authors."));
  }
  return 0;
}

/* Run the storage entry of handle, judge it and add the module; 0 or -1
 * (refusal recorded).  A second module for a scheme already served is
 * refused: the first in search order wins. */
static int run_storage_entry(NbhPluginSet *set, const char *path, lt_dlhandle handle) {
  NbStorageEntryFn entry;
  NbStorage st;
  NbError err;
  void *symbol = lt_dlsym(handle, NB_STORAGE_ENTRY_SYMBOL);
  uint32_t declared;
  int rc, verdict;
  memcpy(&entry, &symbol, sizeof entry);
  memset(&st, 0, sizeof st);
  st.struct_size = (uint32_t)sizeof st;
  nb_error_init(&err);
  rc = entry(NB_ABI_CURRENT, &st, &err);
  verdict = check_abi(set, path, rc, st.abi_version);
  if (verdict == 0 && rc != NB_OK) verdict = refuse_entry_error(set, path, rc, &err);
  if (err.release != NULL) err.release(&err);
  if (verdict != 0) return -1;
  declared = st.struct_size;
  if (check_storage(set, path, &st, declared) != 0) return -1;
  {
    const char *p = st.schemes;
    while (p != NULL) {
      const char *end = strchr(p, '|');
      size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
      const NbStorage *other = nbh_storage_find(set->storages, p, n);
      if (other != NULL)
        return nbh_plugins_refuse(set, path, nbh_format("storage module \"%s\" is not used: "
                                                        "scheme \"%.*s\" is already served by "
                                                        "\"%s\"", path, (int)n, p, other->name),
                                  NULL, strdup("The module found first in the search order is "
                                               "used."));
      p = end != NULL ? end + 1 : NULL;
    }
  }
  if (nbh_storage_list_add(set->storages, &st, path) != 0)
    return nbh_plugins_refuse(set, path, strdup("out of memory"), NULL, NULL);
  return 0;
}

/* Open path and run its entry; -1 when refused (recorded), else 0 with the
 * entry's answer in *c, *rc and *err (to be judged and released by the
 * caller), or 1 for a storage module, judged and added here (*rc is 0 or
 * -1).  Runs connector code: see StdoutGuard and NbhPluginSet.loading. */
static int run_entry(NbhPluginSet *set, const char *path, lt_dlhandle *handle, NbConnector *c,
                     int *rc, NbError *err) {
  NbConnectorEntryFn entry;
  StdoutGuard guard;
  if (stdout_guard_begin(&guard) != 0)
    return nbh_plugins_refuse(set, path, nbh_format("could not load connector \"%s\": %s", path,
                                        "standard output could not be set aside"),
                  nbh_format("Connector code runs with standard output pointed at /dev/null, "
                             "and that failed: %s.", strerror(errno)),
                  NULL);
  if (set->loading != NULL) *set->loading = path;
  *handle = open_module(set, path);
  if (*handle != NULL && is_storage_module(*handle)) {
    *rc = run_storage_entry(set, path, *handle);
    if (set->loading != NULL) *set->loading = NULL;
    stdout_guard_end(&guard);
    return 1;
  }
  entry = *handle != NULL ? find_entry(set, path, *handle) : NULL;
  if (entry != NULL) {
    memset(c, 0, sizeof *c);
    c->struct_size = (uint32_t)sizeof *c;
    nb_error_init(err);
    *rc = entry(NB_ABI_CURRENT, c, err);
  }
  if (set->loading != NULL) *set->loading = NULL;
  stdout_guard_end(&guard);
  return entry != NULL ? 0 : -1;
}

int nbh_plugin_load_file(const char *path, NbhPluginSet *set) {
  lt_dlhandle handle = NULL;
  NbConnector c;
  NbError err;
  uint32_t declared_size;
  int rc = NB_INTERNAL, verdict;
  size_t i;

  if (nbh_plugins_start(set) != 0) return -1;
  if (check_path(set, path) != 0) return -1;
  for (i = 0; i < set->n_plugins; i++)
    if (same_file(set->plugins[i].path, path)) return 0;
  for (i = 0; set->storages != NULL && i < set->storages->n; i++)
    if (same_file(set->storages->paths[i], path)) return 0;
  verdict = run_entry(set, path, &handle, &c, &rc, &err);
  /* A storage module: judged and added by run_entry (rc 0 or -1). */
  if (verdict > 0) return rc;
  if (verdict != 0) return -1;

  /* The version first: a connector of another major may not even have the
   * fields we would read next (PostgreSQL's incompatible_module_error). */
  verdict = check_abi(set, path, rc, c.abi_version);
  if (verdict == 0 && rc != NB_OK) verdict = refuse_entry_error(set, path, rc, &err);
  if (err.release != NULL) err.release(&err);
  if (verdict != 0) return -1;

  /* Read nothing beyond what the connector declared, and nothing beyond
   * what we own even if it claims more. */
  declared_size = c.struct_size;
  if (declared_size < sizeof c) memset((char *)&c + declared_size, 0, sizeof c - declared_size);
  c.struct_size = declared_size < sizeof c ? declared_size : (uint32_t)sizeof c;
  if (check_vtable(set, path, &c, declared_size) != 0) return -1;
  if ((rc = already_loaded(set, path, &c)) != 0) return rc > 0 ? 0 : -1;
  return add_plugin(set, path, &c, handle);
}

const NbhPlugin *nbh_plugins_find(const NbhPluginSet *set, const char *name) {
  size_t i;
  for (i = 0; i < set->n_plugins; i++)
    if (strcmp(set->plugins[i].vtable.name, name) == 0) return &set->plugins[i];
  return NULL;
}

int nbh_plugin_is_resident(const NbhPlugin *plugin) {
  return plugin->module != NULL && lt_dlisresident((lt_dlhandle)plugin->module) == 1;
}

void nbh_plugins_free(NbhPluginSet *set) {
  size_t i;
  if (set == NULL) return;
  for (i = 0; i < set->n_plugins; i++) {
    free(set->plugins[i].path);
    free(set->plugins[i].merged_settings);
  }
  for (i = 0; i < set->n_errors; i++) {
    free(set->errors[i].path);
    free(set->errors[i].message);
    free(set->errors[i].detail);
    free(set->errors[i].hint);
  }
  for (i = 0; i < set->n_searched; i++) free(set->searched[i]);
  free(set->plugins);
  free(set->errors);
  free(set->searched);
  nbh_storage_list_free(set->storages);
  free(set->storages);
  /* No lt_dlexit: when its count reaches zero, libltdl drops resident
   * handles from its list (ltdl.c skips them at the head of `handles`),
   * orphaning memory that LeakSanitizer and valgrind rightly report, and
   * the modules stay mapped anyway (they are never unloaded).  The
   * lt_dlinit reference of this set is kept for the life of the process. */
  memset(set, 0, sizeof *set);
}
