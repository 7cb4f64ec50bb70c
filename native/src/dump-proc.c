/* Process-wide records: HEADER, MM, PROC, SIGACTS, THREAD. Log prefix "proc". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "dump.h"

int dump_header(struct dump_ctx *d, uint64_t image_id, uint64_t parent_id, const char *parent)
{
	struct img_header h;
	char exe[4096];
	struct stat st;
	ssize_t n;

	memset(&h, 0, sizeof(h));
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		ERR(&d->err, "proc", "readlink", "/proc/self/exe", errno);
		return -1;
	}
	exe[n] = 0;
	if (stat("/proc/self/exe", &st) == 0) {
		h.exe_size = (uint64_t)st.st_size;
		h.exe_mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
		h.exe_ino = st.st_ino;
		h.exe_dev = st.st_dev;
	}
	h.kind = d->incremental ? IMG_KIND_INCR : IMG_KIND_FULL;
	h.nthreads = (uint32_t)durun_g.nslots;
	h.image_id = image_id;
	h.parent_id = parent_id;
	h.created_ns = d_now_ns(CLOCK_REALTIME);
	h.pid = getpid();
	h.ppid = getppid();
	h.pgid = getpgid(0);
	h.sid = getsid(0);
	h.uid = getuid();
	h.gid = getgid();
	h.exe_len = (uint32_t)n;
	h.parent_len = parent ? (uint32_t)d_strlen(parent) : 0;
	return iw_record(&d->w, REC_HEADER, &h, sizeof(h), exe, (size_t)n, parent, h.parent_len);
}

/* /proc/self/stat fields 26.. (1-based): startcode endcode startstack ... */
static uint64_t stat_field(const char *s, int want)
{
	const char *p = s;
	const char *rp = NULL;
	for (const char *q = s; *q; q++)
		if (*q == ')')
			rp = q;
	if (!rp)
		return 0;
	p = rp + 2; /* field 3 */
	for (int f = 3; f < want && *p; p++)
		if (*p == ' ')
			f++;
	if (*p == '-')
		return 0;
	return d_parse_dec(&p);
}

int dump_mm(struct dump_ctx *d)
{
	struct img_mm m;
	char stat[2048];
	char auxv[1024];
	long n, na;

	memset(&m, 0, sizeof(m));
	n = d_read_file("/proc/self/stat", stat, sizeof(stat));
	if (n < 0) {
		ERR(&d->err, "proc", "read", "/proc/self/stat", (int)-n);
		return -1;
	}
	m.start_code = stat_field(stat, 26);
	m.end_code = stat_field(stat, 27);
	m.start_stack = stat_field(stat, 28);
	m.start_data = stat_field(stat, 45);
	m.end_data = stat_field(stat, 46);
	m.start_brk = stat_field(stat, 47);
	m.arg_start = stat_field(stat, 48);
	m.arg_end = stat_field(stat, 49);
	m.env_start = stat_field(stat, 50);
	m.env_end = stat_field(stat, 51);
	m.brk = (uint64_t)syscall(SYS_brk, 0);
	na = d_read_file("/proc/self/auxv", auxv, sizeof(auxv));
	if (na < 0) {
		ERR(&d->err, "proc", "read", "/proc/self/auxv", (int)-na);
		return -1;
	}
	m.auxv_len = (uint32_t)na;
	return iw_record(&d->w, REC_MM, &m, sizeof(m), auxv, (size_t)na, NULL, 0);
}

int dump_proc(struct dump_ctx *d)
{
	struct img_proc p;
	char cwd[4096];
	ssize_t n;
	mode_t um;

	memset(&p, 0, sizeof(p));
	n = readlink("/proc/self/cwd", cwd, sizeof(cwd) - 1);
	if (n < 0) {
		ERR(&d->err, "proc", "readlink", "/proc/self/cwd", errno);
		return -1;
	}
	um = umask(022); /* every other thread is stopped: no race */
	umask(um);
	p.umask = um;
	p.personality = (uint32_t)personality(0xffffffff);
	for (int r = 0; r < 16; r++) {
		struct rlimit rl;
		if (prlimit(0, (enum __rlimit_resource)r, NULL, &rl) == 0) {
			p.rlim[r][0] = rl.rlim_cur;
			p.rlim[r][1] = rl.rlim_max;
		} else {
			p.rlim[r][0] = p.rlim[r][1] = RLIM_INFINITY;
		}
	}
	for (int w = 0; w < 3; w++) {
		struct itimerval it;
		if (getitimer(w, &it)) {
			ERR(&d->err, "proc", "getitimer", "", errno);
			return -1;
		}
		p.itimer[w][0] = (uint64_t)it.it_interval.tv_sec;
		p.itimer[w][1] = (uint64_t)it.it_interval.tv_usec;
		p.itimer[w][2] = (uint64_t)it.it_value.tv_sec;
		p.itimer[w][3] = (uint64_t)it.it_value.tv_usec;
	}
	p.cwd_len = (uint32_t)n;
	return iw_record(&d->w, REC_PROC, &p, sizeof(p), cwd, (size_t)n, NULL, 0);
}

int dump_sigacts(struct dump_ctx *d)
{
	struct img_sigact sa[64];
	memset(sa, 0, sizeof(sa));
	for (int s = 1; s <= 64; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, s, NULL, &sa[s - 1], 8) < 0) {
			ERR(&d->err, "proc", "rt_sigaction", "", errno);
			return -1;
		}
	}
	return iw_record(&d->w, REC_SIGACTS, sa, sizeof(sa), NULL, 0, NULL, 0);
}

int dump_thread_records(struct dump_ctx *d)
{
	struct dump_state *g = &durun_g;
	for (int i = 0; i < g->nslots; i++) {
		struct thr_slot *s = &g->slots[i];
		struct img_thread t = s->t;
		t.tflags = i == 0 ? 1 : 0;
		t.rbx = s->ctx.rbx;
		t.rbp = s->ctx.rbp;
		t.r12 = s->ctx.r12;
		t.r13 = s->ctx.r13;
		t.r14 = s->ctx.r14;
		t.r15 = s->ctx.r15;
		t.rsp = s->ctx.rsp;
		t.rip = s->ctx.rip;
		memcpy(t.fxsave, s->ctx.fx, sizeof(t.fxsave));
		if (iw_record(&d->w, REC_THREAD, &t, sizeof(t), NULL, 0, NULL, 0))
			return -1;
	}
	return 0;
}
