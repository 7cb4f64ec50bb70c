/* Internal state of the in-process dumper. Lives in the library's .bss, so it
 * is part of every image; the restored leader resets it. */
#ifndef DURUN_DUMP_H
#define DURUN_DUMP_H

#include <stdint.h>
#include "durun_ckpt.h"
#include "image.h"
#include "img-write.h"
#include "util.h"

#define DUMP_MAX_THREADS 256
#define DUMP_MAX_TRACKED 4096
#define DUMP_MAX_EXCLUDE 4
#define DUMP_MAX_REPAIRED 1024 /* TCP connections one process carries live */

/* Resume point of one thread: callee-saved registers + x87/SSE control state.
 * Layout fixed: capture.S writes it. */
struct dctx {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
	uint8_t fx[512] __attribute__((aligned(64)));
} __attribute__((aligned(64)));

/* Returns 0 when called, 1 when resumed in a restored process. */
int durun_capture(struct dctx *c) __attribute__((returns_twice));

struct thr_slot {
	struct dctx ctx;
	int tid;
	volatile int ready;
	struct img_thread t;    /* everything but the registers */
};

struct range {
	uint64_t start, end;
};

struct dump_ctx;

struct dump_state {
	int initialized;              /* state_init_once() ran (the struct starts zero-filled) */
	volatile int active;          /* a dump is in progress */
	volatile int arrived;         /* futex: threads parked */
	volatile int departed;        /* threads that left the handler */
	volatile int release;         /* futex: bumped to let them go */
	volatile int nslots;
	int held;                     /* durun_ckpt_stop() parked the others until durun_ckpt_release() */
	int is_writer;                /* this is a snapshot's writer (a fork child): no threads to release */
	int writer_mid;               /* the snapshot's middle process, reaped by durun_ckpt_release() */
	struct dump_ctx *pending_ctx; /* here: a snapshot's scratch, freed by durun_ckpt_release() */
	int thread_signal;
	volatile int resumed;         /* futex: a restored leader has recreated the timers and its signals */
	struct thr_slot slots[DUMP_MAX_THREADS]; /* [0] = leader */
	/* dirty tracking between dumps */
	int uffd;                     /* -1 when not armed */
	int uffd_pid;                 /* process that opened it (a fork child must not use it) */
	int tracking;                 /* 1: uffd armed against last_image */
	uint64_t last_image_id;
	char last_image[4096];
	int ndumps;                   /* dumps attempted by this process */
	int ntracked;
	struct range tracked[DUMP_MAX_TRACKED]; /* pieces dumped last time */
	/* sockets this dump put in TCP_REPAIR mode (DURUN_CKPT_TCP_LIVE): left
	 * so until durun_ckpt_release(), which takes them out if we run on */
	int nrepaired;
	int repaired[DUMP_MAX_REPAIRED];
};

extern struct dump_state durun_g;

/* One line of /proc/self/maps. */
struct mline {
	uint64_t start, end, pgoff, ino;
	unsigned maj, min;
	uint32_t prot;
	int shared;
	const char *path;        /* points into mem_plan.maps */
	size_t path_len;
};

/* One piece of a mapping (a mapping minus the dumper's own scratch) and what
 * the tracking pass found for it. */
struct piece_plan {
	struct mline m;
	uint64_t s, e;
	uint64_t bits;           /* offset of this piece's written-page bytes in mem_plan.bits */
	uint8_t tracked;         /* incremental: those bytes say which resident pages are new */
	uint8_t armed;           /* registered for tracking by this dump */
};

struct mem_plan {
	char *maps;
	size_t maps_cap;
	struct piece_plan *pieces;
	size_t pieces_len;
	int npieces, cap;
	uint8_t *bits;
	size_t bits_len;
};

/* What one dump call carries around. */
struct dump_ctx {
	const struct durun_ckpt_req *req;
	struct durun_ckpt_result *res;
	struct derr err;
	struct img_writer w;
	char *wbuf;              /* the writer's buffer (mmap) */
	int img_fd, pagemap_fd;
	int incremental;
	struct range exclude[DUMP_MAX_EXCLUDE];
	int nexclude;
	int ntracked_new;
	struct range tracked_new[DUMP_MAX_TRACKED];
	struct mem_plan plan;
};

