/* Rebuilds the kernel objects of KOBJ records (dump-kobj.c). Log prefix
 * "kobj". Sockets come back listening or bound where they were (a unix
 * socket file left by the dead process is replaced); a connection whose TCP
 * state is not carried comes back closed: the program's next read sees the
 * end of the stream, as after a network failure, and its event loop drops
 * it; one carried live (a move) is rebuilt by restore-tcp.c. epoll is
 * rebuilt last, once every fd it watches is in place. inotify and memfd
 * have files of their own (restore-inotify.c, restore-memfd.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>
#include "restore.h"

const struct li_kobj *kobj_of(const struct loaded_image *li, int fd)
{
	for (size_t i = 0; i < li->nkobj; i++)
		if (li->kobjs[i].k.fd == fd)
			return &li->kobjs[i];
	return NULL;
}

static int payload_is(const struct li_kobj *ko, size_t size, const char *what)
{
	if (ko->k.len == size)
		return 1;
	RERR("kobj", 0, "fd %d: %s record of %u bytes, expected %zu", ko->k.fd, what, ko->k.len, size);
	return 0;
}

void kobj_describe(const struct kobj_sock *s, const uint8_t *addr, uint32_t len, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (s->family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *a = (const void *)addr;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(out, size, "%s:%u", host, ntohs(a->sin_port));
	} else if (s->family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *a = (const void *)addr;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(out, size, "[%s]:%u", host, ntohs(a->sin6_port));
	} else if (s->family == AF_UNIX && len > sizeof(sa_family_t)) {
		const struct sockaddr_un *a = (const void *)addr;
		snprintf(out, size, "%s%.*s", a->sun_path[0] ? "" : "@", (int)(len - sizeof(sa_family_t) - !a->sun_path[0]),
			 a->sun_path + !a->sun_path[0]);
	} else {
		snprintf(out, size, "(family %d)", s->family);
	}
}

/* The boolean options a socket is rebuilt with (SO_REUSEADDR before bind, IPV6_V6ONLY too). */
static const struct {
	uint32_t bit;
	int level, name;
	const char *label;
} sock_opts[] = {
	{ SOCK_OPT_REUSEADDR, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR" },
	{ SOCK_OPT_REUSEPORT, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT" },
	{ SOCK_OPT_KEEPALIVE, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE" },
	{ SOCK_OPT_BROADCAST, SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST" },
	{ SOCK_OPT_NODELAY, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY" },
	{ SOCK_OPT_V6ONLY, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY" },
};

void kobj_sock_options(int fd, uint32_t opts)
{
	int one = 1;
	for (size_t i = 0; i < sizeof(sock_opts) / sizeof(sock_opts[0]); i++)
		if ((opts & sock_opts[i].bit) && setsockopt(fd, sock_opts[i].level, sock_opts[i].name, &one, sizeof(one)))
			RINFO("setsockopt %s: %s (continuing)", sock_opts[i].label, strerror(errno));
}

/* A closed connection: a stream whose other end is gone (read: end of stream). */
int kobj_closed_stream(int fd_no, const char *why)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		RERR("kobj", errno, "socketpair for closed connection fd %d", fd_no);
		return -1;
	}
	close(sv[1]);
	fprintf(stderr, "durun-restore: fd %d (%s) comes back closed: its peer sees the connection as lost, the program sees end of stream\n", fd_no, why);
	return sv[0];
}

/* A unix socket file left by the dead process blocks bind: replace it (only a socket). */
static void clear_unix_path(const struct kobj_sock *s)
{
	const struct sockaddr_un *a = (const void *)s->addr;
	struct stat st;
	if (s->family != AF_UNIX || s->addr_len <= sizeof(sa_family_t) || !a->sun_path[0])
		return;
	if (lstat(a->sun_path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(a->sun_path))
		RINFO("unlink stale socket %s: %s", a->sun_path, strerror(errno));
}

static int rebuild_sock(const struct li_kobj *ko)
{
	const struct kobj_sock *s = (const void *)ko->data;
	char where[160], peer[160];
	int fd;

	if (!payload_is(ko, sizeof(*s), "socket"))
		return -1;
	kobj_describe(s, s->addr, s->addr_len, where, sizeof(where));
	if (s->state == SOCK_ST_CONNECTED) {
		kobj_describe(s, s->peer, s->peer_len, peer, sizeof(peer));
		char what[400];
		snprintf(what, sizeof(what), "connection %s <-> %s", where, peer);
		if (s->family != AF_UNIX || s->type != SOCK_STREAM)
			return kobj_closed_stream(ko->k.fd, what);
		/* a unix stream to outside the group: connect again to the same path */
		fd = socket(AF_UNIX, s->type | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (const struct sockaddr *)s->peer, s->peer_len) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		return kobj_closed_stream(ko->k.fd, what);
	}
	fd = socket(s->family, s->type | SOCK_CLOEXEC, s->protocol);
	if (fd < 0) {
		RERR("kobj", errno, "socket(%d, %d, %d) for fd %d", s->family, s->type, s->protocol, ko->k.fd);
		return -1;
	}
	kobj_sock_options(fd, s->opts);
	if (s->state == SOCK_ST_UNBOUND)
		return fd;
	clear_unix_path(s);
	if (bind(fd, (const struct sockaddr *)s->addr, s->addr_len)) {
		RERR("kobj", errno, "bind fd %d to %s (is another process holding it, e.g. the old instance?)", ko->k.fd, where);
		close(fd);
		return -1;
	}
	if (s->state == SOCK_ST_LISTEN && listen(fd, s->backlog > 0 ? s->backlog : SOMAXCONN)) {
		RERR("kobj", errno, "listen on %s (fd %d)", where, ko->k.fd);
		close(fd);
		return -1;
	}
	return fd;
}

static int rebuild_timerfd(const struct li_kobj *ko, uint32_t oflags)
{
	const struct kobj_timerfd *t = (const void *)ko->data;
	if (!payload_is(ko, sizeof(*t), "timerfd"))
		return -1;
	int fd = timerfd_create(t->clockid, TFD_CLOEXEC | (oflags & O_NONBLOCK ? TFD_NONBLOCK : 0));
	if (fd < 0) {
		RERR("kobj", errno, "timerfd_create(clock %d) for fd %d", t->clockid, ko->k.fd);
		return -1;
	}
	/* time left, relative: the image was taken at the barrier, the clock runs on from now */
	struct itimerspec its = { { t->interval_sec, t->interval_nsec }, { t->value_sec, t->value_nsec } };
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0 && (its.it_interval.tv_sec || its.it_interval.tv_nsec))
		its.it_value.tv_nsec = 1; /* due right at the barrier: fire at once */
	if (timerfd_settime(fd, 0, &its, NULL)) {
		RERR("kobj", errno, "timerfd_settime for fd %d", ko->k.fd);
		close(fd);
		return -1;
	}
	return fd;
}

int kobj_rebuild(const struct li_kobj *ko, uint32_t oflags)
{
	int nb = oflags & O_NONBLOCK;
	int fd;
	switch (ko->k.kind) {
	case KOBJ_SOCK:
		return rebuild_sock(ko);
	case KOBJ_TCP:
		return tcp_rebuild(ko);
	case KOBJ_EVENTFD: {
		const struct kobj_eventfd *e = (const void *)ko->data;
		if (!payload_is(ko, sizeof(*e), "eventfd"))
			return -1;
		fd = eventfd(0, EFD_CLOEXEC | (nb ? EFD_NONBLOCK : 0) | (e->semaphore ? EFD_SEMAPHORE : 0));
		/* the count by a write, which adds it: eventfd()'s own initial value is only 32 bits */
		if (fd >= 0 && e->count && write(fd, &e->count, sizeof(e->count)) != sizeof(e->count)) {
			RERR("kobj", errno, "set eventfd fd %d to %llu", ko->k.fd, (unsigned long long)e->count);
			close(fd);
			return -1;
		}
		break;
	}
	case KOBJ_TIMERFD:
		return rebuild_timerfd(ko, oflags);
	case KOBJ_SIGNALFD: {
		const struct kobj_signalfd *s = (const void *)ko->data;
		sigset_t set;
		if (!payload_is(ko, sizeof(*s), "signalfd"))
			return -1;
		sigemptyset(&set);
		for (int sig = 1; sig <= 64; sig++)
			if (s->mask & (1ull << (sig - 1)))
				sigaddset(&set, sig);
		fd = signalfd(-1, &set, SFD_CLOEXEC | (nb ? SFD_NONBLOCK : 0));
		break;
	}
	case KOBJ_EPOLL:
		fd = epoll_create1(EPOLL_CLOEXEC); /* filled by kobj_fill_epoll once every fd is placed */
		break;
	case KOBJ_INOTIFY:
		return inotify_rebuild(ko);
	default:
		RERR("kobj", 0, "fd %d: unknown kernel object kind %u (a newer image?)", ko->k.fd, ko->k.kind);
		return -1;
	}
	if (fd < 0)
		RERR("kobj", errno, "rebuild fd %d (kind %u)", ko->k.fd, ko->k.kind);
	return fd;
}

int kobj_take_locks(const struct li_kobj *ko)
{
	const struct kobj_lock *l = (const void *)ko->data;
	size_t n = ko->k.len / sizeof(*l);
	for (size_t i = 0; i < n; i++) {
		int rc;
		if (l[i].type == LOCK_T_FLOCK) {
			rc = flock(ko->k.fd, (l[i].write ? LOCK_EX : LOCK_SH) | LOCK_NB);
		} else {
			struct flock fl = { .l_type = l[i].write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET, .l_start = l[i].start,
					    .l_len = l[i].end < 0 ? 0 : l[i].end - l[i].start + 1 };
			rc = fcntl(ko->k.fd, l[i].type == LOCK_T_OFD ? F_OFD_SETLK : F_SETLK, &fl);
		}
		if (rc && l[i].type == LOCK_T_FLOCK && errno == EWOULDBLOCK) {
			/* flock belongs to an open file, which fork shares: a restored sibling holding the same one took it */
			fprintf(stderr, "durun-restore: fd %d: its flock is held by another process now (a restored process sharing the file?); left unlocked\n", ko->k.fd);
			continue;
		}
		if (rc) {
			RERR("kobj", errno, "fd %d: take back its %s lock (bytes %lld-%lld): another process holds it now", ko->k.fd,
			     l[i].write ? "write" : "read", (long long)l[i].start, (long long)l[i].end);
			return -1;
		}
	}
	return 0;
}

int kobj_fill_epoll(const struct li_kobj *ko)
{
	const struct kobj_epoll_item *it = (const void *)ko->data;
	size_t n = ko->k.len / sizeof(*it);
	if (ko->k.len % sizeof(*it)) {
		RERR("kobj", 0, "fd %d: epoll record of %u bytes", ko->k.fd, ko->k.len);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct epoll_event ev = { .events = it[i].events, .data.u64 = it[i].data };
		if (epoll_ctl(ko->k.fd, EPOLL_CTL_ADD, it[i].tfd, &ev) == 0)
			continue;
		if (errno == EBADF) {
			/* watched through a file the program has closed since (epoll keeps it): nothing to watch now */
			fprintf(stderr, "durun-restore: epoll fd %d watched fd %d, which is no longer open; dropped\n", ko->k.fd, it[i].tfd);
			continue;
		}
		RERR("kobj", errno, "epoll fd %d: add fd %d (events %#x)", ko->k.fd, it[i].tfd, it[i].events);
		return -1;
	}
	return 0;
}
