/*
 * pq_nested.h - a nested top-level field (a group, a LIST, a MAP or a
 * repeated field) read back as JSON text, one value per row: the leaves'
 * repetition and definition levels are reassembled into records (Dremel
 * record assembly) following parquet-format's LogicalTypes.md, legacy
 * two-level lists included.
 *
 *   STRUCT (group)       -> {"field": value, ...}
 *   LIST, repeated field -> [value, ...]
 *   MAP                  -> {"key": value, ...} (a key that is not a
 *                           string becomes its JSON text in a string)
 *   null at any level    -> null; an empty list -> []
 *
 * Leaf values: booleans, integers (signed, unsigned, DECIMAL as an exact
 * JSON number), FLOAT/DOUBLE (NaN and infinities as strings, never
 * rounded: the shortest exact text, ".0" when integral), strings (JSON-escaped; BYTE_ARRAY that
 * is not UTF-8 is an error, never altered), DATE and TIMESTAMP as ISO 8601
 * strings.  Other leaf types are a clear error naming the column.
 */
#ifndef PQ_NESTED_H
#define PQ_NESTED_H

#include <stdint.h>

#include "nebula/sdk.h"
#include "pq_buf.h"
#include "pq_colreader.h"
#include "pq_format.h"

typedef struct PqNode PqNode;

typedef struct PqNested {
  PqNode *nodes;           /* nodes[0] is the top-level field */
  size_t n_nodes;
  uint32_t first_leaf;     /* column chunk index of the first leaf */
  uint32_t n_leaves;
  PqColData *leaves;       /* decoded leaves of the current row group */
  size_t *cursor;          /* next slot of each leaf */
  int64_t next_row;        /* row the cursors stand at */
  PqBuf json;              /* the row being assembled */
} PqNested;

/* Build the tree of the top-level field at schema[*i] (advances *i past it)
 * whose first leaf is column chunk first_leaf.  Errors name file and field. */
int pq_nested_build(const PqSchemaElem *schema, uint32_t n_schema, uint32_t *i, uint32_t first_leaf,
                    const char *file, const char *field, PqNested *out, NbError *err);

/* Leaf k's levels (for decoding its chunk). */
const PqSchemaElem *pq_nested_leaf(const PqNested *n, uint32_t k, uint8_t *max_def, uint8_t *max_rep);

/* Rewind the cursors after the leaves of a new row group were decoded. */
void pq_nested_rewind(PqNested *n);

/* Assemble row `row` (rows are asked for in order; earlier rows of the row
 * group are skipped) into n->json; *is_null when the whole field is null. */
int pq_nested_row(PqNested *n, int64_t row, bool *is_null, const char *file, uint32_t row_group,
                  const char *field, NbError *err);

/* Every slot of every leaf was used by num_rows rows. */
int pq_nested_check_end(const PqNested *n, const char *file, uint32_t row_group, const char *field, NbError *err);

void pq_nested_free_leaves(PqNested *n);
void pq_nested_free(PqNested *n);

#endif /* PQ_NESTED_H */
