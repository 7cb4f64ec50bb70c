/* Internal interfaces of the durun executable (launcher/c). Each .c file owns
 * one job; this header is the only thing they share besides preload/wire.h
 * and preload/durun_env.h. */
#ifndef DURUN_LAUNCHER_H
#define DURUN_LAUNCHER_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "wire.h"

/* Exit codes, shell convention (see launcher/README.md, "Exit codes"). */
#define EXIT_USAGE      2
#define EXIT_NOEXEC     126
#define EXIT_NOTFOUND   127
#define EXIT_SIGBASE    128

/* A stopped or wedged supervisor must not stall the runner: connect() and
 * every send on the link give up after this (the link then counts as broken
 * and reports are queued). */
#define LINK_SEND_TIMEOUT_MS 2000

/* ---- args.c: what the operator asked for (pure data, no side effects) ---- */
#define LAUNCH_MAX 64
struct run_opts {
	const char *group;          /* NULL: basename of cmd[0] */
	int detach;
	const char *restart;        /* on-crash | on-failure | always | never */
	long long backoff_ms;       /* -1: not given, the supervisor's default applies */
	long long backoff_max_ms;
	long long max_restarts;
	long long restart_window_ms;
	char **cmd;                 /* NULL-terminated, at least one element */
	const char *restore;        /* hidden --restore IMAGE: the first instance is durun-restore IMAGE (issue 3) */
	const char *restore_tree;   /* hidden --restore-tree IMAGE:IMAGE...: durun-restore --tree (process trees) */
	const char *net_unlock;     /* hidden --net-unlock TABLE: durun-restore lifts a move's network lock */
	long long log_of;           /* hidden --log-of N (restore): continue the log of program N of the group; -1: none */
	struct { const char *name, *value; } launch[LAUNCH_MAX]; /* --env, --env-file, --cwd, --user, --limit in order */
	int nlaunch;
};

/* True if arg is a run option, so `durun -d -- CMD` is a run without "run". */
int is_run_option(const char *arg);
/* Parses argv[first..] into o. Returns 0, or prints one usage line and
 * returns -1 (the caller exits EXIT_USAGE). */
int parse_run_args(int argc, char **argv, int first, struct run_opts *o);

/* ---- the shared state of one durun run ---- */
struct durun {
	struct run_opts opt;
	char root[PATH_MAX];        /* install root: realpath(/proc/self/exe)/../.. */
	char home[PATH_MAX];        /* $DURUN_HOME */
	char sock[PATH_MAX];        /* $DURUN_HOME/supervisor.sock */
	char lib[PATH_MAX];         /* libdurun.so; "" when it is missing */
	char cwd[PATH_MAX];
	char group[256];
	char log_path[PATH_MAX];    /* from `accepted` (detached only) */
	long long program;
	long long instance;
	pid_t root_pid;             /* current root, 0 between instances */
	int tty;
};

/* ---- util.c: messages and clocks ---- */
/* "durun: <message>" on stderr. */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A command-line duration (duration.c): "1.5s", "2m", "500" (ms); 0, or -1 when it is not one. */
int parse_duration_ms(const char *text, long long *out);
/* "durun[PID]: <message>: <strerror(err)>" on stderr. */
void note_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
long long now_ms(void); /* CLOCK_MONOTONIC */
/* 0 for a normal exit, the shell's code for a wait status (128+N for signal N). */
int status_code(int wstatus);
/* Reads one small fixed-size report (a pid, an errno) from a pipe whose
 * writer is a child we forked, then closes it. Returns bytes read; 0 means
 * the writer closed without a word (a close-on-exec pipe after exec). */
ssize_t read_report(int fd, void *buf, size_t n);
/* Finds the install root from /proc/self/exe. Returns 0 or -1 (message printed). */
int find_root(char *out, size_t n);
/* Finds node: $DURUN_NODE, else PATH. Returns 0 or -1 (message printed). */
int find_node(char *out, size_t n, const char *why);

/* ---- spawn.c: starting the program ---- */
/* Remembers the signal mask and SIGPIPE disposition durun was started with,
 * so children get them back. Call first thing in main. */
void signals_save(void);
/* In a freshly forked child: give back what signals_save() recorded. */
void signals_restore(void);
/* execvp's PATH search without exec. 0 (path in out), -ENOENT, -EACCES. */
int path_lookup(const char *name, char *out, size_t n);
/* Checks cmd the way execvp will find it. 0, or prints the shell's message
 * and returns EXIT_NOTFOUND / EXIT_NOEXEC. */
