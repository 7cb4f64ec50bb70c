/* POSIX timers (timer_create). Log prefix "timers". /proc/self/timers
 * tells each timer's id, signal and value, notification (signal to the
 * process or to a thread, or none) and clock; timer_gettime its time left
 * and interval. They are kept in `saved`, in the library's memory and so in
 * the image, and the restored process creates them again itself (timers
 * belong to the process; a thread-directed one needs its thread, which only
 * the restored process has) before any of its other threads runs on:
 * the same ids (prctl PR_TIMER_CREATE_RESTORE_IDS where the kernel has it,
 * else in id order, filling the holes with timers deleted at once, as the
 * kernel hands ids out in sequence), armed with the time that was left. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include "dump.h"

#define TIMERS_MAX 512
#define TIMERS_TEXT (256u << 10)
/* linux/prctl.h of kernels >= 6.15; probed by calling it */
#define DURUN_PR_TIMER_CREATE_RESTORE_IDS 77
#define DURUN_PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define DURUN_PR_TIMER_CREATE_RESTORE_IDS_ON 1
#define DURUN_SIGEV_THREAD_ID 4

struct saved_timer {
	int32_t id, clock, signo, notify, tid, pad;
	uint64_t value;          /* sigev_value */
	struct itimerspec its;   /* time left (relative) and interval */
};

static struct {
	int n;
	struct saved_timer t[TIMERS_MAX];
} saved;

static int64_t parse_int(const char **p)
{
	int neg = **p == '-';
	if (neg)
		(*p)++;
	int64_t v = (int64_t)d_parse_dec(p);
	return neg ? -v : v;
}

/* The next timer's block ("ID:" at a line's start, not ClockID's) from p on, or NULL. */
static const char *block(const char *text, const char *p)
{
	for (; (p = strstr(p, "ID:")); p++)
		if (p == text || p[-1] == '\n')
			return p;
	return NULL;
}

