/* What the files of libdurun.so share: the identity this process started
 * with, the real libc functions behind the interposed ones, and the link to
 * the supervisor. Nothing here is exported from the library; only functions
 * marked DURUN_EXPORT are (the Makefile builds with -fvisibility=hidden). */
#ifndef DURUN_PRELOAD_H
#define DURUN_PRELOAD_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <sys/wait.h>
#include <termios.h>
#include <sys/ioctl.h>

#include "durun_env.h"

#define DURUN_EXPORT __attribute__((visibility("default")))
/* Our thread-locals: the library is always loaded at start-up (LD_PRELOAD),
 * so static TLS, reached without __tls_get_addr. */
#define DURUN_TLS __thread __attribute__((tls_model("initial-exec")))

/* strncmp(s, p, len) == 0 for a p without NUL in its first len bytes (the
 * loop stops at s's NUL). Ours: libc's lies on a page that a new image or a
 * fork child would fault in just for this. */
static inline int starts_with(const char *s, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != p[i])
			return 0;
	return 1;
}

/* strlen and memcpy, ours for the same reason: the constructor of every
 * new image and a fork child about to exec use them. */
static inline size_t str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static inline int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static inline void mem_copy(char *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i];
}

/* A one-argument syscall as one instruction: libc's wrappers sit on pages
 * few programs touch (and ours go through the PLT), so calling them from a
 * fork child or a new image costs a page fault or two. Returns the raw
 * result (-errno on failure) and leaves errno alone. */
static inline long sys1(long nr, long a1)
{
#if defined(__x86_64__)
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a1) : "rcx", "r11", "memory");
	return r;
#else
	int saved = errno;
	long r = syscall(nr, a1);
	if (r < 0)
		r = -errno;
	errno = saved;
	return r;
#endif
}
/* The same with up to six arguments. */
static inline long sys6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
#if defined(__x86_64__)
	long r;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
	return r;
#else
	int saved = errno;
	long r = syscall(nr, a1, a2, a3, a4, a5, a6);
	if (r < 0)
		r = -errno;
	errno = saved;
	return r;
#endif
}
#define sys4(nr, a1, a2, a3, a4) sys6(nr, a1, a2, a3, a4, 0, 0)
/* Cannot fail. */
#define durun_getpid() ((pid_t)sys1(SYS_getpid, 0))
#define durun_getppid() ((pid_t)sys1(SYS_getppid, 0))

/* Signal sets without libc's sigaddset & co. (pages most programs never
 * touch, so a fault each at first use). sig is 1..NSIG-1. */
#define SIG_WORD_BITS (8 * sizeof(unsigned long))
static inline int sig_has(const sigset_t *s, int sig)
{
	return (((const unsigned long *)s)[(sig - 1) / SIG_WORD_BITS] >> ((sig - 1) % SIG_WORD_BITS)) & 1;
}
static inline void sig_set(sigset_t *s, int sig, int on)
{
	unsigned long bit = 1UL << ((sig - 1) % SIG_WORD_BITS);
	unsigned long *w = &((unsigned long *)s)[(sig - 1) / SIG_WORD_BITS];
	*w = on ? *w | bit : *w & ~bit;
}

/* connect() and send() on the link give up after this, so a stopped
 * supervisor slows its programs down instead of hanging them. */
#define DURUN_LINK_TIMEOUT_MS 2000

/* ---- conf.c: the identity read once from the environment at load ---- */

/* Each DURUN_* variable this process started with, kept as a ready-made
 * "NAME=value" entry so exec can put it back into any environment without
 * allocating. entry == NULL when the variable was not set. */
struct saved_var {
	const char *name; /* "DURUN_SOCK" */
	size_t name_len;
	char *entry;      /* "DURUN_SOCK=/x/supervisor.sock" or NULL */
};

enum { SV_SOCK, SV_HOME, SV_GROUP, SV_PROGRAM, SV_INSTANCE, SV_LIB, SV_SIGNAL, SV_COUNT };

