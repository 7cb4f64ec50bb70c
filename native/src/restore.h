/* durun-restore internals. Log prefixes: "restore", "ns", "files", "plan". */
#ifndef DURUN_RESTORE_H
#define DURUN_RESTORE_H

#include <stdio.h>
#include "img-read.h"

struct ropts {
	const char *image;
	const char *pidfile;
	int no_pidns;
	int verbose;
};

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
/* restore-files.c */
int restore_files(const struct loaded_image *li, int *keep, int nkeep);
int restore_proc(const struct loaded_image *li);
/* restore-plan.c: never returns on success */
int restore_enter(const struct loaded_image *li, int status_fd);

#endif
