/* zdtm-style: a counter with a heap list and a file it writes to.
 * Each tick: counter++, push a node (value = counter) onto a malloc'ed list,
 * write "counter\n" at the file's current offset, print "tick N". Each tick
 * also checks the whole state: list length and values, and that the file
 * offset equals the bytes written so far. Stops at COUNTER_LIMIT with PASS.
 * Usage: ckpt-test-counter DATAFILE (env CKPT_DIR, COUNTER_LIMIT, TICK_US,
 * BALLAST_MB: extra heap touched once, to measure dumps of bigger images). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

struct node {
	long value;
	struct node *next;
};

int main(int argc, char **argv)
{
	struct node *head = NULL;
	long limit = getenv("COUNTER_LIMIT") ? atol(getenv("COUNTER_LIMIT")) : 1000000;
	long tick_us = getenv("TICK_US") ? atol(getenv("TICK_US")) : 5000;
	long ballast_mb = getenv("BALLAST_MB") ? atol(getenv("BALLAST_MB")) : 0;
	off_t written = 0;
	char *ballast = NULL;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DATAFILE\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror("open");
		return 2;
	}
	if (ballast_mb) {
		ballast = malloc((size_t)ballast_mb << 20);
		for (long i = 0; i < (ballast_mb << 20); i += 4096)
			ballast[i] = (char)(i >> 12);
	}
	harness_init();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready pid=%d ppid=%d\n", getpid(), getppid());
	while (harness_counter < limit) {
		struct timespec ts = { 0, tick_us * 1000 };
		struct node *n = malloc(sizeof(*n));
		char line[32];
		long c = harness_counter + 1, len = 0;
		int ll;

		n->value = c;
		n->next = head;
		head = n;
		ll = snprintf(line, sizeof(line), "%ld\n", c);
		if (write(fd, line, (size_t)ll) != ll) {
			perror("FAIL write");
			return 1;
		}
		written += ll;
		harness_counter = c;
		for (struct node *p = head; p; p = p->next, len++)
			if (p->value != c - len) {
				printf("FAIL list node %ld has %ld\n", len, p->value);
				return 1;
			}
		if (len != c || lseek(fd, 0, SEEK_CUR) != written) {
			printf("FAIL len=%ld counter=%ld offset=%lld expected=%lld\n", len, c,
			       (long long)lseek(fd, 0, SEEK_CUR), (long long)written);
			return 1;
		}
		if (ballast && ballast[4096 * 3] != 3) {
			printf("FAIL ballast\n");
			return 1;
		}
		printf("tick %ld\n", c);
		nanosleep(&ts, NULL);
	}
	printf("PASS counter=%ld pid=%d ppid=%d\n", harness_counter, getpid(), getppid());
	return 0;
}
