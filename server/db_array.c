/*
 * db_array.c: PostgreSQL array literals ("{\"a\",NULL}") built in C, for
 * text[], uuid[], int[] and jsonb[] parameters: a set of rows sent as one
 * array per column, or a list of keys to look up. Pure string building; it
 * owns no connection and knows no statement (db.c and store_*.c do).
 */
#include <stdlib.h>
#include <string.h>

#include "server/db.h"

/* Room for `more` bytes; 0, or -1 (and the array marked failed). */
static int
db_array_reserve(struct db_array *a, size_t more)
{
	char *nb;
	size_t cap;

	if (a->failed)
		return -1;
	if (a->len + more + 3 <= a->cap)
		return 0;
	cap = a->cap ? a->cap : 256;
	while (cap < a->len + more + 3)
		cap *= 2;
	if ((nb = realloc(a->buf, cap)) == NULL) {
		a->failed = 1;
		return -1;
	}
	a->buf = nb;
	a->cap = cap;
	return 0;
}

void
db_array_add(struct db_array *a, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (db_array_reserve(a, n * 2 + 8) < 0)
		return;
	a->buf[a->len++] = a->n++ ? ',' : '{';
	if (!s) {
		memcpy(a->buf + a->len, "NULL", 4);
		a->len += 4;
		return;
	}
	a->buf[a->len++] = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			a->buf[a->len++] = '\\';
		a->buf[a->len++] = *s;
	}
	a->buf[a->len++] = '"';
}

char *
db_array_finish(struct db_array *a)
{
	char *out;

	if (db_array_reserve(a, 2) < 0) {
		free(a->buf);
		*a = (struct db_array){ 0 };
		return NULL;
	}
	if (a->n == 0)
		a->buf[a->len++] = '{';
	a->buf[a->len++] = '}';
	a->buf[a->len] = '\0';
	out = a->buf;
	*a = (struct db_array){ 0 };
	return out;
}

char *
db_text_array_of(const char *const *v, size_t n)
{
	struct db_array a = { 0 };

	for (size_t i = 0; i < n; i++)
		db_array_add(&a, v[i]);
	return db_array_finish(&a);
}

char *
db_text_array(const json_t *strings)
{
	size_t n = 0, i;
	const json_t *v;
	const char **vec = malloc((json_array_size(strings) + 1) * sizeof(*vec));
	char *out;

	if (!vec)
		return NULL;
	json_array_foreach(strings, i, v)
		if (json_is_string(v))
			vec[n++] = json_string_value(v);
	out = db_text_array_of(vec, n);
	free(vec);
	return out;
}
