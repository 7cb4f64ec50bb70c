/* Merging an incremental chain into one full image. Log prefix "merge". */
#ifndef DURUN_MERGE_H
#define DURUN_MERGE_H
#include <stddef.h>
/* child: newest image; out: full image written (tmp + rename). 0 or -1 + err. */
int merge_chain(const char *child, const char *out, char *err, size_t errsz);
#endif