struct conf {
	int active;            /* DURUN_SOCK was set: the library is not inert */
	pid_t pid;             /* who this process was when it last registered */
	struct saved_var var[SV_COUNT];
	long long program, instance, exec_count;
	int signo;             /* call-home signal */
	/* Non-zero in a fork child its parent reported (`fork` message): the
	 * pid of that parent. Such a child has no link of its own until it has
	 * something to say; link_send opens it then (hello reason "fork"). */
	_Atomic pid_t lazy_parent;
	/* Non-zero in a lazy image: the fork child that exec'd it announced it
	 * on its parent's link (`exec`), so it has not registered; link_send and
	 * the call-home signal register it (hello "load") when it must speak. */
	_Atomic int lazy_image;
	long long started_ms;  /* when this process (image, or fork child) began */
	int argc;
	char **argv;           /* main's argv, as glibc passed it to the constructor */
	const char *exe;       /* /proc/self/exe, read once per image (in conf.c's store) */
};

extern struct conf conf;

void conf_load(int argc, char **argv, char **envp);
const char *conf_value(int which); /* value part of var[which], or NULL */
long long now_ms(void);

/* ---- real.c: the functions the interposed names hide ---- */

struct real_fns {
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*execveat)(int, const char *, char *const[], char *const[], int);
	int (*posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[], char *const[]);
	int (*posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			    const posix_spawnattr_t *, char *const[], char *const[]);
	pid_t (*fork)(void);
	pid_t (*_Fork)(void);
	pid_t (*forkpty)(int *, char *, const struct termios *, const struct winsize *);
	int (*daemon)(int, int);
	void (*_exit)(int) __attribute__((noreturn));
	void (*_Exit)(int) __attribute__((noreturn));
	pid_t (*wait)(int *);
	pid_t (*waitpid)(pid_t, int *, int);
	pid_t (*wait3)(int *, int, struct rusage *);
	pid_t (*wait4)(pid_t, int *, int, struct rusage *);
	int (*waitid)(idtype_t, id_t, siginfo_t *, int);
	int (*close)(int);
	int (*close_range)(unsigned, unsigned, int);
	void (*closefrom)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	sighandler_t (*signal)(int, sighandler_t);
	int (*sigprocmask)(int, const sigset_t *, sigset_t *);
	int (*pthread_sigmask)(int, const sigset_t *, sigset_t *);
};

extern struct real_fns real;

/* Resolves every entry of real with dlsym(RTLD_NEXT). Called from the
 * constructor; REAL() also calls it when an interposed function runs before
 * the constructor did (another library's constructor forking, say). */
void real_resolve(void);
#define REAL(fn) (real.fn ? real.fn : (real_resolve(), real.fn))

/* ---- link.c: the connection to the supervisor ---- */

int link_fd(void);                  /* current link, or -1 */
/* Opens a new connection and makes it the link, closing the previous one.
 * Async-signal-safe. Returns 0, or -1 when the supervisor is unreachable
 * (the link is then -1). */
int link_reopen(void);
/* Forgets the link without closing it (a restored process: the number is
 * not ours any more). */
void link_forget(void);
/* Moves the link off fd (a dup2/dup3 target); returns the new number or -1. */
int link_move_off(int fd);
/* Sends one complete line built by process pid (its getpid()); errors are
 * dropped (the program must not notice). A pid other than conf.pid means a
 * fork nobody saw: the child registers first; so does a fork child whose
 * registration was deferred (link_defer). */
void link_send(pid_t pid, const char *line, size_t len);
/* In a fork child its parent reports: set the inherited copy of the
 * parent's link aside (only an exec is announced on it) and register only
 * when there is something to send. */
void link_defer(pid_t parent);
/* Closes that inherited copy, if any. */
void link_drop_inherited(void);
/* The inherited copy's number, or -1. */
int link_inherited_fd(void);
/* Sends one line on the inherited copy: 0, or -1 when there is none or the
 * send failed. */
int link_announce(const char *line, size_t len);
/* A deferred fork child or a lazy image registers now (hello "fork" or
 * "load"); returns 1 if it was one of them, 0 if already registered. */
int link_register_pending(void);
/* Whatever this process is (a fork nobody reported: pid differs from
 * conf.pid; a silent fork child; a lazy image), it is registered after
 * this, if the supervisor is reachable. */
void link_register_now(pid_t pid);
/* This process is such a child and has not registered yet. */
static inline int link_deferred(void)
{
	return atomic_load_explicit(&conf.lazy_parent, memory_order_relaxed) != 0;
}
/* hello{role:"proc"}; reason is "load", "fork", "callhome" or "restore"; ppid 0 means
 * getppid(). */