/* The value after "key: " in the timer's block starting at `at`, or NULL. */
static const char *after(const char *at, const char *key)
{
	const char *p = strstr(at, key);
	const char *next = strstr(at + 1, "\nID:");
	if (!p || (next && p > next))
		return NULL;
	p += d_strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int parse_timers(struct dump_ctx *d, const char *text)
{
	int n = 0;
	for (const char *at = block(text, text); at; at = block(text, at + 1)) {
		struct saved_timer *t;
		const char *p;
		if (n >= TIMERS_MAX) {
			ERR(&d->err, "timers", "more POSIX timers than a checkpoint carries (512)", "", E2BIG);
			return -1;
		}
		t = &saved.t[n];
		memset(t, 0, sizeof(*t));
		p = after(at, "ID:");
		t->id = (int32_t)parse_int(&p);
		if (!(p = after(at, "signal:")))
			goto bad;
		t->signo = (int32_t)parse_int(&p);
		if (*p++ != '/')
			goto bad;
		t->value = d_parse_hex(&p);
		if (!(p = after(at, "notify:")))
			goto bad;
		t->notify = d_startswith(p, "none") ? SIGEV_NONE : SIGEV_SIGNAL; /* "thread" is glibc's, made of a tid notification */
		p = strchr(p, '/');
		if (!p)
			goto bad;
		if (d_startswith(p + 1, "tid."))
			t->notify |= DURUN_SIGEV_THREAD_ID;
		p += 5;
		t->tid = (int32_t)parse_int(&p);
		if (!(p = after(at, "ClockID:")))
			goto bad;
		t->clock = (int32_t)parse_int(&p);
		if (syscall(SYS_timer_gettime, t->id, &t->its)) {
			ERR(&d->err, "timers", "timer_gettime of a timer /proc/self/timers lists", "", errno);
			return -1;
		}
		n++;
	}
	saved.n = n;
	return 0;
bad:
	ERR(&d->err, "timers", "cannot parse /proc/self/timers", "", 0);
	return -1;
}

/* Without /proc/self/timers (a kernel without CONFIG_CHECKPOINT_RESTORE, or
 * a file we may not read) a timer cannot be described: refuse if the low
 * ids, where the kernel puts them, hold one. */
static int refuse_if_any(struct dump_ctx *d)
{
	for (int id = 0; id < 64; id++) {
		struct itimerspec its;
		if (syscall(SYS_timer_gettime, id, &its) == 0) {
			ERR(&d->err, "timers", "the process has POSIX timers but this kernel has no /proc/self/timers to describe them", "", ENOENT);
			return -1;
		}
	}
	saved.n = 0;
	return 0;
}

int timers_take(struct dump_ctx *d)
{
	char *buf = dump_alloc(d, TIMERS_TEXT, "/proc/self/timers");
	long n;
	int rc;
	if (!buf)
		return -1;
	n = d_read_file("/proc/self/timers", buf, TIMERS_TEXT - 1);
	if (n == -ENOENT || n == -EACCES || n == -EPERM)
		rc = refuse_if_any(d); /* no CONFIG_CHECKPOINT_RESTORE, or closed to us */
	else if (n < 0) {
		ERR(&d->err, "timers", "read", "/proc/self/timers", (int)-n);
		rc = -1;
	} else {
		buf[n] = 0;
		/* an untouched list stays out of incremental images */
		rc = n == 0 && saved.n == 0 ? 0 : parse_timers(d, buf);
	}
	dump_free(buf, TIMERS_TEXT);
	return rc;
}

static void say(const char *what, int id, int err)
{
	char line[200];
	struct sb s;
	sb_init(&s, line, sizeof(line));
	sb_str(&s, "durun: restored process ");
	sb_u64(&s, (uint64_t)getpid());
	sb_str(&s, ": POSIX timer ");
	sb_i64(&s, id);
	sb_str(&s, ": ");
	sb_str(&s, what);
	sb_str(&s, ": ");
	sb_str(&s, d_strerror(err));
	sb_str(&s, "\n");
	if (write(2, line, s.len) < 0)
		return; /* nowhere else to say it */
}

static long create(const struct saved_timer *t, int *id)
{
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = t->notify;
	ev.sigev_signo = t->signo;
	ev.sigev_value.sival_ptr = (void *)(uintptr_t)t->value;
	ev._sigev_un._tid = t->tid;
	return syscall(SYS_timer_create, t->clock, &ev, id);
}

/* Creates throw-away timers until the next id the kernel hands out is `want`. */
static int fill_to(int want)
{
	struct saved_timer dummy = { .clock = CLOCK_MONOTONIC, .notify = SIGEV_NONE };
	for (;;) {
		int id = -1;
		if (create(&dummy, &id))
			return -1;
		syscall(SYS_timer_delete, id);
		if (id + 1 >= want)
			return id + 1 == want ? 0 : (errno = EEXIST, -1);
	}
}

void timers_recreate(void)
{
	int by_id = saved.n && prctl(DURUN_PR_TIMER_CREATE_RESTORE_IDS, DURUN_PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0) == 0;
	int next = 0;
	for (int done = 0; done < saved.n; done++) {
		/* in id order (/proc/self/timers lists them newest first) */
		const struct saved_timer *t = NULL;
		for (int k = 0; k < saved.n; k++)
			if (saved.t[k].id >= next && (!t || saved.t[k].id < t->id))
				t = &saved.t[k];
		if (!t)
			break;
		int id = t->id;
		if (!by_id && id > next && fill_to(id)) {
			say("cannot reach its id", id, errno);
			break; /* the ids after it would be wrong too */
		}
		int got = id;
		if (create(t, &got)) {
			say("timer_create", id, errno);
			break; /* the ids after it would be wrong too */
		}
		if (got != id) {
			say("created with another id", id, EEXIST);
			syscall(SYS_timer_delete, got);
			break; /* the ids after it would be wrong too */
		}
		next = id + 1;
		if ((t->its.it_value.tv_sec || t->its.it_value.tv_nsec) && syscall(SYS_timer_settime, id, 0, &t->its, NULL))
			say("timer_settime", id, errno);
	}
	if (by_id)
		prctl(DURUN_PR_TIMER_CREATE_RESTORE_IDS, DURUN_PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0);
}
