/* What the program is launched with beyond its command line: --env,
 * --env-file, --cwd, --user and --limit (docs/operation.md, "Environment,
 * user and limits"). Environment and directory are set on the runner itself,
 * so every instance inherits them; rlimits and the cgroup are applied in the
 * forked child just before exec, so the runner keeps its own. Everything is
 * checked before the runner registers: a bad value is a usage error naming
 * the flag (or file:line), never a half-started program. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher.h"

static const struct {
	const char *name;
	int resource;
	int kind; /* 0 count, 1 bytes, 2 duration (seconds) */
} rlimits[] = {
	{ "nofile", RLIMIT_NOFILE, 0 }, { "nproc", RLIMIT_NPROC, 0 }, { "core", RLIMIT_CORE, 1 },
	{ "stack", RLIMIT_STACK, 1 }, { "fsize", RLIMIT_FSIZE, 1 }, { "as", RLIMIT_AS, 1 },
	{ "data", RLIMIT_DATA, 1 }, { "memlock", RLIMIT_MEMLOCK, 1 }, { "cputime", RLIMIT_CPU, 2 },
	{ "locks", RLIMIT_LOCKS, 0 }, { "sigpending", RLIMIT_SIGPENDING, 0 }, { "msgqueue", RLIMIT_MSGQUEUE, 1 },
	{ "nice", RLIMIT_NICE, 0 }, { "rtprio", RLIMIT_RTPRIO, 0 },
};
#define NRLIMITS (sizeof rlimits / sizeof rlimits[0])

static struct {
	int set;
	struct rlimit rl;
} wanted[NRLIMITS];

static long long cg_memory = -1;     /* bytes for memory.max */
static long long cg_cpu_percent = -1; /* 100 = one CPU */
static char cg_dir[PATH_MAX];        /* the program's cgroup, "" when none */
static pid_t cg_owner;               /* the process that removes it at exit */

static char *args_out[LAUNCH_MAX * 2 + 1];

static int valid_name(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

/* NAME=VALUE into our environment; where says where it came from, for the message. */
static int set_assignment(const char *text, const char *where)
{
	const char *eq = strchr(text, '=');
	if (!eq || !valid_name(text, (size_t)(eq - text))) {
		note("%s: \"%s\" is not NAME=VALUE (NAME: letters, digits, _; not starting with a digit)", where, text);
		return -1;
	}
	char name[256];
	if ((size_t)(eq - text) >= sizeof name) {
		note("%s: variable name too long", where);
		return -1;
	}
	memcpy(name, text, (size_t)(eq - text));
	name[eq - text] = '\0';
	if (setenv(name, eq + 1, 1) < 0) {
		note_err(errno, "%s: cannot set %s", where, name);
		return -1;
	}
	return 0;
}

/* KEY=VALUE lines; blank lines and # comments skipped; optional "export ";
 * a value in matching single or double quotes is taken literally without them. */
static int env_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		note_err(errno, "--env-file %s", path);
		return -1;
	}
	char line[8192], where[PATH_MAX + 32];
	int no = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof line, f)) {
		no++;
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0' || *s == '#')
			continue;
		if (strncmp(s, "export ", 7) == 0)
			s += 7;
		char *eq = strchr(s, '=');
		if (eq) {
			char *v = eq + 1;
			size_t vl = strlen(v);
			if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
				memmove(v, v + 1, vl - 2);
				v[vl - 2] = '\0';
			}
		}
		snprintf(where, sizeof where, "--env-file %s:%d", path, no);
		rc = set_assignment(s, where);
	}
	fclose(f);
	return rc;
}

/* "512M", "1G", "4096", "unlimited" (binary units). */
static int parse_size(const char *s, rlim_t *out)
{
	if (!strcmp(s, "unlimited") || !strcmp(s, "infinity")) {
		*out = RLIM_INFINITY;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	unsigned shift = 0;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	}
	if (shift && (*end == 'i' || *end == 'I') && (end[1] == 'B' || end[1] == 'b'))
		end += 2;
	if (*end || (shift && v > (~0ULL >> shift)))
		return -1;
	*out = (rlim_t)(v << shift);
	return 0;
}

