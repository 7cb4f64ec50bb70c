/* Unix sockets: one UNIX record per AF_UNIX socket inode the process holds,
 * naming its peer's inode (so restore can pair the two ends of a socketpair
 * across processes) and carrying its receive queue. Log prefix "unix".
 * The peer comes from sock_diag (NETLINK_SOCK_DIAG, UDIAG_SHOW_PEER, exact
 * lookup by inode). The queue is read with MSG_PEEK, so nothing is consumed:
 * a stream is peeked whole; datagrams one by one with SO_PEEK_OFF stepping
 * over them (reset afterwards). Caveat: two processes holding the SAME
 * datagram socket must not dump at the same moment (SO_PEEK_OFF is per
 * socket); streams have no such limit. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "dump.h"

#define QUEUE_MAX (4u << 20) /* receive queues larger than this are refused */

static int peer_of(struct dump_ctx *d, uint64_t ino, uint64_t *peer)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req r;
	} req;
	char buf[4096] __attribute__((aligned(8)));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	ssize_t n;

	*peer = 0;
	if (nl < 0) {
		ERR(&d->err, "unix", "socket(NETLINK_SOCK_DIAG)", "", errno);
		return -1;
	}
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST;
	req.r.sdiag_family = AF_UNIX;
	req.r.udiag_states = ~0u;
	req.r.udiag_ino = (uint32_t)ino;
	req.r.udiag_show = UDIAG_SHOW_PEER;
	req.r.udiag_cookie[0] = req.r.udiag_cookie[1] = ~0u;
	if (sendto(nl, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) != sizeof(req) ||
	    (n = recv(nl, buf, sizeof(buf), 0)) < (ssize_t)sizeof(struct nlmsghdr)) {
		ERR(&d->err, "unix", "sock_diag query", "", errno);
		close(nl);
		return -1;
	}
	close(nl);
	struct nlmsghdr *h = (struct nlmsghdr *)(void *)buf;
	if (h->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(h);
		ERR(&d->err, "unix", "sock_diag answered an error for socket inode", "", -e->error);
		return -1;
	}
	if (!NLMSG_OK(h, (size_t)n) || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
		return 0;
	int left = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(struct unix_diag_msg)));
	struct nlattr *a = (struct nlattr *)(void *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct unix_diag_msg)));
	while (left >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= left) {
		if (a->nla_type == UNIX_DIAG_PEER && a->nla_len >= sizeof(*a) + 4) {
			uint32_t v;
			memcpy(&v, (char *)a + NLA_HDRLEN, 4);
			*peer = v;
		}
		left -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)(void *)((char *)a + NLA_ALIGN(a->nla_len));
	}
	return 0;
}

/* the receive queue into buf (cap bytes); returns bytes or -1 */
static long peek_queue(struct dump_ctx *d, int fd, int type, char *buf, size_t cap, uint32_t *nmsgs)
{
	size_t used = 0;
	int off = 0, off_saved = -1;
	socklen_t ol = sizeof(off_saved);
	*nmsgs = 0;
	if (type == SOCK_STREAM) {
		int avail = 0;
		if (ioctl(fd, FIONREAD, &avail) || avail < 0 || (size_t)avail > cap) {
			ERR(&d->err, "unix", "stream receive queue too large or unreadable", "", errno ? errno : EFBIG);
			return -1;
		}
		if (!avail)
			return 0;
		ssize_t n = recv(fd, buf, (size_t)avail, MSG_PEEK | MSG_DONTWAIT);
		if (n != avail) {
			ERR(&d->err, "unix", "peek stream queue", "", n < 0 ? errno : EIO);
			return -1;
		}
		return n;
	}
	/* the program may use SO_PEEK_OFF itself: put its value back afterwards */
	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off_saved, &ol) ||
	    setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off))) {
		ERR(&d->err, "unix", "SO_PEEK_OFF", "", errno);
		return -1;
	}
	for (;;) {
		uint32_t len;
		if (cap - used < 4 + 65536) {
			ERR(&d->err, "unix", "datagram queue too large", "", EFBIG);
			used = (size_t)-1;
			break;
		}
		ssize_t n = recv(fd, buf + used + 4, cap - used - 4, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 || (size_t)n > cap - used - 4) {
			ERR(&d->err, "unix", "peek datagram", "", n < 0 ? errno : EMSGSIZE);
			used = (size_t)-1;
			break;
		}
		len = (uint32_t)n;
		memcpy(buf + used, &len, 4);
		used += 4 + (size_t)n;
		(*nmsgs)++;
		if (n == 0 && type == SOCK_SEQPACKET)
			break; /* an empty seqpacket would not advance the offset */
	}
	setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off_saved, sizeof(off_saved));
	return used == (size_t)-1 ? -1 : (long)used;
}

static int save_one(struct dump_ctx *d, int fd, uint64_t ino)
{
	struct img_unix u;
	int domain = 0, type = 0;
	uint64_t peer = 0;
	uint32_t nmsgs = 0;
	socklen_t sl = sizeof(int);
	char *buf;
	long len;
	int rc;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &sl) || domain != AF_UNIX)
		return 0; /* not a unix socket: restored as before (see ARCHITECTURE.md) */
	sl = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl)) {
		ERR(&d->err, "unix", "SO_TYPE", "", errno);
		return -1;
	}
	memset(&u, 0, sizeof(u));
	u.ino = ino;
	u.type = (uint32_t)type;
	/* Soft failures: a socket whose peer or queue cannot be read is recorded
	 * unpaired (peer 0, UNIX_UNSAVED) and restored like any outside socket;
	 * the dump itself goes on (version 1 did not carry sockets at all). */
	{
		char why[200];
		struct derr soft = { why, sizeof(why) }, hard = d->err;
		why[0] = 0;
		d->err = soft;
		if (peer_of(d, ino, &peer))
			peer = 0, u.flags |= UNIX_UNSAVED;
		buf = dump_alloc(d, QUEUE_MAX, "socket queue");
		len = buf && peer ? peek_queue(d, fd, type, buf, QUEUE_MAX, &nmsgs) : 0;
		d->err = hard;
		if (!buf)
			return -1;
		if (len < 0)
			peer = 0, nmsgs = 0, len = 0, u.flags |= UNIX_UNSAVED;
	}
	u.peer_ino = peer;
	u.nmsgs = nmsgs;
	u.len = (uint32_t)len;
	rc = iw_record(&d->w, REC_UNIX, &u, sizeof(u), buf, u.len, NULL, 0);
	dump_free(buf, QUEUE_MAX);
	return rc;
}

int dump_unix(struct dump_ctx *d, const int *fds, const uint64_t *inos, int n)
{
	for (int i = 0; i < n; i++) {
		int dup = 0;
		for (int j = 0; j < i; j++)
			dup |= inos[j] == inos[i];
		if (!dup && save_one(d, fds[i], inos[i]))
			return -1;
	}
	return 0;
}
