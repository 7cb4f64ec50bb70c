/* Live TCP connections of a move (KOBJ_TCP, dump-tcp.c) continued by new
 * sockets. Log prefix "tcp". In TCP_REPAIR mode a socket takes the recorded
 * sequence numbers, binds where the old one was (repair mode may share the
 * port with the restored listener), "connects" without a handshake, gets the
 * negotiated options, window and timestamp clock, and has its queues
 * refilled: received bytes the program had not read, and sent bytes the peer
 * had not acknowledged (they are retransmitted if need be). Bytes the old
 * socket never sent are written after repair mode is left, as the program
 * wrote them. The peer sees one connection that paused.
 *
 * Packets the peer sent in the meantime were dropped by the supervisor's
 * network lock (nftables): tcp_net_unlock() lifts it once every connection
 * is rebuilt and before the program runs, so nothing the program answers is
 * dropped. A connection that cannot be continued (no CAP_NET_ADMIN, its
 * address taken) comes back closed, as after a crash, and says why. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "restore.h"

/* Queues are refilled in pieces the kernel takes at once in repair mode. */
#define QUEUE_CHUNK (64u * 1024u)

static int set_int(int fd, int name, int v)
{
	return setsockopt(fd, IPPROTO_TCP, name, &v, sizeof(v));
}

static int refill(int fd, int queue, const char *bytes, uint32_t len)
{
	if (queue != TCP_NO_QUEUE && set_int(fd, TCP_REPAIR_QUEUE, queue))
		return -1;
	for (uint32_t off = 0; off < len;) {
		size_t piece = len - off < QUEUE_CHUNK ? len - off : QUEUE_CHUNK;
		ssize_t n = send(fd, bytes + off, piece, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (uint32_t)n;
	}
	return 0;
}

/* The connection continued on fd (in repair mode); the step that failed, or NULL. */
static const char *continue_on(int fd, const struct kobj_tcp *t, const char *sendq, const char *recvq)
{
	const struct kobj_sock *s = &t->sock;
	if (set_int(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE) || set_int(fd, TCP_QUEUE_SEQ, (int)(t->recv_seq - t->recvq_len)) ||
	    set_int(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE) || set_int(fd, TCP_QUEUE_SEQ, (int)(t->send_seq - t->sendq_len)))
		return "set the sequence numbers";
	if (bind(fd, (const struct sockaddr *)s->addr, s->addr_len))
		return "bind to its local address";
	if (connect(fd, (const struct sockaddr *)s->peer, s->peer_len))
		return "connect (repair mode) to its peer";
	struct tcp_repair_opt opts[4];
	int n = 0;
	opts[n++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, t->mss };
	if (t->options & TCPI_OPT_WSCALE)
		opts[n++] = (struct tcp_repair_opt){ TCPOPT_WINDOW, t->snd_wscale | ((uint32_t)t->rcv_wscale << 16) };
	if (t->options & TCPI_OPT_SACK)
		opts[n++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
	if (t->options & TCPI_OPT_TIMESTAMPS)
		opts[n++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts, (socklen_t)(n * sizeof(opts[0]))))
		return "set the negotiated options";
	if ((t->options & TCPI_OPT_TIMESTAMPS) && set_int(fd, TCP_TIMESTAMP, (int)t->timestamp))
		return "set the timestamp clock";
	if (refill(fd, TCP_RECV_QUEUE, recvq, t->recvq_len))
		return "refill the receive queue";
	/* after the receive queue: the kernel checks the window against the end of it */
	struct tcp_repair_window w = { t->snd_wl1, t->snd_wnd, t->max_window, t->rcv_wnd, t->rcv_wup };
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)))
		return "set the window";
	if (refill(fd, TCP_SEND_QUEUE, sendq, t->sendq_len - t->unsent_len))
		return "refill the unacknowledged bytes";
	if (set_int(fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE) || set_int(fd, TCP_REPAIR, 0))
		return "leave repair mode";
	if (refill(fd, TCP_NO_QUEUE, sendq + (t->sendq_len - t->unsent_len), t->unsent_len))
		return "send the bytes never sent";
	kobj_sock_options(fd, s->opts);
	return NULL;
}

int tcp_rebuild(const struct li_kobj *ko)
{
	const struct kobj_tcp *t = (const void *)ko->data;
	char local[160], peer[160], what[400];

	if (ko->k.len < sizeof(*t) || ko->k.len != sizeof(*t) + (uint64_t)t->sendq_len + t->recvq_len || t->unsent_len > t->sendq_len) {
		RERR("tcp", 0, "fd %d: live TCP record of %u bytes does not add up", ko->k.fd, ko->k.len);
		return -1;
	}
	const char *sendq = (const char *)(t + 1), *recvq = sendq + t->sendq_len;
	kobj_describe(&t->sock, t->sock.addr, t->sock.addr_len, local, sizeof(local));
	kobj_describe(&t->sock, t->sock.peer, t->sock.peer_len, peer, sizeof(peer));
	snprintf(what, sizeof(what), "connection %s <-> %s", local, peer);

	int fd = socket(t->sock.family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0) {
		RERR("tcp", errno, "socket for fd %d (%s)", ko->k.fd, what);
		return -1;
	}
	const char *failed = set_int(fd, TCP_REPAIR, 1) ? "enter repair mode" : continue_on(fd, t, sendq, recvq);
	if (!failed) {
		RINFO("fd %d: %s continues (%u bytes to read, %u to send)", ko->k.fd, what, t->recvq_len, t->sendq_len);
		return fd;
	}
	int e = errno;
	close(fd);
	fprintf(stderr, "durun-restore: fd %d (%s): cannot continue the live connection: %s: %s%s\n", ko->k.fd, what, failed,
		strerror(e), e == EPERM ? " (TCP_REPAIR needs CAP_NET_ADMIN: root)" : "");
	return kobj_closed_stream(ko->k.fd, what);
}

/* nft, where Debian's nftables package puts it */
static const char *nft_path(void)
{
	static const char *const where[] = { "/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/bin/nft" };
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

int tcp_net_unlock(const char *table)
{
	const char *nft = nft_path();
	if (!nft) {
		RERR("tcp", ENOENT, "lift the network lock %s: nft not found (Debian package nftables)", table);
		return -1;
	}
	/* exit_signal 0: no SIGCHLD reaches a restored program's handler */
	struct clone_args ca;
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_VFORK; /* we wait anyway; no copy of our memory is touched */
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		RERR("tcp", errno, "lift the network lock %s: clone3", table);
		return -1;
	}
	if (pid == 0) {
		char *const argv[] = { (char *)nft, "delete", "table", "inet", (char *)table, NULL };
		char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execve(nft, argv, envp);
		_exit(127);
	}
	int st = 0;
	long r;
	/* __WALL: a child without an exit signal is a "clone" child */
	while ((r = syscall(SYS_wait4, (pid_t)pid, &st, __WALL, NULL)) < 0 && errno == EINTR)
		;
	if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		RERR("tcp", r < 0 ? errno : 0, "lift the network lock: %s delete table inet %s failed (status %d)", nft, table, st);
		return -1;
	}
	return 0;
}
