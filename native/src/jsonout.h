/* Tiny JSON string writer for durun-ckpt output. */
#ifndef DURUN_JSONOUT_H
#define DURUN_JSONOUT_H
#include <stdio.h>
static inline void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}
#endif
