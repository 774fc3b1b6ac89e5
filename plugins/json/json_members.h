/*
 * json_members.h - member names that repeat within one object record.
 *
 * RFC 8259 only says the names of an object SHOULD be unique; parsers
 * disagree on what a repeated name means (most keep the last value).  The
 * json source refuses such an object by default, or keeps one value per
 * name when told to (setting duplicate_keys), so that no value is ever
 * dropped without a word.
 *
 * Cost: nothing for records of a few members (compared pairwise); above
 * that, a sort of the names, O(n log n) whatever the names are (no hash
 * table that crafted names could flood).  The work array is kept from
 * record to record and grows with the largest object: 24 bytes a member.
 */
#ifndef JSON_MEMBERS_H
#define JSON_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>

#include "json_parser.h"

/* Work space, reused from record to record; zero-initialise it. */
typedef struct JsonNameSort {
  struct JsonNameEntry *v;
  size_t cap;
} JsonNameSort;

void json_names_free(JsonNameSort *w);

/* The first member (in input order) whose name an earlier member of m[0..n)
 * already has: *repeat is its index and *first the earlier one's, or
 * *repeat = SIZE_MAX when all names differ.  Returns false on allocation
 * failure. */
bool json_names_find_repeat(JsonNameSort *w, const JsonMember *m, size_t n,
                            size_t *repeat, size_t *first);

/* Keep one member of each name, the first or the last of that name in
 * input order, removing the others from m (the kept ones stay in input
 * order).  *kept receives the new count.  Returns false on allocation
 * failure (m unchanged). */
bool json_names_keep_one(JsonNameSort *w, JsonMember *m, size_t n,
                         bool keep_last, size_t *kept);

#endif /* JSON_MEMBERS_H */
