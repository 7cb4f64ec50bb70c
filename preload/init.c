/* The constructor: resolve the real functions, read our identity, and when
 * DURUN_SOCK is set, register (hello reason "load") and arm the exit report
 * and the call-home signal; a lazy image (DURUN_LAZY, set by the exec that
 * announced it) registers later, when it must speak. Without DURUN_SOCK the library stays inert: every
 * interposed call passes straight through. Never waits for the supervisor:
 * registration costs one connect and one send. */
#include "preload.h"

#include <errno.h>

/* glibc passes argc, argv and envp to ELF constructors. */
__attribute__((constructor)) static void durun_init(int argc, char **argv, char **envp)
{
	int saved = errno;
	real_resolve();
	conf_load(argc, argv, envp);
	if (conf.active) {
		int lazy = env_take_lazy(envp);
		callhome_install();
		exit_install();
		/* Announced by the exec: registers when it must speak. */
		if (lazy)
			atomic_store(&conf.lazy_image, 1);
		else if (link_reopen() == 0)
			link_hello("load", 0);
	}
	errno = saved;
}
