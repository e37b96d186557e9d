/*
 * replay.c: runs a fuzz target once over every file named on the command line
 * (or found in a named directory), without libFuzzer, so the committed corpus is
 * a deterministic regression test under any compiler and sanitizer. Prints
 * "ok FILE" per input; a failed invariant or sanitizer report ends the process.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (1024 * 1024)

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n;
	int rc = -1;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(REPLAY_MAX_INPUT)) == NULL)
		goto err;
	n = fread(buf, 1, REPLAY_MAX_INPUT, f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, "%s: unreadable or larger than %d bytes\n", path,
		    REPLAY_MAX_INPUT);
		goto err;
	}
	/* Exactly n bytes, as libFuzzer would pass them: a shrunk copy lets
	 * AddressSanitizer see a read past the end. */
	{
		uint8_t *exact = malloc(n ? n : 1);

		if (!exact)
			goto err;
		memcpy(exact, buf, n);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	printf("ok %s\n", path);
	rc = 0;
err:
	free(buf);
	fclose(f);
	return rc;
}

static int
replay_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of a directory, in name order so runs repeat exactly. */
static int
replay_dir(const char *dir)
{
	char *names[4096], path[4096];
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0, rc = 0;

	if (!d) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL && n < (int)(sizeof(names) / sizeof(names[0])))
		if (de->d_name[0] != '.' && (names[n] = strdup(de->d_name)) != NULL)
			n++;
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), replay_cmp);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (replay_file(path) < 0)
			rc = -1;
		free(names[i]);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat st;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode) ? replay_dir(argv[i]) < 0 :
		    replay_file(argv[i]) < 0)
			rc = 1;
	}
	return rc;
}
