/* Kernel objects behind fds that are rebuilt at restore rather than
 * reopened: sockets (address, state, options, a listener's backlog), epoll
 * (its interest list), eventfd (count), timerfd (clock, time left,
 * interval), signalfd (mask), memfd (dump-memfd.c), inotify (its watches,
 * dump-inotify.c). One KOBJ record each. Log prefix "kobj".
 * Almost all of it is in /proc/self/fdinfo/N and getsockopt; a listener's
 * backlog comes from sock_diag. Only inotify's paths come from the caller
 * (the interceptor records them as the program adds watches). An
 * established TCP connection of a move (DURUN_CKPT_TCP_LIVE) is recorded
 * whole by dump-tcp.c. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "dump.h"

#define FDINFO_MAX (1u << 20) /* an epoll watching ~15,000 fds */

/* The kind of rebuilt object a /proc/self/fd link names, or 0. */
uint32_t kobj_kind_of(uint32_t fd_kind, const char *link)
{
	if (fd_kind == FD_SOCKET)
		return KOBJ_SOCK;
	if (d_streq(link, "anon_inode:[eventpoll]"))
		return KOBJ_EPOLL;
	if (d_streq(link, "anon_inode:[eventfd]"))
		return KOBJ_EVENTFD;
	if (d_streq(link, "anon_inode:[timerfd]"))
		return KOBJ_TIMERFD;
	if (d_streq(link, "anon_inode:[signalfd]"))
		return KOBJ_SIGNALFD;
	if (d_streq(link, "anon_inode:inotify"))
		return KOBJ_INOTIFY;
	if (fd_kind == FD_REG && kobj_is_memfd(link))
		return KOBJ_MEMFD;
	if (fd_kind == FD_REG)
		return KOBJ_LOCKS; /* written only if it holds a lock */
	return 0;
}

/* The "lock:" lines of a regular file's fdinfo: this process's locks on it,
 * e.g. "lock:\t1: POSIX  ADVISORY  WRITE 13016 fe:00:2146474 5 14" (the
 * range's end "EOF" for a lock to the end). */
static long file_locks(const char *text, struct kobj_lock *out, size_t max)
{
	size_t n = 0;
	for (const char *p = strstr(text, "lock:"); p && n < max; p = strstr(p + 5, "lock:")) {
		const char *t = strstr(p, ": ") ? strstr(p, ": ") + 2 : NULL;
		if (!t)
			return -1;
		struct kobj_lock l = { 0, 0, 0, -1 };
		l.type = d_startswith(t, "FLOCK") ? LOCK_T_FLOCK : d_startswith(t, "POSIX") ? LOCK_T_POSIX
			 : d_startswith(t, "OFDLCK") ? LOCK_T_OFD : 0;
		const char *w = strstr(t, "WRITE"), *r = strstr(t, "READ"), *nl = strchr(t, '\n');
		l.write = w && (!nl || w < nl);
		if (!l.type || (!l.write && !(r && (!nl || r < nl))))
			continue; /* a lease or a mandatory lock: not carried */
		/* after the pid and the dev:ino: start and end */
		const char *q = strchr(t, ':');
		q = q ? strchr(q, ' ') : NULL;
		if (!q)
			return -1;
		while (*q == ' ')
			q++;
		l.start = (int64_t)d_parse_dec(&q);
		while (*q == ' ')
			q++;
		l.end = d_startswith(q, "EOF") ? -1 : (int64_t)d_parse_dec(&q);
		out[n++] = l;
	}
	return (long)n;
}

/* The value after `key` in fdinfo text (hex or decimal), or -1 when absent. */
static int field(const char *text, const char *key, int hex, uint64_t *out)
{
	const char *p = strstr(text, key);
	if (!p)
		return -1;
	p += strlen(key);
	while (*p == ' ' || *p == '\t' || *p == '(')
		p++;
	*out = hex ? d_parse_hex(&p) : d_parse_dec(&p);
	return 0;
}

static long read_fdinfo(struct dump_ctx *d, int fd, char *buf, size_t size)
{
	char path[64];
	struct sb s;
	sb_init(&s, path, sizeof(path));
	sb_str(&s, "/proc/self/fdinfo/");
	sb_u64(&s, (uint64_t)fd);
	long n = d_read_file(path, buf, size - 1);
	if (n < 0) {
		ERR(&d->err, "kobj", "read", path, (int)-n);
		return -1;
	}
	buf[n] = 0;
	return n;
}

/* The epoll interest list: one "tfd: N events: X data: X" line per target. */
static long epoll_items(const char *text, struct kobj_epoll_item *out, size_t max)
{
	size_t n = 0;
	for (const char *p = strstr(text, "tfd:"); p && n < max; p = strstr(p + 4, "tfd:")) {
		uint64_t tfd, ev, data;
		if (field(p, "tfd:", 0, &tfd) || field(p, "events:", 1, &ev) || field(p, "data:", 1, &data))
			return -1;
		out[n++] = (struct kobj_epoll_item){ (int32_t)tfd, (uint32_t)ev, data };
	}
	return (long)n;
}

