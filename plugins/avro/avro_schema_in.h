/*
 * avro_schema_in.h - an Avro schema (the JSON text of a file's
 * avro.schema) parsed into a graph of nodes, for decoding.
 *
 * Named types (record, enum, fixed) may be referred to by name after their
 * definition, also from inside themselves (recursive types): the graph may
 * have cycles, so every node is owned by the AvroSchema's list, not by its
 * parent.  Unknown logical types are ignored (the spec says so) and so are
 * logical types on the wrong primitive.
 */
#ifndef AVRO_SCHEMA_IN_H
#define AVRO_SCHEMA_IN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum AvroKind {
  AVRO_NULL,
  AVRO_BOOLEAN,
  AVRO_INT,
  AVRO_LONG,
  AVRO_FLOAT,
  AVRO_DOUBLE,
  AVRO_BYTES,
  AVRO_STRING,
  AVRO_RECORD,
  AVRO_ENUM,
  AVRO_ARRAY,
  AVRO_MAP,
  AVRO_UNION,
  AVRO_FIXED
} AvroKind;

typedef enum AvroLogical {
  AVRO_LOGICAL_NONE,
  AVRO_LOGICAL_DECIMAL,       /* bytes or fixed */
  AVRO_LOGICAL_DATE,          /* int */
  AVRO_LOGICAL_TIME_MILLIS,   /* int */
  AVRO_LOGICAL_TIME_MICROS,   /* long */
  AVRO_LOGICAL_TS_MILLIS,     /* long */
  AVRO_LOGICAL_TS_MICROS,     /* long */
  AVRO_LOGICAL_LOCAL_TS_MILLIS,
  AVRO_LOGICAL_LOCAL_TS_MICROS,
  AVRO_LOGICAL_UUID           /* string */
} AvroLogical;

typedef struct AvroNode AvroNode;
struct AvroNode {
  AvroKind kind;
  AvroLogical logical;
  char *name;             /* record, enum, fixed: the full name */
  size_t n_children;      /* record fields, union branches; 1 for array
                             items and map values */
  AvroNode **children;
  char **field_names;     /* record: each field's name */
  char **column_names;    /* record: "nebula.name" when given, else the
                             field's name */
  size_t n_symbols;       /* enum */
  char **symbols;
  size_t fixed_size;      /* fixed */
  int32_t precision, scale; /* decimal */
  int nebula_type;        /* string: 1 "number", 2 "json" (written by
                             Nebula), else 0 */
  size_t min_bytes;       /* fewest bytes one value takes (0 for null and
                             empty records), to bound a block's count */
};

typedef struct AvroSchema {
  AvroNode *root;
  AvroNode **nodes;       /* every node, owned */
  size_t n_nodes;
} AvroSchema;

/* Parse text (len bytes).  On failure returns false and writes a reason
 * into why (cap bytes). */
bool avro_schema_parse(const char *text, size_t len, AvroSchema *out, char *why,
                       size_t cap);
void avro_schema_free(AvroSchema *s);

#endif
