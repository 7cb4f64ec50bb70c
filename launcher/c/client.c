/* Client requests the C executable answers itself, with the Node CLI's
 * output, so they do not first wait for Node to start (about 0.15-0.2 s
 * here): `durun restore GROUP [--from ID] [--json]` (restore{group,from?};
 * launcher/src/checkpoint-cli.ts) and `durun ps [GROUP] [--history] --json`
 * (ps{group?,history}; launcher/src/cli.ts). Anything else about the command
 * line (help, unknown options, a missing group) is left to the Node CLI. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"

#define ANSWER_MAX (1 << 26) /* a ps view of thousands of programs with their history; untouched pages cost nothing */

/* One answer line (without the '\n') into buf; 0, or -1 at EOF/error. */
static int read_line(int fd, char *buf, size_t cap, size_t *have, char **line)
{
	for (;;) {
		char *nl = memchr(buf, '\n', *have);
		if (nl) {
			*nl = '\0';
			*line = buf;
			return 0;
		}
		if (*have + 1 >= cap)
			return -1;
		ssize_t n = read(fd, buf + *have, cap - 1 - *have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
}

/* "durun: restored G from checkpoint ID: pid I (outside O), ..." from the data object */
static int print_restored(const char *group, const char *data)
{
	char id[256];
	const char *p = strstr(data, "\"processes\":[");
	if (json_get_str(data, "id", id, sizeof id) < 0 || !p)
		return -1;
	printf("durun: restored %s from checkpoint %s: ", group, id);
	p += strlen("\"processes\":[");
	for (int first = 1; *p == '{'; first = 0) {
		const char *end = strchr(p, '}');
		char obj[256];
		long long pid, inner;
		if (!end || (size_t)(end - p) >= sizeof obj)
			return -1;
		memcpy(obj, p, (size_t)(end - p + 1));
		obj[end - p + 1] = '\0';
		if (json_get_int(obj, "pid", &pid) < 0 || json_get_int(obj, "innerPid", &inner) < 0)
			return -1;
		printf("%spid %lld (outside %lld)", first ? "" : ", ", inner, pid);
		p = end + 1;
		if (*p == ',')
			p++;
	}
	printf("\n");
	return 0;
}

/* request(): the connection ended before any answer (refusal says why, if the supervisor did) */
#define LOST 2

/*
 * Sends one client request (req: its op and fields, id 1) on a new
 * connection and waits for its result: 0 with *data the answer's `data`
 * object (NUL-terminated, in a static buffer); 1 after printing why not;
 * LOST when the connection ended first (a supervisor dying as we connected
 * closes what its kernel queue had accepted), with nothing printed.
 */
static int request(struct durun *d, struct wbuf *req, char **data, char *refusal, size_t refusal_size)
{
	static char answer[ANSWER_MAX];
	char mem[256];
	struct wbuf b;
	size_t have = 0;
	int fd = supervisor_connect(d);
	if (fd < 0)
		return 1;
	wb_init(&b, mem, sizeof mem);
	wb_begin(&b, "hello");
	wb_str(&b, "role", "client");
	wb_int(&b, "pid", getpid());
	refusal[0] = '\0';
	if (wb_end(&b) < 0 || wire_send(fd, &b) < 0 || wire_send(fd, req) < 0)
		goto lost;
	for (;;) {
		char *line, op[32];
		long long id;
		int ok;
		if (read_line(fd, answer, sizeof answer, &have, &line) < 0)
			break;
		size_t used = strlen(line) + 1;
		if (json_get_str(line, "op", op, sizeof op) == 0 && strcmp(op, "error") == 0)
			json_get_str(line, "message", refusal, refusal_size);
		if (json_get_str(line, "op", op, sizeof op) == 0 && strcmp(op, "result") == 0 &&
		    json_get_int(line, "id", &id) == 0 && id == 1 && json_get_bool(line, "ok", &ok) == 0) {
			if (!ok) {
				char err[4096];
				if (json_get_str(line, "error", err, sizeof err) < 0)
					snprintf(err, sizeof err, "request failed");
				fprintf(stderr, "durun: %s\n", err);
				return 1;
			}
			/* {"v":1,"op":"result","id":1,"ok":true,"data":{...}}: data is the last key */
			const char *key = "\"ok\":true,\"data\":";
			char *at = strstr(line, key);
			size_t len = at ? strlen(at + strlen(key)) : 0;
			if (!at || len < 2 || at[strlen(key) + len - 1] != '}') {
				note("unexpected answer from the supervisor: %.200s", line);
				return 1;
			}
			*data = at + strlen(key);
			(*data)[len - 1] = '\0';
			return 0;
		}
		memmove(answer, answer + used, have - used);
		have -= used;
	}
lost:
	close(fd);
	return LOST;
}

static int lost_says(const char *refusal)
{
	fprintf(stderr, "durun: %s\n", refusal[0] ? refusal : "the supervisor closed the connection (see supervisor.log in DURUN_HOME)");
	return 1;
}

int restore_fast(int argc, char **argv)
{
	static struct durun d;
	char mem[4096];
	struct wbuf b;
	const char *group = NULL, *from = NULL;
	char *data;
	int json = 0;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc && argv[i + 1][0] != '-')
			from = argv[++i];
		else if (strncmp(argv[i], "--from=", 7) == 0)
			from = argv[i] + 7;
		else if (argv[i][0] != '-' && !group)
			group = argv[i];
		else
			return -1;
	}
	if (!group || !*group)
		return -1;
	if (find_root(d.root, sizeof d.root) < 0 || home_prepare(&d) < 0)
		return 1;
	wb_init(&b, mem, sizeof mem);
	wb_begin(&b, "restore");
	wb_int(&b, "id", 1);
	wb_str(&b, "group", group);
	if (from)
		wb_str(&b, "from", from);
	if (wb_end(&b) < 0) {
		note("group name or checkpoint id too long");
		return 1;
	}
	char refusal[1024];
	int rc = request(&d, &b, &data, refusal, sizeof refusal);
	if (rc)
		return rc == LOST ? lost_says(refusal) : 1; /* a restore is not asked twice */
	/* --json: the answer as is (as the Node CLI prints it); the text names each process */
	if (json ? printf("%s\n", data) < 0 : print_restored(group, data) < 0) {
		note("unexpected answer from the supervisor: %.200s", data);
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int ps_json_fast(int argc, char **argv)
{
	static struct durun d;
	char mem[1024];
	struct wbuf b;
	const char *group = NULL;
	char *data;
	int json = 0, history = 0;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--history") == 0)
			history = 1;
		else if (argv[i][0] != '-' && !group)
			group = argv[i];
		else
			return -1;
	}
	if (!json)
		return -1;
	if (find_root(d.root, sizeof d.root) < 0 || home_prepare(&d) < 0)
		return 1;
	wb_init(&b, mem, sizeof mem);
	wb_begin(&b, "ps");
	wb_int(&b, "id", 1);
	if (group)
		wb_str(&b, "group", group);
	wb_bool(&b, "history", history);
	if (wb_end(&b) < 0) {
		note("group name too long");
		return 1;
	}
	/* A read: asked again while the connection ends unanswered (a supervisor dying as we came, its successor starting) */
	char refusal[1024];
	int rc = LOST;
	for (long long until = now_ms() + 5000; rc == LOST && now_ms() < until;) {
		rc = request(&d, &b, &data, refusal, sizeof refusal);
		if (rc == LOST) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	if (rc)
		return rc == LOST ? lost_says(refusal) : 1;
	/* jsonDoc(view): the schema's version first, then the view's own fields */
	if (printf("{\"version\":%d%s%s\n", DURUN_JSON_VERSION, data[1] == '}' ? "" : ",", data + 1) < 0)
		return 1;
	return fflush(stdout) == 0 ? 0 : 1;
}
