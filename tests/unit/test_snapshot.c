/*
 * test_snapshot.c: the scan diff: new, changed, unchanged, lost after N missed
 * scans (reported offline once, then forgotten), a printer that comes back,
 * and the heartbeat's view.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "agent/snapshot.h"

static json_t *
scan(const char *a_model, int with_b)
{
	json_t *arr = json_array();

	json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "name", "A", "deviceKey",
	    "net:127.0.0.1:9100", "model", a_model, "status", "online"));
	if (with_b)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i}", "name", "B",
		    "deviceKey", "net:127.0.0.2:9100", "address", "127.0.0.2", "port", 9100));
	return arr;
}

static json_t *
diff(struct snapshot *s, json_t *found, long lost_after, struct snapshot_counts *c)
{
	json_t *ch = snapshot_diff(s, found, lost_after, c);

	json_decref(found);
	assert_non_null(ch);
	return ch;
}

static void
test_diff(void **state)
{
	struct snapshot s;
	struct snapshot_counts c;
	json_t *ch, *cur;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	ch = diff(&s, scan("M1", 1), 2, &c);
	assert_int_equal(c.added, 2);
	assert_int_equal(json_array_size(ch), 2);
	json_decref(ch);

	ch = diff(&s, scan("M1", 1), 2, &c);
	assert_int_equal(c.unchanged, 2);
	assert_int_equal(json_array_size(ch), 0);
	json_decref(ch);

	ch = diff(&s, scan("M2", 1), 2, &c);
	assert_int_equal(c.changed, 1);
	assert_int_equal(json_array_size(ch), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ch, 0), "model")),
	    "M2");
	json_decref(ch);

	/* B missing once: not yet lost, and not in the heartbeat. */
	ch = diff(&s, scan("M2", 0), 2, &c);
	assert_int_equal(c.lost, 0);
	assert_int_equal(json_array_size(ch), 0);
	json_decref(ch);
	cur = snapshot_current(&s);
	assert_int_equal(json_array_size(cur), 1);
	json_decref(cur);
	assert_non_null(snapshot_find(&s, NULL, "127.0.0.2", 9100));

	/* Missing twice: reported offline once, then forgotten. */
	ch = diff(&s, scan("M2", 0), 2, &c);
	assert_int_equal(c.lost, 1);
	assert_int_equal(json_array_size(ch), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ch, 0), "status")),
	    "offline");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ch, 0), "deviceKey")),
	    "net:127.0.0.2:9100");
	json_decref(ch);
	ch = diff(&s, scan("M2", 0), 2, &c);
	assert_int_equal(json_array_size(ch), 0);
	json_decref(ch);
	assert_null(snapshot_find(&s, "net:127.0.0.2:9100", NULL, 0));

	/* Back again: new. */
	ch = diff(&s, scan("M2", 1), 2, &c);
	assert_int_equal(c.added, 1);
	assert_int_equal(c.unchanged, 1);
	json_decref(ch);
	snapshot_free(&s);
}

static void
test_save_load(void **state)
{
	char dir[] = "/tmp/pmtest-snap.XXXXXX", cmd[64];
	struct snapshot s, t;
	struct snapshot_counts c;
	json_t *ch;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(snapshot_init(&s), 0);
	ch = diff(&s, scan("M1", 1), 3, &c);
	json_decref(ch);
	assert_int_equal(snapshot_save(&s, dir), 0);
	assert_int_equal(snapshot_init(&t), 0);
	assert_int_equal(snapshot_load(&t, dir), 0);
	assert_true(json_equal(s.entries, t.entries));
	/* After a restart the same scan is no change at all. */
	ch = diff(&t, scan("M1", 1), 3, &c);
	assert_int_equal(json_array_size(ch), 0);
	json_decref(ch);
	snapshot_free(&s);
	snapshot_free(&t);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_save_load),
	};

	log_init("test_snapshot", "error", "text");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
