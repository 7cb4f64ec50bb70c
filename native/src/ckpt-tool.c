/* durun-ckpt: inspect IMAGE [--json] | check [--json] | merge IMAGE -o OUT.
 * Exit codes: 0 ok; 1 image invalid or operation failed; 2 usage. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "img-read.h"
#include "jsonout.h"
#include "merge.h"

int ckpt_check(int json);

static const char *kind_name(uint32_t k)
{
	return k == IMG_KIND_FULL ? "full" : k == IMG_KIND_INCR ? "incremental" : "unknown";
}

static void vma_flags(uint32_t f, char *out, size_t n)
{
	snprintf(out, n, "%s%s%s%s%s%s%s%s", f & VMA_SHARED ? "shared" : "private", f & VMA_ANON ? ",anon" : "",
		 f & VMA_FILE ? ",file" : "", f & VMA_STACK ? ",stack" : "", f & VMA_HEAP ? ",heap" : "",
		 f & VMA_SPECIAL ? ",special" : "", f & VMA_DELETED ? ",deleted" : "", f & VMA_TRACKED ? ",tracked" : "");
}

static void count_pages(const struct li_vma *v, uint64_t *data, uint64_t *parent)
{
	*data = *parent = 0;
	for (uint32_t k = 0; k < v->v.nruns; k++)
		*(v->runs[k].kind == 1 ? data : parent) += v->runs[k].npages;
}

static const char *kobj_name(uint32_t kind)
{
	static const char *const names[] = { "?", "socket", "epoll", "eventfd", "timerfd", "signalfd", "locks", "tcp", "memfd", "inotify" };
	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

/* One line of what a KOBJ record holds: the memfd's name, size and seals, an inotify instance's watches. */
static void kobj_line(const struct li_kobj *ko)
{
	printf("  fd %-4d %-9s %u bytes", ko->k.fd, kobj_name(ko->k.kind), ko->k.len);
	if (ko->k.kind == KOBJ_MEMFD && ko->k.len >= sizeof(struct kobj_memfd)) {
		const struct kobj_memfd *m = (const void *)ko->data;
		printf("  \"%.*s\" size %llu seals %#x", (int)(m->name_len < sizeof(m->name) ? m->name_len : sizeof(m->name)), m->name,
		       (unsigned long long)m->size, m->seals);
	}
	for (uint32_t off = 0; ko->k.kind == KOBJ_INOTIFY && ko->k.len - off >= sizeof(struct kobj_inotify_watch);) {
		const struct kobj_inotify_watch *w = (const void *)(ko->data + off);
		if (ko->k.len - off - sizeof(*w) < w->path_len)
			break;
		printf("  wd %d %.*s", w->wd, (int)w->path_len, (const char *)(w + 1));
		off += (uint32_t)((sizeof(*w) + w->path_len + 7) & ~(size_t)7);
	}
	printf("\n");
}

