/* The libc functions behind our interposed names, found once with
 * dlsym(RTLD_NEXT). Eagerly, from the constructor: dlsym is not
 * async-signal-safe, and close() or waitpid() are often first called from a
 * signal handler. */
#include "preload.h"

#include <dlfcn.h>
#include <stddef.h>

struct real_fns real;

#define SLOT(fn) { #fn, offsetof(struct real_fns, fn) }
static const struct { const char *name; size_t off; } slots[] = {
	SLOT(execve), SLOT(execvpe), SLOT(fexecve), SLOT(execveat),
	SLOT(posix_spawn), SLOT(posix_spawnp),
	SLOT(fork), SLOT(_Fork), SLOT(forkpty), SLOT(daemon), SLOT(_exit), SLOT(_Exit),
	SLOT(wait), SLOT(waitpid), SLOT(wait3), SLOT(wait4), SLOT(waitid),
	SLOT(close), SLOT(close_range), SLOT(closefrom), SLOT(dup2), SLOT(dup3),
	SLOT(sigaction), SLOT(signal), SLOT(sigprocmask), SLOT(pthread_sigmask),
};

void real_resolve(void)
{
	for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
		void **slot = (void **)((char *)&real + slots[i].off);
		if (!*slot)
			*slot = dlsym(RTLD_NEXT, slots[i].name);
	}
}
