/*
 * avro_schema_in.c - parse an Avro schema with jansson (see
 * avro_schema_in.h).  Names: a reference is looked up as written, then
 * in the enclosing namespace; definitions are registered under their full
 * name.  Nesting deeper than MAX_DEPTH is refused.
 */
#include "avro_schema_in.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct Parser {
  AvroSchema *schema;
  char *why;
  size_t cap;
} Parser;

static bool fail(Parser *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->why, p->cap, fmt, ap);
  va_end(ap);
  return false;
}

static AvroNode *new_node(Parser *p, AvroKind kind) {
  AvroSchema *s = p->schema;
  AvroNode **v = realloc(s->nodes, (s->n_nodes + 1) * sizeof *v);
  if (v == NULL) return NULL;
  s->nodes = v;
  AvroNode *n = calloc(1, sizeof *n);
  if (n == NULL) return NULL;
  n->kind = kind;
  v[s->n_nodes++] = n;
  return n;
}

static const struct {
  const char *name;
  AvroKind kind;
  size_t min_bytes;
} primitives[] = {
    {"null", AVRO_NULL, 0},       {"boolean", AVRO_BOOLEAN, 1}, {"int", AVRO_INT, 1},
    {"long", AVRO_LONG, 1},       {"float", AVRO_FLOAT, 4},     {"double", AVRO_DOUBLE, 8},
    {"bytes", AVRO_BYTES, 1},     {"string", AVRO_STRING, 1},
};

static bool primitive(const char *name, AvroKind *kind, size_t *min) {
  for (size_t i = 0; i < sizeof primitives / sizeof primitives[0]; i++) {
    if (strcmp(primitives[i].name, name) == 0) {
      *kind = primitives[i].kind;
      *min = primitives[i].min_bytes;
      return true;
    }
  }
  return false;
}

/* A defined named type: by full name, or by the name within ns. */
static AvroNode *lookup(Parser *p, const char *name, const char *ns) {
  char full[512];
  if (strchr(name, '.') == NULL && ns != NULL && ns[0] != '\0') {
    snprintf(full, sizeof full, "%s.%s", ns, name);
    for (size_t i = 0; i < p->schema->n_nodes; i++)
      if (p->schema->nodes[i]->name && strcmp(p->schema->nodes[i]->name, full) == 0)
        return p->schema->nodes[i];
  }
  for (size_t i = 0; i < p->schema->n_nodes; i++)
    if (p->schema->nodes[i]->name && strcmp(p->schema->nodes[i]->name, name) == 0)
      return p->schema->nodes[i];
  return NULL;
}

static bool parse_type(Parser *p, json_t *j, const char *ns, int depth, AvroNode **out);

/* The full name of a named type's definition, and its namespace for the
 * names inside it. */
static bool define_name(Parser *p, json_t *j, const char *ns, AvroNode *n, char *inner_ns,
                        size_t cap) {
  const char *name = json_string_value(json_object_get(j, "name"));
  const char *own_ns = json_string_value(json_object_get(j, "namespace"));
  if (name == NULL || name[0] == '\0') return fail(p, "a named type without a \"name\"");
  char full[512];
  if (strchr(name, '.') != NULL) snprintf(full, sizeof full, "%s", name);
  else if (own_ns != NULL && own_ns[0] != '\0') snprintf(full, sizeof full, "%s.%s", own_ns, name);
  else if (ns != NULL && ns[0] != '\0' && own_ns == NULL) snprintf(full, sizeof full, "%s.%s", ns, name);
  else snprintf(full, sizeof full, "%s", name);
  if (lookup(p, full, NULL) != NULL) return fail(p, "the type \"%s\" is defined twice", full);
  n->name = strdup(full);
  if (n->name == NULL) return fail(p, "out of memory");
  const char *dot = strrchr(full, '.');
  snprintf(inner_ns, cap, "%.*s", dot ? (int)(dot - full) : 0, full);
  return true;
}

static bool parse_record(Parser *p, json_t *j, const char *ns, int depth, AvroNode *n) {
  char inner[512];
  if (!define_name(p, j, ns, n, inner, sizeof inner)) return false;
  json_t *fields = json_object_get(j, "fields");
  if (!json_is_array(fields)) return fail(p, "record \"%s\" has no \"fields\" array", n->name);
  size_t count = json_array_size(fields);
  n->children = calloc(count + 1, sizeof *n->children);
  n->field_names = calloc(count + 1, sizeof *n->field_names);
  n->column_names = calloc(count + 1, sizeof *n->column_names);
  if (!n->children || !n->field_names || !n->column_names) return fail(p, "out of memory");
  for (size_t i = 0; i < count; i++) {
    json_t *f = json_array_get(fields, i);
    const char *fname = json_string_value(json_object_get(f, "name"));
    const char *cname = json_string_value(json_object_get(f, "nebula.name"));
    if (fname == NULL) return fail(p, "field %zu of record \"%s\" has no name", i + 1, n->name);
    n->field_names[i] = strdup(fname);
    n->column_names[i] = strdup(cname ? cname : fname);
    n->n_children = i + 1;
    if (!n->field_names[i] || !n->column_names[i]) return fail(p, "out of memory");
    if (!parse_type(p, json_object_get(f, "type"), inner, depth + 1, &n->children[i]))
      return false;
    n->min_bytes += n->children[i]->min_bytes;
  }
  return true;
}