static int parse_value(int kind, const char *s, rlim_t *out)
{
	if (kind == 1)
		return parse_size(s, out);
	if (!strcmp(s, "unlimited") || !strcmp(s, "infinity")) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (kind == 2) { /* a duration, rounded up to whole seconds */
		long long ms;
		if (parse_duration_ms(s, &ms) < 0)
			return -1;
		*out = (rlim_t)((ms + 999) / 1000);
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		return -1;
	*out = (rlim_t)v;
	return 0;
}

static int parse_limit(const char *spec)
{
	const char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : 0;
	const char *val = eq ? eq + 1 : "";
	if (eq && n == 6 && !strncmp(spec, "memory", 6)) {
		rlim_t v;
		if (parse_size(val, &v) < 0 || v == RLIM_INFINITY || v == 0) {
			note("--limit memory=%s: write a size such as 512M or 2G", val);
			return -1;
		}
		cg_memory = (long long)v;
		return 0;
	}
	if (eq && n == 3 && !strncmp(spec, "cpu", 3)) {
		char *end;
		double pct = strtod(val, &end);
		if (end == val || strcmp(end, "%") || !(pct > 0 && pct <= 100000)) {
			note("--limit cpu=%s: write a share of one CPU in percent, such as 50%% or 200%%", val);
			return -1;
		}
		cg_cpu_percent = (long long)(pct + 0.5);
		return 0;
	}
	for (size_t i = 0; eq && i < NRLIMITS; i++) {
		if (strlen(rlimits[i].name) != n || strncmp(spec, rlimits[i].name, n))
			continue;
		/* SOFT or SOFT:HARD; one value sets both */
		char soft[64], *colon;
		snprintf(soft, sizeof soft, "%s", val);
		colon = strchr(soft, ':');
		if (colon)
			*colon = '\0';
		struct rlimit rl;
		if (parse_value(rlimits[i].kind, soft, &rl.rlim_cur) < 0 ||
		    (colon ? parse_value(rlimits[i].kind, colon + 1, &rl.rlim_max) : (rl.rlim_max = rl.rlim_cur, 0)) < 0 ||
		    rl.rlim_cur > rl.rlim_max) {
			note("--limit %s: \"%s\" is not a %s (SOFT or SOFT:HARD, soft not above hard, or unlimited)", rlimits[i].name, val,
			     rlimits[i].kind == 1 ? "size (e.g. 64M)" : rlimits[i].kind == 2 ? "duration (e.g. 10m)" : "whole number");
			return -1;
		}
		struct rlimit now;
		if (getrlimit(rlimits[i].resource, &now) == 0 && geteuid() != 0 && rl.rlim_max > now.rlim_max) {
			note("--limit %s: the hard limit here is %llu; raising it needs root", rlimits[i].name, (unsigned long long)now.rlim_max);
			return -1;
		}
		wanted[i].set = 1;
		wanted[i].rl = rl;
		return 0;
	}
	note("--limit \"%s\": write NAME=VALUE; NAME one of memory, cpu (cgroup v2) or nofile, nproc, core, stack, fsize, as, data, memlock, cputime, locks, sigpending, msgqueue, nice, rtprio (rlimits)", spec);
	return -1;
}

/* The cgroup v2 directory this process is in, from mountinfo and /proc/self/cgroup. */
static int own_cgroup(char *out, size_t n)
{
	char mnt[PATH_MAX] = "", rel[PATH_MAX] = "", line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	while (f && fgets(line, sizeof line, f)) {
		char *dash = strstr(line, " - cgroup2 ");
		char point[PATH_MAX];
		if (dash && sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1) {
			snprintf(mnt, sizeof mnt, "%s", point);
			break;
		}
	}
	if (f)
		fclose(f);
	f = fopen("/proc/self/cgroup", "r");
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(rel, sizeof rel, "%s", line + 3);
		}
	}
	if (f)
		fclose(f);
	if (!mnt[0] || !rel[0])
		return -1;
	return (size_t)snprintf(out, n, "%s%s", mnt, strcmp(rel, "/") ? rel : "") < n ? 0 : -1;
}

