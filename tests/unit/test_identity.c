/*
 * test_identity.c: the one identity rule (common/identity.c), driven by one
 * table. Each row is two sightings as an agent's sources report them and the
 * identity that proves them one printer (or PIDENT_NONE). Every row is run
 * through the rule itself (both ways round), through the agent's merge
 * (discover_merge: one printer or two), and, for rows without agent-only
 * places (_aliases, which never leave the agent), through what the server's
 * bulk decision compares (identity_from_json of the normalised item, and
 * identity_from_fields of a stored row's columns). So the
 * agent and the server cannot disagree on a row without this test failing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "agent/discover.h"
#include "common/identity.h"

#define U1 "396e5045-4262-34f4-6b20-e44441759748"
#define U2 "11111111-2222-3333-4444-555555555555"

static const struct {
	const char *why, *a, *b;
	enum printer_ident want;
} rows[] = {
	{ "one uuid, two names",
	  "{\"name\":\"A\",\"uuid\":\"" U1 "\",\"sources\":[\"ipp\"]}",
	  "{\"name\":\"B\",\"uuid\":\"" U1 "\",\"sources\":[\"dnssd\"]}", PIDENT_UUID },
	{ "two uuids outrank one address and one name",
	  "{\"name\":\"A\",\"uuid\":\"" U1 "\",\"address\":\"h\",\"port\":9100,\"sources\":[\"ipp\"]}",
	  "{\"name\":\"A\",\"uuid\":\"" U2 "\",\"address\":\"h\",\"port\":9100,\"sources\":[\"dnssd\"]}",
	  PIDENT_NONE },
	{ "a uuid on one side only: the address decides, case-blind",
	  "{\"name\":\"A\",\"uuid\":\"" U1 "\",\"address\":\"H\",\"port\":9100,\"sources\":[\"ipp\"]}",
	  "{\"name\":\"B\",\"address\":\"h\",\"port\":9100,\"sources\":[\"netscan\"]}",
	  PIDENT_ADDRESS },
	{ "one host, two raw ports: two printers",
	  "{\"name\":\"A\",\"address\":\"h\",\"port\":9100,\"sources\":[\"netscan\"]}",
	  "{\"name\":\"A\",\"address\":\"h\",\"port\":9101,\"sources\":[\"netscan\"]}",
	  PIDENT_NONE },
	{ "manufacturer (case-blind) and serial",
	  "{\"name\":\"A\",\"manufacturer\":\"EPSON\",\"serialNumber\":\"1\",\"sources\":[\"usb\"]}",
	  "{\"name\":\"B\",\"manufacturer\":\"epson\",\"serialNumber\":\"1\",\"sources\":[\"ipp\"]}",
	  PIDENT_SERIAL },
	{ "two serials outrank one name",
	  "{\"name\":\"A\",\"manufacturer\":\"EPSON\",\"serialNumber\":\"1\",\"sources\":[\"usb\"]}",
	  "{\"name\":\"A\",\"manufacturer\":\"EPSON\",\"serialNumber\":\"2\",\"sources\":[\"ipp\"]}",
	  PIDENT_NONE },
	{ "one serial outranks two MACs",
	  "{\"name\":\"C\",\"manufacturer\":\"EPSON\",\"serialNumber\":\"X1\","
	  "\"macAddress\":\"00:11:22:33:44:55\",\"sources\":[\"usb\"]}",
	  "{\"name\":\"D\",\"manufacturer\":\"Epson\",\"serialNumber\":\"X1\","
	  "\"macAddress\":\"00:11:22:33:44:66\",\"sources\":[\"netscan\"]}", PIDENT_SERIAL },
	{ "one MAC, two names",
	  "{\"name\":\"A\",\"macAddress\":\"00:11:22:33:44:55\",\"sources\":[\"netscan\"]}",
	  "{\"name\":\"Z\",\"macAddress\":\"00-11-22-33-44-55\",\"sources\":[\"ipp\"]}",
	  PIDENT_MAC },
	{ "one CUPS queue under two names",
	  "{\"name\":\"Q\",\"deviceKey\":\"cups:host:q1\",\"sources\":[\"cups\"]}",
	  "{\"name\":\"Other\",\"deviceKey\":\"cups:host:q1\",\"sources\":[\"cups\"]}",
	  PIDENT_DEVICE_KEY },
	{ "two CUPS queues outrank one name",
	  "{\"name\":\"Q\",\"deviceKey\":\"cups:host:q1\",\"sources\":[\"cups\"]}",
	  "{\"name\":\"Q\",\"deviceKey\":\"cups:host:q2\",\"sources\":[\"cups\"]}", PIDENT_NONE },
	{ "keys of two kinds say nothing: the name decides",
	  "{\"name\":\"Q\",\"deviceKey\":\"cups:host:q1\",\"sources\":[\"cups\"]}",
	  "{\"name\":\" q \",\"deviceKey\":\"usb:host:1-1\",\"sources\":[\"usb\"]}", PIDENT_NAME },
	{ "keys of two kinds, two names",
	  "{\"name\":\"Kitchen\",\"deviceKey\":\"cups:till1:Kitchen\",\"sources\":[\"cups\"]}",
	  "{\"name\":\"Star TSP100\",\"deviceKey\":\"usb:till1:1-2:1.0\",\"sources\":[\"usb\"]}",
	  PIDENT_NONE },
	{ "the name last, normalised",
	  "{\"name\":\"Front  Desk\",\"sources\":[\"ipp\"]}",
	  "{\"name\":\"front desk\",\"sources\":[\"dnssd\"]}", PIDENT_NAME },
	{ "two names, nothing else",
	  "{\"name\":\"Front\",\"sources\":[\"ipp\"]}",
	  "{\"name\":\"Back\",\"sources\":[\"ipp\"]}", PIDENT_NONE },
	{ "an address outranks the name",
	  "{\"name\":\"Same\",\"address\":\"10.0.0.1\",\"port\":9100,\"sources\":[\"netscan\"]}",
	  "{\"name\":\"Same\",\"address\":\"10.0.0.2\",\"port\":9100,\"sources\":[\"netscan\"]}",
	  PIDENT_NONE },
	/* Places only the agent knows. */
	{ "631 and 515 belong to the first raw port of their host",
	  "{\"name\":\"Network printer 10.0.0.5:9100\",\"address\":\"10.0.0.5\",\"port\":9100,"
	  "\"_aliases\":[\"10.0.0.5:9100\",\"10.0.0.5:631\",\"10.0.0.5:515\"],\"sources\":[\"netscan\"]}",
	  "{\"name\":\"Kitchen\",\"address\":\"10.0.0.5\",\"port\":631,\"uuid\":\"" U2 "\","
	  "\"sources\":[\"ipp\"]}", PIDENT_ADDRESS },
	{ "a second raw port is a printer of its own",
	  "{\"name\":\"Network printer 10.0.0.5:9101\",\"address\":\"10.0.0.5\",\"port\":9101,"
	  "\"_aliases\":[\"10.0.0.5:9101\"],\"sources\":[\"netscan\"]}",
	  "{\"name\":\"Kitchen\",\"address\":\"10.0.0.5\",\"port\":631,\"uuid\":\"" U2 "\","
	  "\"_aliases\":[\"10.0.0.5:631\"],\"sources\":[\"ipp\"]}", PIDENT_NONE },
	{ "a CUPS queue and its DNS-SD service share the instance name",
	  "{\"name\":\"PM_Test\",\"deviceKey\":\"cups:host:PM_Test\",\"_aliases\":[\"svc:pm test\"],"
	  "\"sources\":[\"cups\"]}",
	  "{\"name\":\"PM Test\",\"address\":\"192.0.2.2\",\"port\":8631,"
	  "\"_aliases\":[\"192.0.2.2:8631\",\"svc:pm test\"],\"sources\":[\"dnssd\"]}",
	  PIDENT_ADDRESS },
};

