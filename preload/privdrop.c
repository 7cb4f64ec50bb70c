/* Programs that drop privileges after they start (nginx's workers become
 * `nobody`, postgres-style daemons setuid to their user). Once a process
 * runs as another user it can no longer connect to the supervisor's socket,
 * which is private to the supervisor's user. So a process that has not
 * registered yet (a silent fork child, a lazy image) registers just before
 * the real call, while it still may connect: the link it opens then stays
 * open and usable after the drop (the kernel checks permissions at connect
 * time; the peer credentials stay those of the connect).
 *
 * The real functions are found at first use, not in the constructor (real.c):
 * few programs call them, and every dlsym at load is paid by every process. */
#include "preload.h"

#include <dlfcn.h>
#include <grp.h>

static void register_before_drop(void)
{
	if (conf.active)
		link_register_now(durun_getpid());
}

/* Each wrapper: the real fn, found once (dlsym: never from a signal
 * handler here), after registering. */
#define PRIVDROP(fn, params, args)                                          \
	DURUN_EXPORT int fn params                                          \
	{                                                                   \
		static __typeof__(fn) *real_fn;                             \
		if (!real_fn)                                               \
			real_fn = (__typeof__(fn) *)dlsym(RTLD_NEXT, #fn); \
		register_before_drop();                                     \
		return real_fn args;                                        \
	}

PRIVDROP(setuid, (uid_t u), (u))
PRIVDROP(setgid, (gid_t g), (g))
PRIVDROP(seteuid, (uid_t u), (u))
PRIVDROP(setegid, (gid_t g), (g))
PRIVDROP(setreuid, (uid_t r, uid_t e), (r, e))
PRIVDROP(setregid, (gid_t r, gid_t e), (r, e))
PRIVDROP(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))
PRIVDROP(setresgid, (gid_t r, gid_t e, gid_t s), (r, e, s))
PRIVDROP(setgroups, (size_t n, const gid_t *list), (n, list))
PRIVDROP(initgroups, (const char *user, gid_t g), (user, g))
