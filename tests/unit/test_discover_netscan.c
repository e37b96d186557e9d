/*
 * test_discover_netscan.c: CIDR and port parsing, expansion bounds, and which
 * open ports of one host are which printer (DESIGN 2.2).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/discover_netscan.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static void
test_cidr_expansion(void **state)
{
	struct netscan_range r;
	char err[256];

	(void)state;
	assert_int_equal(netscan_parse_cidr("127.0.0.0/28", &r, err, sizeof(err)), 0);
	assert_int_equal(r.first, IP(127, 0, 0, 1));
	assert_int_equal(r.count, 14);
	/* Host bits are masked off. */
	assert_int_equal(netscan_parse_cidr("127.0.1.77/24", &r, err, sizeof(err)), 0);
	assert_int_equal(r.first, IP(127, 0, 1, 1));
	assert_int_equal(r.count, 254);
	assert_int_equal(netscan_parse_cidr("10.1.0.0/16", &r, err, sizeof(err)), 0);
	assert_int_equal(r.first, IP(10, 1, 0, 1));
	assert_int_equal(r.count, 65534);
	assert_int_equal(netscan_parse_cidr("192.168.5.9", &r, err, sizeof(err)), 0);
	assert_int_equal(r.first, IP(192, 168, 5, 9));
	assert_int_equal(r.count, 1);
	assert_int_equal(netscan_parse_cidr("192.168.5.8/31", &r, err, sizeof(err)), 0);
	assert_int_equal(r.first, IP(192, 168, 5, 8));
	assert_int_equal(r.count, 2);
	assert_int_equal(netscan_parse_cidr("192.168.5.8/30", &r, err, sizeof(err)), 0);
	assert_int_equal(r.first, IP(192, 168, 5, 9));
	assert_int_equal(r.count, 2);
}

static void
test_cidr_refused(void **state)
{
	struct netscan_range r;
	char err[256];

	(void)state;
	assert_int_equal(netscan_parse_cidr("10.0.0.0/15", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "wider than /16"));
	assert_int_equal(netscan_parse_cidr("0.0.0.0/0", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "wider than /16"));
	assert_int_equal(netscan_parse_cidr("10.0.0.0/33", &r, err, sizeof(err)), -1);
	assert_int_equal(netscan_parse_cidr("10.0.0.0/", &r, err, sizeof(err)), -1);
	assert_int_equal(netscan_parse_cidr("10.0.0.0/2x", &r, err, sizeof(err)), -1);
	assert_int_equal(netscan_parse_cidr("10.0.0/24", &r, err, sizeof(err)), -1);
	assert_int_equal(netscan_parse_cidr("printer.local/24", &r, err, sizeof(err)), -1);
	assert_int_equal(netscan_parse_cidr("::1/128", &r, err, sizeof(err)), -1);
	assert_int_equal(netscan_parse_cidr("", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an IPv4 CIDR"));
}

static void
test_ports(void **state)
{
	int ports[NETSCAN_MAX_PORTS];
	char err[256];

	(void)state;
	assert_int_equal(netscan_parse_ports("9100,631,515", ports, NETSCAN_MAX_PORTS, err,
	    sizeof(err)), 3);
	assert_int_equal(ports[0], 9100);
	assert_int_equal(ports[2], 515);
	assert_int_equal(netscan_parse_ports(" 9100, 9100 ,9101,", ports, NETSCAN_MAX_PORTS,
	    err, sizeof(err)), 2);
	assert_int_equal(ports[1], 9101);
	assert_int_equal(netscan_parse_ports("", ports, NETSCAN_MAX_PORTS, err, sizeof(err)), 0);
	assert_int_equal(netscan_parse_ports("0", ports, NETSCAN_MAX_PORTS, err, sizeof(err)), -1);
	assert_int_equal(netscan_parse_ports("65536", ports, NETSCAN_MAX_PORTS, err,
	    sizeof(err)), -1);
	assert_int_equal(netscan_parse_ports("91a0", ports, NETSCAN_MAX_PORTS, err,
	    sizeof(err)), -1);
	assert_int_equal(netscan_parse_ports("1,2,3", ports, 2, err, sizeof(err)), -1);
}

static void
test_group_multiport_server(void **state)
{
	int open[] = { 9102, 631, 9100, 515, 9101 };
	struct netscan_dev d[NETSCAN_MAX_PORTS];

	(void)state;
	/* Three raw ports are three printers; 631 and 515 go with the first. */
	assert_int_equal(netscan_group_ports(open, 5, d, NETSCAN_MAX_PORTS), 3);
	assert_int_equal(d[0].port, 9100);
	assert_int_equal(d[0].naliases, 2);
	assert_int_equal(d[0].aliases[0], 631);
	assert_int_equal(d[0].aliases[1], 515);
	assert_int_equal(d[1].port, 9101);
	assert_int_equal(d[1].naliases, 0);
	assert_int_equal(d[2].port, 9102);
	assert_int_equal(d[2].naliases, 0);
}

static void
test_group_no_raw(void **state)
{
	int ipp_lpd[] = { 515, 631 }, lpd[] = { 515 };
	struct netscan_dev d[NETSCAN_MAX_PORTS];

	(void)state;
	assert_int_equal(netscan_group_ports(ipp_lpd, 2, d, NETSCAN_MAX_PORTS), 1);
	assert_int_equal(d[0].port, 631);
	assert_int_equal(d[0].naliases, 1);
	assert_int_equal(d[0].aliases[0], 515);
	assert_int_equal(netscan_group_ports(lpd, 1, d, NETSCAN_MAX_PORTS), 1);
	assert_int_equal(d[0].port, 515);
	assert_int_equal(d[0].naliases, 0);
	assert_int_equal(netscan_group_ports(lpd, 0, d, NETSCAN_MAX_PORTS), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_expansion),
		cmocka_unit_test(test_cidr_refused),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_group_multiport_server),
		cmocka_unit_test(test_group_no_raw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
