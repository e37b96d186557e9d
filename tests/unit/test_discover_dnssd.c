/*
 * test_discover_dnssd.c: DNS-SD TXT record parsing, well-formed and garbage.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/discover_dnssd.h"

static int
parse(const char *const *recs, int n, struct dnssd_txt *t)
{
	size_t lens[DNSSD_TXT_MAX_RECORDS];

	for (int i = 0; i < n; i++)
		lens[i] = strlen(recs[i]);
	return dnssd_txt_parse(recs, lens, n, t);
}

static void
test_ipp_everywhere_txt(void **state)
{
	const char *recs[] = { "txtvers=1", "qtotal=1", "rp=ipp/print",
		"ty=EPSON TM-m30II", "product=(TM-m30II)", "usb_MFG=EPSON", "usb_MDL=TM-m30II",
		"note=Front counter", "UUID=8D4E1C2A-0B6F-4E7B-9C3D-1234567890AB",
		"pdl=application/pdf,image/pwg-raster", "Color=F" };
	struct dnssd_txt t;

	(void)state;
	assert_int_equal(parse(recs, 11, &t), 0);
	assert_string_equal(t.uuid, "8d4e1c2a-0b6f-4e7b-9c3d-1234567890ab");
	assert_string_equal(t.ty, "EPSON TM-m30II");
	assert_string_equal(t.product, "TM-m30II");
	assert_string_equal(t.usb_mfg, "EPSON");
	assert_string_equal(t.usb_mdl, "TM-m30II");
	assert_string_equal(t.note, "Front counter");
	assert_string_equal(t.rp, "ipp/print");
	assert_int_equal(t.bad, 0);
}

static void
test_keys_case_insensitive_and_urn(void **state)
{
	const char *recs[] = { "uuid=urn:uuid:8d4e1c2a-0b6f-4e7b-9c3d-1234567890ab",
		"TY=Star", "RP=/printers/kitchen" };
	struct dnssd_txt t;

	(void)state;
	assert_int_equal(parse(recs, 3, &t), 0);
	assert_string_equal(t.uuid, "8d4e1c2a-0b6f-4e7b-9c3d-1234567890ab");
	assert_string_equal(t.ty, "Star");
	assert_string_equal(t.rp, "printers/kitchen");
}

static void
test_garbage(void **state)
{
	const char *recs[] = { "UUID=not-a-uuid", "=novalue", "rp=../x y<script>",
		"ty=Bad\x01\x02Name\xc3", "flag", "product=no parens" };
	struct dnssd_txt t;

	(void)state;
	assert_int_equal(parse(recs, 6, &t), 0);
	assert_string_equal(t.uuid, "");
	assert_string_equal(t.rp, "");
	assert_string_equal(t.ty, "BadName?");
	assert_string_equal(t.product, "no parens");
	assert_int_equal(t.bad, 3);
}

static void
test_bounds(void **state)
{
	static char big[400];
	const char *recs[DNSSD_TXT_MAX_RECORDS + 4];
	size_t lens[DNSSD_TXT_MAX_RECORDS + 4];
	struct dnssd_txt t;

	(void)state;
	memset(big, 'M', sizeof(big));
	memcpy(big, "ty=", 3);
	recs[0] = big;
	lens[0] = sizeof(big);	/* longer than a TXT string may be: cut at 255 */
	assert_int_equal(dnssd_txt_parse(recs, lens, 1, &t), 0);
	assert_int_equal(strlen(t.ty), 252);
	/* Records past DNSSD_TXT_MAX_RECORDS are not looked at. */
	for (int i = 0; i < DNSSD_TXT_MAX_RECORDS + 4; i++) {
		recs[i] = "txtvers=1";
		lens[i] = 9;
	}
	recs[DNSSD_TXT_MAX_RECORDS + 1] = "ty=Late";
	lens[DNSSD_TXT_MAX_RECORDS + 1] = 7;
	assert_int_equal(dnssd_txt_parse(recs, lens, DNSSD_TXT_MAX_RECORDS + 4, &t), 0);
	assert_string_equal(t.ty, "");
	/* A NULL entry is counted as bad, not followed. */
	recs[0] = NULL;
	lens[0] = 5;
	assert_int_equal(dnssd_txt_parse(recs, lens, 1, &t), 0);
	assert_int_equal(t.bad, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipp_everywhere_txt),
		cmocka_unit_test(test_keys_case_insensitive_and_urn),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
