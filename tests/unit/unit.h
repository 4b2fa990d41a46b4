/* Helpers shared by the unit suites. */
#ifndef CTRX_UNIT_H
#define CTRX_UNIT_H

/* A scratch directory per test: tmpl ends in XXXXXX; make fills it in,
 * remove deletes the tree and puts the XXXXXX back for the next test. */
void unit_tmpdir_make(char *tmpl);
void unit_tmpdir_remove(char *tmpl);
/* Write text to dir/name; returns the path (caller frees). */
char *unit_write(const char *dir, const char *name, const char *text);

#endif