/* A listener's backlog (sk_max_ack_backlog, sock_diag's idiag_wqueue for a
 * listening socket), found by inode among the family's listeners; 0 if unknown. */
static int listen_backlog(int family, int protocol, uint64_t ino)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	static char buf[32768] __attribute__((aligned(8)));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), backlog = 0;
	if (nl < 0)
		return 0;
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.r.sdiag_family = (uint8_t)family;
	req.r.sdiag_protocol = (uint8_t)protocol;
	req.r.idiag_states = 1u << 10; /* TCP_LISTEN */
	if (sendto(nl, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) != sizeof(req))
		goto out;
	for (;;) {
		ssize_t n = recv(nl, buf, sizeof(buf), 0);
		if (n <= 0)
			goto out;
		for (struct nlmsghdr *h = (struct nlmsghdr *)(void *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				goto out;
			struct inet_diag_msg *m = NLMSG_DATA(h);
			if (m->idiag_inode == (uint32_t)ino) {
				backlog = (int)m->idiag_wqueue;
				goto out;
			}
		}
	}
out:
	close(nl);
	return backlog;
}

static int opt_on(int fd, int level, int name)
{
	int v = 0;
	socklen_t sl = sizeof(v);
	return getsockopt(fd, level, name, &v, &sl) == 0 && v;
}

static int sock_payload(struct dump_ctx *d, int fd, uint64_t ino, struct kobj_sock *k)
{
	socklen_t sl = sizeof(int);
	int listening = 0;
	memset(k, 0, sizeof(*k));
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &k->family, &sl) || (sl = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &k->type, &sl)) ||
	    (sl = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &k->protocol, &sl))) {
		ERR(&d->err, "kobj", "getsockopt SO_DOMAIN/SO_TYPE/SO_PROTOCOL", "", errno);
		return -1;
	}
	listening = opt_on(fd, SOL_SOCKET, SO_ACCEPTCONN);
	sl = sizeof(k->addr);
	if (getsockname(fd, (struct sockaddr *)k->addr, &sl) == 0)
		k->addr_len = sl;
	sl = sizeof(k->peer);
	if (getpeername(fd, (struct sockaddr *)k->peer, &sl) == 0)
		k->peer_len = sl;
	/* A bound address: a port (inet) or a path or abstract name (unix). */
	int bound = k->family == AF_UNIX ? k->addr_len > sizeof(sa_family_t)
		    : k->family == AF_INET ? ((struct sockaddr_in *)(void *)k->addr)->sin_port != 0
		    : k->family == AF_INET6 ? ((struct sockaddr_in6 *)(void *)k->addr)->sin6_port != 0 : 0;
	k->state = listening ? SOCK_ST_LISTEN : k->peer_len ? SOCK_ST_CONNECTED : bound ? SOCK_ST_BOUND : SOCK_ST_UNBOUND;
	if (listening && k->family != AF_UNIX)
		k->backlog = listen_backlog(k->family, k->protocol, ino);
	if (opt_on(fd, SOL_SOCKET, SO_REUSEADDR))
		k->opts |= SOCK_OPT_REUSEADDR;
	if (opt_on(fd, SOL_SOCKET, SO_REUSEPORT))
		k->opts |= SOCK_OPT_REUSEPORT;
	if (opt_on(fd, SOL_SOCKET, SO_KEEPALIVE))
		k->opts |= SOCK_OPT_KEEPALIVE;
	if (opt_on(fd, SOL_SOCKET, SO_BROADCAST))
		k->opts |= SOCK_OPT_BROADCAST;
	if (k->protocol == IPPROTO_TCP && opt_on(fd, IPPROTO_TCP, TCP_NODELAY))
		k->opts |= SOCK_OPT_NODELAY;
	if (k->family == AF_INET6 && opt_on(fd, IPPROTO_IPV6, IPV6_V6ONLY))
		k->opts |= SOCK_OPT_V6ONLY;
	return 0;
}

/* The free part of the fdinfo buffer, 8-aligned behind the text read into
 * it: where a payload parsed out of that text is built. *room: its bytes. */
static void *behind_text(char *buf, size_t *room)
{
	size_t at = (strlen(buf) + 1 + 7) & ~(size_t)7;
	*room = FDINFO_MAX - at;
	return buf + at;
}

