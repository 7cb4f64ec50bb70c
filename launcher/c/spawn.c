/* Starting the program's root: the PATH check done before anything is
 * registered, and the fork + exec of each instance with the DURUN_* variables
 * and LD_PRELOAD the interceptor needs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "durun_env.h"
#include "launcher.h"

static sigset_t saved_mask;
static struct sigaction saved_pipe;

void signals_save(void)
{
	/* Cannot fail with valid arguments. */
	sigprocmask(SIG_SETMASK, NULL, &saved_mask);
	sigaction(SIGPIPE, NULL, &saved_pipe);
}

void signals_restore(void)
{
	/* The runner blocks signals for its signalfd and ignores SIGPIPE; the
	 * program must start as if durun were not there (an ignored SIGHUP
	 * from nohup stays ignored, like any exec). */
	sigaction(SIGPIPE, &saved_pipe, NULL);
	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
}

/* 0: executable regular file; -EACCES: exists but cannot run; -ENOENT. */
static int check_file(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno == EACCES ? -EACCES : -ENOENT;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (access(path, X_OK) < 0)
		return -EACCES;
	return 0;
}

int path_lookup(const char *name, char *out, size_t n)
{
	const char *path = getenv("PATH");
	int seen_eacces = 0;
	if (!path)
		path = "/bin:/usr/bin"; /* execvp's default */
	for (const char *p = path;; ) {
		const char *end = strchrnul(p, ':');
		size_t dl = (size_t)(end - p);
		int w = dl ? snprintf(out, n, "%.*s/%s", (int)dl, p, name) : snprintf(out, n, "%s", name);
		if (w > 0 && (size_t)w < n) {
			int rc = check_file(out);
			if (rc == 0)
				return 0;
			if (rc == -EACCES || rc == -EISDIR)
				seen_eacces = 1;
		}
		if (!*end)
			break;
		p = end + 1;
	}
	/* Like execvp: a non-executable match only matters if nothing runs. */
	return seen_eacces ? -EACCES : -ENOENT;
}

int command_check(const char *cmd)
{
	char found[PATH_MAX];
	int rc;
	if (strchr(cmd, '/')) {
		rc = check_file(cmd);
		if (rc == 0)
			return 0;
		note("%s: %s", cmd, strerror(-rc));
		return rc == -ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
	}
	rc = path_lookup(cmd, found, sizeof found);
	if (rc == 0)
		return 0;
	if (rc == -ENOENT) {
		note("%s: command not found", cmd);
		return EXIT_NOTFOUND;
	}
	note("%s: %s", cmd, strerror(-rc));
	return EXIT_NOEXEC;
}

void spawn_pick_lib(struct durun *d)
{
	const char *env = getenv(DURUN_ENV_LIB);
	int w = env && *env ? snprintf(d->lib, sizeof d->lib, "%s", env)
			    : snprintf(d->lib, sizeof d->lib, "%s/build/libdurun.so", d->root);
	if (w < 0 || (size_t)w >= sizeof d->lib) {
		note("the path of libdurun.so is too long; the program runs without interception");
		d->lib[0] = '\0';
	} else if (access(d->lib, R_OK) < 0) {
		/* Without it the program still runs and is restarted; only the
		 * per-process view is missing. Better than ld.so's warning on
		 * every exec. */
		note_err(errno, "%s is not there, so the program runs without interception (build it with make)", d->lib);
		d->lib[0] = '\0';
	}
}

/* Prepends lib to LD_PRELOAD unless it is already there (durun in durun). */
static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	if (!old || !*old)
		return setenv("LD_PRELOAD", lib, 1);
	if (strstr(old, lib))
		return 0;
	size_t n = strlen(lib) + strlen(old) + 2;
	char *v = malloc(n);
	if (!v)
		return -1;
	snprintf(v, n, "%s:%s", lib, old);
	return setenv("LD_PRELOAD", v, 1);
}

static int set_num(const char *name, long long v)
{
	char s[24];
	snprintf(s, sizeof s, "%lld", v);
	return setenv(name, s, 1);
}

/* Set once the first instance has been started: only that one is restored
 * from a checkpoint; a later restart runs the command afresh. */
