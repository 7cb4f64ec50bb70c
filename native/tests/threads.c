/* zdtm-style: 4 pthreads incrementing a shared total under a mutex, each
 * also counting its own share. Checked continuously: total == sum of shares.
 * The main thread prints "tick TOTAL" and joins the workers at TOTAL_LIMIT. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

#define NT 4
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long total, share[NT], limit;
static volatile int failed;

static void *worker(void *arg)
{
	long me = (long)arg;
	for (;;) {
		struct timespec ts = { 0, 2000000 };
		pthread_mutex_lock(&mu);
		if (total >= limit) {
			pthread_mutex_unlock(&mu);
			return (void *)(me + 100);
		}
		total++;
		share[me]++;
		long sum = 0;
		for (int i = 0; i < NT; i++)
			sum += share[i];
		if (sum != total)
			failed = 1;
		pthread_mutex_unlock(&mu);
		nanosleep(&ts, NULL);
	}
}

int main(void)
{
	pthread_t t[NT];
	limit = getenv("TOTAL_LIMIT") ? atol(getenv("TOTAL_LIMIT")) : 1000000;
	harness_init();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long i = 0; i < NT; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i)) {
			printf("FAIL pthread_create\n");
			return 1;
		}
	printf("ready pid=%d ppid=%d\n", getpid(), getppid());
	for (;;) {
		struct timespec ts = { 0, 10000000 };
		pthread_mutex_lock(&mu);
		long now = total;
		pthread_mutex_unlock(&mu);
		harness_counter = now;
		printf("tick %ld\n", now);
		if (failed) {
			printf("FAIL total != sum of shares\n");
			return 1;
		}
		if (now >= limit)
			break;
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < NT; i++) {
		void *rv;
		if (pthread_join(t[i], &rv) || (long)rv != i + 100) {
			printf("FAIL join %d\n", i);
			return 1;
		}
	}
	printf("PASS total=%ld pid=%d ppid=%d\n", total, getpid(), getppid());
	return 0;
}
