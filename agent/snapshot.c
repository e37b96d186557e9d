/*
 * snapshot.c: the last scans' view and the diff that turns scans into
 * changes (see snapshot.h). A printer is "changed" when any field the agent
 * reports differs from what it last reported; the server decides what that
 * means for the row. Not here: discovery (discover.c) or sending (sync.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "agent/snapshot.h"

int
snapshot_init(struct snapshot *s)
{
	s->entries = json_object();
	return s->entries ? 0 : -1;
}

void
snapshot_free(struct snapshot *s)
{
	json_decref(s->entries);
	s->entries = NULL;
}

int
snapshot_load(struct snapshot *s, const char *dir)
{
	char path[4096];
	json_error_t jerr;
	json_t *doc, *entries;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_FILE) >= sizeof(path))
		return -1;
	if (access(path, F_OK) < 0)
		return 0;
	doc = json_load_file(path, 0, &jerr);
	entries = json_object_get(doc, "printers");
	if (!json_is_object(entries)) {
		/* A damaged view only costs a resend of what is found next. */
		log_warnx("[AUTO-SYNC] %s unreadable (%s); starting from an empty snapshot",
		    path, jerr.text);
		json_decref(doc);
		return 0;
	}
	json_object_update(s->entries, entries);
	json_decref(doc);
	return 0;
}

int
snapshot_save(const struct snapshot *s, const char *dir)
{
	char path[4096], tmp[4096];
	json_t *doc;
	int fd = -1, rc = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_FILE) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, SNAPSHOT_FILE) >= sizeof(tmp))
		return -1;
	if ((doc = json_pack("{s:O}", "printers", s->entries)) == NULL)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || json_dumpfd(doc, fd, JSON_COMPACT) < 0 || fsync(fd) < 0)
		goto err;
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0)
		goto err;
	rc = 0;
err:
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		log_warn("[AUTO-SYNC] cannot write %s", path);
		unlink(tmp);
	}
	json_decref(doc);
	return rc;
}

json_t *
snapshot_diff(struct snapshot *s, const json_t *found, long lost_after,
    struct snapshot_counts *c)
{
	json_t *changes = json_array(), *seen = json_object(), *p, *e, *prev, *off;
	const char *key;
	size_t i;
	void *tmp;

	memset(c, 0, sizeof(*c));
	if (changes == NULL || seen == NULL)
		goto err;
	json_array_foreach(found, i, p) {
		key = json_string_value(json_object_get(p, "deviceKey"));
		if (key == NULL || !json_is_object(p) || json_object_get(seen, key))
			continue;
		json_object_set_new(seen, key, json_true());
		c->found++;
		e = json_object_get(s->entries, key);
		prev = json_object_get(e, "printer");
		if (prev && json_equal(prev, p)) {
			c->unchanged++;
			json_object_set_new(e, "missed", json_integer(0));
			continue;
		}
		if (prev == NULL && json_object_size(s->entries) >= SNAPSHOT_MAX)
			continue;
		if (prev)
			c->changed++;
		else
			c->added++;
		json_object_set_new(s->entries, key, json_pack("{s:O, s:i}", "printer", p,
		    "missed", 0));
		json_array_append(changes, p);
	}
	json_object_foreach_safe(s->entries, tmp, key, e) {
		json_int_t missed;

		if (json_object_get(seen, key))
			continue;
		missed = json_integer_value(json_object_get(e, "missed")) + 1;
		if (missed < lost_after) {
			json_object_set_new(e, "missed", json_integer(missed));
			continue;
		}
		/* Lost: report the last state as offline once, then forget it. */
		off = json_deep_copy(json_object_get(e, "printer"));
		if (off == NULL)
			goto err;
		json_object_set_new(off, "status", json_string("offline"));
		json_object_set_new(off, "stateReasons", json_array());
		json_array_append_new(changes, off);
		json_object_del(s->entries, key);
		c->lost++;
	}
	json_decref(seen);
	return changes;
err:
	json_decref(seen);
	json_decref(changes);
	return NULL;
}

json_t *
snapshot_current(const struct snapshot *s)
{
	json_t *out = json_array(), *e;
	const char *key;

	if (out == NULL)
		return NULL;
	json_object_foreach(s->entries, key, e) {
		if (json_integer_value(json_object_get(e, "missed")) == 0)
			json_array_append(out, json_object_get(e, "printer"));
	}
	return out;
}

const json_t *
snapshot_find(const struct snapshot *s, const char *device_key, const char *address,
    long port)
{
	const json_t *e, *p;
	const char *key, *a;

	if (device_key && (e = json_object_get(s->entries, device_key)) != NULL)
		return json_object_get(e, "printer");
	if (address == NULL || port <= 0)
		return NULL;
	json_object_foreach(s->entries, key, e) {
		p = json_object_get(e, "printer");
		a = json_string_value(json_object_get(p, "address"));
		if (a && strcmp(a, address) == 0 &&
		    json_integer_value(json_object_get(p, "port")) == port)
			return p;
	}
	return NULL;
}
