/* Run options: `durun [run] [options] [--] CMD [ARGS...]`. Pure parsing, so
 * a mistake is reported before anything is registered or started. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "launcher.h"

static const char *const with_value[] = {
	"--group", "--restart", "--backoff", "--backoff-max", "--max-restarts", "--restart-window",
	"--restore", "--restore-tree", "--net-unlock", "--log-of", "--env", "--env-file", "--cwd", "--user", "--limit", NULL,
};

/* Splits "--name=value" so both spellings are accepted. */
static int opt_name_is(const char *arg, const char *name)
{
	size_t n = strlen(name);
	return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

int is_run_option(const char *arg)
{
	if (strcmp(arg, "-d") == 0 || strcmp(arg, "--detach") == 0)
		return 1;
	for (int i = 0; with_value[i]; i++)
		if (opt_name_is(arg, with_value[i]))
			return 1;
	return 0;
}

static int parse_count(const char *opt, const char *val, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(val, &end, 10);
	if (errno || end == val || *end || v < 0) {
		note("%s needs a whole number >= 0, not \"%s\"", opt, val);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_duration(const char *opt, const char *val, long long *out)
{
	if (parse_duration_ms(val, out) == 0)
		return 0;
	note("%s takes a duration, not \"%s\"; write a number and a unit, e.g. 500ms, 1.5s, 2m, 1h or 1d (a bare number is milliseconds)", opt, val);
	return -1;
}

int parse_run_args(int argc, char **argv, int first, struct run_opts *o)
{
	int i = first;
	o->group = NULL;
	o->detach = 0;
	o->restart = "on-crash";
	o->backoff_ms = o->backoff_max_ms = o->max_restarts = o->restart_window_ms = -1;
	o->cmd = NULL;
	o->restore = o->restore_tree = o->net_unlock = NULL;
	o->log_of = -1;
	o->nlaunch = 0;

	while (i < argc) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break; /* the command itself */
		if (strcmp(a, "-d") == 0 || strcmp(a, "--detach") == 0) {
			o->detach = 1;
			i++;
			continue;
		}
		const char *name = NULL;
		for (int k = 0; with_value[k]; k++)
			if (opt_name_is(a, with_value[k]))
				name = with_value[k];
		if (!name) {
			note("unknown option %s; usage: durun [run] [--group NAME] [--detach] [--restart POLICY] -- CMD [ARGS...]", a);
			return -1;
		}
		const char *val = strchr(a, '=');
		if (val) {
			val++;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			note("%s needs a value; usage: durun [run] [options] -- CMD [ARGS...]", name);
			return -1;
		}
		i++;
		if (!strcmp(name, "--env") || !strcmp(name, "--env-file") || !strcmp(name, "--cwd") || !strcmp(name, "--user") || !strcmp(name, "--limit")) {
			/* applied in order by launch.c: a later --env wins over an earlier file */
			if (o->nlaunch >= LAUNCH_MAX) {
				note("more than %d --env/--env-file/--cwd/--user/--limit options; use an --env-file", LAUNCH_MAX);
				return -1;
			}
			o->launch[o->nlaunch].name = name;
			o->launch[o->nlaunch++].value = val;
		} else if (strcmp(name, "--group") == 0) {
			if (!*val || strchr(val, '/')) {
				note("--group needs a name without '/', not \"%s\"", val);
				return -1;
			}
			o->group = val;
		} else if (strcmp(name, "--restart") == 0) {
			if (strcmp(val, "on-crash") && strcmp(val, "on-failure") && strcmp(val, "always") && strcmp(val, "never")) {
				note("--restart needs one of on-crash, on-failure, always, never, not \"%s\"", val);
				return -1;
			}
			o->restart = val;
		} else if (strcmp(name, "--restore") == 0) {
			o->restore = val; /* set by the supervisor's restore, not documented for operators */
		} else if (strcmp(name, "--restore-tree") == 0) {
			o->restore_tree = val;
		} else if (strcmp(name, "--net-unlock") == 0) {
			o->net_unlock = val; /* set by durun migrate: passed on to durun-restore */
		} else if (strcmp(name, "--log-of") == 0) {
			if (parse_count(name, val, &o->log_of) < 0)
				return -1;
		} else if (strcmp(name, "--backoff") == 0) {
			if (parse_duration(name, val, &o->backoff_ms) < 0)
				return -1;
		} else if (strcmp(name, "--backoff-max") == 0) {
			if (parse_duration(name, val, &o->backoff_max_ms) < 0)
				return -1;
		} else if (strcmp(name, "--max-restarts") == 0) {
			if (parse_count(name, val, &o->max_restarts) < 0)
				return -1;
		} else if (parse_duration(name, val, &o->restart_window_ms) < 0) {
			return -1;
		}
	}
	if (i >= argc || argv[i][0] == '\0') {
		note("no command given; usage: durun [run] [options] -- CMD [ARGS...]");
		return -1;
	}
	o->cmd = argv + i;
	return 0;
}
