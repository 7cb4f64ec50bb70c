/* inotify watches by path. The kernel keeps a watch as an inode (fdinfo
 * shows its wd, inode and a file handle that only CAP_DAC_READ_SEARCH may
 * open), so a checkpoint could not say what to watch again. We interpose
 * inotify_add_watch and inotify_rm_watch (both are one system call, made
 * here directly) to remember, per (fd, wd), the path the program gave,
 * made absolute, and the inode it named; the checkpoint engine asks
 * inotify_path_of() for each watch fdinfo lists (durun_ckpt_req).
 *
 * The table lives in mmap'ed chunks that are never unmapped (so they are in
 * every image, and still right after a restore: fds and wds come back the
 * same). It is read from the checkpoint handler while other threads are
 * parked anywhere, maybe inside an add: the reader takes no lock, and an
 * entry counts only once its state says it is complete (release/acquire).
 * Entries replaced or removed are reused by later adds that fit. */
#include "preload.h"

#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define CHUNK (64u << 10)
#define PATH_CAP 4096
#define KEPT_FLAGS (IN_DONT_FOLLOW | IN_ONLYDIR)

enum { E_WRITING = 0, E_LIVE = 1, E_DEAD = 2 };

struct entry {
	volatile uint32_t state;
	uint32_t size;        /* bytes, header included, 8-aligned; fixed once made */
	int32_t fd, wd;
	uint64_t dev, ino;    /* 0, 0: stat failed when added */
	uint32_t flags, path_len;
	char path[];
};

struct chunk {
	struct chunk *volatile next;
	volatile uint32_t used; /* bytes of data[] holding complete entries */
	uint32_t pad;
	char data[CHUNK - 16];
};

static struct chunk *volatile head;
static atomic_flag busy = ATOMIC_FLAG_INIT; /* between adders; the reader never takes it */

static void lock(void)
{
	while (atomic_flag_test_and_set_explicit(&busy, memory_order_acquire))
		syscall(SYS_sched_yield);
}

static void unlock(void)
{
	atomic_flag_clear_explicit(&busy, memory_order_release);
}

#define FOR_EACH_ENTRY(c, e)                                                                 \
	for (struct chunk *c = __atomic_load_n(&head, __ATOMIC_ACQUIRE); c; c = c->next)      \
		for (struct entry *e = (struct entry *)(void *)c->data;                        \
		     (char *)e < c->data + __atomic_load_n(&c->used, __ATOMIC_ACQUIRE);        \
		     e = (struct entry *)(void *)((char *)e + e->size))

/* Room for an entry of `size` bytes: a dead one that fits, or the end of
 * the last chunk, or a new chunk. Called locked; NULL when out of memory. */
static struct entry *room_for(uint32_t size)
{
	struct chunk *last = NULL;
	FOR_EACH_ENTRY(c, e)
		if (e->state == E_DEAD && e->size >= size) {
			__atomic_store_n(&e->state, E_WRITING, __ATOMIC_RELEASE);
			return e;
		}
	for (struct chunk *c = head; c; c = c->next)
		last = c;
	if (!last || sizeof(last->data) - last->used < size) {
		struct chunk *n = mmap(NULL, sizeof(*n), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (n == MAP_FAILED)
			return NULL;
		if (last)
			__atomic_store_n(&last->next, n, __ATOMIC_RELEASE);
		else
			__atomic_store_n(&head, n, __ATOMIC_RELEASE);
		last = n;
	}
	struct entry *e = (struct entry *)(void *)(last->data + last->used);
	e->state = E_WRITING;
	e->size = size;
	__atomic_store_n(&last->used, last->used + size, __ATOMIC_RELEASE);
	return e;
}

static void forget(int fd, int wd)
{
	FOR_EACH_ENTRY(c, e)
		if (e->state == E_LIVE && e->fd == fd && e->wd == wd)
			__atomic_store_n(&e->state, E_DEAD, __ATOMIC_RELEASE);
}

/* path made absolute against the working directory into out; its length, or -1 */
static long absolute(const char *path, char *out)
{
	size_t n = strlen(path), at = 0;
	if (path[0] != '/') {
		if (!getcwd(out, PATH_CAP))
			return -1;
		at = strlen(out);
		if (at > 1)
			out[at++] = '/';
	}
	if (at + n >= PATH_CAP)
		return -1;
	memcpy(out + at, path, n + 1);
	return (long)(at + n);
}

static void remember(int fd, int wd, const char *path, uint32_t mask)
{
	char abs[PATH_CAP];
	struct stat st;
	long n = absolute(path, abs);
	if (n < 0)
		return; /* not carried: a checkpoint then refuses, naming the wd */
	int saved = errno;
	int ok = ((mask & IN_DONT_FOLLOW) ? lstat(abs, &st) : stat(abs, &st)) == 0;
	errno = saved;
	uint32_t size = (uint32_t)((sizeof(struct entry) + (size_t)n + 1 + 7) & ~(size_t)7);
	lock();
	forget(fd, wd); /* the same wd again: a changed mask, or the instance's fd reused */
	struct entry *e = room_for(size);
	if (e) {
		e->fd = fd;
		e->wd = wd;
		e->dev = ok ? st.st_dev : 0;
		e->ino = ok ? st.st_ino : 0;
		e->flags = mask & KEPT_FLAGS;
		e->path_len = (uint32_t)n;
		memcpy(e->path, abs, (size_t)n + 1);
		__atomic_store_n(&e->state, E_LIVE, __ATOMIC_RELEASE);
	}
	unlock();
}

DURUN_EXPORT int inotify_add_watch(int fd, const char *pathname, uint32_t mask)
{
	long wd = syscall(SYS_inotify_add_watch, fd, pathname, mask);
	if (wd >= 0)
		remember(fd, (int)wd, pathname, mask);
	return (int)wd;
}

DURUN_EXPORT int inotify_rm_watch(int fd, int wd)
{
	long rc = syscall(SYS_inotify_rm_watch, fd, wd);
	if (rc == 0) {
		lock();
		forget(fd, wd);
		unlock();
	}
	return (int)rc;
}

long inotify_path_of(int fd, int wd, uint64_t ino, uint64_t dev, char *path, unsigned long size, uint32_t *flags)
{
	const struct entry *best = NULL;
	FOR_EACH_ENTRY(c, e) {
		if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != E_LIVE || e->wd != wd)
			continue;
		if (e->ino && (e->ino != ino || e->dev != dev))
			continue; /* another instance's watch with the same number */
		if (!best || e->fd == fd)
			best = e; /* this fd's own, else one of a dup'ed instance */
	}
	if (!best || best->path_len >= size)
		return -1;
	memcpy(path, best->path, best->path_len + 1);
	*flags = best->flags;
	return best->path_len;
}