static void print_text(const struct loaded_image *li, int ok, const char *err)
{
	printf("image      %s (%llu bytes)\n", li->path, (unsigned long long)li->file_size);
	if (li->nrec) {
		printf("format     version %u, %s, id %016llx", li->version, kind_name(li->h.kind), (unsigned long long)li->h.image_id);
		if (li->h.parent_id)
			printf(", parent %016llx (%s)", (unsigned long long)li->h.parent_id, li->parent ? li->parent : "");
		printf("\nprocess    pid %d ppid %d uid %u exe %s (size %llu, inode %llu)\n", li->h.pid, li->h.ppid, li->h.uid,
		       li->exe ? li->exe : "?", (unsigned long long)li->h.exe_size, (unsigned long long)li->h.exe_ino);
	}
	if (li->have_proc)
		printf("cwd        %s (umask %03o)\n", li->cwd, li->proc.umask);
	printf("records    %zu read\n", li->nrec);
	for (size_t i = 0; i < li->nrec; i++)
		printf("  #%-4zu @%-10llu %-8s %10llu bytes  crc %08x\n", i, (unsigned long long)li->recs[i].off,
		       img_rec_name(li->recs[i].type), (unsigned long long)li->recs[i].len, li->recs[i].data_crc);
	printf("threads    %zu\n", li->nthr);
	for (size_t i = 0; i < li->nthr; i++)
		printf("  tid %-7d %s rip %#llx rsp %#llx fs %#llx comm %.16s\n", li->thr[i].tid,
		       li->thr[i].tflags & 1 ? "leader" : "      ", (unsigned long long)li->thr[i].rip,
		       (unsigned long long)li->thr[i].rsp, (unsigned long long)li->thr[i].fs_base, li->thr[i].comm);
	printf("mappings   %zu\n  %-33s %-4s %-24s %8s %8s  %s\n", li->nvma, "range", "prot", "flags", "data", "parent", "path");
	for (size_t i = 0; i < li->nvma; i++) {
		const struct li_vma *v = &li->vmas[i];
		char fl[96], pr[5];
		uint64_t d, p;
		count_pages(v, &d, &p);
		vma_flags(v->v.vflags, fl, sizeof(fl));
		snprintf(pr, sizeof(pr), "%c%c%c", v->v.prot & PROT_READ ? 'r' : '-', v->v.prot & PROT_WRITE ? 'w' : '-',
			 v->v.prot & PROT_EXEC ? 'x' : '-');
		printf("  %016llx-%016llx %-4s %-24s %8llu %8llu  %s\n", (unsigned long long)v->v.start,
		       (unsigned long long)v->v.end, pr, fl, (unsigned long long)d, (unsigned long long)p, v->path);
	}
	printf("fds        %zu\n", li->nfd);
	for (size_t i = 0; i < li->nfd; i++)
		printf("  %-4d kind %u flags %#o offset %lld  %s\n", li->fds[i].f.fd, li->fds[i].f.kind, li->fds[i].f.oflags,
		       (long long)li->fds[i].f.offset, li->fds[i].path);
	printf("pipes      %zu\n", li->npipe);
	for (size_t i = 0; i < li->npipe; i++)
		printf("  pipe:[%llu] size %u, %u bytes in flight\n", (unsigned long long)li->pipes[i].p.ino,
		       li->pipes[i].p.pipe_size, li->pipes[i].p.len);
	printf("unix       %zu\n", li->nunix);
	for (size_t i = 0; i < li->nunix; i++)
		printf("  socket:[%llu] type %u peer socket:[%llu], %u bytes (%u messages) queued%s\n",
		       (unsigned long long)li->unixes[i].u.ino, li->unixes[i].u.type, (unsigned long long)li->unixes[i].u.peer_ino,
		       li->unixes[i].u.len, li->unixes[i].u.nmsgs,
		       li->unixes[i].u.flags & UNIX_UNSAVED ? " (peer or queue unreadable at dump: restored unpaired)" : "");
	printf("kobjs      %zu\n", li->nkobj);
	for (size_t i = 0; i < li->nkobj; i++)
		kobj_line(&li->kobjs[i]);
	if (ok)
		printf("verdict    OK: every record checksum and the whole-file checksum (%08x) verified\n", li->end.file_crc);
	else
		printf("verdict    CORRUPT: %s\n", err);
}

