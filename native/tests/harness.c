/* See harness.h. Environment: CKPT_DIR (required), CKPT_TRACK=1 (arm dirty
 * tracking so later images are incremental), CKPT_TREE=1 (process groups:
 * images are named ckpt-PID-N.img, and after its dump each process stops
 * itself with SIGSTOP, still inside the handler, until the test has seen
 * every member dump and sends SIGCONT: the group's barrier). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "durun_ckpt.h"
#include "harness.h"

volatile long harness_counter;
volatile int harness_restored;
static char dir[2048];
static int seq;
static unsigned flags;
static int tree;

/* Decimal digits of v at out + *n (no stdio: runs in a signal handler). */
static void put_dec(char *out, size_t *n, long v)
{
	char tmp[24];
	int k = 0;
	if (v < 0) {
		out[(*n)++] = '-';
		v = -v;
	}
	do {
		tmp[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		out[(*n)++] = tmp[--k];
}

void hprint(int fd, const char *fmt, ...)
{
	char out[1024];
	size_t n = 0;
	va_list ap;
	va_start(ap, fmt);
	for (const char *p = fmt; *p && n < sizeof(out) - 32; p++) {
		if (*p != '%') {
			out[n++] = *p;
			continue;
		}
		p++;
		if (*p == 'l')
			p++;
		if (*p == 's') {
			const char *s = va_arg(ap, const char *);
			while (s && *s && n < sizeof(out) - 32)
				out[n++] = *s++;
		} else if (*p == 'd') {
			long v = p[-1] == 'l' ? va_arg(ap, long) : va_arg(ap, int);
			put_dec(out, &n, v);
		}
	}
	va_end(ap);
	(void)!write(fd, out, n);
}

static void on_ckpt(int sig, siginfo_t *si, void *uc)
{
	struct durun_ckpt_req req;
	struct durun_ckpt_result res;
	char path[2100];
	int saved = errno, rc;
	long counter = harness_counter;

	if (durun_ckpt_on_signal(sig, si, uc))
		return;
	memset(&req, 0, sizeof(req));
	seq++;
	{ /* path = dir/ckpt-[PID-]SEQ.img, built without stdio */
		size_t n = strlen(dir);
		memcpy(path, dir, n);
		memcpy(path + n, "/ckpt-", 6);
		n += 6;
		if (tree) {
			put_dec(path, &n, getpid());
			path[n++] = '-';
		}
		put_dec(path, &n, seq);
		memcpy(path + n, ".img", 5);
	}
	req.image_path = path;
	req.thread_signal = sig;
	req.flags = flags;
	rc = durun_ckpt_dump(&req, &res);
	if (rc == DURUN_CKPT_RESTORED) {
		harness_restored = 1;
		hprint(2, "harness: restored counter=%ld pid=%d ppid=%d\n", harness_counter, getpid(), getppid());
	} else if (rc == DURUN_CKPT_DUMPED)
		hprint(2, "harness: dumped %s kind=%d counter=%ld bytes=%ld pages=%ld resident=%ld stall_us=%ld write_us=%ld threads=%d reason=%s\n",
		       path, res.kind, counter, (long)res.bytes, (long)res.pages_written, (long)res.pages_resident,
		       (long)(res.stall_ns / 1000), (long)(res.write_ns / 1000), (int)res.nthreads, res.reason);
	if (rc == DURUN_CKPT_DUMPED && tree)
		raise(SIGSTOP); /* barrier: the test continues the whole group at once */
	if (rc == DURUN_CKPT_ERROR)
		hprint(2, "harness: dump failed: %s\n", res.error);
	errno = saved;
}

void harness_init(void)
{
	struct sigaction sa;
	const char *d = getenv("CKPT_DIR");
	if (!d || strlen(d) >= sizeof(dir)) {
		fprintf(stderr, "harness: CKPT_DIR is required\n");
		exit(2);
	}
	strcpy(dir, d);
	tree = getenv("CKPT_TREE") && !strcmp(getenv("CKPT_TREE"), "1");
	if (getenv("CKPT_TRACK") && !strcmp(getenv("CKPT_TRACK"), "1"))
		flags |= DURUN_CKPT_TRACK;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_ckpt;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMAX - 2, &sa, NULL)) {
		perror("harness: sigaction");
		exit(2);
	}
}
