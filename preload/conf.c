/* The identity of this process (group, program, instance, exec count) read
 * once at load. Kept in our own static memory because the program may
 * clearenv() or setenv() later, and exec must still hand it on. */
#include "preload.h"

#include <dlfcn.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct conf conf = {
	.var = {
		[SV_SOCK] = { DURUN_ENV_SOCK, sizeof DURUN_ENV_SOCK - 1, NULL },
		[SV_HOME] = { DURUN_ENV_HOME, sizeof DURUN_ENV_HOME - 1, NULL },
		[SV_GROUP] = { DURUN_ENV_GROUP, sizeof DURUN_ENV_GROUP - 1, NULL },
		[SV_PROGRAM] = { DURUN_ENV_PROGRAM, sizeof DURUN_ENV_PROGRAM - 1, NULL },
		[SV_INSTANCE] = { DURUN_ENV_INSTANCE, sizeof DURUN_ENV_INSTANCE - 1, NULL },
		[SV_LIB] = { DURUN_ENV_LIB, sizeof DURUN_ENV_LIB - 1, NULL },
		[SV_SIGNAL] = { DURUN_ENV_SIGNAL, sizeof DURUN_ENV_SIGNAL - 1, NULL },
	},
	.signo = -1,
};

/* One static area for all saved entries and the exe path: no malloc at load.
 * Zero-filled (bss), so only the page or two really used costs a page fault
 * (expensive in VMs, and paid by every process). A variable that does not
 * fit is treated as unset. */
static char store[4 * 4096];
static size_t store_used;

static char *save_entry(const char *name, const char *value)
{
	size_t nl = str_len(name), vl = str_len(value);
	if (store_used + nl + vl + 2 > sizeof store)
		return NULL;
	char *e = store + store_used;
	mem_copy(e, name, nl);
	e[nl] = '=';
	mem_copy(e + nl + 1, value, vl + 1);
	store_used += nl + vl + 2;
	return e;
}

const char *conf_value(int which)
{
	const struct saved_var *v = &conf.var[which];
	return v->entry ? v->entry + v->name_len + 1 : NULL;
}

/* A decimal integer (optional '-'), else dflt. Our own: libc's strtoll
 * lives on a page of libc most programs never touch, and every page touched
 * at load is a fault paid by every process. */
static long long to_int(const char *s, long long dflt)
{
	if (!s || !*s)
		return dflt;
	int neg = *s == '-';
	s += neg;
	long long v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (1LL << 58))
			return dflt;
		v = v * 10 + (*s - '0');
	}
	return neg ? -v : v;
}

/* A real syscall, not the vDSO: the vDSO's first use in a process faults in
 * its code and data pages (three faults in a new image, one more in every
 * fork child), dearer than the syscall in this kind of VM. */
long long now_ms(void)
{
	struct timespec ts;
	if (sys4(SYS_clock_gettime, CLOCK_REALTIME, (long)&ts, 0, 0) != 0)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Value of NAME in envp ("NAME=value"), or NULL; getenv without libc. */
static const char *env_get(char **envp, const char *name, size_t len)
{
	for (size_t i = 0; envp && envp[i]; i++)
		if (starts_with(envp[i], name, len) && envp[i][len] == '=')
			return envp[i] + len + 1;
	return NULL;
}

void conf_load(int argc, char **argv, char **envp)
{
	conf.argc = argc;
	conf.argv = argv;
	conf.started_ms = now_ms();
	conf.pid = durun_getpid();
	/* Most programs have no DURUN_* at all: one pass finds whether any is there. */
	int any = 0;
	for (size_t i = 0; envp && envp[i] && !any; i++)
		any = starts_with(envp[i], "DURUN_", 6);
	for (int i = 0; any && i < SV_COUNT; i++) {
		const char *val = env_get(envp, conf.var[i].name, conf.var[i].name_len);
		if (val)
			conf.var[i].entry = save_entry(conf.var[i].name, val);
	}
	conf.active = conf.var[SV_SOCK].entry != NULL;
	if (!conf.active)
		return;
	/* The image never changes until the next exec: every hello reuses it. */
	size_t room = sizeof store - store_used;
	long n = room > 1 ? sys4(SYS_readlink, (long)"/proc/self/exe", (long)(store + store_used), (long)(room - 1), 0) : -1;
	conf.exe = store + store_used;
	store_used += n > 0 ? (size_t)n + 1 : 1;
	store[store_used - 1] = '\0';
	if (n <= 0)
		conf.exe = "";
	if (!conf.var[SV_LIB].entry) {
		/* Launched without DURUN_LIB: our own path still lets exec keep
		 * the library in LD_PRELOAD. */
		Dl_info info;
		if (dladdr((void *)conf_load, &info) && info.dli_fname && info.dli_fname[0] == '/')
			conf.var[SV_LIB].entry = save_entry(DURUN_ENV_LIB, info.dli_fname);
	}
	conf.program = to_int(conf_value(SV_PROGRAM), 0);
	conf.instance = to_int(conf_value(SV_INSTANCE), 0);
	conf.exec_count = to_int(env_get(envp, DURUN_ENV_EXEC_COUNT, sizeof DURUN_ENV_EXEC_COUNT - 1), 0);
	long long sig = to_int(conf_value(SV_SIGNAL), -1);
	conf.signo = (sig > 0 && sig < NSIG) ? (int)sig : SIGRTMAX - DURUN_DEFAULT_SIGNAL_FROM_RTMAX;
}
