/* durun-restore internals. Log prefixes: "restore", "ns", "files", "plan". */
#ifndef DURUN_RESTORE_H
#define DURUN_RESTORE_H

#include <stdio.h>
#include "img-read.h"
#include "tree.h"

struct ropts {
	const char *image;
	const char *pidfile;
	const char *pidsfile;    /* --tree: "OLDPID OUTERPID" per process */
	int no_pidns;
	int verbose;
	int lazy;                /* lazy memory restore (lazy.h) chosen */
	struct lazy *lz;         /* single mode: the filler's state */
	uint64_t t0_ns;          /* start (CLOCK_MONOTONIC) */
	const char *net_unlock;  /* --net-unlock TABLE: lifted before the program runs again */
};
/* every PAGES record of the chain verified (eager fallback after a deferred load); 0 or -1 reported */
int verify_pages(const struct loaded_image *imgs, int n);
/* restore.c, in a restored process (lazy mode): its userfaultfd sent on sock
 * with msg; -1 eager after all (pages verified), -2 failed (reported) */
int lazy_child_uffd(int sock, const char *msg, const struct loaded_image *imgs, int n);

/* Prints "durun-restore: <file>:<line> <subsys>: <msg>[: strerror]" to stderr. */
void rlog_err(const char *file, int line, const char *subsys, int err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#define RERR(subsys, err, ...) rlog_err(__FILE__, __LINE__, (subsys), (err), __VA_ARGS__)
extern int rverbose;
#define RINFO(...) do { if (rverbose) { fprintf(stderr, "durun-restore: " __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* restore-ns.c: returns 0 in the process that must become the program
 * (status_fd set to the channel for the blob's verdict, or -1); the processes
 * above it never return from here (they wait and exit with its status). */
int ns_enter(const struct loaded_image *li, const struct ropts *o, int *status_fd);
/* new user namespace (when not root) + new pid namespace for our children */
int ns_unshare(void);
/* fork() whose child gets pid `want` in the current pid namespace */
pid_t fork_as(pid_t want);
/* the outer durun-restore after the release: forwards SIGTERM/INT/HUP/QUIT
 * to `target`, exits with the status of `init` */
void forward_and_wait(pid_t target, pid_t init) __attribute__((noreturn));
/* forward those signals to target from now on */
void forward_to(pid_t target);
/* SIGKILL the namespace's init, reap it, exit 1 */
void kill_and_exit(pid_t init) __attribute__((noreturn));
/* name of a restorer blob step (RST_STEP_*) */
const char *rst_step_name(int step);
/* shell-style status: exit code, or 128+N for signal N */
int exit_code(int st);
/* waits for `child`, reaping anything else; exits with its status */
void wait_and_exit(pid_t child) __attribute__((noreturn));
/* restore.c */
int load_image(const char *path, struct loaded_image *li, char *merged, size_t merged_sz);
int check_files(const struct loaded_image *li, int allow_parent);
/* an incremental chain restored in place: img[0] is the image restored
 * (PARENT runs kept), img[1..n-1] its ancestors; fds stay open */
struct rchain {
	struct loaded_image *img;
	int n;
};
/* restore-tree.c: durun-restore --tree IMAGE...; returns only on failure */
int restore_tree(const struct ropts *o, char **images, int nimages);
/* restore-kobj.c: the KOBJ record of fd, or NULL */
const struct li_kobj *kobj_of(const struct loaded_image *li, int fd);
/* restore-kobj.c: a new fd holding the object (epoll still empty); -1 reported */
int kobj_rebuild(const struct li_kobj *ko, uint32_t oflags);
/* restore-kobj.c: "host:port" (or a unix path) of a recorded address */
void kobj_describe(const struct kobj_sock *s, const uint8_t *addr, uint32_t len, char *out, size_t size);
/* restore-kobj.c: the SOCK_OPT_* options set on a new socket */
void kobj_sock_options(int fd, uint32_t opts);
/* restore-kobj.c: a stream whose other end is gone, standing for connection fd_no (why: which) */
int kobj_closed_stream(int fd_no, const char *why);
/* restore-tcp.c: a new socket continuing the live TCP connection of a KOBJ_TCP record (closed if it cannot) */
int tcp_rebuild(const struct li_kobj *ko);
/* restore-tcp.c: lifts the supervisor's network lock (nftables table `table`) once the connections are rebuilt */
int tcp_net_unlock(const char *table);
/* restore-kobj.c: takes back the locks of a KOBJ_LOCKS record on its placed fd */
int kobj_take_locks(const struct li_kobj *ko);
/* restore-kobj.c: adds an epoll's interest list; the epoll and its targets are placed */
int kobj_fill_epoll(const struct li_kobj *ko);
/* restore-inotify.c: a new inotify fd with the record's watches, each with its old wd; -1 reported */
int inotify_rebuild(const struct li_kobj *ko);
/* restore-memfd.c: the memfd payload of a KOBJ_MEMFD record (NULL reported if it does not add up) */
const struct kobj_memfd *memfd_record(const struct li_kobj *ko);
/* restore-memfd.c: a new memfd with the record's name, size, mode and contents, not sealed yet */
int memfd_create_filled(const struct li_kobj *ko);
/* restore-memfd.c: puts the record's seals on fd (once nothing more is written into it) */
int memfd_seal(int fd, const struct li_kobj *ko);
/* restore-memfd.c: another open file of the memfd at fd `from`, with f's access mode and offset */
int memfd_reopen(int from, const struct li_fd *f);
/* restore-memfd.c: the fd number of li's first fd on memfd (dev, ino), or -1 */
int memfd_placed(const struct loaded_image *li, uint64_t dev, uint64_t ino);
/* restore-files.c (t: the tree's shared pipes, NULL for one process) */
int restore_files(const struct loaded_image *li, int *keep, int nkeep, struct tree_ctx *t);
int restore_proc(const struct loaded_image *li);
/* restore-plan.c: never returns on success (t: shared memory + release page,
 * or NULL; uffd >= 0: lazy restore, the mappings lazy_vma() accepts are
 * registered with it instead of being filled) */
int restore_enter(const struct loaded_image *li, int status_fd, struct tree_ctx *t, const struct rchain *ch, int uffd);
/* The page runs of one mapping as reads (DATA from li, PARENT spans from
 * the nearest ancestor in ch); emit NULL only counts. Returns the count or -1. */
typedef void (*run_emit_fn)(void *ctx, uint64_t addr, uint64_t len, int fd, uint64_t off);
long plan_runs(const struct loaded_image *li, const struct li_vma *v, const struct rchain *ch, run_emit_fn emit, void *ctx);
/* true if the mapping is restored lazily when a userfaultfd is available */
int lazy_vma(const struct li_vma *v, const struct tree_ctx *t);

#endif
