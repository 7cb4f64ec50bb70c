/* The runner: parent and subreaper of the program, it reports every end to
 * the supervisor and restarts or finishes as the supervisor decides. One
 * poll loop: signals (signalfd), the supervisor link, the log pipes (when
 * detached) and timers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "durun_env.h"
#include "launcher.h"

#define DECISION_TIMEOUT_MS 10000 /* no answer to instance-end: exit with the root's status */

enum phase {
	RUNNING,        /* the instance's root or some descendant is alive */
	AWAIT_DECISION, /* instance-end sent, waiting for restart or finish */
	RESTART_WAIT,   /* restart accepted, waiting out its delay */
};

struct runner {
	struct durun *d;
	struct link *link;
	struct logs *logs;      /* detached only */
	int sfd;
	enum phase phase;
	int root_done, root_status;
	pid_t last_root;        /* for log lines written between instances */
	long long decision_at, restart_at, kill_at;
	long long next_instance;
	int stop_signal;        /* the operator asked durun to stop */
	int swept;              /* what the stopped root left behind got the stop signal */
};

/* After the operator's stop signal and the root's end, what is left of the
 * tree gets the same signal and, this long after, SIGKILL (as tini does):
 * a foreground durun must not wait for orphans that will not end. */
#define STOP_SWEEP_MS 1000

static char msg_mem[DURUN_MSG_MAX];

static void begin(struct wbuf *b, const char *op)
{
	wb_init(b, msg_mem, sizeof msg_mem);
	wb_begin(b, op);
}

static void put_status(struct wbuf *b, int wstatus)
{
	if (WIFSIGNALED(wstatus))
		wb_int(b, "signal", WTERMSIG(wstatus));
	else
		wb_int(b, "status", WEXITSTATUS(wstatus));
}

static void __attribute__((noreturn)) finish(struct runner *r, int code)
{
	if (r->logs)
		logs_drain(r->logs, r->last_root);
	exit(code);
}

static int start_instance(struct runner *r)
{
	struct wbuf b;
	int out = r->logs ? logs_out_fd(r->logs) : -1;
	int err = r->logs ? logs_err_fd(r->logs) : -1;
	pid_t pid = spawn_instance(r->d, out, err);
	if (pid < 0)
		return -1;
	r->d->root_pid = r->last_root = pid;
	r->root_done = 0;
	r->phase = RUNNING;
	r->kill_at = 0;
	r->swept = 0;
	begin(&b, "started");
	wb_int(&b, "pid", pid);
	wb_int(&b, "instance", r->d->instance);
	link_send(r->link, &b);
	return 0;
}

/* Ends the instance once its root is gone and nothing of its tree is left
 * (a daemonizing root exits at once while its daemon carries on). */
static void check_instance_end(struct runner *r)
{
	struct wbuf b;
	if (r->phase != RUNNING || !r->root_done || tree_any())
		return;
	r->phase = AWAIT_DECISION;
	r->kill_at = 0;
	r->decision_at = now_ms() + DECISION_TIMEOUT_MS;
	begin(&b, "instance-end");
	wb_int(&b, "instance", r->d->instance);
	put_status(&b, r->root_status);
	link_send(r->link, &b);
}

/* Once stopped by the operator and the root has ended: signal the rest, SIGKILL it after STOP_SWEEP_MS. */
static void stop_sweep(struct runner *r)
{
	if (!r->stop_signal || r->phase != RUNNING || !r->root_done || r->swept || !tree_any())
		return;
	r->swept = 1;
	tree_signal(r->stop_signal);
	r->kill_at = now_ms() + STOP_SWEEP_MS;
}

static void reap(struct runner *r)
{
	struct wbuf b;
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (tree_forget_excluded(pid))
			continue; /* a supervisor we started: not the program's */
		int is_root = pid == r->d->root_pid && !r->root_done;
		if (is_root) {
			r->root_done = 1;
			r->root_status = st;
			r->d->root_pid = 0;
		}
		begin(&b, "child-exit");
		wb_int(&b, "pid", pid);
		wb_bool(&b, "root", is_root);
		put_status(&b, st);
		wb_int(&b, "instance", r->d->instance);
		link_send(r->link, &b);
	}
	if (pid < 0 && errno != ECHILD)
		note_err(errno, "waitpid");
	stop_sweep(r);
	check_instance_end(r);
}

