/*
 * fuzz.h: what every fuzz target shares. A target defines LLVMFuzzerTestOneInput
 * and checks its invariants with FUZZ_ASSERT, which aborts so that libFuzzer and
 * the plain replay driver (replay.c) both report the input.
 */
#ifndef PM_FUZZ_H
#define PM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

#endif
