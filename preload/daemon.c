/* daemon(3). glibc's parent half ends with its internal _exit, past our
 * name, so a daemonizing program's root would vanish without `exit` and be
 * taken for a crash. This is the same function built from the interposed
 * calls: the parent's end is planned and reported, the child registers
 * through the fork handler. */
#include "preload.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

DURUN_EXPORT int daemon(int nochdir, int noclose)
{
	if (!conf.active)
		return REAL(daemon)(nochdir, noclose);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	if (!nochdir && chdir("/") < 0)
		return -1;
	if (!noclose) {
		/* As glibc: only a real /dev/null replaces stdio. */
		int fd = open("/dev/null", O_RDWR);
		struct stat st;
		if (fd < 0)
			return -1;
		if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
			close(fd);
			return -1;
		}
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}
