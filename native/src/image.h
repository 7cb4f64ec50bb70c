/* On-disk image format, version 2 (documented in ARCHITECTURE.md, "On-disk
 * image format", and native/README.md). All integers little-endian (x86_64
 * native), structs packed to the layout written here. */
#ifndef DURUN_IMAGE_H
#define DURUN_IMAGE_H

#include <stdint.h>

#define IMG_MAGIC      "DURUNIMG"  /* 8 bytes, no NUL stored */
#define IMG_VERSION    3          /* written; 2 = 1 + PIPE and UNIX records; 3 = 2 + KOBJ records */
#define IMG_VERSION_MIN 1         /* oldest one read (has no PIPE records) */
#define IMG_PAGE       4096u

/* File = struct img_file_head, then records; first HEADER, last END. */
struct img_file_head {
	char magic[8];
	uint32_t version;
	uint32_t flags; /* 0 */
} __attribute__((packed));

#define REC_MAGIC 0x43455244u /* "DREC" */

struct img_rec {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;      /* 0 */
	uint32_t hdr_crc;    /* crc32c of this struct with hdr_crc = 0 */
	uint32_t data_crc;   /* crc32c of the payload */
	uint64_t len;        /* payload bytes following */
} __attribute__((packed));

enum img_rec_type {
	REC_HEADER = 1,
	REC_MM = 2,
	REC_VMA = 3,
	REC_PAGES = 4,
	REC_THREAD = 5,
	REC_SIGACTS = 6,
	REC_FD = 7,
	REC_PROC = 8,
	REC_PIPE = 9,   /* version 2: bytes in flight in a pipe */
	REC_UNIX = 10,  /* version 2: a unix socket's peer and its receive queue */
	REC_KOBJ = 11,  /* version 3: a kernel object behind an fd (socket, epoll, eventfd, timerfd, signalfd, memfd, inotify) */
	REC_END = 15,
};

#define IMG_KIND_FULL 1
#define IMG_KIND_INCR 2

/* REC_HEADER payload: this struct, then exe path (exe_len bytes), then parent
 * image path (parent_len bytes, incrementals only). No NULs stored. */
struct img_header {
	uint32_t kind;
	uint32_t nthreads;
	uint64_t image_id;
	uint64_t parent_id;     /* 0 for full images */
	uint64_t created_ns;    /* CLOCK_REALTIME */
	int32_t pid, ppid, pgid, sid;
	uint32_t uid, gid;
	uint64_t exe_size, exe_mtime_ns, exe_ino, exe_dev;
	uint32_t exe_len, parent_len;
} __attribute__((packed));

/* REC_MM: fields of /proc/self/stat (start_code .. env_end) + brk, then auxv. */
struct img_mm {
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint32_t auxv_len, pad;
} __attribute__((packed));

/* REC_VMA: this struct, nruns struct img_run, then the path (path_len bytes).
 * The pages of DATA runs follow in one REC_PAGES record, in run order. */
#define VMA_SHARED    0x01u /* MAP_SHARED (else private) */
#define VMA_ANON      0x02u /* no file behind it */
#define VMA_FILE      0x04u /* file-backed: unlisted pages come from the file */
#define VMA_STACK     0x08u /* [stack]: restored MAP_GROWSDOWN */
#define VMA_HEAP      0x10u /* [heap] */
#define VMA_SPECIAL   0x20u /* [vdso]/[vvar]*: no contents, relocated at restore */
#define VMA_DELETED   0x40u /* file was deleted: contents dumped like anon */
#define VMA_VSYSCALL  0x80u /* [vsyscall]: fixed by the kernel, ignored */
#define VMA_TRACKED   0x100u /* incremental: PARENT runs refer to the parent image */

struct img_vma {
	uint64_t start, end, pgoff;
	uint32_t prot, vflags;
	uint64_t dev, ino, fsize, fmtime_ns; /* file identity, for change detection */
	uint32_t nruns, path_len;
	uint64_t data_pages;               /* pages in the REC_PAGES that follows */
} __attribute__((packed));

#define RUN_DATA   1 /* contents are in this image */
#define RUN_PARENT 2 /* resident, unchanged since the parent image: take it from there */

struct img_run {
	uint64_t first;   /* page index from vma start */
	uint32_t npages;
	uint32_t kind;
} __attribute__((packed));