/* The rule on the agent's identity documents (places included). */
static enum printer_ident
rule(const json_t *a, const json_t *b, const json_t *na, const json_t *nb)
{
	json_t *da = identity_doc_new(na, json_object_get(a, "_aliases"));
	json_t *db = identity_doc_new(nb, json_object_get(b, "_aliases"));
	struct identity ia, ib;
	enum printer_ident r;

	assert_non_null(da);
	assert_non_null(db);
	identity_from_doc(&ia, da);
	identity_from_doc(&ib, db);
	r = identity_match(&ia, &ib);
	assert_int_equal(identity_match(&ib, &ia), r);	/* symmetric */
	json_decref(da);
	json_decref(db);
	return r;
}

/* A stored printer's identity as the bulk reads it: from the row's columns
 * (text, "" or NULL for none), not from a JSON object. */
static void
from_columns(struct identity *id, const json_t *o)
{
	struct identity_fields f = {
		.key = json_string_value(json_object_get(o, "deviceKey")),
		.uuid = json_string_value(json_object_get(o, "uuid")),
		.serial = json_string_value(json_object_get(o, "serialNumber")),
		.mac = json_string_value(json_object_get(o, "macAddress")),
		.manufacturer = json_string_value(json_object_get(o, "manufacturer")),
		.address = json_string_value(json_object_get(o, "address")),
		.name = json_string_value(json_object_get(o, "name")),
		.port = (int)json_integer_value(json_object_get(o, "port")),
	};

	identity_from_fields(id, &f);
}

