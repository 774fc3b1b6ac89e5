/*
 * schema.c - NbField <-> Arrow C schema: exporting a struct schema with one
 * child per column, reading one back, and type names for messages.
 *
 * Extension types (nebula.number, arrow.json) ride in the field metadata
 * under "ARROW:extension:name", encoded as the C Data Interface specifies:
 * int32 pair count, then for each pair int32 length + key bytes and int32
 * length + value bytes, native endianness.
 */
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk_internal.h"

const char *nb_type_name(const NbField *field, char *buf, size_t cap) {
  if (buf == NULL || cap == 0) return "";
  switch (field->type) {
    case NB_TYPE_UTF8: snprintf(buf, cap, "utf8"); break;
    case NB_TYPE_LARGE_UTF8: snprintf(buf, cap, "large_utf8"); break;
    case NB_TYPE_INT64: snprintf(buf, cap, "int64"); break;
    case NB_TYPE_FLOAT64: snprintf(buf, cap, "float64"); break;
    case NB_TYPE_BOOL: snprintf(buf, cap, "bool"); break;
    case NB_TYPE_DECIMAL128:
      snprintf(buf, cap, "decimal128(%d,%d)", (int)field->precision,
               (int)field->scale);
      break;
    case NB_TYPE_NUMBER: snprintf(buf, cap, "number"); break;
    case NB_TYPE_DATE32: snprintf(buf, cap, "date32"); break;
    case NB_TYPE_TIMESTAMP:
      if (field->timezone != NULL && field->timezone[0] == '\0')
        snprintf(buf, cap, "timestamp");
      else
        snprintf(buf, cap, "timestamp(%s)",
                 field->timezone != NULL ? field->timezone : "UTC");
      break;
    case NB_TYPE_JSON: snprintf(buf, cap, "json"); break;
    default: snprintf(buf, cap, "unrecognized type %d", (int)field->type);
  }
  return buf;
}

/* ------------------------------------------------------------------------
 * Export
 * ------------------------------------------------------------------------ */

/* What one exported node owns.  Children (struct node only) live in one
 * array so a single free releases them after their own release ran. */
typedef struct SchemaPrivate {
  char *format;
  char *name;
  char *metadata;
  struct ArrowSchema *child_nodes;
  struct ArrowSchema **child_ptrs;
  int64_t n_children;
} SchemaPrivate;

static void schema_release(struct ArrowSchema *schema) {
  SchemaPrivate *p;
  if (schema == NULL || schema->release == NULL) return;
  p = schema->private_data;
  if (p != NULL) {
    NB_EXPORTED_CHILDREN_FREE(p->child_nodes, p->child_ptrs, p->n_children);
    free(p->format);
    free(p->name);
    free(p->metadata);
    free(p);
  }
  schema->release = NULL;
}

static void put_i32(char *p, int32_t v) { memcpy(p, &v, sizeof v); }

/* Metadata with the single key ARROW:extension:name = ext. */
static char *extension_metadata(const char *ext) {
  int32_t klen = (int32_t)strlen(NB_EXT_KEY), vlen = (int32_t)strlen(ext);
  char *m = malloc(4 + 4 + (size_t)klen + 4 + (size_t)vlen);
  char *p = m;
  if (m == NULL) return NULL;
  put_i32(p, 1), p += 4;
  put_i32(p, klen), p += 4;
  memcpy(p, NB_EXT_KEY, (size_t)klen), p += klen;
  put_i32(p, vlen), p += 4;
  memcpy(p, ext, (size_t)vlen);
  return m;
}

static char *format_of(const NbField *f) {
  char *s = NULL;
  switch (f->type) {
    case NB_TYPE_UTF8:
    case NB_TYPE_NUMBER:
    case NB_TYPE_JSON: return strdup("u");
    case NB_TYPE_LARGE_UTF8: return strdup("U");
    case NB_TYPE_INT64: return strdup("l");
    case NB_TYPE_FLOAT64: return strdup("g");
    case NB_TYPE_BOOL: return strdup("b");
    case NB_TYPE_DATE32: return strdup("tdD");
    case NB_TYPE_DECIMAL128:
      if (asprintf(&s, "d:%d,%d", (int)f->precision, (int)f->scale) < 0)
        return NULL;
      return s;
    case NB_TYPE_TIMESTAMP:
      if (asprintf(&s, "tsu:%s", f->timezone != NULL ? f->timezone : "UTC") < 0)
        return NULL;
      return s;
  }
  return NULL;
}

