#include "merge.h"
#include <stdio.h>
int merge_chain(const char *child, const char *out, char *err, size_t errsz)
{
	(void)out;
	snprintf(err, errsz, "%s: incremental images are not supported yet", child);
	return -1;
}
