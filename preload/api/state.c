/* libdurun-state.so: the C side of the checkpoint API (durun_state.h).
 * One link to the supervisor per process (hello{role:"state"}), opened on
 * first use at an fd >= DURUN_LINK_FD_MIN so a checkpoint leaves it out like
 * the interceptor's own link; a link that broke (supervisor restarted,
 * process restored from a checkpoint) is opened again and the request sent
 * once more; a fork child opens its own. wait_role uses a link of its own,
 * so it blocks no other call.
 * Wire messages: ARCHITECTURE.md, "role state". */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../durun_env.h"
#include "../wire.h"
#include "durun_state.h"

#define API __attribute__((visibility("default")))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int link_fd = -1;
static pid_t link_pid; /* who opened link_fd: a fork child opens its own */
static long long next_id = 1;
static __thread char last_error[512];

__attribute__((format(printf, 2, 3))) static int fail(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

API const char *durun_state_error(void)
{
	return last_error;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = 0;
}

/* Decodes into out (at most cap bytes kept); returns the decoded length. */
static size_t b64_decode(const char *in, unsigned char *out, size_t cap)
{
	size_t n = 0;
	unsigned v = 0;
	int bits = 0;
	for (; *in && *in != '='; in++) {
		const char *p = strchr(b64, *in);
		if (!p)
			continue;
		v = v << 6 | (unsigned)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n < cap)
				out[n] = (unsigned char)(v >> bits & 0xff);
			n++;
		}
	}
	return n;
}

/* Reads one line into buf (NUL-terminated, newline dropped). 0, or -1 (EOF or error). */
static int read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = 0;
			return 0;
		}
		n++;
	}
	return -1;
}

static int open_link(char *answer, size_t cap)
{
	char path[4096];
	const char *sock = getenv(DURUN_ENV_SOCK), *home = getenv(DURUN_ENV_HOME);
	if (sock && *sock)
		snprintf(path, sizeof path, "%s", sock);
	else if (home && *home)
		snprintf(path, sizeof path, "%s/" DURUN_SOCK_NAME, home);
	else
		return fail(ENOTCONN, "not run under durun: neither DURUN_SOCK nor DURUN_HOME is set");
	int fd = wire_connect(path, DURUN_LINK_FD_MIN);
	if (fd < 0)
		return fail(-fd, "cannot reach the durun supervisor at %s", path);
	char mem[128];
	struct wbuf b;
	wb_init(&b, mem, sizeof mem);
	wb_begin(&b, "hello");
	wb_str(&b, "role", "state");
	if (wb_end(&b) < 0 || wire_send(fd, &b) < 0 || read_line(fd, answer, cap) < 0) {
		close(fd);
		return fail(ECONNRESET, "the durun supervisor closed the link at hello");
	}
	char msg[400];
	if (strstr(answer, "\"op\":\"error\"")) {
		close(fd);
		if (json_get_str(answer, "message", msg, sizeof msg) < 0)
			strcpy(msg, "refused");
		return fail(EPERM, "%s", msg);
	}
	return fd;
}

/* Sends a request built by fill() on fd and reads its result into answer; 0, -1 (link broken), -2 (refused: message set). */
static int exchange(int fd, const char *op, void (*fill)(struct wbuf *, const void *), const void *arg, long long id, char *answer, size_t cap)
{
	char *mem = malloc(DURUN_MSG_MAX);
	if (!mem)
		return fail(ENOMEM, "out of memory");
	struct wbuf b;
	wb_init(&b, mem, DURUN_MSG_MAX);
	wb_begin(&b, op);
	wb_int(&b, "id", id);
	fill(&b, arg);
	int bad = wb_end(&b);
	int sent = bad < 0 ? -1 : wire_send(fd, &b);
	free(mem);
	if (bad < 0)
		return fail(EMSGSIZE, "request too large for one message"), -2;
	if (sent < 0)
		return -1;
	for (;;) {
		if (read_line(fd, answer, cap) < 0)
			return -1;
		long long got;
		if (strstr(answer, "\"op\":\"error\"")) {
			char msg[400];
			if (json_get_str(answer, "message", msg, sizeof msg) < 0)
				strcpy(msg, "refused");
			return fail(EINVAL, "%s", msg), -2;
		}
		if (json_get_int(answer, "id", &got) == 0 && got == id)
			break;
	}
	int ok = 0;
	if (json_get_bool(answer, "ok", &ok) < 0 || !ok) {
		char msg[400];
		if (json_get_str(answer, "error", msg, sizeof msg) < 0)
			strcpy(msg, "failed");
		return fail(EINVAL, "%s", msg), -2;
	}
	return 0;
}