static int restore_spent;

/* The first instance of `run --restore`: durun-restore in place of CMD. It
 * must not load the interceptor (the restored process brings its own, which
 * calls home with hello reason "restore"), so no LD_PRELOAD or DURUN_*. */
static void exec_restore(const struct durun *d)
{
	char tool[PATH_MAX + 32];
	snprintf(tool, sizeof tool, "%s/build/durun-restore", d->root);
	unsetenv("LD_PRELOAD");
	unsetenv(DURUN_ENV_SOCK);
	if (d->opt.restore_tree) {
		/* IMAGE:IMAGE... -> durun-restore --tree IMAGE IMAGE ... */
		size_t n = 5;
		for (const char *p = d->opt.restore_tree; *p; p++)
			n += *p == ':';
		char *list = strdup(d->opt.restore_tree);
		char **argv = calloc(n + 1, sizeof *argv);
		if (!list || !argv)
			return;
		size_t i = 0;
		argv[i++] = tool;
		if (d->opt.net_unlock) {
			argv[i++] = "--net-unlock";
			argv[i++] = (char *)d->opt.net_unlock;
		}
		argv[i++] = "--tree";
		for (char *save = NULL, *tok = strtok_r(list, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
			argv[i++] = tok;
		argv[i] = NULL;
		execv(tool, argv);
		return;
	}
	if (d->opt.net_unlock)
		execl(tool, tool, "--net-unlock", d->opt.net_unlock, d->opt.restore, (char *)NULL);
	else
		execl(tool, tool, d->opt.restore, (char *)NULL);
}

/* Runs in the child; reports errno over fd and exits if anything fails. */
static void child(const struct durun *d, int out_fd, int err_fd, int fail_fd)
{
	int err;
	signals_restore();
	if (out_fd >= 0 && (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0))
		goto fail;
	/* A detached program starts clean, as a daemon would: nothing but 0-2
	 * from whatever shell ran `durun --detach` (an inherited pipe would also
	 * tie it to a process outside its group). Close-on-exec rather than
	 * close, so the exec-status pipe still reports a failed exec. */
	if (out_fd >= 0 && close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		goto fail;
	if (launch_child() < 0) /* --limit: rlimits and the cgroup */
		goto fail;
	if (!restore_spent && (d->opt.restore || d->opt.restore_tree)) {
		exec_restore(d);
		goto fail;
	}
	if ((d->lib[0] && (set_preload(d->lib) < 0 || setenv(DURUN_ENV_LIB, d->lib, 1) < 0)) ||
	    setenv(DURUN_ENV_SOCK, d->sock, 1) < 0 || setenv(DURUN_ENV_HOME, d->home, 1) < 0 ||
	    setenv(DURUN_ENV_GROUP, d->group, 1) < 0 || set_num(DURUN_ENV_PROGRAM, d->program) < 0 ||
	    set_num(DURUN_ENV_INSTANCE, d->instance) < 0 || setenv(DURUN_ENV_EXEC_COUNT, "0", 1) < 0)
		goto fail;
	execvp(d->opt.cmd[0], d->opt.cmd);
fail:
	err = errno;
	if (write(fail_fd, &err, sizeof err) < 0) {
		/* the parent then sees only the exit code */
	}
	_exit(err == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

pid_t spawn_instance(const struct durun *d, int out_fd, int err_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		note_err(errno, "cannot create the exec-status pipe for %s", d->opt.cmd[0]);
		return -1;
	}
	launch_own_cgroup();
	pid_t pid = fork();
	if (pid < 0) {
		note_err(errno, "cannot fork to start %s", d->opt.cmd[0]);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		child(d, out_fd, err_fd, p[1]);
	}
	close(p[1]);
	restore_spent = 1;
	/* EOF means the exec happened (the pipe was close-on-exec). */
	int err = 0;
	if (read_report(p[0], &err, sizeof err) == (ssize_t)sizeof err)
		note("%s: %s", d->opt.cmd[0], strerror(err));
	/* The child exits 126/127 by itself and is reaped and reported as any
	 * other end, so the supervisor sees it. */
	return pid;
}