static int field_check(const NbField *f, size_t i, NbError *err) {
  if (f->name == NULL)
    return nb_error_set(err, NB_INVALID, "column %zu has no name", i + 1);
  if (f->type < NB_TYPE_UTF8 || f->type > NB_TYPE_JSON)
    return nb_error_set(err, NB_INVALID,
                        "column \"%s\" has unrecognized type %d", f->name,
                        (int)f->type);
  if (f->type == NB_TYPE_DECIMAL128 &&
      (f->precision < 1 || f->precision > 38 || f->scale < 0 ||
       f->scale > f->precision))
    return nb_error_set(err, NB_INVALID,
                        "column \"%s\" has invalid decimal precision %d and "
                        "scale %d",
                        f->name, (int)f->precision, (int)f->scale);
  return NB_OK;
}

static int export_child(const NbField *f, struct ArrowSchema *out) {
  SchemaPrivate *p = calloc(1, sizeof *p);
  if (p == NULL) return NB_NOMEM;
  p->format = format_of(f);
  p->name = strdup(f->name);
  if (f->type == NB_TYPE_NUMBER) p->metadata = extension_metadata(NB_EXT_NUMBER);
  if (f->type == NB_TYPE_JSON) p->metadata = extension_metadata(NB_EXT_JSON);
  memset(out, 0, sizeof *out);
  out->private_data = p;
  out->release = schema_release;
  if (p->format == NULL || p->name == NULL ||
      ((f->type == NB_TYPE_NUMBER || f->type == NB_TYPE_JSON) &&
       p->metadata == NULL)) {
    schema_release(out);
    return NB_NOMEM;
  }
  out->format = p->format;
  out->name = p->name;
  out->metadata = p->metadata;
  out->flags = f->nullable ? ARROW_FLAG_NULLABLE : 0;
  return NB_OK;
}

int nb_schema_export(const NbField *fields, size_t n, struct ArrowSchema *out,
                     NbError *err) {
  SchemaPrivate *p;
  int rc;
  if (out == NULL || (n > 0 && fields == NULL))
    return nb_error_set(err, NB_INVALID, "nb_schema_export: missing argument");
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < n; i++)
    if ((rc = field_check(&fields[i], i, err)) != NB_OK) return rc;
  p = calloc(1, sizeof *p);
  if (p == NULL) goto nomem;
  out->private_data = p;
  out->release = schema_release;
  p->format = strdup("+s");
  p->name = strdup("");
  p->child_nodes = calloc(n > 0 ? n : 1, sizeof *p->child_nodes);
  p->child_ptrs = calloc(n > 0 ? n : 1, sizeof *p->child_ptrs);
  if (p->format == NULL || p->name == NULL || p->child_nodes == NULL ||
      p->child_ptrs == NULL)
    goto nomem;
  for (size_t i = 0; i < n; i++) {
    if (export_child(&fields[i], &p->child_nodes[i]) != NB_OK) goto nomem;
    p->child_ptrs[i] = &p->child_nodes[i];
    p->n_children = (int64_t)i + 1;
  }
  out->format = p->format;
  out->name = p->name;
  out->n_children = (int64_t)n;
  out->children = p->child_ptrs;
  return NB_OK;
nomem:
  if (out->release != NULL) out->release(out);
  memset(out, 0, sizeof *out);
  return nb_error_set(err, NB_NOMEM, "out of memory exporting a schema");
}

/* ------------------------------------------------------------------------
 * Import
 * ------------------------------------------------------------------------ */

