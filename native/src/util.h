/* Small async-signal-safe helpers shared by every part of the engine: error
 * text with file:line + subsystem + errno, string building, raw syscalls. */
#ifndef DURUN_UTIL_H
#define DURUN_UTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Error sink: a caller-owned buffer. The first error wins (the root cause). */
struct derr {
	char *buf;
	size_t size;
};

void derr_set(struct derr *e, const char *file, int line, const char *subsys,
	      const char *what, const char *arg, int err);
/* e.g. ERR(e, "mem", "open", path, errno) -> "dump-mem.c:42 mem: open /x: No such file" */
#define ERR(e, subsys, what, arg, errnum) derr_set((e), __FILE__, __LINE__, (subsys), (what), (arg), (errnum))

/* Bounded string builder (never overflows, always NUL-terminated). */
struct sb {
	char *p;
	size_t size, len;
};
void sb_init(struct sb *s, char *buf, size_t size);
void sb_str(struct sb *s, const char *str);
void sb_mem(struct sb *s, const char *str, size_t n);
void sb_u64(struct sb *s, uint64_t v);
void sb_i64(struct sb *s, int64_t v);
void sb_hex(struct sb *s, uint64_t v);

size_t d_strlen(const char *s);
int d_streq(const char *a, const char *b);
int d_startswith(const char *s, const char *prefix);
uint64_t d_parse_hex(const char **p);
uint64_t d_parse_dec(const char **p);
const char *d_strerror(int err);
uint64_t d_now_ns(int clock);

/* Whole small file (e.g. /proc/self/maps) into buf; returns bytes or -errno. */
long d_read_file(const char *path, char *buf, size_t size);
/* write/pwrite all bytes; 0 or -errno. */
int d_write_all(int fd, const void *buf, size_t len);

#endif
