/* Durations on the command line (`--backoff 2s`, `--restart-window 1.5m`):
 * the grammar of supervisor/src/protocol/duration.ts (that of the `ms`
 * package), with a bare number meaning milliseconds as the flags always
 * did. test/ops-duration runs one table of spellings through both. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "launcher.h"

static const struct {
	const char *name;
	double ms;
} units[] = {
	{ "years", 31557600000.0 }, { "year", 31557600000.0 }, { "yrs", 31557600000.0 }, { "yr", 31557600000.0 }, { "y", 31557600000.0 },
	{ "weeks", 604800000.0 }, { "week", 604800000.0 }, { "w", 604800000.0 },
	{ "days", 86400000.0 }, { "day", 86400000.0 }, { "d", 86400000.0 },
	{ "hours", 3600000.0 }, { "hour", 3600000.0 }, { "hrs", 3600000.0 }, { "hr", 3600000.0 }, { "h", 3600000.0 },
	{ "minutes", 60000.0 }, { "minute", 60000.0 }, { "mins", 60000.0 }, { "min", 60000.0 }, { "m", 60000.0 },
	{ "seconds", 1000.0 }, { "second", 1000.0 }, { "secs", 1000.0 }, { "sec", 1000.0 }, { "s", 1000.0 },
	{ "milliseconds", 1.0 }, { "millisecond", 1.0 }, { "msecs", 1.0 }, { "msec", 1.0 }, { "ms", 1.0 },
};

/* The largest whole number a JS number holds exactly (the supervisor's side). */
#define MAX_SAFE 9007199254740991.0

int parse_duration_ms(const char *text, long long *out)
{
	const char *p = text, *end = text + strlen(text);
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	/* number: digits, or digits '.' digits, or '.' digits; converted by strtod like JS parses it */
	const char *num = p;
	int whole = 0, frac = 0;
	for (; p < end && isdigit((unsigned char)*p); p++)
		whole++;
	if (p < end && *p == '.') {
		for (p++; p < end && isdigit((unsigned char)*p); p++)
			frac++;
		if (frac == 0)
			return -1;
	}
	char digits[64];
	if (whole + frac == 0 || (size_t)(p - num) >= sizeof digits)
		return -1;
	memcpy(digits, num, (size_t)(p - num));
	digits[p - num] = '\0';
	double v = strtod(digits, NULL);
	while (p < end && *p == ' ')
		p++;
	double factor = 1; /* bare number: milliseconds */
	if (p < end) {
		size_t n = (size_t)(end - p);
		factor = 0;
		for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
			if (strlen(units[i].name) == n && strncasecmp(p, units[i].name, n) == 0)
				factor = units[i].ms;
		if (factor == 0)
			return -1;
	}
	v *= factor;
	if (v > MAX_SAFE)
		return -1;
	*out = (long long)(v + 0.5);
	return 0;
}
