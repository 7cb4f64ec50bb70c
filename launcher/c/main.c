/* durun: `durun [run] [options] -- CMD ...` is run here, in C, with no Node
 * started (the fast path); every other sub-command is the Node CLI's. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher.h"

/* Replaces durun with `node <root>/dist/launcher/src/cli.js ARGS...`. */
static int exec_cli(int argc, char **argv)
{
	char root[PATH_MAX], node[PATH_MAX], cli[PATH_MAX + 32];
	if (find_root(root, sizeof root) < 0)
		return 1;
	if (find_node(node, sizeof node, "run the durun CLI") < 0)
		return EXIT_NOTFOUND;
	snprintf(cli, sizeof cli, "%s/dist/launcher/src/cli.js", root);
	if (access(cli, R_OK) < 0) {
		note_err(errno, "cannot run the durun CLI: %s (run npm run build)", cli);
		return EXIT_NOTFOUND;
	}
	char **args = calloc((size_t)argc + 2, sizeof *args);
	if (!args) {
		note_err(ENOMEM, "cannot run the durun CLI");
		return 1;
	}
	args[0] = node;
	args[1] = cli;
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	execv(node, args);
	note_err(errno, "cannot run %s", node);
	return errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
}

static int run(int argc, char **argv, int first)
{
	static struct durun d;
	if (parse_run_args(argc, argv, first, &d.opt) < 0)
		return EXIT_USAGE;
	/* --env, --cwd, --user, --limit: before the command is looked up (PATH, ./cmd) */
	if (launch_prepare(&d) < 0)
		return EXIT_USAGE;
	/* Before anything is registered: the shell's answers for a bad CMD. */
	int rc = command_check(d.opt.cmd[0]);
	if (rc)
		return rc;
	const char *group = d.opt.group;
	if (!group) {
		group = strrchr(d.opt.cmd[0], '/');
		group = group ? group + 1 : d.opt.cmd[0];
	}
	if ((size_t)snprintf(d.group, sizeof d.group, "%s", group) >= sizeof d.group) {
		note("group name is longer than %zu bytes; pick a shorter --group", sizeof d.group - 1);
		return EXIT_USAGE;
	}
	if (!getcwd(d.cwd, sizeof d.cwd)) {
		note_err(errno, "cannot get the current directory");
		return 1;
	}
	if (find_root(d.root, sizeof d.root) < 0 || home_prepare(&d) < 0)
		return 1;
	spawn_pick_lib(&d);
	d.tty = isatty(STDIN_FILENO) || isatty(STDOUT_FILENO);
	if (d.opt.detach)
		return detach_run(&d);
	runner_main(&d, -1);
}

int main(int argc, char **argv)
{
	signals_save();
	if (argc < 2)
		return exec_cli(argc, argv);
	if (strcmp(argv[1], "run") == 0)
		return run(argc, argv, 2);
	if (strcmp(argv[1], "--") == 0 || is_run_option(argv[1]))
		return run(argc, argv, 1);
	if (strcmp(argv[1], "restore") == 0 || strcmp(argv[1], "ps") == 0) {
		int rc = strcmp(argv[1], "ps") == 0 ? ps_json_fast(argc, argv) : restore_fast(argc, argv);
		if (rc >= 0)
			return rc;
	}
	return exec_cli(argc, argv);
}
