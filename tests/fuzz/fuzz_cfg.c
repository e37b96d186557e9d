/*
 * fuzz_cfg.c: cfg_set with hostile values for every key of the server's real
 * table, then cfg_print (which masks URL passwords in place) and
 * cfg_split_list. The first byte picks the key; the rest, up to a NUL, is the
 * value. A value that is accepted must respect the row's range or choices.
 */
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "server/config.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server_config cfg;
	const struct cfg_opt *o;
	char value[8192], err[512], *buf, *items[16];
	size_t nrows = 0, n;
	FILE *f;
	int rc;

	if (size == 0)
		return 0;
	while (server_config_table[nrows].name)
		nrows++;
	o = &server_config_table[data[0] % nrows];
	n = strnlen((const char *)data + 1, size - 1);
	if (n >= sizeof(value))
		n = sizeof(value) - 1;
	memcpy(value, data + 1, n);
	value[n] = '\0';

	memset(&cfg, 0, sizeof(cfg));
	rc = cfg_set(server_config_table, &cfg, o->name, value, "fuzz", err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -1);
	FUZZ_ASSERT(strlen(err) < sizeof(err) || rc == 0);
	if (rc == 0 && o->type == CFG_INT) {
		long v = *(long *)((char *)&cfg + o->offset);

		FUZZ_ASSERT(v >= o->min && v <= o->max);
	}
	if (rc == 0 && o->type == CFG_BOOL) {
		int v = *(int *)((char *)&cfg + o->offset);

		FUZZ_ASSERT(v == 0 || v == 1);
	}
	if ((f = fopen("/dev/null", "w")) != NULL) {
		cfg_print(server_config_table, &cfg, f);
		fclose(f);
	}
	rc = cfg_split_list(value, &buf, items, 16);
	FUZZ_ASSERT(rc >= -1 && rc <= 16);
	for (int i = 0; i < rc; i++)
		FUZZ_ASSERT(items[i][0] != '\0' && strchr(items[i], ',') == NULL);
	free(buf);
	cfg_free(server_config_table, &cfg);
	return 0;
}
