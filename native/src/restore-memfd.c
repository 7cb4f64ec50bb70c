/* memfds from their KOBJ records (dump-memfd.c). Log prefix "kobj". One
 * object per inode: the first fd of it is created (name, contents, size,
 * mode, then seals), every other fd of it, in this process or another of
 * the tree, is a new open of that one (its own offset and access mode, as
 * after an open of /proc/PID/fd/N), and every shared mapping of it maps it
 * (restore-plan.c, restore-shared.c): writes through one are seen by all. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "restore.h"

const struct kobj_memfd *memfd_record(const struct li_kobj *ko)
{
	const struct kobj_memfd *m = (const void *)ko->data;
	if (ko->k.kind != KOBJ_MEMFD)
		return NULL;
	if (ko->k.len < sizeof(*m) || ko->k.len - sizeof(*m) != m->size || m->name_len > sizeof(m->name)) {
		RERR("kobj", 0, "fd %d: memfd record of %u bytes does not add up", ko->k.fd, ko->k.len);
		return NULL;
	}
	return m;
}

int memfd_create_filled(const struct li_kobj *ko)
{
	const struct kobj_memfd *m = memfd_record(ko);
	char name[sizeof(m->name) + 1];
	if (!m)
		return -1;
	memcpy(name, m->name, m->name_len);
	name[m->name_len] = 0;
	/* always sealable: a memfd made without MFD_ALLOW_SEALING shows F_SEAL_SEAL, put back by memfd_seal */
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		RERR("kobj", errno, "memfd_create(\"%s\") for fd %d", name, ko->k.fd);
		return -1;
	}
	const char *p = (const char *)(m + 1);
	uint64_t left = m->size;
	if (ftruncate(fd, (off_t)m->size) || fchmod(fd, m->mode)) {
		RERR("kobj", errno, "size %llu / mode %o of memfd \"%s\" (fd %d)", (unsigned long long)m->size, m->mode, name, ko->k.fd);
		close(fd);
		return -1;
	}
	for (uint64_t off = 0; left;) {
		ssize_t n = pwrite(fd, p + off, left, (off_t)off);
		if (n <= 0) {
			RERR("kobj", n < 0 ? errno : EIO, "write %llu bytes into memfd \"%s\" (fd %d)", (unsigned long long)m->size, name, ko->k.fd);
			close(fd);
			return -1;
		}
		off += (uint64_t)n;
		left -= (uint64_t)n;
	}
	return fd;
}

int memfd_seal(int fd, const struct li_kobj *ko)
{
	const struct kobj_memfd *m = memfd_record(ko);
	if (!m)
		return -1;
	if (m->seals && fcntl(fd, F_ADD_SEALS, (int)m->seals)) {
		RERR("kobj", errno, "seals %#x of memfd fd %d (a writable shared mapping blocks F_SEAL_WRITE)", m->seals, ko->k.fd);
		return -1;
	}
	return 0;
}

int memfd_reopen(int from, const struct li_fd *f)
{
	char proc[64];
	/* a new open file of the same memfd: its own offset, its own access mode */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", from);
	int fd = open(proc, (int)(f->f.oflags & (O_ACCMODE | O_APPEND)) | O_CLOEXEC);
	if (fd < 0) {
		RERR("kobj", errno, "open memfd fd %d again through %s", f->f.fd, proc);
		return -1;
	}
	if (f->f.offset > 0 && lseek(fd, f->f.offset, SEEK_SET) != f->f.offset) {
		RERR("kobj", errno, "seek memfd fd %d to %lld", f->f.fd, (long long)f->f.offset);
		close(fd);
		return -1;
	}
	return fd;
}

int memfd_placed(const struct loaded_image *li, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < li->nfd; i++) {
		const struct li_fd *f = &li->fds[i];
		const struct li_kobj *ko;
		if (f->f.kind == FD_REG && f->f.dev == dev && f->f.ino == ino && (ko = kobj_of(li, f->f.fd)) && ko->k.kind == KOBJ_MEMFD)
			return f->f.fd;
	}
	return -1;
}