/* One request on the process's link, opening it (again) if needed; answer gets the result line. */
static const char *request(const char *op, void (*fill)(struct wbuf *, const void *), const void *arg, char *answer, size_t cap)
{
	pthread_mutex_lock(&lock);
	int r = -1;
	if (link_fd >= 0 && link_pid != getpid()) {
		/* A fork child: the link is its parent's (answers would interleave). Its copy is closed, not the link. */
		close(link_fd);
		link_fd = -1;
	}
	for (int attempt = 0; attempt < 2 && r == -1; attempt++) {
		if (link_fd < 0) {
			if ((link_fd = open_link(answer, cap)) < 0)
				break;
			link_pid = getpid();
		}
		r = exchange(link_fd, op, fill, arg, next_id++, answer, cap);
		if (r == -1) {
			close(link_fd);
			link_fd = -1;
			fail(ECONNRESET, "the link to the durun supervisor broke");
		}
	}
	pthread_mutex_unlock(&lock);
	if (r < 0)
		return NULL;
	const char *data = strstr(answer, "\"data\":{");
	return data ? data + 8 : answer;
}

struct save_arg { const char *key; const char *b64; uint64_t ts; };

static void fill_key(struct wbuf *b, const void *arg)
{
	wb_str(b, "key", *(const char *const *)arg);
}

static void fill_save(struct wbuf *b, const void *arg)
{
	const struct save_arg *s = arg;
	wb_str(b, "key", s->key);
	wb_str(b, "data", s->b64);
	if (s->ts != DURUN_STATE_TS_NEXT)
		wb_int(b, "ts", (long long)s->ts);
}

static void fill_none(struct wbuf *b, const void *arg)
{
	(void)b;
	(void)arg;
}

static void fill_wait(struct wbuf *b, const void *arg)
{
	static const char *const names[] = { "solo", "active", "standby" };
	wb_bool(b, "wait", 1);
	wb_str(b, "known", names[*(const int *)arg]);
}

#define ANSWER_MAX (DURUN_MSG_MAX + 1024)

API int durun_state_save(const char *key, const void *data, size_t len, uint64_t ts)
{
	if (len > DURUN_STATE_VALUE_MAX)
		return fail(EMSGSIZE, "a value is at most 46080 bytes");
	char *enc = malloc(len / 3 * 4 + 8), *answer = malloc(ANSWER_MAX);
	int rc = -1;
	if (!enc || !answer) {
		fail(ENOMEM, "out of memory");
		goto out;
	}
	b64_encode(data, len, enc);
	struct save_arg s = { key, enc, ts };
	const char *d = request("save", fill_save, &s, answer, ANSWER_MAX);
	int accepted = 0;
	if (d && json_get_bool(d, "accepted", &accepted) == 0)
		rc = accepted ? 1 : 0;
out:
	free(enc);
	free(answer);
	return rc;
}

API ssize_t durun_state_load(const char *key, void *buf, size_t cap, uint64_t *ts)
{
	char *answer = malloc(ANSWER_MAX);
	if (!answer)
		return fail(ENOMEM, "out of memory");
	ssize_t rc = -1;
	const char *d = request("load", fill_key, &key, answer, ANSWER_MAX);
	int found = 0;
	long long t = 0;
	if (d && json_get_bool(d, "found", &found) == 0) {
		if (!found) {
			fail(ENOENT, "no value under %s", key);
		} else {
			const char *v = strstr(d, "\"data\":\"");
			json_get_int(d, "ts", &t);
			if (ts)
				*ts = (uint64_t)t;
			if (v) {
				char *end = strchr(v + 8, '"');
				if (end)
					*end = 0;
				rc = (ssize_t)b64_decode(v + 8, buf, cap);
			}
		}
	}
	free(answer);
	return rc;
}

API int durun_state_remove(const char *key)
{
	char answer[1024];
	const char *d = request("remove", fill_key, &key, answer, sizeof answer);
	int removed = 0;
	if (!d || json_get_bool(d, "removed", &removed) < 0)
		return -1;
	return removed;
}

static int role_of(const char *d)
{
	char role[16];
	if (!d || json_get_str(d, "role", role, sizeof role) < 0)
		return -1;
	return strcmp(role, "active") == 0 ? DURUN_ROLE_ACTIVE : strcmp(role, "standby") == 0 ? DURUN_ROLE_STANDBY : DURUN_ROLE_SOLO;
}

API int durun_state_role(void)
{
	char answer[1024];
	return role_of(request("role", fill_none, NULL, answer, sizeof answer));
}

API int durun_state_wait_role(int known)
{
	if (known < DURUN_ROLE_SOLO || known > DURUN_ROLE_STANDBY)
		return fail(EINVAL, "wait_role: known must be a durun_state_role");
	char answer[1024];
	for (;;) {
		/* A link of its own: the wait blocks nothing else; a broken one (supervisor restart) is opened again. */
		int fd = open_link(answer, sizeof answer);
		if (fd < 0)
			return -1;
		int r = exchange(fd, "role", fill_wait, &known, 1, answer, sizeof answer);
		close(fd);
		if (r == 0) {
			const char *d = strstr(answer, "\"data\":{");
			return role_of(d ? d + 8 : answer);
		}
		if (r == -2)
			return -1;
		usleep(100 * 1000);
	}
}
