/* Lazy memory restore (restore-lazy.c). Log prefix "lazy".
 *
 * The restored process creates a userfaultfd for its own mm (before the
 * restorer blob replaces the address space) and passes it to the outer
 * durun-restore with SCM_RIGHTS; the blob maps the private anonymous regions
 * (lazy_vma()) empty, registers them in MISSING mode and lets the program
 * run. The outer durun-restore (the filler) answers page faults first, with
 * read-around, streams every PAGES record in large chunks with UFFDIO_COPY,
 * verifying each record's CRC as it goes, follows fork/mremap/madvise/munmap
 * events, and closes the userfaultfds once everything is in. */
#ifndef DURUN_LAZY_H
#define DURUN_LAZY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "restore.h"

struct lazy;

/* A full userfaultfd (kernel-mode faults too: root, or /dev/userfaultfd
 * usable) with the fork/remap/remove/unmap events, probed for real. 0 if
 * lazy restore can be used; else -1 and why (one line). Keeps an open
 * /dev/userfaultfd when that is the way, for lazy_uffd_new(). */
int lazy_probe(char *why, size_t whysz);
/* In the restored process: a userfaultfd for its mm, API handshake done
 * (O_CLOEXEC|O_NONBLOCK). -1 with errno. */
int lazy_uffd_new(void);
/* nproc processes (1, or the tree's size); t0_ns: durun-restore's start (CLOCK_MONOTONIC) */
struct lazy *lazy_new(size_t nproc, uint64_t t0_ns);
/* The pages of process `proc` that its userfaultfd will get: every lazy_vma()
 * run of li (PARENT spans from ch). 0 or -1 (reported). */
int lazy_plan(struct lazy *lz, size_t proc, const struct loaded_image *li, const struct rchain *ch,
	      const struct tree_ctx *t);
/* Bytes planned, for the verbose line. */
uint64_t lazy_planned_bytes(const struct lazy *lz);
/* The outer side received process proc's userfaultfd: start serving it. */
int lazy_attach(struct lazy *lz, size_t proc, int uffd);
/* Serves faults and events until fd is readable (returns 1) or timeout_ms
 * passes (0); -1 on an error already reported. */
int lazy_wait_fd(struct lazy *lz, int fd, int timeout_ms);
/* Streams the rest in, verifying page CRCs; closes the userfaultfds. 0, or
 * -1 after reporting (a checksum mismatch names file, record and offset):
 * the caller kills the restored processes and exits 1. */
int lazy_fill(struct lazy *lz);
/* In the restored process: the userfaultfd (or -1: none) to the outer side. */
int lazy_send_fd(int sock, const char *msg, size_t len, int fd);
/* The fd carried by SCM_RIGHTS in a received message, or -1. */
int lazy_cmsg_fd(struct msghdr *mh);
/* DURUN_RESTORE_EAGER=1, --no-pidns, or no full userfaultfd: eager (with the
 * reason on stderr under -v); else lazy. */
int lazy_wanted(const struct ropts *o);

#endif
