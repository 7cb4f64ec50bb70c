/* Planned ends: exit() and return from main run our on_exit handler;
 * _exit and _Exit are interposed. Each process reports once: the pid that
 * already sent `exit` is remembered (exit() reaches _exit inside glibc, past
 * our name, but a program's own atexit handler may call _exit). */
#include "preload.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static _Atomic pid_t reported;

static void report(int status)
{
	/* A lazy image that never spoke: its parent's `reaped` tells its end. */
	if (!conf.active || atomic_load(&conf.lazy_image))
		return;
	pid_t me = durun_getpid();
	if (atomic_exchange(&reported, me) == me)
		return;
	msg_exit(status);
}

int exit_reported(void)
{
	return atomic_load(&reported) == durun_getpid();
}

/* Registered first, so it runs after every handler the program registers. */
static void on_exit_handler(int status, void *arg)
{
	(void)arg;
	report(status);
}

void exit_install(void)
{
	on_exit(on_exit_handler, NULL);
}

DURUN_EXPORT void _exit(int status)
{
	report(status);
	REAL(_exit)(status);
}

DURUN_EXPORT void _Exit(int status)
{
	report(status);
	REAL(_Exit)(status);
}
