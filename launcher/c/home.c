/* $DURUN_HOME: where it is, making sure it is ours and private, and starting
 * a supervisor there when none listens. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "durun_env.h"
#include "launcher.h"

static int resolve(char *out, size_t n)
{
	const char *v = getenv(DURUN_ENV_HOME);
	int w;
	if (v && *v) {
		w = snprintf(out, n, "%s", v);
	} else if ((v = getenv("XDG_STATE_HOME")) && v[0] == '/') {
		w = snprintf(out, n, "%s/durun", v);
	} else {
		v = getenv("HOME");
		if (!v || !*v) {
			struct passwd *pw = getpwuid(geteuid());
			if (!pw) {
				note("cannot find your home directory; set DURUN_HOME");
				return -1;
			}
			v = pw->pw_dir;
		}
		w = snprintf(out, n, "%s/.local/state/durun", v);
	}
	if (w < 0 || (size_t)w >= n) {
		note("DURUN_HOME path is too long");
		return -1;
	}
	return 0;
}

/* mkdir -p; every directory we create is 0700. */
static int mkdirs(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST) {
			note_err(errno, "cannot create %s (for DURUN_HOME %s)", buf, path);
			return -1;
		}
		*p = c;
		if (!c)
			return 0;
	}
}

int home_prepare(struct durun *d)
{
	struct stat st;
	if (resolve(d->home, sizeof d->home) < 0 || mkdirs(d->home) < 0)
		return -1;
	if (stat(d->home, &st) < 0) {
		note_err(errno, "cannot stat DURUN_HOME %s", d->home);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		note("DURUN_HOME %s is not a directory; remove it or set DURUN_HOME elsewhere", d->home);
		return -1;
	}
	/* Another user's socket would let them run commands as us. */
	if (st.st_uid != geteuid()) {
		note("DURUN_HOME %s belongs to uid %ld, not to you (uid %ld); set DURUN_HOME to a directory of yours",
		     d->home, (long)st.st_uid, (long)geteuid());
		return -1;
	}
	if (st.st_mode & 077) {
		note("DURUN_HOME %s is open to group or others (mode %03o); run chmod 700 %s",
		     d->home, (unsigned)(st.st_mode & 0777), d->home);
		return -1;
	}
	if ((size_t)snprintf(d->sock, sizeof d->sock, "%s/%s", d->home, DURUN_SOCK_NAME) >= 108) {
		note("socket path %s/%s is longer than a Unix socket allows (107 bytes); use a shorter DURUN_HOME",
		     d->home, DURUN_SOCK_NAME);
		return -1;
	}
	return 0;
}

/* The supervisor process: own session, no terminal, no inherited fds, no
 * interceptor, default signals. Only returns on failure. */
static void exec_supervisor(const struct durun *d, const char *node, const char *main_js)
{
	sigset_t none;
	sigemptyset(&none);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL); /* fails harmlessly for KILL, STOP and RT internals */
	sigprocmask(SIG_SETMASK, &none, NULL);
	int nul = open("/dev/null", O_RDWR);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
		_exit(EXIT_NOEXEC);
	if (chdir("/") < 0)
		_exit(EXIT_NOEXEC);
	close_range(3, ~0U, 0);
	const char *drop[] = { "LD_PRELOAD", DURUN_ENV_SOCK, DURUN_ENV_GROUP, DURUN_ENV_PROGRAM,
			       DURUN_ENV_INSTANCE, DURUN_ENV_EXEC_COUNT, NULL };
	for (int i = 0; drop[i]; i++)
		unsetenv(drop[i]);
	if (setenv(DURUN_ENV_HOME, d->home, 1) < 0)
		_exit(EXIT_NOEXEC);
	/* The V8 flags of SUPERVISOR_NODE_FLAGS in supervisor/src/protocol/client.ts
	 * (why: there); test/supervisor-start.test.ts checks both lists agree. */
	char *argv[] = { (char *)node, (char *)"--max-semi-space-size=1", (char *)"--interrupt-budget=1000000",
			 (char *)main_js, NULL };
	execv(node, argv);
	_exit(errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

int supervisor_start(const struct durun *d, pid_t *pid)
{
	char node[PATH_MAX], main_js[PATH_MAX + 40];
	if (find_node(node, sizeof node, "start the supervisor") < 0)
		return -1;
	snprintf(main_js, sizeof main_js, "%s/dist/supervisor/src/main.js", d->root);
	if (access(main_js, R_OK) < 0) {
		note_err(errno, "cannot start the supervisor: %s (run npm run build)", main_js);
		return -1;
	}
	/* The middle process tells us the supervisor's pid: as a subreaper we
	 * become its parent and must keep it out of the program's tree. */
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		note_err(errno, "cannot start the supervisor: pipe");
		return -1;
	}
	pid_t mid = fork();
	if (mid < 0) {
		note_err(errno, "cannot start the supervisor: fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (mid == 0) {
		close(p[0]);
		if (setsid() < 0)
			_exit(1);
		pid_t g = fork();
		if (g < 0)
			_exit(1);
		if (g == 0)
			exec_supervisor(d, node, main_js);
		_exit(write(p[1], &g, sizeof g) == (ssize_t)sizeof g ? 0 : 1);
	}
	close(p[1]);
	pid_t g = 0;
	ssize_t n = read_report(p[0], &g, sizeof g);
	int st;
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof g) {
		note("cannot start the supervisor: the starter process failed; see %s/supervisor.log", d->home);
		return -1;
	}
	*pid = g;
	return 0;
}

int supervisor_connect(const struct durun *d)
{
	long long deadline = 0;
	for (;;) {
		int fd = wire_connect_timeout(d->sock, 0, LINK_SEND_TIMEOUT_MS);
		if (fd >= 0)
			return fd;
		if (fd != -ENOENT && fd != -ECONNREFUSED && fd != -EAGAIN) {
			note_err(-fd, "cannot connect to the supervisor at %s", d->sock);
			return -1;
		}
		if (!deadline) {
			pid_t pid;
			if (supervisor_start(d, &pid) < 0)
				return -1;
			deadline = now_ms() + 5000;
		} else if (now_ms() > deadline) {
			note("the supervisor did not come up within 5 s; look at %s/supervisor.log", d->home);
			return -1;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}
