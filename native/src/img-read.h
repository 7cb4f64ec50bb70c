/* Image reader and loader for durun-restore and durun-ckpt (not used in the
 * signal-handler path, so it may allocate). Every failure names the image,
 * the record number and type, and the file offset. */
#ifndef DURUN_IMG_READ_H
#define DURUN_IMG_READ_H

#include <stddef.h>
#include <stdint.h>
#include "image.h"

struct li_vma {
	struct img_vma v;
	struct img_run *runs;
	char *path;
	uint64_t pages_off;   /* file offset of the PAGES payload, 0 if none */
};

struct li_fd {
	struct img_fd f;
	char *path;
};

struct li_pipe {
	struct img_pipe p;
	char *data;
};

struct li_unix {
	struct img_unix u;
	char *data;
};

struct li_kobj {
	struct img_kobj k;
	unsigned char *data;  /* k.len bytes */
};

struct li_rec {         /* one entry per record, for `inspect` */
	uint16_t type;
	uint64_t off, len;
	uint32_t data_crc;
};

struct loaded_image {
	const char *path;
	struct img_header h;
	char *exe, *parent;
	struct img_mm mm;
	int have_mm;
	unsigned char *auxv;
	uint32_t version;     /* of the file head */
	size_t nvma, nthr, nfd, nrec, npipe;
	struct li_pipe *pipes;
	size_t nunix;
	struct li_unix *unixes;
	size_t nkobj;
	struct li_kobj *kobjs;
	struct li_vma *vmas;
	struct img_thread *thr;
	struct li_fd *fds;
	struct li_rec *recs;
	struct img_sigact sig[64];
	int have_sig;
	struct img_proc proc;
	int have_proc;
	char *cwd;
	struct img_end end;
	uint64_t file_size;
	int fd;               /* kept open (O_CLOEXEC) for page reads */
};

/* Loads and verifies every checksum. 0 ok; -1 with err filled
 * ("IMAGE: record #N (TYPE) at offset X: ..."). On error li may be partly
 * filled (the records read so far), which `inspect` prints. */
int li_load(const char *path, struct loaded_image *li, char *err, size_t errsz);
void li_free(struct loaded_image *li);
/* Set: li_load checks every header and small payload but not the PAGES data
 * (lazy restore verifies it while streaming it in; li_verify_pages later). */
extern int li_defer_page_crc;
/* Every PAGES record's data CRC; 0 or -1 with err in li_load's style. */
int li_verify_pages(const struct loaded_image *li, char *err, size_t errsz);
/* err = "IMAGE: record #idx (PAGES) at offset off: page data checksum mismatch ..."; returns -1 */
int li_pages_crc_error(const struct loaded_image *li, size_t idx, uint64_t off, uint32_t stored, uint32_t computed,
		       char *err, size_t errsz);
/* Finds the vma/run holding page address addr: returns file offset of its
 * data in li (0 = not carried as data). */
uint64_t li_page_off(const struct loaded_image *li, uint64_t addr, int *resident);
/* Same, and *avail = how many pages from addr on share that answer. */
uint64_t li_page_span(const struct loaded_image *li, uint64_t addr, int *resident, uint64_t *avail);

#endif