static int32_t get_i32(const char *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* The value of ARROW:extension:name in metadata, as (pointer, length);
 * false when absent or when the metadata is malformed. */
static bool extension_name(const char *metadata, const char **name,
                           int32_t *len) {
  const char *p = metadata;
  int32_t pairs;
  if (metadata == NULL) return false;
  pairs = get_i32(p), p += 4;
  if (pairs < 0 || pairs > 4096) return false;
  for (int32_t i = 0; i < pairs; i++) {
    int32_t klen = get_i32(p), vlen;
    const char *key = p + 4;
    if (klen < 0) return false;
    p = key + klen;
    vlen = get_i32(p);
    if (vlen < 0) return false;
    if (klen == (int32_t)strlen(NB_EXT_KEY) &&
        memcmp(key, NB_EXT_KEY, (size_t)klen) == 0) {
      *name = p + 4;
      *len = vlen;
      return true;
    }
    p += 4 + vlen;
  }
  return false;
}

static bool is_ext(const char *name, int32_t len, const char *want) {
  return (size_t)len == strlen(want) && memcmp(name, want, (size_t)len) == 0;
}

/* "d:P,S" or "d:P,S,128". */
static bool parse_decimal_format(const char *f, int32_t *precision,
                                 int32_t *scale) {
  char *end;
  long p, s;
  if (strncmp(f, "d:", 2) != 0) return false;
  p = strtol(f + 2, &end, 10);
  if (end == f + 2 || *end != ',') return false;
  f = end + 1;
  s = strtol(f, &end, 10);
  if (end == f) return false;
  if (*end != '\0' && strcmp(end, ",128") != 0) return false;
  if (p < 1 || p > 38 || s < 0 || s > p) return false;
  *precision = (int32_t)p;
  *scale = (int32_t)s;
  return true;
}

bool nbsdk_field_from_schema(const struct ArrowSchema *schema, NbField *field,
                             char *why, size_t why_cap) {
  const char *f = schema->format, *ext = NULL;
  int32_t ext_len = 0;
  memset(field, 0, sizeof *field);
  field->name = schema->name != NULL ? schema->name : "";
  field->nullable = (schema->flags & ARROW_FLAG_NULLABLE) != 0;
  if (f == NULL) {
    snprintf(why, why_cap, "has no format");
    return false;
  }
  if (strcmp(f, "u") == 0) {
    field->type = NB_TYPE_UTF8;
    if (extension_name(schema->metadata, &ext, &ext_len)) {
      if (is_ext(ext, ext_len, NB_EXT_NUMBER)) field->type = NB_TYPE_NUMBER;
      if (is_ext(ext, ext_len, NB_EXT_JSON)) field->type = NB_TYPE_JSON;
    }
  } else if (strcmp(f, "U") == 0) {
    field->type = NB_TYPE_LARGE_UTF8;
  } else if (strcmp(f, "l") == 0) {
    field->type = NB_TYPE_INT64;
  } else if (strcmp(f, "g") == 0) {
    field->type = NB_TYPE_FLOAT64;
  } else if (strcmp(f, "b") == 0) {
    field->type = NB_TYPE_BOOL;
  } else if (strcmp(f, "tdD") == 0) {
    field->type = NB_TYPE_DATE32;
  } else if (strncmp(f, "tsu:", 4) == 0) {
    field->type = NB_TYPE_TIMESTAMP;
    field->timezone = f + 4;
  } else if (f[0] == 'd' && f[1] == ':') {
    field->type = NB_TYPE_DECIMAL128;
    if (!parse_decimal_format(f, &field->precision, &field->scale)) {
      snprintf(why, why_cap,
               "has decimal format \"%s\", which is not a decimal128 with "
               "precision 1 to 38 and scale 0 to precision",
               f);
      return false;
    }
  } else {
    snprintf(why, why_cap, "has Arrow format \"%s\", which is not supported",
             f);
    return false;
  }
  return true;
}

int nb_schema_fields(const struct ArrowSchema *schema, NbField **fields,
                     size_t *n, NbError *err) {
  NbField *out;
  char why[160];
  if (fields != NULL) *fields = NULL;
  if (n != NULL) *n = 0;
  if (schema == NULL || fields == NULL || n == NULL)
    return nb_error_set(err, NB_INVALID, "nb_schema_fields: missing argument");
  if (schema->release == NULL)
    return nb_error_set(err, NB_INVALID, "schema is released");
  if (schema->format == NULL || strcmp(schema->format, "+s") != 0)
    return nb_error_set(err, NB_INVALID,
                        "schema is not an Arrow struct (format \"%s\", "
                        "expected \"+s\")",
                        schema->format != NULL ? schema->format : "");
  if (schema->n_children < 0 ||
      (schema->n_children > 0 && schema->children == NULL))
    return nb_error_set(err, NB_INVALID, "schema has malformed children");
  out = calloc(schema->n_children > 0 ? (size_t)schema->n_children : 1,
               sizeof *out);
  if (out == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory reading a schema");
  for (int64_t i = 0; i < schema->n_children; i++) {
    const struct ArrowSchema *child = schema->children[i];
    if (child == NULL || !nbsdk_field_from_schema(child, &out[i], why,
                                                  sizeof why)) {
      if (child == NULL) snprintf(why, sizeof why, "is missing");
      nb_error_set(err, NB_INVALID, "column \"%s\" %s",
                   child != NULL && child->name != NULL ? child->name : "",
                   why);
      nb_error_detail(err,
                      "Supported types: utf8, large_utf8, int64, float64, "
                      "bool, decimal128, date32, timestamp[us], and utf8 "
                      "with the nebula.number or arrow.json extension.");
      free(out);
      return NB_INVALID;
    }
  }
  *fields = out;
  *n = (size_t)schema->n_children;
  return NB_OK;
}

int nb_schema_copy(const struct ArrowSchema *schema, struct ArrowSchema *kept,
                   NbError *err) {
  struct ArrowSchema copy;
  NbField *fields;
  size_t n;
  int rc;
  if (schema == NULL || kept == NULL)
    return nb_error_set(err, NB_INVALID, "nb_schema_copy: missing argument");
  rc = nb_schema_fields(schema, &fields, &n, err);
  if (rc != NB_OK) return rc;
  memset(&copy, 0, sizeof copy);
  rc = nb_schema_export(fields, n, &copy, err);
  free(fields);
  if (rc != NB_OK) return rc;
  /* Replace the earlier copy only now that the new one exists. */
  if (kept->release != NULL) kept->release(kept);
  *kept = copy;
  return NB_OK;
}
