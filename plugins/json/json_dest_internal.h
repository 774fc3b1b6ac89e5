/*
 * json_dest_internal.h - what the parts of the json destination share:
 * the destination (json_dest.c: the vtable, its files and streams), its
 * saved state (json_dest_state.c) and its row formatter (json_format.c).
 */
#ifndef JSON_DEST_INTERNAL_H
#define JSON_DEST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_connector.h"
#include "json_parser.h"
#include "json_reader.h"
#include "json_writer.h"

/* Formatted rows are passed to file_write (which copies them into the
 * host's 1 MiB write buffer) every FLUSH_BYTES: small enough that the rows
 * are still in the core's cache when copied, and that the buffer stays
 * small next to the batch being read. */
#define FLUSH_BYTES ((size_t)64 << 10)

/* Keys of at most KEY_BLOCK bytes are copied as one fixed-size block (the
 * key buffer and the output have room for it): no memcpy call per value. */
#define KEY_BLOCK 32

typedef struct OutFile {
  char *path;
  NbFile *file;
  JsonBuf buf;             /* written rows not yet passed to file_write */
  bool any_row;            /* a row is in the file or the buffer */
  bool ended;              /* the array's closing bracket is written */
} OutFile;

typedef struct DestStream {
  char *name;
  bool opened;             /* out is set (a failed prepare leaves it not) */
  size_t out;              /* index in files */
  struct ArrowSchema schema; /* our copy */
  NbField *fields;         /* point into schema */
  size_t n_fields;
  char *keys;              /* "{\"a\":" ",\"b\":" ... back to back,
                              then KEY_BLOCK bytes of padding */
  size_t *key_off;
  size_t *key_len;
  size_t row_bound;        /* fixed part of a row's size bound */
} DestStream;

/* A file of the saved state: its committed length. */
typedef struct SavedFile {
  char *path;
  uint64_t length;
  bool any_row;
} SavedFile;

typedef struct JsonDest {
  const NbHostApi *host;
  char *path;
  bool per_stream;
  JsonFormat format;
  bool escape_separators;
  OutFile *files;
  size_t n_files;
  DestStream *streams;
  size_t n_streams;
  SavedFile *saved;        /* from the last commit (or the resumed state) */
  size_t n_saved;
  JsonParser validator;
  JsonBuf scratch;
  JsonBuf state;
} JsonDest;

/* json_dest.c: pass f's formatted bytes to the host's file_write. */
int json_dest_flush(JsonDest *d, OutFile *f, NbError *err);

/* json_dest_state.c: the committed length of each file, as a state blob. */
SavedFile *json_dest_saved_find(JsonDest *d, const char *path);
int json_dest_saved_set(JsonDest *d, const char *path, uint64_t length, bool any_row);
int json_dest_parse_state(JsonDest *d, const char *s, size_t len, NbError *err);
int json_dest_build_state(JsonDest *d);

/* json_format.c: the keys of a stream's columns, escaped once per schema
 * (s->fields set), and s->row_bound. */
int json_format_keys(JsonDest *d, DestStream *s, NbError *err);
/* Format a batch of stream s into f->buf (flushing as it goes): all or
 * nothing, NB_DATA naming row and column when a value has no JSON form. */
int json_format_batch(JsonDest *d, OutFile *f, const DestStream *s,
                      const struct ArrowArray *batch, NbError *err);
/* The end of an array document ("\n]\n", or "[]\n" with no rows) into
 * f->buf, once; nothing for JSON Lines.  False when out of memory. */
bool json_format_end(JsonDest *d, OutFile *f);

#endif /* JSON_DEST_INTERNAL_H */
