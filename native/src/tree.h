/* durun-restore --tree: what the processes of one restored tree share.
 * Log prefix "tree". The outer durun-restore builds it before forking the
 * namespace's init; every process inherits it (fds and the coordination
 * page at the same address). */
#ifndef DURUN_TREE_H
#define DURUN_TREE_H

#include <stdint.h>
#include <stddef.h>
#include "img-read.h"

/* One MAP_SHARED page at an address no image uses, kept mapped by the
 * restorer blob until the release. Futexes are process-shared (no
 * FUTEX_PRIVATE_FLAG): the blob and durun-restore wait on them. */
struct tree_coord {
	volatile int32_t ready;     /* restorers that mapped everything and wait */
	volatile int32_t release;   /* 0 wait, 1 go, 2 abort */
	volatile int32_t failed;    /* pid (namespace) of the first process that failed, 0 */
	volatile int32_t fail_step; /* RST_STEP_* of the blob, 0 before the blob */
	volatile int32_t fail_err;  /* errno */
};
#define TREE_GO    1
#define TREE_ABORT 2

struct tree_pipe {            /* a pipe with both ends inside the set */
	uint64_t ino;
	int rd, wr;
};

struct tree_sock {            /* one end of a socketpair with both ends inside the set */
	uint64_t ino;
	int fd;
};

struct tree_shm {             /* a shared anonymous/deleted object (by inode) */
	uint64_t dev, ino, size;
	int fd;                   /* memfd holding the merged pages */
	const struct li_kobj *memfd; /* a memfd some process holds as an fd: its record (name, contents, seals) */
};

struct tree_ctx {
	size_t n;
	struct loaded_image *li;  /* n images, command-line order */
	int *parent;              /* index of the parent in the set, or -1 */
	int root;                 /* index of the tree's root */
	struct tree_coord *coord;
	size_t npipe, nshm, nsock;
	struct tree_pipe *pipes;
	struct tree_sock *socks;
	struct tree_shm *shms;
	int sock;                 /* pid reports to the outer durun-restore (SCM_CREDENTIALS) */
	struct lazy *lazy;        /* lazy restore: the filler's state (outer side), NULL: eager */
};

/* restore-shared.c: pipes and shared memory objects for the whole set */
int tree_shared_setup(struct tree_ctx *t);
const struct tree_pipe *tree_find_pipe(const struct tree_ctx *t, uint64_t ino);
const struct tree_sock *tree_find_sock(const struct tree_ctx *t, uint64_t ino);
const struct tree_shm *tree_find_shm(const struct tree_ctx *t, uint64_t dev, uint64_t ino);
/* true if the VMA is shared between processes through a tree_shm */
int tree_vma_shared(const struct li_vma *v);
/* Marks the tree failed (first failure wins) and wakes durun-restore. */
void tree_fail(struct tree_coord *c, int pid, int step, int err);

#endif