/* SIGINT/SIGTERM/SIGHUP/SIGQUIT delivered to durun itself. */
static void on_stop_signal(struct runner *r, const struct signalfd_siginfo *si)
{
	struct wbuf b;
	int sig = (int)si->ssi_signo;
	r->stop_signal = sig;
	begin(&b, "stopping");
	wb_int(&b, "signal", sig);
	link_send(r->link, &b);
	if (r->phase == RESTART_WAIT)
		finish(r, EXIT_SIGBASE + sig); /* nothing runs: cancel the restart */
	if (r->phase != RUNNING)
		return;
	/* From the terminal (SI_KERNEL) the program's process group got it
	 * too; forwarding would deliver it twice. */
	if (si->ssi_code == SI_KERNEL) {
		stop_sweep(r); /* the root already gone: its orphans are not in the terminal's group */
		return;
	}
	if (!r->root_done) {
		if (kill(r->d->root_pid, sig) < 0 && errno != ESRCH)
			note_err(errno, "cannot forward signal %d to pid %d", sig, (int)r->d->root_pid);
	} else {
		stop_sweep(r); /* the root is gone, its daemons are what is left */
	}
}

static void on_signals(struct runner *r)
{
	struct signalfd_siginfo si[8];
	ssize_t n = read(r->sfd, si, sizeof si);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			note_err(errno, "cannot read signals");
		return;
	}
	for (size_t i = 0; i < (size_t)n / sizeof si[0]; i++) {
		if (si[i].ssi_signo == SIGCHLD)
			reap(r);
		else
			on_stop_signal(r, &si[i]);
	}
}

static void on_supervisor(void *ctx, const char *line)
{
	struct runner *r = ctx;
	char op[32] = "";
	long long v;
	json_get_str(line, "op", op, sizeof op);
	if (strcmp(op, "kill") == 0) {
		long long sig = SIGTERM, grace = 0;
		json_get_int(line, "signal", &sig);
		json_get_int(line, "graceMs", &grace);
		if (sig <= 0 || sig >= NSIG) {
			note("supervisor asked for signal %lld, which does not exist; ignored", sig);
			return;
		}
		if (tree_signal((int)sig) > 0 && sig != SIGKILL && r->phase == RUNNING)
			r->kill_at = now_ms() + (grace > 0 ? grace : 0);
	} else if (strcmp(op, "signal") == 0) {
		/* `durun signal GROUP SIG`: delivered, nothing more (no grace, no SIGKILL after). */
		long long sig = 0;
		int all = 0;
		json_get_int(line, "signal", &sig);
		json_get_bool(line, "all", &all);
		if (sig <= 0 || sig >= NSIG || r->phase != RUNNING) {
			note("supervisor asked to deliver signal %lld while %s; ignored", sig, r->phase == RUNNING ? "it does not exist" : "no instance runs");
			return;
		}
		if (all || r->root_done)
			tree_signal((int)sig);
		else if (kill(r->d->root_pid, (int)sig) < 0 && errno != ESRCH)
			note_err(errno, "cannot deliver signal %lld to pid %d", sig, (int)r->d->root_pid);
	} else if (strcmp(op, "restart") == 0) {
		/* In RESTART_WAIT: the operator asked for the restart now (a new delay). */
		if (r->phase != AWAIT_DECISION && r->phase != RESTART_WAIT) {
			note("supervisor sent restart while no instance had ended; ignored");
			return;
		}
		if (r->stop_signal) /* the operator's stop wins over a crossing restart */
			finish(r, status_code(r->root_status));
		long long delay = 0;
		json_get_int(line, "delayMs", &delay);
		r->next_instance = json_get_int(line, "instance", &v) == 0 ? v : r->d->instance + 1;
		r->phase = RESTART_WAIT;
		r->restart_at = now_ms() + (delay > 0 ? delay : 0);
	} else if (strcmp(op, "finish") == 0) {
		if (r->phase == RUNNING) {
			note("supervisor sent finish while the program runs; ignored");
			return;
		}
		long long code = status_code(r->root_status);
		char reason[1024];
		json_get_int(line, "code", &code);
		/* e.g. "group web failed: ...": the operator should know why it stopped. */
		if (json_get_str(line, "reason", reason, sizeof reason) == 0 && reason[0])
			note("%s", reason);
		finish(r, (int)(code & 255));
	} else if (strcmp(op, "error") == 0) {
		char msg[1024] = "";
		json_get_str(line, "message", msg, sizeof msg);
		note("supervisor: %s", msg);
	}
	/* Other ops are for newer runners: ignore them, as the protocol says. */
}

