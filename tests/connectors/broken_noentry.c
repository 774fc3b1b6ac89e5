/*
 * broken_noentry.c - test module that is a valid shared object but not a
 * connector: it has no nebula_connector_entry.
 */
__attribute__((visibility("default"))) int not_a_connector_entry(void);
int not_a_connector_entry(void) { return 42; }