static int dump_one_kobj(struct dump_ctx *d, int fd, uint32_t kind, uint64_t ino, char *buf)
{
	size_t room;
	struct img_kobj k = { fd, kind, 0, 0 };
	union {
		struct kobj_sock sock;
		struct kobj_eventfd efd;
		struct kobj_timerfd tfd;
		struct kobj_signalfd sfd;
	} u;
	const void *payload = &u;
	uint64_t v = 0, a = 0, b = 0;

	memset(&u, 0, sizeof(u));
	if (kind == KOBJ_MEMFD)
		return dump_memfd(d, fd);
	if (kind == KOBJ_SOCK) {
		if (sock_payload(d, fd, ino, &u.sock))
			return -1;
		if ((d->req->flags & DURUN_CKPT_TCP_LIVE) && u.sock.protocol == IPPROTO_TCP && u.sock.state == SOCK_ST_CONNECTED &&
		    (u.sock.family == AF_INET || u.sock.family == AF_INET6)) {
			int rc = dump_tcp(d, fd, &u.sock);
			if (rc <= 0)
				return rc; /* carried live, or failed */
		}
		k.len = sizeof(u.sock);
	} else {
		if (read_fdinfo(d, fd, buf, FDINFO_MAX) < 0)
			return -1;
		switch (kind) {
		case KOBJ_LOCKS: {
			struct kobj_lock *locks = behind_text(buf, &room);
			long n = file_locks(buf, locks, room / sizeof(*locks) < 64 ? room / sizeof(*locks) : 64);
			if (n < 0) {
				ERR(&d->err, "kobj", "cannot parse the locks in fdinfo of a file", "", 0);
				return -1;
			}
			if (n == 0)
				return 0; /* no lock: the file is simply reopened */
			payload = locks;
			k.len = (uint32_t)((size_t)n * sizeof(*locks));
			break;
		}
		case KOBJ_EPOLL: {
			struct kobj_epoll_item *items = behind_text(buf, &room);
			long n = epoll_items(buf, items, room / sizeof(*items));
			if (n < 0) {
				ERR(&d->err, "kobj", "cannot parse the epoll interest list of fd", "", 0);
				return -1;
			}
			payload = items;
			k.len = (uint32_t)((size_t)n * sizeof(*items));
			break;
		}
		case KOBJ_INOTIFY: {
			char *watches = behind_text(buf, &room);
			long n = inotify_watches(d, fd, buf, watches, room);
			if (n < 0)
				return -1;
			payload = watches;
			k.len = (uint32_t)n;
			break;
		}
		case KOBJ_EVENTFD:
			if (field(buf, "eventfd-count:", 1, &v)) {
				ERR(&d->err, "kobj", "no eventfd-count in fdinfo", "", 0);
				return -1;
			}
			u.efd.count = v;
			u.efd.semaphore = field(buf, "eventfd-semaphore:", 0, &a) == 0 && a;
			k.len = sizeof(u.efd);
			break;
		case KOBJ_TIMERFD:
			if (field(buf, "clockid:", 0, &v) || field(buf, "it_value:", 0, &a) || field(buf, "it_interval:", 0, &b)) {
				ERR(&d->err, "kobj", "no clockid/it_value/it_interval in timerfd fdinfo", "", 0);
				return -1;
			}
			u.tfd.clockid = (int32_t)v;
			u.tfd.value_sec = (int64_t)a;
			u.tfd.interval_sec = (int64_t)b;
			/* the nanoseconds follow each "(sec, " */
			if (field(strstr(buf, "it_value:"), ",", 0, &v) == 0)
				u.tfd.value_nsec = (int64_t)v;
			if (field(strstr(buf, "it_interval:"), ",", 0, &v) == 0)
				u.tfd.interval_nsec = (int64_t)v;
			if (field(buf, "settime flags:", 0, &v) == 0)
				u.tfd.settime_flags = (uint32_t)v; /* printed in octal; only 0/1 occur for the flags kept */
			k.len = sizeof(u.tfd);
			break;
		case KOBJ_SIGNALFD:
			if (field(buf, "sigmask:", 1, &v)) {
				ERR(&d->err, "kobj", "no sigmask in signalfd fdinfo", "", 0);
				return -1;
			}
			u.sfd.mask = v;
			k.len = sizeof(u.sfd);
			break;
		}
	}
	return iw_record(&d->w, REC_KOBJ, &k, sizeof(k), payload, k.len, NULL, 0);
}

int dump_kobjs(struct dump_ctx *d, const int *fds, const uint32_t *kinds, const uint64_t *inos, int n)
{
	char *buf = n ? dump_alloc(d, FDINFO_MAX, "fdinfo") : NULL;
	int rc = 0;
	if (n && !buf)
		return -1;
	for (int i = 0; i < n && rc == 0; i++)
		rc = dump_one_kobj(d, fds[i], kinds[i], inos[i], buf);
	if (buf)
		dump_free(buf, FDINFO_MAX);
	return rc;
}
