/*
 * clock.c: CLOCK_MONOTONIC in milliseconds, and UTC ISO 8601 text: the only
 * place that formats a wall-clock time (log lines, JSON, event envelopes).
 * It does not own time zones or parsing: everything written is UTC.
 */
#include <stdio.h>

#include "clock.h"

long long
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
clock_ms_precise(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The one formatter: whole seconds, then ms when ms >= 0. */
static void
clock_format(time_t t, int ms, char *out, size_t outlen)
{
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
	if (ms >= 0)
		snprintf(out + n, outlen - n, ".%03dZ", ms % 1000);
	else
		snprintf(out + n, outlen - n, "Z");
}

void
clock_iso8601(time_t t, char out[CLOCK_ISO_LEN])
{
	clock_format(t, -1, out, CLOCK_ISO_LEN);
}

void
clock_iso8601_ms(time_t t, int ms, char out[CLOCK_ISO_MS_LEN])
{
	clock_format(t, ms < 0 ? 0 : ms, out, CLOCK_ISO_MS_LEN);
}