static bool parse_enum(Parser *p, json_t *j, const char *ns, AvroNode *n) {
  char inner[512];
  if (!define_name(p, j, ns, n, inner, sizeof inner)) return false;
  json_t *symbols = json_object_get(j, "symbols");
  if (!json_is_array(symbols) || json_array_size(symbols) == 0)
    return fail(p, "enum \"%s\" has no \"symbols\"", n->name);
  n->symbols = calloc(json_array_size(symbols), sizeof *n->symbols);
  if (n->symbols == NULL) return fail(p, "out of memory");
  for (size_t i = 0; i < json_array_size(symbols); i++) {
    const char *sym = json_string_value(json_array_get(symbols, i));
    if (sym == NULL) return fail(p, "symbol %zu of enum \"%s\" is not a string", i + 1, n->name);
    if ((n->symbols[i] = strdup(sym)) == NULL) return fail(p, "out of memory");
    n->n_symbols = i + 1;
  }
  n->min_bytes = 1;
  return true;
}

static bool parse_fixed(Parser *p, json_t *j, const char *ns, AvroNode *n) {
  char inner[512];
  if (!define_name(p, j, ns, n, inner, sizeof inner)) return false;
  json_t *size = json_object_get(j, "size");
  if (!json_is_integer(size) || json_integer_value(size) < 0 ||
      json_integer_value(size) > (1 << 30))
    return fail(p, "fixed \"%s\" has no valid \"size\"", n->name);
  n->fixed_size = (size_t)json_integer_value(size);
  n->min_bytes = n->fixed_size;
  return true;
}

/* logicalType on a primitive or fixed node; ignored when it does not
 * apply (per the specification). */
static void apply_logical(json_t *j, AvroNode *n) {
  const char *lt = json_string_value(json_object_get(j, "logicalType"));
  if (lt == NULL) return;
  AvroKind k = n->kind;
  if (strcmp(lt, "decimal") == 0 && (k == AVRO_BYTES || k == AVRO_FIXED)) {
    json_t *prec = json_object_get(j, "precision"), *scale = json_object_get(j, "scale");
    json_int_t pv = json_is_integer(prec) ? json_integer_value(prec) : 0;
    json_int_t sv = json_is_integer(scale) ? json_integer_value(scale) : 0;
    if (pv < 1 || pv > 1000 || sv < 0 || sv > pv) return;
    n->logical = AVRO_LOGICAL_DECIMAL;
    n->precision = (int32_t)pv;
    n->scale = (int32_t)sv;
  } else if (strcmp(lt, "date") == 0 && k == AVRO_INT) n->logical = AVRO_LOGICAL_DATE;
  else if (strcmp(lt, "time-millis") == 0 && k == AVRO_INT) n->logical = AVRO_LOGICAL_TIME_MILLIS;
  else if (strcmp(lt, "time-micros") == 0 && k == AVRO_LONG) n->logical = AVRO_LOGICAL_TIME_MICROS;
  else if (strcmp(lt, "timestamp-millis") == 0 && k == AVRO_LONG) n->logical = AVRO_LOGICAL_TS_MILLIS;
  else if (strcmp(lt, "timestamp-micros") == 0 && k == AVRO_LONG) n->logical = AVRO_LOGICAL_TS_MICROS;
  else if (strcmp(lt, "local-timestamp-millis") == 0 && k == AVRO_LONG)
    n->logical = AVRO_LOGICAL_LOCAL_TS_MILLIS;
  else if (strcmp(lt, "local-timestamp-micros") == 0 && k == AVRO_LONG)
    n->logical = AVRO_LOGICAL_LOCAL_TS_MICROS;
  else if (strcmp(lt, "uuid") == 0 && k == AVRO_STRING) n->logical = AVRO_LOGICAL_UUID;
}

static bool parse_union(Parser *p, json_t *j, const char *ns, int depth, AvroNode **out) {
  AvroNode *n = new_node(p, AVRO_UNION);
  if (n == NULL) return fail(p, "out of memory");
  size_t count = json_array_size(j);
  if (count == 0) return fail(p, "an empty union");
  n->children = calloc(count, sizeof *n->children);
  if (n->children == NULL) return fail(p, "out of memory");
  for (size_t i = 0; i < count; i++) {
    if (!parse_type(p, json_array_get(j, i), ns, depth + 1, &n->children[i])) return false;
    if (n->children[i]->kind == AVRO_UNION) return fail(p, "a union directly inside a union");
    n->n_children = i + 1;
  }
  n->min_bytes = 1;
  *out = n;
  return true;
}

