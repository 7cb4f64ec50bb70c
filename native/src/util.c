/* See util.h. No malloc, no stdio: safe in a signal handler. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include "util.h"

void sb_init(struct sb *s, char *buf, size_t size)
{
	s->p = buf;
	s->size = size;
	s->len = 0;
	if (size)
		buf[0] = 0;
}

void sb_mem(struct sb *s, const char *str, size_t n)
{
	while (n-- && s->len + 1 < s->size)
		s->p[s->len++] = *str++;
	if (s->size)
		s->p[s->len] = 0;
}

void sb_str(struct sb *s, const char *str)
{
	sb_mem(s, str, d_strlen(str));
}

void sb_u64(struct sb *s, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sb_mem(s, tmp + i, sizeof(tmp) - i);
}

void sb_i64(struct sb *s, int64_t v)
{
	if (v < 0) {
		sb_str(s, "-");
		sb_u64(s, (uint64_t)0 - (uint64_t)v);
	} else
		sb_u64(s, (uint64_t)v);
}

void sb_hex(struct sb *s, uint64_t v)
{
	char tmp[16];
	int i = sizeof(tmp);
	do {
		tmp[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	sb_str(s, "0x");
	sb_mem(s, tmp + i, sizeof(tmp) - i);
}

size_t d_strlen(const char *s)
{
	size_t n = 0;
	while (s && s[n])
		n++;
	return n;
}

int d_streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

int d_startswith(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}

uint64_t d_parse_hex(const char **p)
{
	uint64_t v = 0;
	for (;; (*p)++) {
		char c = **p;
		if (c >= '0' && c <= '9') v = v * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f') v = v * 16 + (uint64_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v = v * 16 + (uint64_t)(c - 'A' + 10);
		else return v;
	}
}

uint64_t d_parse_dec(const char **p)
{
	uint64_t v = 0;
	while (**p >= '0' && **p <= '9')
		v = v * 10 + (uint64_t)(*(*p)++ - '0');
	return v;
}

const char *d_strerror(int err)
{
	const char *s = strerrordesc_np(err); /* static table: async-signal-safe */
	return s ? s : "unknown error";
}

uint64_t d_now_ns(int clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void derr_set(struct derr *e, const char *file, int line, const char *subsys,
	      const char *what, const char *arg, int err)
{
	struct sb s;
	const char *base = file;
	if (!e || !e->buf || !e->size || e->buf[0])
		return; /* keep the first (root-cause) error */
	for (const char *q = file; *q; q++)
		if (*q == '/')
			base = q + 1;
	sb_init(&s, e->buf, e->size);
	sb_str(&s, base);
	sb_str(&s, ":");
	sb_u64(&s, (uint64_t)line);
	sb_str(&s, " ");
	sb_str(&s, subsys);
	sb_str(&s, ": ");
	sb_str(&s, what);
	if (arg && *arg) {
		sb_str(&s, " ");
		sb_str(&s, arg);
	}
	if (err) {
		sb_str(&s, ": ");
		sb_str(&s, d_strerror(err));
	}
}

long d_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	if (fd < 0)
		return -errno;
	while (len + 1 < size) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len + 1 >= size)
		return -EFBIG;
	buf[len] = 0;
	return (long)len;
}

int d_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