int command_check(const char *cmd);
/* Picks libdurun.so ($DURUN_LIB or <root>/build/libdurun.so) into d->lib. */
void spawn_pick_lib(struct durun *d);
/* Forks and execs the program's root for d->instance. out_fd/err_fd: -1 to
 * leave stdout/stderr as they are (foreground). Returns the pid, or -1. */
pid_t spawn_instance(const struct durun *d, int out_fd, int err_fd);

/* ---- launch.c: environment, directory, user and limits of the program ---- */
/* Applies --env-file/--env (to our environment, which every instance
 * inherits), --cwd (chdir), --user (wraps cmd in setpriv, sets HOME, USER,
 * LOGNAME) and checks --limit, creating the cgroup for memory/cpu limits.
 * Before anything is registered. 0, or -1 with the message printed. */
int launch_prepare(struct durun *d);
/* In the forked child before exec: set the rlimits, join the cgroup. 0 or -1 (errno). */
int launch_child(void);
/* In the runner before it forks an instance: it removes the cgroup when it exits. */
void launch_own_cgroup(void);
/* The launch flags as given (absolute paths), for the hello: NULL-terminated, static. */
char *const *launch_args(void);

/* ---- home.c: state directory and the supervisor on demand ---- */
/* Resolves and creates $DURUN_HOME (0700, ours). Fills d->home, d->sock. */
int home_prepare(struct durun *d);
/* Starts `node <root>/dist/supervisor/src/main.js` detached. Returns 0 and
 * the supervisor's pid, or -1 (message printed). */
int supervisor_start(const struct durun *d, pid_t *pid);
/* Connects, starting a supervisor if none listens, retrying up to 5 s.
 * Returns the fd or -1 (message printed). */
int supervisor_connect(const struct durun *d);

/* ---- tree.c: the program's process tree ---- */
/* Leaves pid (a supervisor we started, which re-parents to us as subreaper)
 * and its descendants out of the program's tree. */
void tree_exclude(pid_t pid);
/* True (and forgets it) if pid was excluded: its end is not the program's. */
int tree_forget_excluded(pid_t pid);
/* True if any live process of the program's tree is left. */
int tree_any(void);
/* Sends sig to every process of the tree; stops them first so none forks
 * out of reach meanwhile. Returns how many were signalled. */
int tree_signal(int sig);

/* ---- logs.c: the detached runner's log writer ---- */
struct logs;
struct logs *logs_open(const char *path);
int logs_out_fd(const struct logs *l);      /* write ends for the program */
int logs_err_fd(const struct logs *l);
int logs_poll_fds(const struct logs *l, int fds[2]); /* read ends */
void logs_read(struct logs *l, int fd, pid_t root);
long long logs_deadline(const struct logs *l); /* next partial-line flush, or -1 */
void logs_tick(struct logs *l, long long now, pid_t root);
void logs_drain(struct logs *l, pid_t root);

/* ---- link.c: the runner's connection to the supervisor ---- */
struct link;
typedef void (*link_handler)(void *ctx, const char *line);
/* Connects (starting a supervisor on demand), sends hello and waits for the
 * answer. Fills d->program, d->instance, d->log_path. NULL on failure
 * (message printed). */
struct link *link_open(struct durun *d);
/* Sends now, or queues until a supervisor is back. */
void link_send(struct link *l, struct wbuf *b);
int link_fd(const struct link *l);          /* -1 while down */
/* Reads what arrived and hands each answer line to h. */
void link_read(struct link *l, link_handler h, void *ctx);
long long link_deadline(const struct link *l); /* next reconnect, or -1 */
void link_tick(struct link *l, long long now);

/* ---- runner.c ---- */
/* Runs the program under supervision; never returns. report_fd >= 0 in the
 * detached daemon: where to say "started" to the waiting durun command. */
void runner_main(struct durun *d, int report_fd) __attribute__((noreturn));

/* ---- client.c ---- */
/* `durun restore GROUP [--from ID] [--json]` without Node: the exit code, or
 * -1 when the command line is anything else (the Node CLI handles it). */
int restore_fast(int argc, char **argv);
/* client.c: `durun ps [GROUP] [--history] --json`; -1 to leave the command line to the Node CLI */
int ps_json_fast(int argc, char **argv);
/* The `version` of every --json document: launcher/src/json-out.ts JSON_VERSION (test/cli-fast compares both CLIs) */
#define DURUN_JSON_VERSION 1

/* ---- detach.c ---- */
/* `durun --detach`: forks the runner daemon and waits for its report. */
int detach_run(struct durun *d);

#endif
