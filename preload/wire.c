/* See wire.h. No allocation and no stdio: this runs inside signal handlers
 * and vfork children of arbitrary programs. */
#define _GNU_SOURCE
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

void wb_init(struct wbuf *b, char *mem, size_t cap)
{
	b->mem = mem;
	b->len = 0;
	b->cap = cap;
	b->overflow = 0;
}

static void put(struct wbuf *b, const char *s, size_t n)
{
	/* Keep two bytes for the closing "}\n". */
	if (b->overflow || b->len + n + 2 > b->cap) {
		b->overflow = 1;
		return;
	}
	memcpy(b->mem + b->len, s, n);
	b->len += n;
}

static void puts_(struct wbuf *b, const char *s) { put(b, s, strlen(s)); }

size_t wb_escaped_len(const char *s)
{
	size_t n = 2;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\' || *p == '\n' || *p == '\r' || *p == '\t')
			n += 2;
		else if (*p < 0x20)
			n += 6;
		else
			n += 1;
	}
	return n;
}

static void put_escaped(struct wbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	put(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[6];
		switch (*p) {
		case '"': put(b, "\\\"", 2); break;
		case '\\': put(b, "\\\\", 2); break;
		case '\n': put(b, "\\n", 2); break;
		case '\r': put(b, "\\r", 2); break;
		case '\t': put(b, "\\t", 2); break;
		default:
			if (*p < 0x20) {
				esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
				esc[4] = hex[*p >> 4]; esc[5] = hex[*p & 15];
				put(b, esc, 6);
			} else {
				put(b, (const char *)p, 1);
			}
		}
	}
	put(b, "\"", 1);
}

static void put_key(struct wbuf *b, const char *key)
{
	put(b, ",", 1);
	put_escaped(b, key);
	put(b, ":", 1);
}

void wb_begin(struct wbuf *b, const char *op)
{
	puts_(b, "{\"v\":1,\"op\":");
	put_escaped(b, op);
}

void wb_str(struct wbuf *b, const char *key, const char *val)
{
	put_key(b, key);
	if (val)
		put_escaped(b, val);
	else
		puts_(b, "null");
}

void wb_int(struct wbuf *b, const char *key, long long val)
{
	char digits[24];
	int i = sizeof digits;
	unsigned long long u = val < 0 ? 0ULL - (unsigned long long)val : (unsigned long long)val;
	do {
		digits[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (val < 0)
		digits[--i] = '-';
	put_key(b, key);
	put(b, digits + i, sizeof digits - (size_t)i);
}

void wb_bool(struct wbuf *b, const char *key, int val)
{
	put_key(b, key);
	puts_(b, val ? "true" : "false");
}

void wb_strv(struct wbuf *b, const char *key, char *const *vec, size_t reserve)
{
	int truncated = 0;
	put_key(b, key);
	put(b, "[", 1);
	for (size_t i = 0; vec && vec[i]; i++) {
		/* Exact size, so a buffer sized with wb_escaped_len is enough. */
		size_t need = wb_escaped_len(vec[i]) + 1;
		if (b->len + need + reserve + 2 > b->cap) {
			truncated = 1;
			break;
		}
		if (i)
			put(b, ",", 1);
		put_escaped(b, vec[i]);
	}
	put(b, "]", 1);
	if (truncated) {
		char tkey[64];
		size_t kl = strlen(key);
		if (kl > sizeof tkey - 10)
			kl = sizeof tkey - 10;
		memcpy(tkey, key, kl);
		memcpy(tkey + kl, "Truncated", 10);
		wb_bool(b, tkey, 1);
	}
}

int wb_end(struct wbuf *b)
{
	if (b->overflow)
		return -1;
	/* put() always left room for these two bytes. */
	b->mem[b->len++] = '}';
	b->mem[b->len++] = '\n';
	return 0;
}

int wire_send(int fd, const struct wbuf *b)
{
	size_t off = 0;
	while (off < b->len) {
		ssize_t n = send(fd, b->mem + off, b->len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

int wire_connect(const char *path, int min_fd)
{
	return wire_connect_timeout(path, min_fd, 0);
}

int wire_connect_timeout(const char *path, int min_fd, int timeout_ms)
{
	struct sockaddr_un sa;
	size_t plen = strlen(path);
	if (plen >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, plen + 1);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (timeout_ms > 0) {
		/* A Unix stream connect() waits for backlog room up to SO_SNDTIMEO. */
		struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	int rc;
	do
		rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	if (min_fd > 0 && fd < min_fd) {
		int high = wire_high_fd(fd, min_fd);
		int err = errno;
		close(fd);
		if (high < 0)
			return -err;
		fd = high;
	}
	return fd;
}

int wire_high_fd(int fd, int min_fd)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
	if (high >= 0 || errno != EINVAL)
		return high;
	/* A program limited to fewer fds (ulimit -n 64): the top of its own range,
	 * where programs rarely reach (and a dup2 onto it is caught by fdguard). */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur <= 16)
		return -1;
	return fcntl(fd, F_DUPFD_CLOEXEC, (int)rl.rlim_cur - 8);
}

/* Finds "key": at the top level of a flat object and returns a pointer to the
 * first byte of its value, or NULL. Strings are skipped so a key-like text
 * inside a value never matches. */
static const char *find_value(const char *line, const char *key)
{
	size_t kl = strlen(key);
	const char *p = line;
	while (*p) {
		if (*p != '"') {
			p++;
			continue;
		}
		const char *start = ++p;
		while (*p && *p != '"') {
			if (*p == '\\' && p[1])
				p++;
			p++;
		}
		if (!*p)
			return NULL;
		size_t len = (size_t)(p - start);
		p++;
		const char *q = p;
		while (*q == ' ')
			q++;
		if (*q == ':') {
			if (len == kl && memcmp(start, key, kl) == 0) {
				q++;
				while (*q == ' ')
					q++;
				return q;
			}
			p = q + 1;
		}
	}
	return NULL;
}

int json_get_str(const char *line, const char *key, char *out, size_t outlen)
{
	const char *p = find_value(line, key);
	size_t o = 0;
	if (!p || *p != '"' || outlen == 0)
		return -1;
	for (p++; *p && *p != '"'; p++) {
		char c = *p;
		if (c == '\\') {
			p++;
			switch (*p) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case '\0': return -1;
			default: c = *p; /* \" \\ \/ ; \u escapes are not produced by the supervisor */
			}
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	if (*p != '"')
		return -1;
	out[o] = '\0';
	return 0;
}

int json_get_int(const char *line, const char *key, long long *out)
{
	const char *p = find_value(line, key);
	int neg = 0;
	long long v = 0;
	if (!p)
		return -1;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	*out = neg ? -v : v;
	return 0;
}

int json_get_bool(const char *line, const char *key, int *out)
{
	const char *p = find_value(line, key);
	if (!p)
		return -1;
	if (strncmp(p, "true", 4) == 0)
		*out = 1;
	else if (strncmp(p, "false", 5) == 0)
		*out = 0;
	else
		return -1;
	return 0;
}