/* What the server's bulk compares: normalised items, no places; an item
 * against another item, and against the other as a stored row. */
static enum printer_ident
server(const json_t *na, const json_t *nb)
{
	struct identity ia, ib, sb;
	enum printer_ident r;

	identity_from_json(&ia, na);
	identity_from_json(&ib, nb);
	from_columns(&sb, nb);
	r = identity_match(&ia, &ib);
	assert_int_equal(identity_match(&ib, &ia), r);
	assert_int_equal(identity_match(&ia, &sb), r);
	assert_int_equal(identity_match(&sb, &ia), r);
	return r;
}

/* The index: every entry sharing a value with the query, each once, also
 * past the table's growth (300 entries, several values each). */
struct hits {
	int n, seen[300];
};

static void
hit(void *arg, int entry)
{
	struct hits *h = arg;

	h->seen[entry]++;
	h->n++;
}

static json_t *
norm(const char *text)
{
	json_t *raw = json_loads(text, 0, NULL), *errors = NULL, *n;

	assert_non_null(raw);
	n = printer_normalize(raw, &errors);
	assert_non_null(n);
	json_decref(raw);
	json_decref(errors);
	return n;
}

static void
test_index(void **state)
{
	json_t *items[300], *q;
	struct identity ids[300], qi;
	struct identity_index ix;
	struct hits h;
	char raw[160];

	(void)state;
	assert_int_equal(identity_index_init(&ix, 300), 0);
	for (int i = 0; i < 300; i++) {
		snprintf(raw, sizeof(raw), "{\"name\":\"P %d\",\"address\":\"10.0.%d.%d\","
		    "\"port\":9100}", i % 10, i / 256, i % 256);
		items[i] = norm(raw);
		identity_from_json(&ids[i], items[i]);
		identity_index_add(&ix, &ids[i], i);
	}
	assert_int_equal(ix.failed, 0);
	/* Shares its name with 30 entries and its address with entry 124. */
	q = norm("{\"name\":\"P 3\",\"address\":\"10.0.0.124\",\"port\":9100}");
	identity_from_json(&qi, q);
	for (int round = 0; round < 2; round++) {
		memset(&h, 0, sizeof(h));
		identity_index_each(&ix, &qi, hit, &h);
		assert_int_equal(h.n, 31);
		for (int i = 0; i < 300; i++)
			assert_int_equal(h.seen[i], i % 10 == 3 || i == 124 ? 1 : 0);
	}
	identity_index_free(&ix);
	json_decref(q);
	for (int i = 0; i < 300; i++)
		json_decref(items[i]);
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *a = json_loads(rows[i].a, 0, NULL), *b = json_loads(rows[i].b, 0, NULL);
		json_t *na, *nb, *errs = NULL, *raw, *out;
		size_t want_n = rows[i].want == PIDENT_NONE ? 2 : 1;

		print_message("row %zu: %s\n", i, rows[i].why);
		assert_non_null(a);
		assert_non_null(b);
		na = printer_normalize(a, &errs);
		assert_null(errs);
		nb = printer_normalize(b, &errs);
		assert_null(errs);
		assert_int_equal(rule(a, b, na, nb), rows[i].want);
		if (!json_object_get(a, "_aliases") && !json_object_get(b, "_aliases"))
			assert_int_equal(server(na, nb), rows[i].want);
		/* The agent: one printer when the rule says so, in either order. */
		raw = json_pack("[O,O]", a, b);
		out = discover_merge(raw);
		assert_int_equal(json_array_size(out), want_n);
		json_decref(out);
		json_decref(raw);
		raw = json_pack("[O,O]", b, a);
		out = discover_merge(raw);
		assert_int_equal(json_array_size(out), want_n);
		json_decref(out);
		json_decref(raw);
		json_decref(na);
		json_decref(nb);
		json_decref(a);
		json_decref(b);
	}
}

