/* zdtm-style process tree: a parent and a forked child joined by a pipe,
 * sharing one anonymous page (MAP_SHARED|MAP_ANONYMOUS, made before fork).
 * The parent writes numbered 16-byte records ("R%014ld\n") faster than the
 * child reads them, so records are in flight in the pipe at any checkpoint.
 * The child checks every record is the next number (none lost, none
 * repeated) and keeps a sum; both publish their progress in the shared page.
 * At the end the parent closes the pipe, waits for the child (its real
 * child, also after a restore) and checks, through the shared page, that the
 * child's progress is visible to it: the page must be shared again.
 * Back channel: every 10 records the child sends an ack ("A%014ld\n") over a
 * socketpair (SOCK_STREAM, or SOCK_SEQPACKET with ACK_SEQPACKET=1); the
 * parent drains acks only every 50 records, so some are queued at any
 * checkpoint, and checks they come in order, none lost or repeated.
 * Usage: ckpt-test-pipe-tree (env CKPT_DIR, CKPT_TREE=1, RECORDS, WRITE_US,
 * READ_US, ACK_SEQPACKET). Prints "ready parent=P ppid=X child=C", "PASS child ...",
 * "PASS parent ..." or FAIL lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

#define REC 16

struct shared {
	volatile long written, read, sum;
	volatile int child_pid;
};

static void pause_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static long acks; /* parent: acks received */

/* parent: every queued ack, in order */
static int drain_acks(int s)
{
	char a[17];
	for (;;) {
		ssize_t n = recv(s, a, 16, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		if (n == 0)
			return 0; /* child closed its end */
		a[16] = 0;
		if (n != 16 || a[0] != 'A' || atol(a + 1) != (acks + 1) * 10) {
			printf("FAIL parent expected ack %ld, got %zd bytes \"%.15s\"\n", (acks + 1) * 10, n, a);
			return -1;
		}
		acks++;
	}
}

static int child(int rd, int ack, struct shared *sh, long limit, long read_us)
{
	long expect = 1, sum = 0;
	char rec[REC + 1];
	for (;;) {
		size_t got = 0;
		while (got < REC) {
			ssize_t n = read(rd, rec + got, REC - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				printf("FAIL child read: %s\n", strerror(errno));
				return 1;
			}
			if (n == 0)
				break;
			got += (size_t)n;
		}
		if (got == 0)
			break;
		rec[REC] = 0;
		if (got != REC || rec[0] != 'R' || atol(rec + 1) != expect) {
			printf("FAIL child expected record %ld, got %zu bytes \"%.15s\"\n", expect, got, rec);
			return 1;
		}
		sum += expect;
		harness_counter = expect;
		if (expect % 10 == 0) {
			char a[32];
			snprintf(a, sizeof(a), "A%014ld\n", expect % 100000000000000L);
			if (send(ack, a, 16, MSG_NOSIGNAL) != 16) {
				printf("FAIL child ack %ld: %s\n", expect, strerror(errno));
				return 1;
			}
		}
		sh->read = expect;
		sh->sum = sum;
		expect++;
		if ((expect - 1) % 100 == 0)
			printf("child read %ld\n", expect - 1);
		pause_us(read_us);
	}
	if (expect - 1 != limit || sum != limit * (limit + 1) / 2) {
		printf("FAIL child got %ld records, sum %ld\n", expect - 1, sum);
		return 1;
	}
	printf("PASS child records=%ld sum=%ld pid=%d ppid=%d\n", expect - 1, sum, getpid(), getppid());
	return 0;
}

int main(void)
{
	long limit = getenv("RECORDS") ? atol(getenv("RECORDS")) : 3000;
	long write_us = getenv("WRITE_US") ? atol(getenv("WRITE_US")) : 500;
	long read_us = getenv("READ_US") ? atol(getenv("READ_US")) : 1000;
	struct shared *sh;
	int pp[2], sv[2], st;
	int stype = getenv("ACK_SEQPACKET") && !strcmp(getenv("ACK_SEQPACKET"), "1") ? SOCK_SEQPACKET : SOCK_STREAM;
	pid_t c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || pipe(pp) || socketpair(AF_UNIX, stype, 0, sv)) {
		perror("FAIL setup");
		return 2;
	}
	harness_init();
	c = fork();
	if (c < 0) {
		perror("FAIL fork");
		return 2;
	}
	if (c == 0) {
		close(pp[1]);
		close(sv[0]);
		return child(pp[0], sv[1], sh, limit, read_us);
	}
	close(pp[0]);
	close(sv[1]);
	sh->child_pid = c;
	printf("ready parent=%d ppid=%d child=%d\n", getpid(), getppid(), c);
	for (long n = 1; n <= limit; n++) {
		char rec[32];
		snprintf(rec, sizeof(rec), "R%014ld\n", n % 100000000000000L);
		ssize_t w;
		while ((w = write(pp[1], rec, REC)) < 0 && errno == EINTR)
			;
		if (w != REC) {
			printf("FAIL parent write %ld: %zd %s\n", n, w, strerror(errno));
			return 1;
		}
		harness_counter = n;
		sh->written = n;
		if (n % 50 == 0 && drain_acks(sv[0]))
			return 1;
		if (sh->read > n) {
			printf("FAIL child read %ld but only %ld written\n", sh->read, n);
			return 1;
		}
		pause_us(write_us);
	}
	close(pp[1]);
	for (;;) { /* keep draining acks until the child is gone */
		pid_t w = waitpid(c, &st, WNOHANG);
		if (w < 0 && errno != EINTR) {
			printf("FAIL parent waitpid %d: %s\n", c, strerror(errno));
			return 1;
		}
		if (drain_acks(sv[0]))
			return 1;
		if (w == c)
			break;
		pause_us(1000);
	}
	if (drain_acks(sv[0]))
		return 1;
	if (acks != limit / 10) {
		printf("FAIL parent got %ld acks, expected %ld\n", acks, limit / 10);
		return 1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("FAIL child status %#x\n", st);
		return 1;
	}
	if (sh->read != limit || sh->sum != limit * (limit + 1) / 2) {
		printf("FAIL shared page: child's progress %ld (sum %ld) not seen by the parent (expected %ld)\n", sh->read,
		       sh->sum, limit);
		return 1;
	}
	printf("PASS parent records=%ld acks=%ld pid=%d ppid=%d child=%d\n", limit, acks, getpid(), getppid(), c);
	return 0;
}
