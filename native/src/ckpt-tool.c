/* durun-ckpt: inspect IMAGE [--json] | check [--json] | merge IMAGE -o OUT.
 * Exit codes: 0 ok, 1 image invalid / operation failed, 2 usage. */
#include <stdio.h>
#include <string.h>
#include "img-read.h"
#include "merge.h"

int ckpt_check(int json);

static int inspect(const char *path, int json)
{
	struct loaded_image li;
	char err[1024];
	int rc = li_load(path, &li, err, sizeof(err));
	(void)json;
	printf("image %s: %s\n", path, rc ? err : "all checksums ok");
	li_free(&li);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	int json = 0;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--json"))
			json = 1;
	if (argc >= 3 && !strcmp(argv[1], "inspect"))
		return inspect(argv[2], json);
	if (argc == 5 && !strcmp(argv[1], "merge") && !strcmp(argv[3], "-o")) {
		char err[1024];
		if (merge_chain(argv[2], argv[4], err, sizeof(err))) {
			fprintf(stderr, "durun-ckpt: merge failed: %s\n", err);
			return 1;
		}
		printf("merged %s and its parents into %s\n", argv[2], argv[4]);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "check"))
		return ckpt_check(json);
	fprintf(stderr, "usage: durun-ckpt inspect IMAGE [--json] | check [--json] | merge IMAGE -o OUT\n");
	return 2;
}
