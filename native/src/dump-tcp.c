/* Established TCP connections carried live (DURUN_CKPT_TCP_LIVE), for a move
 * of the program: the socket is put in TCP_REPAIR mode, which freezes it
 * (nothing is sent from then on, and closing it later sends neither FIN nor
 * RST), and everything a new socket needs to continue the connection is
 * read: both sequence numbers, both queues, the negotiated options, the
 * window and the timestamp clock. One KOBJ_TCP record each. Log prefix
 * "tcp". Packets the peer sends meanwhile must not reach the frozen socket:
 * the supervisor drops them (its network lock) for as long as the move takes.
 *
 * TCP_REPAIR needs CAP_NET_ADMIN; without it the checkpoint fails here,
 * naming the fd, rather than silently bringing the connection back closed. */
#define _GNU_SOURCE
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "dump.h"

static void tcp_err(struct dump_ctx *d, int fd, const char *what, int err)
{
	char arg[96];
	struct sb s;
	sb_init(&s, arg, sizeof(arg));
	sb_str(&s, "of the TCP connection on fd ");
	sb_u64(&s, (uint64_t)fd);
	if (err == EPERM)
		sb_str(&s, " (TCP_REPAIR needs CAP_NET_ADMIN: only a program running as root can carry live connections)");
	ERR(&d->err, "tcp", what, arg, err);
}

static int get_u32(int fd, int name, uint32_t *out)
{
	int v = 0;
	socklen_t sl = sizeof(v);
	if (getsockopt(fd, IPPROTO_TCP, name, &v, &sl))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int set_int(int fd, int name, int v)
{
	return setsockopt(fd, IPPROTO_TCP, name, &v, sizeof(v));
}

/* The sequence number at the end of one queue, and its bytes peeked into buf. */
static int read_queue(struct dump_ctx *d, int fd, int queue, uint32_t *seq, char *buf, uint32_t len)
{
	if (set_int(fd, TCP_REPAIR_QUEUE, queue) || get_u32(fd, TCP_QUEUE_SEQ, seq)) {
		tcp_err(d, fd, queue == TCP_SEND_QUEUE ? "read the send sequence" : "read the receive sequence", errno);
		return -1;
	}
	uint32_t got = 0;
	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, MSG_PEEK | MSG_DONTWAIT);
		if (n <= 0) {
			tcp_err(d, fd, queue == TCP_SEND_QUEUE ? "peek the send queue" : "peek the receive queue", n == 0 ? EIO : errno);
			return -1;
		}
		/* MSG_PEEK starts at the head each time: a short read means the queue is shorter than told */
		if ((uint32_t)n < len - got) {
			tcp_err(d, fd, "the queue is shorter than SIOCOUTQ/SIOCINQ said", EIO);
			return -1;
		}
		got += (uint32_t)n;
	}
	return 0;
}

int dump_tcp(struct dump_ctx *d, int fd, const struct kobj_sock *sock)
{
	struct dump_state *g = &durun_g;
	struct tcp_info ti;
	socklen_t sl = sizeof(ti);
	struct kobj_tcp t;
	int outq = 0, unsent = 0, inq = 0;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &sl)) {
		tcp_err(d, fd, "TCP_INFO", errno);
		return -1;
	}
	if (ti.tcpi_state != TCP_ESTABLISHED)
		return 1; /* closing or half-open: it comes back closed */
	if (g->nrepaired >= DUMP_MAX_REPAIRED) {
		tcp_err(d, fd, "more live connections than one process may carry (1024)", E2BIG);
		return -1;
	}
	if (set_int(fd, TCP_REPAIR, 1)) {
		tcp_err(d, fd, "enter TCP_REPAIR mode", errno);
		return -1;
	}
	g->repaired[g->nrepaired++] = fd;
	memset(&t, 0, sizeof(t));
	t.sock = *sock;
	/* Frozen now: the counts cannot change under us. */
	if (ioctl(fd, SIOCOUTQ, &outq) || ioctl(fd, SIOCOUTQNSD, &unsent) || ioctl(fd, SIOCINQ, &inq) || outq < 0 || unsent < 0 ||
	    inq < 0 || unsent > outq) {
		tcp_err(d, fd, "queue lengths (SIOCOUTQ/SIOCOUTQNSD/SIOCINQ)", errno);
		return -1;
	}
	t.sendq_len = (uint32_t)outq;
	t.unsent_len = (uint32_t)unsent;
	t.recvq_len = (uint32_t)inq;
	t.options = ti.tcpi_options;
	t.snd_wscale = ti.tcpi_snd_wscale;
	t.rcv_wscale = ti.tcpi_rcv_wscale;
	struct tcp_repair_window w;
	uint32_t mss = 0, ts = 0, send_seq = 0, recv_seq = 0;
	sl = sizeof(w);
	if (get_u32(fd, TCP_MAXSEG, &mss) || get_u32(fd, TCP_TIMESTAMP, &ts) ||
	    getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &sl)) {
		tcp_err(d, fd, "read MSS, timestamp and window", errno);
		return -1;
	}
	t.mss = mss;
	t.timestamp = ts;
	t.snd_wl1 = w.snd_wl1;
	t.snd_wnd = w.snd_wnd;
	t.max_window = w.max_window;
	t.rcv_wnd = w.rcv_wnd;
	t.rcv_wup = w.rcv_wup;

	size_t qlen = (size_t)t.sendq_len + t.recvq_len, size = (qlen + 4095) & ~(size_t)4095;
	char *buf = qlen ? dump_alloc(d, size, "TCP queues") : NULL;
	int rc = -1;
	if (qlen && !buf)
		return -1;
	if (read_queue(d, fd, TCP_SEND_QUEUE, &send_seq, buf, t.sendq_len) == 0 &&
	    read_queue(d, fd, TCP_RECV_QUEUE, &recv_seq, buf ? buf + t.sendq_len : NULL, t.recvq_len) == 0) {
		t.send_seq = send_seq;
		t.recv_seq = recv_seq;
		if (set_int(fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE))
			tcp_err(d, fd, "leave the repair queue", errno);
		else {
			struct img_kobj k = { fd, KOBJ_TCP, (uint32_t)(sizeof(t) + qlen), 0 };
			rc = iw_record(&d->w, REC_KOBJ, &k, sizeof(k), &t, sizeof(t), buf, qlen);
		}
	}
	if (buf)
		dump_free(buf, size);
	return rc;
}

int dump_tcp_unrepair(void)
{
	struct dump_state *g = &durun_g;
	int rc = 0;
	/* -1 (TCP_REPAIR_OFF_NO_WP): no window probe, the peer saw no change */
	for (int i = 0; i < g->nrepaired; i++)
		if (set_int(g->repaired[i], TCP_REPAIR, -1))
			rc = -1;
	g->nrepaired = 0;
	return rc;
}