static int write_file(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, text, strlen(text));
	int err = errno;
	close(fd);
	errno = err;
	return w == (ssize_t)strlen(text) ? 0 : -1;
}

static void cgroup_remove(void)
{
	if (cg_dir[0] && getpid() == cg_owner && rmdir(cg_dir) < 0 && errno != ENOENT && errno != EBUSY)
		note_err(errno, "cannot remove cgroup %s", cg_dir);
}

/* A cgroup for the program under our own, with memory.max / cpu.max. */
static int cgroup_create(const struct durun *d)
{
	const char *want = cg_memory >= 0 && cg_cpu_percent >= 0 ? "memory and cpu" : cg_memory >= 0 ? "memory" : "cpu";
	char base[PATH_MAX - 512], ctl[512] = ""; /* room for the names appended below */
	if (own_cgroup(base, sizeof base) < 0) {
		note("--limit %s needs cgroup v2, which is not mounted here; rlimits (--limit as=..., nofile=...) work without it", want);
		return -1;
	}
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/cgroup.controllers", base);
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(ctl, sizeof ctl, f))
			ctl[0] = '\0';
		fclose(f);
	}
	ctl[strcspn(ctl, "\n")] = '\0';
	char padded[520];
	snprintf(padded, sizeof padded, " %s ", ctl);
	if ((cg_memory >= 0 && !strstr(padded, " memory ")) || (cg_cpu_percent >= 0 && !strstr(padded, " cpu "))) {
		note("--limit %s needs the %s controller of cgroup v2 in %s, which offers %s (cgroup v1 holds them, or they are not delegated to this user); rlimits (--limit as=..., nofile=...) work without it",
		     want, want, base, ctl[0] ? ctl : "none");
		return -1;
	}
	char enable[32];
	snprintf(enable, sizeof enable, "%s%s", cg_memory >= 0 ? "+memory " : "", cg_cpu_percent >= 0 ? "+cpu" : "");
	if (write_file(base, "cgroup.subtree_control", enable) < 0) {
		note_err(errno, "--limit %s: cannot enable the controller below %s (a cgroup with processes of its own cannot pass controllers on; run durun from a delegated, empty cgroup)", want, base);
		return -1;
	}
	snprintf(cg_dir, sizeof cg_dir, "%s/durun-%s-%d", base, d->group, (int)getpid());
	if (mkdir(cg_dir, 0755) < 0) {
		note_err(errno, "--limit %s: cannot create %s", want, cg_dir);
		cg_dir[0] = '\0';
		return -1;
	}
	char v[64];
	if (cg_memory >= 0) {
		snprintf(v, sizeof v, "%lld", cg_memory);
		if (write_file(cg_dir, "memory.max", v) < 0 || write_file(cg_dir, "memory.swap.max", "0") < 0) {
			if (errno != ENOENT) { /* no swap accounting: memory.max alone */
				note_err(errno, "--limit memory: cannot write %s/memory.max", cg_dir);
				return -1;
			}
		}
	}
	if (cg_cpu_percent >= 0) {
		snprintf(v, sizeof v, "%lld 100000", cg_cpu_percent * 1000);
		if (write_file(cg_dir, "cpu.max", v) < 0) {
			note_err(errno, "--limit cpu: cannot write %s/cpu.max", cg_dir);
			return -1;
		}
	}
	return 0;
}