static void
test_device_keys(void **state)
{
	char key[600];
	json_t *p;

	(void)state;
	p = json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", "x", "manufacturer", " EPSON ",
	    "serialNumber", "X123", "address", "10.0.0.1", "port", 9100);
	assert_int_equal(identity_device_key(p, key, sizeof(key)), PIDENT_SERIAL);
	assert_string_equal(key, "sn:epson:X123");
	json_object_del(p, "serialNumber");
	assert_int_equal(identity_device_key(p, key, sizeof(key)), PIDENT_ADDRESS);
	assert_string_equal(key, "net:10.0.0.1:9100");
	json_object_set_new(p, "macAddress", json_string("00:11:22:33:44:55"));
	assert_int_equal(identity_device_key(p, key, sizeof(key)), PIDENT_MAC);
	json_decref(p);
	assert_int_equal(identity_key_rank("uuid:x"), PIDENT_UUID);
	assert_int_equal(identity_key_rank("cups:host:q"), PIDENT_DEVICE_KEY);
	assert_int_equal(identity_key_rank("name:x"), PIDENT_NAME);
	assert_true(identity_key_rank("usb:h:1-1") < identity_key_rank("name:x"));
	assert_true(identity_key_rank("net:h:1") < identity_key_rank("usb:h:1-1"));
}

/* The key upgrade: the server's stored key and the agent's merged key. */
static void
test_key_upgrade(void **state)
{
	json_t *raw, *out;

	(void)state;
	assert_true(identity_key_stronger("uuid:" U1, "net:10.0.0.1:9100"));
	assert_true(identity_key_stronger("net:10.0.0.1:9100", "cups:h:q"));
	assert_false(identity_key_stronger("net:10.0.0.1:9100", "uuid:" U1));
	assert_false(identity_key_stronger("cups:h:q", "usb:h:1-1"));	/* same rank */
	assert_false(identity_key_stronger(NULL, "name:x"));
	assert_false(identity_key_stronger("uuid:" U1, NULL));
	/* A port scan's printer takes the uuid IPP reveals; a queue on a scanned
	 * endpoint takes the endpoint's net: key over its cups: one. */
	raw = json_pack("[{s:s,s:s,s:i,s:[s]},{s:s,s:s,s:i,s:s,s:[s]}]",
	    "name", "Network printer 10.0.0.1:9100", "address", "10.0.0.1", "port", 9100,
	    "sources", "netscan", "name", "P", "address", "10.0.0.1", "port", 9100,
	    "uuid", U1, "sources", "ipp");
	out = discover_merge(raw);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0),
	    "deviceKey")), "uuid:" U1);
	json_decref(out);
	json_decref(raw);
	raw = json_pack("[{s:s,s:s,s:s,s:i,s:[s]},{s:s,s:s,s:i,s:[s]}]",
	    "name", "Bar", "deviceKey", "cups:till1:Bar", "address", "10.0.0.7", "port", 9100,
	    "sources", "cups", "name", "Network printer 10.0.0.7:9100", "address", "10.0.0.7",
	    "port", 9100, "sources", "netscan");
	out = discover_merge(raw);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0),
	    "deviceKey")), "net:10.0.0.7:9100");
	json_decref(out);
	json_decref(raw);
}

/* Documents fold pairwise, first giver wins, places united and bounded. */
static void
test_doc_fold(void **state)
{
	json_t *a = json_pack("{s:s,s:s}", "name", "A", "manufacturer", "EPSON");
	json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", "B", "manufacturer", "HP",
	    "serialNumber", "9", "address", "10.0.0.9", "port", 631);
	json_t *da = identity_doc_new(a, NULL), *db, *many = json_array();
	struct identity id;

	(void)state;
	for (int i = 0; i < 40; i++) {
		char s[32];

		snprintf(s, sizeof(s), "10.0.1.%d:9100", i);
		json_array_append_new(many, json_string(s));
	}
	db = identity_doc_new(b, many);
	identity_doc_fold(da, db);
	identity_from_doc(&id, da);
	assert_string_equal(id.name, "a");			/* first giver */
	assert_string_equal(id.mfr, "epson");			/* not paired with HP's serial */
	assert_null(id.serial);
	assert_string_equal(id.addr, "10.0.0.9");		/* a pair it lacked */
	assert_int_equal(id.port, 631);
	assert_int_equal(json_array_size(json_object_get(da, "places")), IDENTITY_PLACES_MAX);
	assert_string_equal(json_string_value(json_array_get(json_object_get(da, "places"), 0)),
	    "10.0.0.9:631");
	json_decref(a);
	json_decref(b);
	json_decref(da);
	json_decref(db);
	json_decref(many);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_device_keys),
		cmocka_unit_test(test_key_upgrade),
		cmocka_unit_test(test_doc_fold),
	};

	log_init("test_identity", "error", "text");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