/* REC_THREAD: one per thread, leader first. */
struct img_thread {
	int32_t tid;
	uint32_t tflags;           /* 1 = leader (called durun_ckpt_dump) */
	uint64_t fs_base, gs_base;
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;  /* resume point */
	uint64_t sigmask;
	uint64_t ss_sp, ss_size;
	int32_t ss_flags, pad;
	uint64_t clear_tid;        /* PR_GET_TID_ADDRESS */
	uint64_t robust_head, robust_len;
	uint64_t rseq_addr;
	uint32_t rseq_len, rseq_sig;
	char comm[16];
	uint8_t fxsave[512];
} __attribute__((packed));

/* REC_SIGACTS: 64 of these, signal 1..64 (kernel struct sigaction layout). */
struct img_sigact {
	uint64_t handler, flags, restorer, mask;
} __attribute__((packed));

/* REC_FD: this struct, then path (path_len bytes: readlink of /proc/self/fd/N). */
#define FD_REG     1
#define FD_PIPE    2
#define FD_DEVNULL 3
#define FD_TTY     4
#define FD_SOCKET  5
#define FD_OTHER   6
#define FD_DIR     7

struct img_fd {
	int32_t fd;
	uint32_t kind;
	uint32_t oflags;      /* F_GETFL */
	uint32_t fdflags;     /* F_GETFD */
	int64_t offset;       /* lseek(SEEK_CUR), -1 if not seekable */
	uint64_t dev, ino;
	uint32_t mode, path_len;
} __attribute__((packed));

/* REC_PIPE (version 2): one per pipe inode the process holds, after its FD
 * records: this struct, then the `len` bytes that were in the pipe, read with
 * tee(2) (not consumed). */
struct img_pipe {
	uint64_t ino;         /* as in the FD records (pipe:[ino]) */
	uint32_t pipe_size;   /* F_GETPIPE_SZ */
	uint32_t len;         /* bytes in flight */
} __attribute__((packed));

/* REC_UNIX (version 2): one per AF_UNIX socket inode the process holds,
 * after its FD records: this struct, then the receive queue, read with
 * MSG_PEEK (not consumed): for SOCK_STREAM the bytes; for SOCK_DGRAM and
 * SOCK_SEQPACKET `nmsgs` messages, each a u32 length then its bytes. */
struct img_unix {
	uint64_t ino, peer_ino;   /* peer_ino 0: not connected */
	uint32_t type;            /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	uint32_t nmsgs;           /* messages in the queue (0 for a stream) */
	uint32_t len;             /* payload bytes that follow */
	uint32_t flags;           /* UNIX_UNSAVED: peer or queue could not be read (restored unpaired) */
} __attribute__((packed));
#define UNIX_UNSAVED 1u

/* REC_KOBJ (version 3): one per fd whose kernel object is rebuilt, not
 * reopened: this struct, then `len` bytes of the kind's payload below. */
struct img_kobj {
	int32_t fd;
	uint32_t kind;            /* KOBJ_* */
	uint32_t len;             /* payload bytes that follow */
	uint32_t pad;
} __attribute__((packed));
#define KOBJ_SOCK     1       /* struct kobj_sock */
#define KOBJ_EPOLL    2       /* n × struct kobj_epoll_item (the interest list) */
#define KOBJ_EVENTFD  3       /* struct kobj_eventfd */
#define KOBJ_TIMERFD  4       /* struct kobj_timerfd */
#define KOBJ_SIGNALFD 5       /* struct kobj_signalfd */
#define KOBJ_LOCKS    6       /* n × struct kobj_lock: the locks it holds on a regular file (reopened by path) */
#define KOBJ_TCP      7       /* struct kobj_tcp, then the send queue (sendq_len bytes), then the receive queue (recvq_len) */
#define KOBJ_MEMFD    8       /* struct kobj_memfd, then the file's `size` bytes */
#define KOBJ_INOTIFY  9       /* n × (struct kobj_inotify_watch, then its path, padded to 8 bytes) */

/* A socket other than a unix socketpair end inside the group. */
struct kobj_sock {
	int32_t family, type, protocol;
	uint32_t state;           /* SOCK_ST_* */
	int32_t backlog;          /* listening: the program's own, else 0 */
	uint32_t opts;            /* SOCK_OPT_* set on it */
	uint32_t addr_len, peer_len;
	uint8_t addr[128], peer[128]; /* getsockname / getpeername */
} __attribute__((packed));
#define SOCK_ST_UNBOUND   0   /* created, not bound */
#define SOCK_ST_BOUND     1   /* bound, not listening (UDP, a bound client) */
#define SOCK_ST_LISTEN    2
#define SOCK_ST_CONNECTED 3   /* a connection; restored closed unless its TCP state is carried */
#define SOCK_OPT_REUSEADDR (1u << 0)
#define SOCK_OPT_REUSEPORT (1u << 1)
#define SOCK_OPT_KEEPALIVE (1u << 2)
#define SOCK_OPT_NODELAY   (1u << 3)
#define SOCK_OPT_V6ONLY    (1u << 4)
#define SOCK_OPT_BROADCAST (1u << 5)

