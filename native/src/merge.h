/* Merging an incremental chain into one full image. Log prefix "merge". */
#ifndef DURUN_MERGE_H
#define DURUN_MERGE_H
#include <stddef.h>
#include <stdint.h>
/* child: newest image; out: full image written (tmp + rename). 0 or -1 + err. */
int merge_chain(const char *child, const char *out, char *err, size_t errsz);

struct loaded_image;
/* chain[0..*n-1] = child (newest) .. the full image, every one verified and
 * its parent id checked; fds stay open. On error *n images need li_free. */
int chain_load(const char *child, struct loaded_image *chain, int max, int *n, char *err, size_t errsz);
/* Where the npages from addr come from: chain[first] (its original run
 * kinds), then its ancestors chain[1..n-1]. Returns the file offset in
 * chain[*src] (*src = -1, 0: zero pages); *span = pages sharing the answer. */
uint64_t chain_locate(struct loaded_image *chain, int n, int first, uint64_t addr, uint64_t npages, int *src,
		      uint64_t *span);
#endif
