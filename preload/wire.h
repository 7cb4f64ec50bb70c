/* The C side of the wire protocol (ARCHITECTURE.md, "Wire protocol"): build
 * one JSON line into a caller-owned buffer, send it, connect to the
 * supervisor, and pick fields out of the supervisor's one-line answers.
 *
 * Everything here is async-signal-safe and safe in a vfork child: no malloc,
 * no stdio, no locale, errno saved by the callers that need it. Shared by
 * libdurun.so (preload/) and the durun runner (launcher/c/). */
#ifndef DURUN_WIRE_H
#define DURUN_WIRE_H

#include <stddef.h>

struct wbuf {
	char *mem;
	size_t len;
	size_t cap;
	int overflow; /* set when something did not fit; wb_end then fails */
};

void wb_init(struct wbuf *b, char *mem, size_t cap);
/* Starts {"v":1,"op":"<op>" */
void wb_begin(struct wbuf *b, const char *op);
void wb_str(struct wbuf *b, const char *key, const char *val); /* NULL -> null */
void wb_int(struct wbuf *b, const char *key, long long val);
void wb_bool(struct wbuf *b, const char *key, int val);
/* NULL-terminated string vector as a JSON array; stops adding elements (and
 * sets "<key>Truncated":true) rather than overflow when reserve bytes would be
 * left in the buffer for the rest of the message. */
void wb_strv(struct wbuf *b, const char *key, char *const *vec, size_t reserve);
/* Bytes s takes as a JSON string, quotes included: lets callers size a
 * buffer to the message instead of always taking DURUN_MSG_MAX. */
size_t wb_escaped_len(const char *s);
/* Closes the object and appends '\n'. Returns 0, or -1 if it overflowed. */
int wb_end(struct wbuf *b);

/* Sends the whole buffer (MSG_NOSIGNAL, retries EINTR and short writes).
 * Returns 0 or -errno. */
int wire_send(int fd, const struct wbuf *b);

/* Connects a close-on-exec Unix stream socket to path and moves it to the
 * lowest free fd >= min_fd (0: leave it where it is). Returns fd or -errno. */
int wire_connect(const char *path, int min_fd);
/* The same, but connect() and every later send() on the socket give up after
 * timeout_ms (SO_SNDTIMEO), so a stopped supervisor with a full backlog or a
 * full socket buffer delays its peers instead of hanging them. 0: no limit. */
int wire_connect_timeout(const char *path, int min_fd, int timeout_ms);
/* A copy of fd (close-on-exec) at min_fd or above, else, when the process's
 * fd limit is below min_fd, in the top 8 numbers of its range; -1 if none. */
int wire_high_fd(int fd, int min_fd);

/* Field readers for flat JSON objects (the supervisor's answers are flat).
 * Return 0 when found, -1 when absent or of another type. */
int json_get_str(const char *line, const char *key, char *out, size_t outlen);
int json_get_int(const char *line, const char *key, long long *out);
int json_get_bool(const char *line, const char *key, int *out);

#endif