/* An established TCP connection carried live (DURUN_CKPT_TCP_LIVE, taken in
 * TCP_REPAIR mode): what a new socket needs to continue it where the old one
 * stopped, without the peer noticing. Sequence numbers are those of the ends
 * of the queues (TCP_QUEUE_SEQ); the queues' bytes follow the struct. */
struct kobj_tcp {
	struct kobj_sock sock;    /* family, addresses, options; state SOCK_ST_CONNECTED */
	uint32_t send_seq;        /* sequence number after the last byte queued to send */
	uint32_t recv_seq;        /* sequence number after the last byte received */
	uint32_t sendq_len;       /* bytes queued to send: sent but unacknowledged, then never sent */
	uint32_t unsent_len;      /* of which never sent (SIOCOUTQNSD) */
	uint32_t recvq_len;       /* bytes received, not read by the program */
	uint32_t mss;             /* TCP_MAXSEG */
	uint32_t options;         /* TCPI_OPT_* negotiated (timestamps, SACK, window scaling) */
	uint8_t snd_wscale, rcv_wscale;
	uint16_t pad;
	uint32_t timestamp;       /* TCP_TIMESTAMP: the connection's timestamp clock */
	uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup; /* TCP_REPAIR_WINDOW */
} __attribute__((packed));

struct kobj_epoll_item {
	int32_t tfd;
	uint32_t events;
	uint64_t data;
} __attribute__((packed));

struct kobj_eventfd {
	uint64_t count;
	uint32_t semaphore, pad;
} __attribute__((packed));

/* Time left and interval as the kernel tells them (relative). */
struct kobj_timerfd {
	int32_t clockid;
	uint32_t settime_flags;
	int64_t value_sec, value_nsec, interval_sec, interval_nsec;
} __attribute__((packed));

struct kobj_lock {
	uint32_t type;            /* LOCK_T_FLOCK, LOCK_T_POSIX, LOCK_T_OFD */
	uint32_t write;           /* 1 exclusive (WRITE), 0 shared (READ) */
	int64_t start, end;       /* byte range; end -1: to the end of the file */
} __attribute__((packed));
#define LOCK_T_FLOCK 1
#define LOCK_T_POSIX 2
#define LOCK_T_OFD   3

struct kobj_signalfd {
	uint64_t mask;            /* bit N-1: signal N */
} __attribute__((packed));

/* A memfd (its fd's link is "/memfd:NAME (deleted)"): one object per inode
 * at restore, shared by every fd and mapping of it in the image or tree. */
struct kobj_memfd {
	uint64_t size;            /* st_size; its contents follow */
	uint32_t seals;           /* F_GET_SEALS (F_SEAL_SEAL alone: created without MFD_ALLOW_SEALING) */
	uint32_t mode;            /* st_mode & 07777 */
	uint32_t name_len, pad;
	char name[256];           /* memfd_create's name (the kernel keeps at most 249 bytes) */
} __attribute__((packed));

/* One watch of an inotify instance, in the order of its watch descriptors. */
struct kobj_inotify_watch {
	int32_t wd;
	uint32_t mask;            /* fdinfo's mask, plus IN_DONT_FOLLOW/IN_ONLYDIR as the program added it */
	uint64_t ino, dev;        /* the watched inode when the checkpoint was taken */
	uint32_t path_len, pad;   /* the path the program gave inotify_add_watch (absolute) follows */
} __attribute__((packed));

/* REC_PROC: this struct, then cwd (cwd_len bytes). */
struct img_proc {
	uint32_t umask, personality;
	uint64_t rlim[16][2];         /* prlimit64 cur, max */
	uint64_t itimer[3][4];        /* REAL, VIRTUAL, PROF: interval sec,usec, value sec,usec */
	uint32_t cwd_len, pad;
} __attribute__((packed));

/* REC_END: whole-file checksum = crc32c over the file head and every record
 * header before END (each header carries its payload's crc). */
struct img_end {
	uint32_t nrecords;  /* records before END */
	uint32_t file_crc;
	uint64_t file_bytes;/* offset of the END record header */
} __attribute__((packed));

const char *img_rec_name(unsigned type);
uint32_t crc32c(uint32_t crc, const void *buf, uint64_t len);

#endif
