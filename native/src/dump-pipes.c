/* Pipe contents: one PIPE record per pipe inode the process holds, with the
 * bytes in flight. Log prefix "pipes". The bytes are copied with tee(2) from
 * a second descriptor of the same pipe (opened through /proc/self/fd/N, which
 * works for either end) into a private pipe of the same capacity, then read
 * from there: the original pipe is never consumed, so several processes of a
 * group may save the same pipe at once, and a failed dump changes nothing. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "dump.h"

static int already(const uint64_t *seen, int n, uint64_t ino)
{
	for (int i = 0; i < n; i++)
		if (seen[i] == ino)
			return 1;
	return 0;
}

static int save_one(struct dump_ctx *d, int fd, int readable, uint64_t ino)
{
	char link[64];
	struct sb s;
	struct img_pipe p;
	int src = -1, tmp[2] = { -1, -1 }, size, avail = 0, rc = -1;
	char *buf = NULL;
	size_t cap = 0;

	sb_init(&s, link, sizeof(link));
	sb_str(&s, "/proc/self/fd/");
	sb_u64(&s, (uint64_t)fd);
	src = readable ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : open(link, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (src < 0 && !readable && (errno == EACCES || errno == EPERM))
		return 0; /* not ours to read: see above */
	if (src < 0) {
		ERR(&d->err, "pipes", readable ? "dup" : "reopen for reading", link, errno);
		return -1;
	}
	size = fcntl(src, F_GETPIPE_SZ);
	if (size <= 0 || ioctl(src, FIONREAD, &avail) || avail < 0 || avail > size) {
		ERR(&d->err, "pipes", "F_GETPIPE_SZ/FIONREAD", link, size <= 0 ? errno : EIO);
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.ino = ino;
	p.pipe_size = (uint32_t)size;
	if (avail) {
		if (pipe2(tmp, O_NONBLOCK | O_CLOEXEC)) {
			ERR(&d->err, "pipes", "pipe2 for", link, errno);
			goto out;
		}
		if (fcntl(tmp[1], F_SETPIPE_SZ, size) < size) {
			ERR(&d->err, "pipes", "F_SETPIPE_SZ of the copy of", link, errno);
			goto out;
		}
		ssize_t t = tee(src, tmp[1], (size_t)avail, SPLICE_F_NONBLOCK);
		if (t != avail) {
			ERR(&d->err, "pipes", "tee (short copy of the bytes in flight)", link, t < 0 ? errno : EIO);
			goto out;
		}
		cap = ((size_t)avail + 4095) & ~(size_t)4095;
		buf = dump_alloc(d, cap, "pipe contents");
		if (!buf)
			goto out;
		for (int got = 0; got < avail;) {
			ssize_t n = read(tmp[0], buf + got, (size_t)(avail - got));
			if (n <= 0) {
				ERR(&d->err, "pipes", "read the copy of", link, n < 0 ? errno : EIO);
				goto out;
			}
			got += (int)n;
		}
		p.len = (uint32_t)avail;
	}
	rc = iw_record(&d->w, REC_PIPE, &p, sizeof(p), buf, p.len, NULL, 0);
out:
	close(src);
	if (tmp[0] >= 0)
		close(tmp[0]);
	if (tmp[1] >= 0)
		close(tmp[1]);
	dump_free(buf, cap);
	return rc;
}

int dump_pipes(struct dump_ctx *d, const int *fds, const int *readable, const uint64_t *inos, int n)
{
	uint64_t seen[256];
	int nseen = 0;
	for (int i = 0; i < n; i++) {
		int pick = i;
		if (already(seen, nseen, inos[i]))
			continue;
		if (nseen < (int)(sizeof(seen) / sizeof(seen[0])))
			seen[nseen++] = inos[i];
		for (int j = i; j < n; j++) /* prefer a read end we hold */
			if (inos[j] == inos[i] && readable[j] && !readable[pick])
				pick = j;
		if (save_one(d, fds[pick], readable[pick], inos[i]))
			return -1;
	}
	return 0;
}