static void print_json(const struct loaded_image *li, int ok, const char *err)
{
	printf("{\"path\":");
	json_str(stdout, li->path);
	printf(",\"ok\":%s,\"error\":", ok ? "true" : "false");
	if (ok)
		printf("null");
	else
		json_str(stdout, err);
	printf(",\"version\":%u,\"size\":%llu", li->version, (unsigned long long)li->file_size);
	if (li->nrec) {
		printf(",\"header\":{\"kind\":\"%s\",\"id\":\"%016llx\",\"parentId\":\"%016llx\",\"parent\":", kind_name(li->h.kind),
		       (unsigned long long)li->h.image_id, (unsigned long long)li->h.parent_id);
		json_str(stdout, li->parent ? li->parent : "");
		printf(",\"pid\":%d,\"ppid\":%d,\"uid\":%u,\"exe\":", li->h.pid, li->h.ppid, li->h.uid);
		json_str(stdout, li->exe ? li->exe : "");
		printf(",\"exeSize\":%llu,\"exeInode\":%llu,\"threads\":%u}", (unsigned long long)li->h.exe_size,
		       (unsigned long long)li->h.exe_ino, li->h.nthreads);
	}
	printf(",\"records\":[");
	for (size_t i = 0; i < li->nrec; i++)
		printf("%s{\"index\":%zu,\"offset\":%llu,\"type\":\"%s\",\"length\":%llu,\"crc\":\"%08x\"}", i ? "," : "", i,
		       (unsigned long long)li->recs[i].off, img_rec_name(li->recs[i].type),
		       (unsigned long long)li->recs[i].len, li->recs[i].data_crc);
	printf("],\"mappings\":[");
	for (size_t i = 0; i < li->nvma; i++) {
		const struct li_vma *v = &li->vmas[i];
		char fl[96];
		uint64_t d, p;
		count_pages(v, &d, &p);
		vma_flags(v->v.vflags, fl, sizeof(fl));
		printf("%s{\"start\":\"%#llx\",\"end\":\"%#llx\",\"prot\":%u,\"flags\":\"%s\",\"dataPages\":%llu,\"parentPages\":%llu,\"path\":",
		       i ? "," : "", (unsigned long long)v->v.start, (unsigned long long)v->v.end, v->v.prot, fl,
		       (unsigned long long)d, (unsigned long long)p);
		json_str(stdout, v->path);
		printf("}");
	}
	printf("],\"threads\":[");
	for (size_t i = 0; i < li->nthr; i++)
		printf("%s{\"tid\":%d,\"leader\":%s,\"rip\":\"%#llx\"}", i ? "," : "", li->thr[i].tid,
		       li->thr[i].tflags & 1 ? "true" : "false", (unsigned long long)li->thr[i].rip);
	printf("],\"fds\":[");
	for (size_t i = 0; i < li->nfd; i++) {
		printf("%s{\"fd\":%d,\"kind\":%u,\"offset\":%lld,\"path\":", i ? "," : "", li->fds[i].f.fd, li->fds[i].f.kind,
		       (long long)li->fds[i].f.offset);
		json_str(stdout, li->fds[i].path);
		printf("}");
	}
	printf("],\"pipes\":[");
	for (size_t i = 0; i < li->npipe; i++)
		printf("%s{\"ino\":%llu,\"size\":%u,\"inFlight\":%u}", i ? "," : "", (unsigned long long)li->pipes[i].p.ino,
		       li->pipes[i].p.pipe_size, li->pipes[i].p.len);
	printf("],\"unix\":[");
	for (size_t i = 0; i < li->nunix; i++)
		printf("%s{\"ino\":%llu,\"peer\":%llu,\"type\":%u,\"queued\":%u,\"messages\":%u,\"unsaved\":%s}", i ? "," : "",
		       (unsigned long long)li->unixes[i].u.ino, (unsigned long long)li->unixes[i].u.peer_ino, li->unixes[i].u.type,
		       li->unixes[i].u.len, li->unixes[i].u.nmsgs, li->unixes[i].u.flags & UNIX_UNSAVED ? "true" : "false");
	printf("],\"kobjs\":[");
	for (size_t i = 0; i < li->nkobj; i++)
		printf("%s{\"fd\":%d,\"kind\":\"%s\",\"bytes\":%u}", i ? "," : "", li->kobjs[i].k.fd, kobj_name(li->kobjs[i].k.kind),
		       li->kobjs[i].k.len);
	printf("]}\n");
}

static int inspect(const char *path, int json)
{
	struct loaded_image li;
	char err[1024] = "";
	int ok = li_load(path, &li, err, sizeof(err)) == 0;
	if (json)
		print_json(&li, ok, err);
	else
		print_text(&li, ok, err);
	li_free(&li);
	return ok ? 0 : 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: durun-ckpt inspect IMAGE [--structure] [--json]\n"
			"       durun-ckpt check [--json]\n"
			"       durun-ckpt merge IMAGE -o OUT   (incremental chain -> one full image)\n");
	return 2;
}

int main(int argc, char **argv)
{
	int json = argc > 1 && !strcmp(argv[argc - 1], "--json");
	int n = json ? argc - 1 : argc;
	if (n == 3 && !strcmp(argv[1], "inspect"))
		return inspect(argv[2], json);
	if (n == 4 && !strcmp(argv[1], "inspect") && !strcmp(argv[3], "--structure")) {
		/* every record and checksum but the page data's, which durun-restore checks as it reads it */
		li_defer_page_crc = 1;
		return inspect(argv[2], json);
	}
	if (n == 2 && !strcmp(argv[1], "check"))
		return ckpt_check(json);
	if (n == 5 && !strcmp(argv[1], "merge") && !strcmp(argv[3], "-o")) {
		char err[1024];
		if (merge_chain(argv[2], argv[4], err, sizeof(err))) {
			fprintf(stderr, "durun-ckpt: merge failed: %s\n", err);
			return 1;
		}
		printf("merged %s and its parents into %s\n", argv[2], argv[4]);
		return 0;
	}
	return usage();
}
