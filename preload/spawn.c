/* posix_spawn and posix_spawnp: glibc spawns through its internal clone and
 * execve, past our interposed names, so no fork hello and no exec message is
 * possible here. What we can do is repair the environment so the new image
 * loads libdurun.so and registers itself (python's os.posix_spawn(env={})). */
#include "preload.h"

typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[], char *const[]);

static int spawn_repaired(spawn_fn fn, pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if (!conf.active)
		return fn(pid, path, fa, attr, argv, envp);
	ENV_REPAIRED(env, envp);
	return fn(pid, path, fa, attr, argv, env);
}

DURUN_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_repaired(REAL(posix_spawn), pid, path, fa, attr, argv, envp);
}

DURUN_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			      const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_repaired(REAL(posix_spawnp), pid, file, fa, attr, argv, envp);
}
