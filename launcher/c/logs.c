/* The detached runner's log writer: the program's stdout and stderr arrive on
 * two pipes the runner keeps for every instance, and leave as timestamped
 * lines in logs/GROUP.N.log, rotated to .1 .. .3 past DURUN_LOG_MAX bytes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"

#define PARTIAL_MAX 4096      /* a line this long is written without its end */
#define PARTIAL_MS  100       /* a partial line waits at most this long */
#define ROTATE_KEEP 3

struct stream {
	const char *name;         /* "stdout" | "stderr" */
	int rd, wr;
	char buf[PARTIAL_MAX];
	size_t len;
	long long since;          /* when the oldest unwritten byte arrived */
};

struct logs {
	char path[PATH_MAX];
	int fd;
	long long size, max;
	int write_failed;         /* say it once, not per line */
	struct stream s[2];
};

static int open_log(struct logs *l)
{
	struct stat st;
	l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		note_err(errno, "cannot open log %s", l->path);
		return -1;
	}
	if (fstat(l->fd, &st) < 0) {
		note_err(errno, "cannot stat log %s", l->path);
		return -1;
	}
	l->size = st.st_size;
	return 0;
}

static void rotate(struct logs *l)
{
	char from[PATH_MAX + 4], to[PATH_MAX + 4];
	for (int i = ROTATE_KEEP - 1; i >= 0; i--) {
		if (i)
			snprintf(from, sizeof from, "%s.%d", l->path, i);
		else
			snprintf(from, sizeof from, "%s", l->path);
		snprintf(to, sizeof to, "%s.%d", l->path, i + 1);
		if (rename(from, to) < 0 && errno != ENOENT)
			note_err(errno, "cannot rotate %s to %s", from, to);
	}
	close(l->fd);
	if (open_log(l) < 0)
		l->fd = -1;
}

/* Writes "<time> <pid> <stream> <text>\n" as one write, so a reader never
 * sees half a line. */
static void write_line(struct logs *l, struct stream *s, const char *text, size_t len, pid_t root)
{
	char line[PARTIAL_MAX + 128];
	struct timespec ts;
	struct tm tm;
	if (l->fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof line - n, ".%03ldZ %d %s ", ts.tv_nsec / 1000000, (int)root, s->name);
	memcpy(line + n, text, len);
	n += len;
	line[n++] = '\n';
	ssize_t w = write(l->fd, line, n);
	if (w < 0) {
		if (!l->write_failed)
			note_err(errno, "cannot write log %s; dropping output until it works again", l->path);
		l->write_failed = 1;
		return;
	}
	l->write_failed = 0;
	l->size += w;
	if (l->max > 0 && l->size > l->max)
		rotate(l);
}

struct logs *logs_open(const char *path)
{
	struct logs *l = calloc(1, sizeof *l);
	if (!l) {
		note_err(ENOMEM, "cannot set up logging");
		return NULL;
	}
	snprintf(l->path, sizeof l->path, "%s", path);
	const char *max = getenv("DURUN_LOG_MAX");
	l->max = max && *max ? strtoll(max, NULL, 10) : 10LL * 1024 * 1024;
	/* The supervisor normally made logs/ already; be sure. */
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			note_err(errno, "cannot create log directory %s", dir);
			free(l);
			return NULL;
		}
	}
	if (open_log(l) < 0) {
		free(l);
		return NULL;
	}
	const char *names[2] = { "stdout", "stderr" };
	for (int i = 0; i < 2; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			note_err(errno, "cannot create the %s pipe", names[i]);
			return NULL;
		}
		if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
			note_err(errno, "cannot make the %s pipe non-blocking", names[i]);
			return NULL;
		}
		l->s[i].name = names[i];
		l->s[i].rd = p[0];
		l->s[i].wr = p[1]; /* kept open: every instance gets the same pipes */
	}
	return l;
}

int logs_out_fd(const struct logs *l) { return l->s[0].wr; }
int logs_err_fd(const struct logs *l) { return l->s[1].wr; }

int logs_poll_fds(const struct logs *l, int fds[2])
{
	fds[0] = l->s[0].rd;
	fds[1] = l->s[1].rd;
	return 2;
}

static void flush_partial(struct logs *l, struct stream *s, pid_t root)
{
	if (s->len) {
		write_line(l, s, s->buf, s->len, root);
		s->len = 0;
	}
}

static void take(struct logs *l, struct stream *s, const char *data, size_t n, pid_t root)
{
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n') {
			write_line(l, s, s->buf, s->len, root);
			s->len = 0;
			continue;
		}
		if (s->len == 0)
			s->since = now_ms();
		s->buf[s->len++] = data[i];
		if (s->len == PARTIAL_MAX)
			flush_partial(l, s, root);
	}
}

void logs_read(struct logs *l, int fd, pid_t root)
{
	struct stream *s = fd == l->s[0].rd ? &l->s[0] : &l->s[1];
	char data[16384];
	for (;;) {
		ssize_t n = read(fd, data, sizeof data);
		if (n > 0) {
			take(l, s, data, (size_t)n, root);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			note_err(errno, "cannot read the program's %s", s->name);
		return; /* EAGAIN: drained; 0 cannot happen while we hold the write end */
	}
}

long long logs_deadline(const struct logs *l)
{
	long long d = -1;
	for (int i = 0; i < 2; i++)
		if (l->s[i].len && (d < 0 || l->s[i].since + PARTIAL_MS < d))
			d = l->s[i].since + PARTIAL_MS;
	return d;
}

void logs_tick(struct logs *l, long long now, pid_t root)
{
	for (int i = 0; i < 2; i++)
		if (l->s[i].len && now >= l->s[i].since + PARTIAL_MS)
			flush_partial(l, &l->s[i], root);
}

void logs_drain(struct logs *l, pid_t root)
{
	for (int i = 0; i < 2; i++) {
		logs_read(l, l->s[i].rd, root);
		flush_partial(l, &l->s[i], root);
	}
}
