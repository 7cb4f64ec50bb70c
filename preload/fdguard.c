/* Keeps the link alive through programs that close every fd (daemons,
 * close_range(3, ~0U), closefrom(3)) or dup2 onto its number. The program
 * is told its close succeeded; it never learns the fd was ours. */
#include "preload.h"

#include <errno.h>
#include <stdatomic.h>

/* The link number the program believes it closed: a second close of it must
 * fail with EBADF, as it would have. -1: none. */
static _Atomic int pretend_closed = -1;

void fdguard_forget(void)
{
	/* Only write when needed: a write after fork costs a copy-on-write fault. */
	if (atomic_load_explicit(&pretend_closed, memory_order_relaxed) != -1)
		atomic_store(&pretend_closed, -1);
}

static int is_link(int fd)
{
	return fd >= 3 && fd == link_fd();
}

/* A silent fork child's copy of its parent's link is not the program's
 * either: a close of it, a range over it or a dup2/dup3 onto its number
 * first really closes it (it only serves to announce an exec), so nothing
 * is ever sent into a number the program reuses. */
static void drop_inherited_in(unsigned first, unsigned last)
{
	int fd = link_inherited_fd();
	if (fd >= 0 && (unsigned)fd >= first && (unsigned)fd <= last)
		link_drop_inherited();
}

DURUN_EXPORT int close(int fd)
{
	drop_inherited_in((unsigned)fd, (unsigned)fd);
	if (!is_link(fd))
		return REAL(close)(fd);
	if (atomic_exchange(&pretend_closed, fd) == fd) {
		errno = EBADF;
		return -1;
	}
	return 0;
}

DURUN_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		drop_inherited_in(first, last);
	int l = link_fd();
	/* CLOSE_RANGE_CLOEXEC only marks fds; the link is close-on-exec anyway. */
	if (l < 0 || (unsigned)l < first || (unsigned)l > last || (flags & CLOSE_RANGE_CLOEXEC))
		return REAL(close_range)(first, last, flags);
	int rc = 0, err = 0;
	if ((unsigned)l > first && REAL(close_range)(first, (unsigned)l - 1, flags) < 0) {
		rc = -1;
		err = errno;
	}
	if ((unsigned)l < last && REAL(close_range)((unsigned)l + 1, last, flags) < 0 && rc == 0) {
		rc = -1;
		err = errno;
	}
	if (rc < 0)
		errno = err;
	return rc;
}

DURUN_EXPORT void closefrom(int lowfd)
{
	drop_inherited_in((unsigned)lowfd, ~0U);
	int l = link_fd();
	if (l < 0 || l < lowfd) {
		REAL(closefrom)(lowfd);
		return;
	}
	int saved = errno;
	if (l > lowfd)
		REAL(close_range)((unsigned)lowfd, (unsigned)l - 1, 0);
	errno = saved;
	REAL(closefrom)(l + 1);
}

/* dup2/dup3 onto the link's number: move the link away first, then let the
 * program have the number it asked for. If the call then fails, the old copy
 * of the link is still at newfd: close it, the number must look free. */
static int guarded_dup(int oldfd, int newfd, int flags, int three)
{
	drop_inherited_in((unsigned)newfd, (unsigned)newfd);
	int moving = is_link(newfd) && oldfd != newfd;
	if (moving) {
		int saved = errno;
		link_move_off(newfd);
		errno = saved;
	}
	int rc = three ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd);
	if (moving && rc < 0) {
		int err = errno;
		REAL(close)(newfd);
		errno = err;
	}
	return rc;
}

DURUN_EXPORT int dup2(int oldfd, int newfd)
{
	return guarded_dup(oldfd, newfd, 0, 0);
}

DURUN_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return guarded_dup(oldfd, newfd, flags, 1);
}
