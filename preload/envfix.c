/* Environment repair for exec and posix_spawn: the new image must load
 * libdurun.so again and know its identity, even when the program handed it a
 * scrubbed environment (`env -i CMD`, sudo-like tools, os.posix_spawn(env={})).
 * Everything is written into caller-provided stack memory: exec may run in a
 * vfork child or a signal handler, where malloc is off limits. */
#include "preload.h"

#include <string.h>

#define LD_PRELOAD_EQ "LD_PRELOAD="
#define LD_PRELOAD_LEN (sizeof LD_PRELOAD_EQ - 2) /* the name alone */
#define EXEC_COUNT_EQ DURUN_ENV_EXEC_COUNT "="

static int has_name(const char *entry, const char *name, size_t len)
{
	return starts_with(entry, name, len) && entry[len] == '=';
}

/* One of the variables we own (set from our saved copy, whatever envp says). */
static int is_ours(const char *e)
{
	if (!starts_with(e, "DURUN_", 6))
		return 0;
	for (int i = 0; i < SV_COUNT; i++)
		if (has_name(e, conf.var[i].name, conf.var[i].name_len))
			return 1;
	return has_name(e, DURUN_ENV_EXEC_COUNT, sizeof DURUN_ENV_EXEC_COUNT - 1) ||
	       has_name(e, DURUN_ENV_LAZY, sizeof DURUN_ENV_LAZY - 1);
}

/* envp names another supervisor, group, program or instance (a nested
 * `durun` runner starting its own program): that identity wins, and the
 * environment passes unchanged. */
static int is_foreign(char *const envp[])
{
	static const int ident[] = { SV_SOCK, SV_GROUP, SV_PROGRAM, SV_INSTANCE };
	for (size_t k = 0; envp && envp[k]; k++) {
		if (!starts_with(envp[k], "DURUN_", 6))
			continue;
		for (size_t i = 0; i < sizeof ident / sizeof ident[0]; i++) {
			const struct saved_var *v = &conf.var[ident[i]];
			if (v->entry && has_name(envp[k], v->name, v->name_len) && !str_eq(envp[k], v->entry))
				return 1;
		}
	}
	return 0;
}

/* Is lib one of the ':' or ' ' separated entries of list? */
static int list_has(const char *list, const char *lib)
{
	size_t ll = str_len(lib);
	for (const char *p = list; *p;) {
		size_t n = 0;
		while (p[n] && p[n] != ':' && p[n] != ' ')
			n++;
		if (n == ll && starts_with(p, lib, ll))
			return 1;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

static const char *find_preload(char *const envp[])
{
	for (size_t k = 0; envp && envp[k]; k++)
		if (has_name(envp[k], "LD_PRELOAD", LD_PRELOAD_LEN))
			return envp[k];
	return NULL;
}

size_t env_slots(char *const envp[])
{
	size_t n = 0;
	while (envp && envp[n])
		n++;
	return n + SV_COUNT + 4; /* ours, the count, LD_PRELOAD, the lazy mark, NULL */
}

size_t env_preload_len(char *const envp[])
{
	const char *lib = conf_value(SV_LIB);
	const char *pre = find_preload(envp);
	return (lib ? str_len(lib) : 0) + (pre ? str_len(pre) : sizeof LD_PRELOAD_EQ) + 2;
}

/* LD_PRELOAD=<lib>[:<user's list>] into buf. */
static char *build_preload(char *buf, const char *lib, const char *pre)
{
	const char *rest = pre ? pre + sizeof LD_PRELOAD_EQ - 1 : "";
	size_t ll = str_len(lib), rl = str_len(rest);
	char *p = buf;
	mem_copy(p, LD_PRELOAD_EQ, sizeof LD_PRELOAD_EQ - 1);
	p += sizeof LD_PRELOAD_EQ - 1;
	mem_copy(p, lib, ll);
	p += ll;
	if (rl)
		*p++ = ':';
	mem_copy(p, rest, rl + 1);
	return buf;
}

static char *build_count(char *buf, long long v)
{
	char digits[24];
	int i = sizeof digits;
	unsigned long long u = v < 0 ? 0 : (unsigned long long)v;
	do {
		digits[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	mem_copy(buf, EXEC_COUNT_EQ, sizeof EXEC_COUNT_EQ - 1);
	mem_copy(buf + sizeof EXEC_COUNT_EQ - 1, digits + i, sizeof digits - (size_t)i);
	buf[sizeof EXEC_COUNT_EQ - 1 + sizeof digits - (size_t)i] = '\0';
	return buf;
}

char **env_repair(char *const envp[], char **out, char *count_buf, char *preload_buf)
{
	size_t k = 0;
	if (is_foreign(envp)) {
		for (size_t i = 0; envp && envp[i]; i++)
			out[k++] = envp[i];
		out[k] = NULL;
		return out;
	}
	const char *lib = conf_value(SV_LIB);
	const char *pre = find_preload(envp);
	for (size_t i = 0; envp && envp[i]; i++) {
		const char *e = envp[i];
		if (is_ours(e))
			continue;
		if (has_name(e, "LD_PRELOAD", LD_PRELOAD_LEN)) {
			if (e != pre)
				continue; /* a duplicate; the loader reads the first */
			if (lib && !list_has(e + sizeof LD_PRELOAD_EQ - 1, lib))
				e = build_preload(preload_buf, lib, pre);
		}
		out[k++] = (char *)e;
	}
	for (int i = 0; i < SV_COUNT; i++)
		if (conf.var[i].entry)
			out[k++] = conf.var[i].entry;
	out[k++] = build_count(count_buf, conf.exec_count + 1);
	if (!pre && lib)
		out[k++] = build_preload(preload_buf, lib, NULL);
	out[k] = NULL;
	return out;
}

#define LAZY_ENTRY DURUN_ENV_LAZY "=1"

int env_is_ours(char **env)
{
	for (size_t k = 0; env[k]; k++)
		if (env[k] == conf.var[SV_SOCK].entry)
			return 1;
	return 0;
}

void env_mark_lazy(char **env)
{
	size_t k = 0;
	while (env[k])
		k++;
	env[k] = (char *)LAZY_ENTRY;
	env[k + 1] = NULL;
}

int env_take_lazy(char **envp)
{
	for (size_t i = 0; envp && envp[i]; i++) {
		if (!starts_with(envp[i], LAZY_ENTRY, sizeof LAZY_ENTRY))
			continue;
		/* Shift the rest down over it (the array is on our stack). */
		for (; envp[i]; i++)
			envp[i] = envp[i + 1];
		return 1;
	}
	return 0;
}