/* Fault injection for tests (STYLE.md): DURUN_FAULT=ckpt:POINT fails every
 * dump at POINT, DURUN_FAULT=ckpt:POINT@N only the N-th dump of the process.
 * Points: header, memory, rename (memory and rename happen in a snapshot's
 * writer). DURUN_FAULT=ckpt:writer-delay=MS holds a snapshot's writer MS
 * before it writes. */
int dump_fault(struct dump_ctx *d, const char *point);

/* dump-threads.c */
int dump_stop_threads(struct dump_ctx *d);
void dump_release_threads(struct dump_ctx *d);
void dump_fill_thread(struct thr_slot *s);
/* dump-proc.c */
int dump_header(struct dump_ctx *d, uint64_t image_id, uint64_t parent_id, const char *parent);
int dump_mm(struct dump_ctx *d);
int dump_proc(struct dump_ctx *d);
int dump_sigacts(struct dump_ctx *d);
int dump_thread_records(struct dump_ctx *d);
/* dump-files.c */
int dump_fds(struct dump_ctx *d);
/* dump-pipes.c: PIPE records for the pipes fds[i] (inode inos[i], readable[i]
 * if a read end), once per inode */
int dump_pipes(struct dump_ctx *d, const int *fds, const int *readable, const uint64_t *inos, int n);
/* dump-unix.c: UNIX records for the sockets fds[i] (inode inos[i]), once per inode */
int dump_unix(struct dump_ctx *d, const int *fds, const uint64_t *inos, int n);
/* dump-kobj.c: the KOBJ kind (KOBJ_*) of an fd of kind fd_kind whose /proc link is `link`, or 0 */
uint32_t kobj_kind_of(uint32_t fd_kind, const char *link);
/* dump-kobj.c: KOBJ records for fds[i] of kinds[i] (inode inos[i]) */
int dump_kobjs(struct dump_ctx *d, const int *fds, const uint32_t *kinds, const uint64_t *inos, int n);
/* dump-tcp.c: a KOBJ_TCP record for the established TCP connection on fd
 * (sock: its addresses and options); 1 when it is not established (the
 * caller records it as a plain socket, restored closed), -1 on error */
int dump_tcp(struct dump_ctx *d, int fd, const struct kobj_sock *sock);
/* dump-tcp.c: the sockets dump_tcp() put in repair mode leave it; -1 (errno) if one could not */
int dump_tcp_unrepair(void);
/* dump-memfd.c: whether a /proc/self/fd link names a memfd; its KOBJ record */
int kobj_is_memfd(const char *link);
int dump_memfd(struct dump_ctx *d, int fd);
/* dump-inotify.c: the KOBJ payload of inotify fd (fdinfo text) built in out; its length or -1 */
long inotify_watches(struct dump_ctx *d, int fd, const char *text, char *out, size_t room);
/* dump-signals.c: pending signals of the calling thread (and, in the main
 * thread, of the process) taken out of the kernel into the image's memory
 * before its resume point; given back (queued again) after the dump and
 * after a restore, each by the thread that took them */
void signals_take(void);
void signals_give_back(void);
void signals_reset(void);
int signals_check(struct dump_ctx *d);
/* dump-timers.c: the POSIX timers (timer_create) into the image's memory;
 * recreated with the same ids by the restored process */
int timers_take(struct dump_ctx *d);
void timers_recreate(void);
/* dump-mem.c: pass 1 (maps, dirty tracking; in the tracked process itself),
 * pass 2 (VMA and PAGES records; may run in a snapshot's fork child) */
int mem_plan(struct dump_ctx *d);
int mem_write(struct dump_ctx *d);
void mem_plan_free(struct dump_ctx *d);
/* track.c */
int track_open(struct dump_ctx *d);
int track_arm(struct dump_ctx *d, uint64_t start, uint64_t end);
int track_is_armed(struct dump_ctx *d, uint64_t start, uint64_t end);
/* Fills bits[] (1 byte per page) with 1 for pages written since the last
 * scan, and write-protects them again. */
int track_scan_written(struct dump_ctx *d, uint64_t start, uint64_t end, uint8_t *bits);

/* mmap-backed scratch (no malloc in a signal handler) */
void *dump_alloc(struct dump_ctx *d, size_t len, const char *what);
void dump_free(void *p, size_t len);

#endif