static bool parse_object(Parser *p, json_t *j, const char *ns, int depth, AvroNode **out) {
  json_t *type = json_object_get(j, "type");
  const char *t = json_string_value(type);
  if (t == NULL) {
    /* {"type": {...}} or {"type": [...]}: the inner schema. */
    if (json_is_object(type) || json_is_array(type)) return parse_type(p, type, ns, depth + 1, out);
    return fail(p, "a schema object without a \"type\"");
  }
  AvroKind kind;
  size_t min;
  AvroNode *n;
  if (primitive(t, &kind, &min)) {
    if ((n = new_node(p, kind)) == NULL) return fail(p, "out of memory");
    n->min_bytes = min;
    const char *nt = json_string_value(json_object_get(j, "nebula.type"));
    if (kind == AVRO_STRING && nt != NULL)
      n->nebula_type = strcmp(nt, "number") == 0 ? 1 : strcmp(nt, "json") == 0 ? 2 : 0;
    apply_logical(j, n);
    *out = n;
    return true;
  }
  if (strcmp(t, "record") == 0 || strcmp(t, "error") == 0) {
    if ((n = new_node(p, AVRO_RECORD)) == NULL) return fail(p, "out of memory");
    *out = n;
    return parse_record(p, j, ns, depth, n);
  }
  if (strcmp(t, "enum") == 0) {
    if ((n = new_node(p, AVRO_ENUM)) == NULL) return fail(p, "out of memory");
    *out = n;
    return parse_enum(p, j, ns, n);
  }
  if (strcmp(t, "fixed") == 0) {
    if ((n = new_node(p, AVRO_FIXED)) == NULL) return fail(p, "out of memory");
    *out = n;
    if (!parse_fixed(p, j, ns, n)) return false;
    apply_logical(j, n);
    return true;
  }
  if (strcmp(t, "array") == 0 || strcmp(t, "map") == 0) {
    bool array = t[0] == 'a';
    if ((n = new_node(p, array ? AVRO_ARRAY : AVRO_MAP)) == NULL) return fail(p, "out of memory");
    n->children = calloc(1, sizeof *n->children);
    if (n->children == NULL) return fail(p, "out of memory");
    n->n_children = 1;
    n->min_bytes = 1;
    *out = n;
    return parse_type(p, json_object_get(j, array ? "items" : "values"), ns, depth + 1,
                      &n->children[0]);
  }
  /* {"type": "SomeNamedType"} */
  if ((*out = lookup(p, t, ns)) != NULL) return true;
  return fail(p, "unknown type \"%s\"", t);
}

static bool parse_type(Parser *p, json_t *j, const char *ns, int depth, AvroNode **out) {
  if (depth > MAX_DEPTH) return fail(p, "the schema nests deeper than %d levels", MAX_DEPTH);
  if (j == NULL) return fail(p, "a missing type");
  if (json_is_string(j)) {
    AvroKind kind;
    size_t min;
    const char *t = json_string_value(j);
    if (primitive(t, &kind, &min)) {
      AvroNode *n = new_node(p, kind);
      if (n == NULL) return fail(p, "out of memory");
      n->min_bytes = min;
      *out = n;
      return true;
    }
    if ((*out = lookup(p, t, ns)) != NULL) return true;
    return fail(p, "unknown type \"%s\"", t);
  }
  if (json_is_array(j)) return parse_union(p, j, ns, depth, out);
  if (json_is_object(j)) return parse_object(p, j, ns, depth, out);
  return fail(p, "a type that is neither a name, an object nor a union");
}

bool avro_schema_parse(const char *text, size_t len, AvroSchema *out, char *why, size_t cap) {
  memset(out, 0, sizeof *out);
  json_error_t jerr;
  json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
  if (j == NULL) {
    snprintf(why, cap, "the schema is not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
             jerr.column);
    return false;
  }
  Parser p = {out, why, cap};
  bool ok = parse_type(&p, j, NULL, 0, &out->root);
  json_decref(j);
  if (!ok) avro_schema_free(out);
  return ok;
}

static void free_strings(char **v, size_t n) {
  if (v == NULL) return;
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

void avro_schema_free(AvroSchema *s) {
  for (size_t i = 0; i < s->n_nodes; i++) {
    AvroNode *n = s->nodes[i];
    free(n->name);
    free(n->children);
    free_strings(n->field_names, n->n_children);
    free_strings(n->column_names, n->n_children);
    free_strings(n->symbols, n->n_symbols);
    free(n);
  }
  free(s->nodes);
  memset(s, 0, sizeof *s);
}