/* --user NAME|UID: run cmd through setpriv as that user (as policy groups do). */
static int as_user(struct durun *d, const char *spec)
{
	char *end;
	errno = 0;
	long uid = strtol(spec, &end, 10);
	struct passwd *pw = (*spec && !*end && !errno) ? getpwuid((uid_t)uid) : getpwnam(spec);
	if (!pw) {
		note("--user %s: no such user in the passwd database", spec);
		return -1;
	}
	if (setenv("HOME", pw->pw_dir, 1) < 0 || setenv("USER", pw->pw_name, 1) < 0 || setenv("LOGNAME", pw->pw_name, 1) < 0) {
		note_err(errno, "--user %s", spec);
		return -1;
	}
	if (pw->pw_uid == geteuid())
		return 0;
	if (geteuid() != 0) {
		note("--user %s: only root can run a program as another user (this is uid %d)", spec, (int)geteuid());
		return -1;
	}
	size_t n = 0;
	while (d->opt.cmd[n])
		n++;
	char **cmd = calloc(n + 6, sizeof *cmd);
	static char reuid[32], regid[32];
	if (!cmd)
		return -1;
	snprintf(reuid, sizeof reuid, "--reuid=%u", (unsigned)pw->pw_uid);
	snprintf(regid, sizeof regid, "--regid=%u", (unsigned)pw->pw_gid);
	cmd[0] = "setpriv";
	cmd[1] = reuid;
	cmd[2] = regid;
	cmd[3] = "--init-groups";
	cmd[4] = "--";
	memcpy(cmd + 5, d->opt.cmd, (n + 1) * sizeof *cmd);
	d->opt.cmd = cmd;
	return 0;
}

int launch_prepare(struct durun *d)
{
	int na = 0;
	const char *user = NULL;
	for (int i = 0; i < d->opt.nlaunch; i++) {
		const char *name = d->opt.launch[i].name, *val = d->opt.launch[i].value;
		char *keep = NULL;
		if (!strcmp(name, "--env")) {
			if (set_assignment(val, "--env") < 0)
				return -1;
			keep = strdup(val);
		} else if (!strcmp(name, "--env-file")) {
			char abs[PATH_MAX];
			if (!realpath(val, abs)) {
				note_err(errno, "--env-file %s", val);
				return -1;
			}
			if (env_file(abs) < 0)
				return -1;
			keep = strdup(abs);
		} else if (!strcmp(name, "--cwd")) {
			char abs[PATH_MAX];
			if (!realpath(val, abs) || chdir(abs) < 0) {
				note_err(errno, "--cwd %s", val);
				return -1;
			}
			keep = strdup(abs);
		} else if (!strcmp(name, "--user")) {
			user = val;
			keep = strdup(val);
		} else {
			if (parse_limit(val) < 0)
				return -1;
			keep = strdup(val);
		}
		if (!keep)
			return -1;
		args_out[na++] = (char *)name;
		args_out[na++] = keep;
	}
	args_out[na] = NULL;
	if (user && as_user(d, user) < 0)
		return -1;
	if ((cg_memory >= 0 || cg_cpu_percent >= 0) && cgroup_create(d) < 0) {
		if (cg_dir[0] && rmdir(cg_dir) < 0)
			note_err(errno, "cannot remove cgroup %s", cg_dir);
		return -1;
	}
	return 0;
}

char *const *launch_args(void)
{
	return args_out;
}

/* Called in the runner before each fork: the runner that forks removes the cgroup when it exits. */
void launch_own_cgroup(void)
{
	if (cg_dir[0] && cg_owner != getpid()) {
		cg_owner = getpid();
		atexit(cgroup_remove);
	}
}

int launch_child(void)
{
	for (size_t i = 0; i < NRLIMITS; i++)
		if (wanted[i].set && setrlimit(rlimits[i].resource, &wanted[i].rl) < 0)
			return -1;
	if (cg_dir[0] && write_file(cg_dir, "cgroup.procs", "0") < 0)
		return -1;
	return 0;
}
