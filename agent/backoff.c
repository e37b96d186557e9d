/*
 * backoff.c: exponential backoff with full jitter (see backoff.h), and the
 * Retry-After parser. The growth is computed step by step and stops at the
 * cap, so large attempt numbers or multipliers cannot overflow. Not here: when
 * to retry (sync.c) or sleeping.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "agent/backoff.h"

long
backoff_ceiling_ms(const struct backoff *b, int attempt)
{
	long cap = b->max_ms > 0 ? b->max_ms : 0;
	long d = b->base_ms > 0 ? b->base_ms : 0;
	long mult = b->multiplier > 1 ? b->multiplier : 1;
	int i;

	if (d >= cap)
		return cap;
	for (i = 0; i < attempt && mult > 1; i++) {
		if (d > cap / mult)
			return cap;
		d *= mult;
	}
	return d < cap ? d : cap;
}

long
backoff_delay_ms(const struct backoff *b, int attempt)
{
	long ceil = backoff_ceiling_ms(b, attempt);

	if (ceil <= 0)
		return 0;
	if ((unsigned long)ceil >= UINT32_MAX)
		ceil = UINT32_MAX - 1;
	/* randombytes_uniform(n) is uniform in [0, n-1] without modulo bias. */
	return (long)randombytes_uniform((uint32_t)ceil + 1);
}

long
backoff_retry_after_ms(const char *value, time_t now)
{
	const char *p;
	char *end;
	long long secs;
	time_t when;

	if (value == NULL)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value == '\0' || strlen(value) > 64)
		return -1;
	if (isdigit((unsigned char)*value)) {
		for (p = value; isdigit((unsigned char)*p); p++)
			;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '\0')
			return -1;
		secs = strtoll(value, &end, 10);
		if (secs > BACKOFF_RETRY_AFTER_MAX_MS / 1000)
			return BACKOFF_RETRY_AFTER_MAX_MS;
		return (long)secs * 1000;
	}
	when = curl_getdate(value, NULL);
	if (when == (time_t)-1)
		return -1;
	if (when <= now)
		return 0;
	if (when - now > BACKOFF_RETRY_AFTER_MAX_MS / 1000)
		return BACKOFF_RETRY_AFTER_MAX_MS;
	return (long)(when - now) * 1000;
}
