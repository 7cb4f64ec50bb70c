/* The runner's one connection to the supervisor. The program must outlive a
 * supervisor crash, so a broken link is never fatal: messages are queued,
 * the runner reconnects with backoff (starting a supervisor if none listens),
 * says hello with readopt:true and replays the queue once accepted. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "durun_env.h"
#include "launcher.h"

#define BACKOFF_MIN_MS   50
#define BACKOFF_MAX_MS   1000
#define START_EVERY_MS   5000   /* at most one supervisor start per this */
#define HELLO_TIMEOUT_MS 10000
/* Connections closed before the hello was answered that we try again. */
#define HELLO_TRIES 3
#define QUEUE_MAX        10000

struct qmsg {
	struct qmsg *next;
	size_t len;
	char data[];
};

struct link {
	struct durun *d;
	int fd;                 /* -1 while down */
	int up;                 /* hello answered with accepted */
	char in[DURUN_MSG_MAX];
	size_t inlen;
	struct qmsg *head, *tail;
	size_t queued, dropped;
	long long next_try;
	int backoff;
	long long last_start;
};

static char hello_mem[DURUN_MSG_MAX];

static void build_hello(struct wbuf *b, const struct durun *d, int readopt)
{
	wb_init(b, hello_mem, sizeof hello_mem);
	wb_begin(b, "hello");
	wb_str(b, "role", "runner");
	wb_int(b, "pid", getpid());
	wb_str(b, "group", d->group);
	wb_str(b, "cwd", d->cwd);
	wb_str(b, "restart", d->opt.restart);
	wb_bool(b, "detached", d->opt.detach);
	wb_bool(b, "tty", d->tty);
	if (d->opt.backoff_ms >= 0)
		wb_int(b, "backoffMs", d->opt.backoff_ms);
	if (d->opt.backoff_max_ms >= 0)
		wb_int(b, "backoffMaxMs", d->opt.backoff_max_ms);
	if (d->opt.max_restarts >= 0)
		wb_int(b, "maxRestarts", d->opt.max_restarts);
	if (d->opt.restart_window_ms >= 0)
		wb_int(b, "restartWindowMs", d->opt.restart_window_ms);
	if (d->opt.log_of >= 0 && !readopt)
		wb_int(b, "logOf", d->opt.log_of);
	if (readopt) {
		wb_bool(b, "readopt", 1);
		wb_int(b, "program", d->program);
		wb_int(b, "instance", d->instance);
		wb_int(b, "rootPid", d->root_pid);
	}
	if (launch_args()[0])
		wb_strv(b, "runArgs", launch_args(), 0);
	/* argv last: it is the only field that may need truncating. */
	wb_strv(b, "argv", d->opt.cmd, 16);
}

/* Splits one complete line off the input buffer into line (NUL-terminated).
 * Returns 1 if there was one. */
static int next_line(struct link *l, char *line)
{
	char *nl = memchr(l->in, '\n', l->inlen);
	if (!nl)
		return 0;
	size_t n = (size_t)(nl - l->in);
	memcpy(line, l->in, n);
	line[n] = '\0';
	l->inlen -= n + 1;
	memmove(l->in, nl + 1, l->inlen);
	return 1;
}

/* Reads what is available into the buffer. 0, or -1 when the link broke. */
static int fill(struct link *l)
{
	if (l->inlen == sizeof l->in) {
		note("supervisor sent a line longer than %d bytes; reconnecting", DURUN_MSG_MAX);
		return -1;
	}
	ssize_t n;
	do
		n = read(l->fd, l->in + l->inlen, sizeof l->in - l->inlen);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	l->inlen += (size_t)n;
	return 0;
}

static void handle_accepted(struct durun *d, const char *line)
{
	long long v;
	if (json_get_int(line, "program", &v) == 0)
		d->program = v;
	if (json_get_int(line, "instance", &v) == 0)
		d->instance = v;
	json_get_str(line, "logPath", d->log_path, sizeof d->log_path);
}

