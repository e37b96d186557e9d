/*
 * jsonlimit.c: a one-pass scan for nesting depth. jansson's own limit is 2048
 * levels; ours is much lower and checked before any allocation happens. Not
 * here: parsing (jansson).
 */
#include "jsonlimit.h"

int
jsonlimit_depth(const char *buf, size_t len, int max)
{
	int depth = 0, deepest = 0, in_str = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '[' || c == '{') {
			if (++depth > max)
				return -1;
			if (depth > deepest)
				deepest = depth;
		} else if (c == ']' || c == '}')
			depth--;
	}
	return deepest;
}