static void on_timers(struct runner *r, long long now)
{
	link_tick(r->link, now);
	if (r->logs)
		logs_tick(r->logs, now, r->last_root);
	if (r->kill_at && now >= r->kill_at) {
		r->kill_at = 0;
		tree_signal(SIGKILL);
	}
	if (r->phase == AWAIT_DECISION && now >= r->decision_at) {
		note("no supervisor answered for %d s after the program ended; exiting with its status",
		     DECISION_TIMEOUT_MS / 1000);
		finish(r, status_code(r->root_status));
	}
	if (r->phase == RESTART_WAIT && now >= r->restart_at) {
		/* Nothing of the last instance may survive into the next. */
		for (int round = 0; round < 100 && tree_signal(SIGKILL) > 0; round++) {
			struct timespec ts = { 0, 1000 * 1000 };
			nanosleep(&ts, NULL);
			reap(r);
		}
		r->d->instance = r->next_instance;
		if (start_instance(r) < 0) {
			note("cannot start instance %lld of %s; exiting", r->d->instance, r->d->group);
			finish(r, 1);
		}
	}
}

static long long earliest(long long a, long long b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

static int poll_timeout(const struct runner *r)
{
	long long at = link_deadline(r->link);
	if (r->logs)
		at = earliest(at, logs_deadline(r->logs));
	at = earliest(at, r->kill_at);
	if (r->phase == AWAIT_DECISION)
		at = earliest(at, r->decision_at);
	if (r->phase == RESTART_WAIT)
		at = earliest(at, r->restart_at);
	if (at <= 0)
		return -1;
	long long left = at - now_ms();
	return left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

static void __attribute__((noreturn)) loop(struct runner *r)
{
	for (;;) {
		struct pollfd pfd[4];
		int n = 0, lfd = link_fd(r->link);
		pfd[n++] = (struct pollfd){ r->sfd, POLLIN, 0 };
		if (lfd >= 0)
			pfd[n++] = (struct pollfd){ lfd, POLLIN, 0 };
		if (r->logs) {
			int fds[2];
			logs_poll_fds(r->logs, fds);
			pfd[n++] = (struct pollfd){ fds[0], POLLIN, 0 };
			pfd[n++] = (struct pollfd){ fds[1], POLLIN, 0 };
		}
		if (poll(pfd, (nfds_t)n, poll_timeout(r)) < 0 && errno != EINTR) {
			note_err(errno, "poll");
			continue;
		}
		for (int i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (pfd[i].fd == r->sfd)
				on_signals(r);
			else if (pfd[i].fd == lfd)
				link_read(r->link, on_supervisor, r);
			else
				logs_read(r->logs, pfd[i].fd, r->last_root);
		}
		on_timers(r, now_ms());
	}
}

static int setup_signals(struct runner *r)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	/* Blocked before the first fork, so no SIGCHLD can be missed. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		note_err(errno, "cannot block signals");
		return -1;
	}
	r->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r->sfd < 0) {
		note_err(errno, "cannot create a signalfd");
		return -1;
	}
	/* A closed stderr or a gone parent must not kill the runner. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void runner_main(struct durun *d, int report_fd)
{
	static struct runner run;
	struct runner *r = &run;
	r->d = d;
	if (setup_signals(r) < 0)
		exit(1);
	r->link = link_open(d);
	if (!r->link)
		exit(1);
	/* Orphans of the program (double-forked daemons) become our children,
	 * so we can reap them, wait for them and kill them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		note_err(errno, "cannot become a child subreaper");
		exit(1);
	}
	if (d->opt.detach) {
		if (!d->log_path[0] &&
		    (size_t)snprintf(d->log_path, sizeof d->log_path, "%s/logs/%s.%lld.log",
				     d->home, d->group, d->program) >= sizeof d->log_path) {
			note("log path under %s is too long", d->home);
			exit(1);
		}
		r->logs = logs_open(d->log_path);
		if (!r->logs)
			exit(1);
	}
	if (start_instance(r) < 0)
		exit(1);
	if (report_fd >= 0) {
		char line[64];
		int n = snprintf(line, sizeof line, "=started %lld %d\n", d->program, (int)d->root_pid);
		if (write(report_fd, line, (size_t)n) < 0) {
			/* the waiting durun is gone; the program runs on regardless */
		}
		close(report_fd);
		/* stderr was the report channel too: the waiting durun is gone now. */
		int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (nul < 0 || dup2(nul, STDERR_FILENO) < 0)
			note_err(errno, "cannot point stderr at /dev/null");
		if (nul >= 0)
			close(nul);
	}
	loop(r);
}
