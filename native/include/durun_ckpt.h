/* durun checkpoint engine: the one interface the interceptor (preload/) links
 * against. Everything else in native/ is private.
 *
 * Use, from inside the process to checkpoint:
 *   1. Pick a checkpoint signal (e.g. SIGRTMAX-2) and install one SA_SIGINFO
 *      handler for it that first calls durun_ckpt_on_signal(); when that
 *      returns 1 the signal was the engine's own "stop this thread" request
 *      and the handler must return at once.
 *   2. On a checkpoint request, in one thread (normally inside that same
 *      handler), call durun_ckpt_dump(). It stops the other threads, writes the
 *      image, releases them and returns 0.
 *   3. After `durun-restore IMAGE`, execution continues *inside* the
 *      durun_ckpt_dump() call that took the image, which then returns 1
 *      (DURUN_CKPT_RESTORED), so the caller can reopen its links.
 *
 * For a barrier across processes: durun_ckpt_stop() parks the other threads
 * as soon as the request arrives, durun_ckpt_dump() then captures without
 * releasing them, and durun_ckpt_release() lets them go once every process
 * of the group is captured. With DURUN_CKPT_SNAPSHOT the dump takes only
 * what needs the live process (registers, fds, pipe contents, dirty-page
 * scan) and forks a writer holding a copy-on-write snapshot of the memory,
 * which writes the pages while the program runs on. durun_ckpt_dump() then
 * returns twice: DURUN_CKPT_SNAPSHOT here, and, once the image is written,
 * DURUN_CKPT_DUMPED or DURUN_CKPT_ERROR in the writer (res->in_writer),
 * which must report the result and _exit without touching anything else of
 * the program. req.writer_start, if set, runs in the writer before it
 * writes (e.g. to introduce itself to a supervisor). After a snapshot,
 * durun_ckpt_release() must be called (it frees the snapshot's scratch and
 * reaps its middle process) even if durun_ckpt_stop() was not.
 *
 * Async-signal-safe: no malloc, no stdio; buffers come from mmap. */
#ifndef DURUN_CKPT_H
#define DURUN_CKPT_H

#include <signal.h>
#include <stdint.h>

#define DURUN_CKPT_API_VERSION 1

#define DURUN_CKPT_DUMPED    0   /* image written, process runs on */
#define DURUN_CKPT_RESTORED  1   /* we are the restored process */
#define DURUN_CKPT_ERROR    (-1) /* nothing written; res->error says why */
#define DURUN_CKPT_SNAPSHOT  2   /* captured; a writer is writing the image */

/* req.flags */
#define DURUN_CKPT_TRACK      0x1u /* arm dirty-page tracking after this dump, so the next one can be incremental */
#define DURUN_CKPT_FORCE_FULL 0x2u /* write a full image even if tracking is armed */
#define DURUN_CKPT_SNAPSHOT_WRITER 0x4u /* write the pages from a fork child (see above) */
/* Carry established TCP connections live (a move, not a crash): each is put
 * in TCP_REPAIR mode (needs CAP_NET_ADMIN) and recorded whole. They stay in
 * repair mode, silent, until durun_ckpt_release(): the process is meant to
 * end meanwhile, so its sockets close without a FIN or RST. Without the
 * flag a connection is recorded by address only and restored closed. */
#define DURUN_CKPT_TCP_LIVE 0x8u

#define DURUN_CKPT_MAX_SKIP_FDS 8

struct durun_ckpt_req {
	const char *image_path;    /* written as IMAGE.tmp, fsync'ed, renamed to IMAGE */
	int thread_signal;         /* signal sent to the other threads to stop them */
	unsigned flags;            /* DURUN_CKPT_* above */
	unsigned thread_timeout_ms;/* 0 = 2000: how long to wait for every thread to stop */
	int nskip_fds;             /* fds not to record (the caller's own links) */
	void (*writer_start)(void *arg); /* DURUN_CKPT_SNAPSHOT_WRITER: run in the writer first */
	void *writer_arg;
	int skip_fds[DURUN_CKPT_MAX_SKIP_FDS];
	/* The path the program watches as inotify watch `wd` of fd (the kernel
	 * keeps only the inode: ino, dev), written to path (size bytes, NUL
	 * ended); *flags gets IN_DONT_FOLLOW/IN_ONLYDIR as it was added. Returns
	 * the path's length, or -1 if unknown: the dump then opens the watch's
	 * file handle (CAP_DAC_READ_SEARCH), else refuses the checkpoint. Called in
	 * the dump (a signal handler, other threads parked): async-signal-safe,
	 * lock-free. */
	long (*inotify_path)(int fd, int wd, uint64_t ino, uint64_t dev, char *path, unsigned long size, uint32_t *flags);
};

#define DURUN_CKPT_KIND_FULL 1
#define DURUN_CKPT_KIND_INCR 2

struct durun_ckpt_result {
	int kind;                  /* DURUN_CKPT_KIND_* written */
	unsigned nthreads;         /* threads in the image */
	uint64_t image_id;         /* id stored in the header */
	uint64_t bytes;            /* size of the image file */
	uint64_t pages_written;    /* pages whose contents are in this image */
	uint64_t pages_resident;   /* pages holding data in the process */
	uint64_t stall_ns;         /* from stopping the first thread to releasing them */
	uint64_t write_ns;         /* time spent writing (in the writer for a snapshot) */
	int in_writer;             /* set in the writer */
	int retry_in_place;        /* the writer could not write this memory (MADV_DONTFORK/WIPEONFORK): dump without a writer */
	char reason[160];          /* why a full image was written when tracking was armed */
	char error[320];           /* "file:line subsystem: what: strerror" on DURUN_CKPT_ERROR */
};

/* Everything else in the archive is hidden, so linking it into libdurun.so
 * exports only these two and no program symbol can interpose on internals. */
#define DURUN_CKPT_API __attribute__((visibility("default")))

DURUN_CKPT_API int durun_ckpt_dump(const struct durun_ckpt_req *req, struct durun_ckpt_result *res);
/* Parks the other threads now (0, or DURUN_CKPT_ERROR with res->error). */
DURUN_CKPT_API int durun_ckpt_stop(const struct durun_ckpt_req *req, struct durun_ckpt_result *res);
/* Lets the threads parked by durun_ckpt_stop() go and cleans up after a
 * snapshot; -1 (res->error) if the snapshot's writer could not be started. */
DURUN_CKPT_API int durun_ckpt_release(struct durun_ckpt_result *res);


/* Call first in the checkpoint-signal handler; 1 = handled, return at once. */
DURUN_CKPT_API int durun_ckpt_on_signal(int sig, siginfo_t *info, void *uctx);

#endif