void link_hello(const char *reason, pid_t ppid);

/* ---- fork.c ---- */

/* In a child of a fork nobody reported (glibc-internal, raw clone): take
 * over conf.pid, open our own link, send hello "fork". */
void fork_child(void);

/* ---- fdguard.c ---- */

/* The program closed the link's number (we only pretended): a second close
 * must fail with EBADF like a real one. Reset whenever the link moves. */
void fdguard_forget(void);

/* ---- msg.c: small messages ---- */

void msg_exit(int status);
void msg_fork(pid_t child);
void msg_reaped(pid_t child, int is_signal, int value);
void msg_exec(const char *path, char *const argv[]);
/* A silent fork child announces its exec on its parent's link, so the new
 * image can start lazy. 0 when sent (one atomic send of at most
 * DURUN_ANNOUNCE_MAX bytes), -1 when the new image must register itself. */
int msg_exec_announce(const char *path, char *const argv[]);
/* exec-failed for an announced exec, on the same link. */
void msg_exec_failed_announced(int err);
/* The longest announce line: small enough to be one skb, so the lines of
 * the parent and its children on the shared link never interleave. */
#define DURUN_ANNOUNCE_MAX 4096
void msg_exec_failed(int err);

/* ---- envfix.c ---- */

/* Size of the envp array env_repair needs for envp (entries + ours + NULL). */
size_t env_slots(char *const envp[]);
/* Length of the LD_PRELOAD entry env_repair may have to build for envp. */
size_t env_preload_len(char *const envp[]);
/* Fills out (env_slots(envp) entries) with envp repaired for a new image of
 * this program: our DURUN_* entries, DURUN_EXEC_COUNT + 1, libdurun.so in
 * LD_PRELOAD. count_buf (>= 48 bytes) and preload_buf (env_preload_len bytes)
 * hold the entries it builds. Returns out. */
char **env_repair(char *const envp[], char **out, char *count_buf, char *preload_buf);

/* Declares the stack storage env_repair needs and runs it: after this,
 * `name` is the repaired envp. No malloc, so exec stays vfork-safe. Only
 * when conf.active. */
#define ENV_REPAIRED(name, envp)                                   \
	char *name##_slots[env_slots(envp)];                        \
	char name##_count[48];                                      \
	char name##_preload[env_preload_len(envp)];                 \
	char **name = env_repair(envp, name##_slots, name##_count, name##_preload)
/* The repaired environment is this program's (not a nested runner's). */
int env_is_ours(char **env);
/* Marks a repaired environment (one free slot is kept for it) for a lazy
 * image: DURUN_LAZY=1 before the terminating NULL. */
void env_mark_lazy(char **env);
/* The constructor of a lazy image: 1 when envp carries the mark, which is
 * removed from it in place (the program and its children never see it). */
int env_take_lazy(char **envp);

/* ---- callhome.c ---- */

void callhome_install(void);
/* In a fork child whose child part has not run yet (or of a fork nobody
 * reported): register as the parent's child first. */
void fork_child_catch_up(void);
/* This process has sent its `exit`: it must not call home any more (a
 * hello after it would be taken for a new process). */
int exit_reported(void);
/* Blocks (1) or unblocks (0) the call-home signal. exec blocks it: from the
 * kernel's reset of our handler to the new image's callhome_install, its
 * default action would kill the process; held pending, it is delivered
 * there (a static image never loads us and keeps it blocked, harmlessly). */
void callhome_hold(int hold);

/* ---- ckpt.c: checkpoint requests on the call-home signal ---- */

/* From the signal handler: 1 when the signal was the engine's thread stop or
 * a checkpoint command waiting on the link (handled), 0 to call home. */
int ckpt_on_signal(int sig, siginfo_t *info, void *uctx);

/* ---- inotify.c: the paths of the program's inotify watches ---- */

/* durun_ckpt_req.inotify_path: the path of watch wd of inotify fd (inode
 * ino on dev), or -1 if it was not added through us. Lock-free. */
long inotify_path_of(int fd, int wd, uint64_t ino, uint64_t dev, char *path, unsigned long size, uint32_t *flags);

/* ---- exit.c ---- */

void exit_install(void);

#endif