struct link *link_open(struct durun *d)
{
	static char line[DURUN_MSG_MAX];
	struct wbuf b;
	struct link *l = calloc(1, sizeof *l);
	if (!l) {
		note_err(ENOMEM, "cannot set up the supervisor link");
		return NULL;
	}
	l->d = d;
	/* A supervisor killed an instant ago can still accept (its last thread
	 * holds the socket while it exits) and then close without a word: that
	 * is a dead supervisor like a refused connect, so start one and try
	 * again, a few times. */
	int tries = 0;
retry:
	l->fd = supervisor_connect(d);
	if (l->fd < 0)
		goto fail;
	build_hello(&b, d, 0);
	if (wb_end(&b) < 0) {
		note("the hello message does not fit in %d bytes", DURUN_MSG_MAX);
		goto fail;
	}
	int rc = wire_send(l->fd, &b);
	if (rc < 0) {
		note_err(-rc, "cannot send hello to the supervisor at %s", d->sock);
		goto fail;
	}
	long long deadline = now_ms() + HELLO_TIMEOUT_MS;
	while (!next_line(l, line)) {
		struct pollfd pfd = { l->fd, POLLIN, 0 };
		long long left = deadline - now_ms();
		if (left <= 0) {
			note("the supervisor did not answer within %d s; look at %s/supervisor.log",
			     HELLO_TIMEOUT_MS / 1000, d->home);
			goto fail;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
			note_err(errno, "cannot wait for the supervisor's answer");
			goto fail;
		}
		if (pfd.revents && fill(l) < 0) {
			if (++tries < HELLO_TRIES) {
				close(l->fd);
				l->fd = -1;
				l->inlen = 0;
				struct timespec ts = { 0, 100 * 1000 * 1000 };
				nanosleep(&ts, NULL);
				goto retry;
			}
			note("the supervisor closed the connection before answering; look at %s/supervisor.log", d->home);
			goto fail;
		}
	}
	char op[32] = "", msg[1024];
	json_get_str(line, "op", op, sizeof op);
	if (strcmp(op, "accepted") != 0) {
		if (json_get_str(line, "message", msg, sizeof msg) < 0)
			snprintf(msg, sizeof msg, "the supervisor answered hello with \"%s\"", op);
		note("%s", msg);
		goto fail;
	}
	handle_accepted(d, line);
	l->up = 1;
	return l;
fail:
	if (l->fd >= 0)
		close(l->fd);
	free(l);
	return NULL;
}

int link_fd(const struct link *l) { return l->fd; }

static void enqueue(struct link *l, const struct wbuf *b)
{
	if (l->queued >= QUEUE_MAX) {
		/* Keep the newest: the last instance-end matters most. */
		struct qmsg *old = l->head;
		l->head = old->next;
		if (!l->head)
			l->tail = NULL;
		free(old);
		l->queued--;
		if (!l->dropped++)
			note("no supervisor for a long time; dropping the oldest queued reports");
	}
	struct qmsg *q = malloc(sizeof *q + b->len);
	if (!q) {
		note_err(ENOMEM, "cannot queue a report for the supervisor; it is lost");
		return;
	}
	q->next = NULL;
	q->len = b->len;
	memcpy(q->data, b->mem, b->len);
	if (l->tail)
		l->tail->next = q;
	else
		l->head = q;
	l->tail = q;
	l->queued++;
}

static void go_down(struct link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->up = 0;
	l->inlen = 0;
	if (!l->backoff)
		l->backoff = BACKOFF_MIN_MS;
	l->next_try = now_ms() + l->backoff;
	l->backoff = l->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff * 2;
}

/* Sends everything queued, oldest first; stops at the first failure. */
static void replay(struct link *l)
{
	while (l->head && l->up) {
		struct qmsg *q = l->head;
		struct wbuf b = { q->data, q->len, q->len, 0 };
		if (wire_send(l->fd, &b) < 0) {
			go_down(l);
			return;
		}
		l->head = q->next;
		if (!l->head)
			l->tail = NULL;
		free(q);
		l->queued--;
	}
}

void link_send(struct link *l, struct wbuf *b)
{
	if (wb_end(b) < 0) {
		note("a report does not fit in %d bytes; it is lost", DURUN_MSG_MAX);
		return;
	}
	if (l->up && !l->head && wire_send(l->fd, b) == 0)
		return;
	if (l->up && !l->head)
		go_down(l);
	/* Queued whole: a partly sent line died with its connection. */
	enqueue(l, b);
}

void link_read(struct link *l, link_handler h, void *ctx)
{
	static char line[DURUN_MSG_MAX];
	if (l->fd < 0)
		return;
	int broke = fill(l) < 0;
	while (l->fd >= 0 && next_line(l, line)) {
		if (l->up) {
			h(ctx, line);
			continue;
		}
		/* Waiting for the answer to a readopt hello. */
		char op[32] = "", msg[1024] = "";
		json_get_str(line, "op", op, sizeof op);
		if (strcmp(op, "accepted") == 0) {
			l->up = 1;
			l->backoff = 0;
			replay(l);
		} else {
			json_get_str(line, "message", msg, sizeof msg);
			note("the supervisor refused to re-adopt group %s: %s; will try again", l->d->group, msg);
			go_down(l);
			l->next_try = now_ms() + BACKOFF_MAX_MS;
			return;
		}
	}
	if (broke && l->fd >= 0)
		go_down(l);
}

long long link_deadline(const struct link *l)
{
	return l->fd < 0 ? l->next_try : -1;
}

void link_tick(struct link *l, long long now)
{
	struct wbuf b;
	if (l->fd >= 0 || now < l->next_try)
		return;
	int fd = wire_connect_timeout(l->d->sock, 0, LINK_SEND_TIMEOUT_MS);
	if (fd < 0) {
		if ((fd == -ENOENT || fd == -ECONNREFUSED) &&
		    (!l->last_start || now - l->last_start >= START_EVERY_MS)) {
			pid_t pid;
			l->last_start = now;
			/* It re-parents to us (we are a subreaper): not the program's. */
			if (supervisor_start(l->d, &pid) == 0)
				tree_exclude(pid);
		}
		go_down(l);
		return;
	}
	l->fd = fd;
	l->up = 0;
	build_hello(&b, l->d, 1);
	if (wb_end(&b) < 0 || wire_send(fd, &b) < 0)
		go_down(l);
}
