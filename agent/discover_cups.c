/*
 * discover_cups.c: the local CUPS queues, read with libcups (cupsGetDests2 on
 * a connection with a time limit, so a hung or absent cupsd costs at most
 * ipp_timeout_ms). A queue whose device URI points at a network printer also
 * hands that endpoint to the merge and, for IPP, to the ipp source. Not here:
 * IPP requests (discover_ipp.c) or merging (discover.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cups/cups.h>

#include "log.h"
#include "printer.h"
#include "uuid.h"
#include "agent/discover_source.h"

#define CUPS_MAX_QUEUES 256

static const char *
cups_opt(const cups_dest_t *d, const char *name)
{
	const char *v = cupsGetOption(name, d->num_options, d->options);

	return v && *v ? v : NULL;
}

static void
cups_set_text(json_t *it, const char *key, const char *v)
{
	char buf[PRINTER_TEXT_MAX + 1];

	if (v && discover_clean_text(v, strlen(v), buf, sizeof(buf)) > 0)
		json_object_set_new(it, key, json_string(buf));
}

json_t *
discover_cups_reasons(const char *list)
{
	json_t *r = json_array();
	char clean[101];

	/* IPP keywords: no quoting, no escapes; white space around a comma is
	 * dropped by discover_clean_text's trim. */
	while (r && *list && json_array_size(r) < PRINTER_REASONS_MAX) {
		size_t n = strcspn(list, ",");

		if (discover_clean_text(list, n, clean, sizeof(clean)) > 0 &&
		    strcmp(clean, "none") != 0)
			json_array_append_new(r, json_string(clean));
		list += n;
		list += *list == ',';
	}
	return r;
}

/* The uuid carried by dnssd:// and ipp:// device URIs ("...?uuid=..."). */
static int
cups_uri_uuid(const char *uri, char *out, size_t outlen)
{
	const char *q = strchr(uri, '?'), *u;
	char val[64];
	size_t n;

	if (!q)
		return -1;
	for (u = q; (u = strstr(u, "uuid=")) != NULL; u += 5) {
		if (u[-1] != '?' && u[-1] != '&')
			continue;
		n = strcspn(u + 5, "&");
		if (n >= sizeof(val))
			return -1;
		memcpy(val, u + 5, n);
		val[n] = '\0';
		return uuid_norm(val, out, outlen);
	}
	return -1;
}

/* Endpoint of a network device URI: address, port and IPP follow-up. */
static void
cups_device_endpoint(struct discover_ctx *ctx, json_t *it, const char *uri)
{
	char scheme[32], user[256], host[256], res[1024], *svc;
	int port = 0;

	if (httpSeparateURI(HTTP_URI_CODING_ALL, uri, scheme, sizeof(scheme), user,
	    sizeof(user), host, sizeof(host), &port, res, sizeof(res)) < HTTP_URI_STATUS_OK)
		return;
	if (strcmp(scheme, "ipp") && strcmp(scheme, "ipps") && strcmp(scheme, "socket") &&
	    strcmp(scheme, "lpd") && strcmp(scheme, "http") && strcmp(scheme, "https") &&
	    strcmp(scheme, "dnssd"))
		return;		/* usb:, file:, ... have no network endpoint */
	if ((svc = strstr(host, "._tcp.")) != NULL) {
		/* A DNS-SD service instance ("Name._ipp._tcp.local"), as in CUPS's
		 * dnssd:// and driverless URIs: no host:port, but the instance name
		 * is the one the dnssd source sees. */
		char *dot = NULL;

		for (char *q = host; q < svc; q++)
			if (q[0] == '.' && q[1] == '_')
				dot = q;
		if (dot) {
			*dot = '\0';
			discover_add_svc_alias(it, host);
		}
		return;
	}
	if (!host[0] || port <= 0)
		return;
	cups_set_text(it, "address", host);
	json_object_set_new(it, "port", json_integer(port));
	discover_add_alias(it, host, port);
	if (!strcmp(scheme, "ipp") || !strcmp(scheme, "ipps"))
		discover_add_ipp_target(ctx, uri, "cups");
}

static json_t *
cups_item(struct discover_ctx *ctx, const cups_dest_t *d)
{
	const char *duri = cups_opt(d, "device-uri") ? cups_opt(d, "device-uri") :
	    cups_opt(d, "printer-uri-supported"), *state = cups_opt(d, "printer-state");
	const char *reasons = cups_opt(d, "printer-state-reasons"), *v;
	char uuid[40], key[PRINTER_KEY_MAX];
	json_t *it = json_object(), *caps = json_object(), *r;

	cups_set_text(it, "name", d->name);
	json_object_set_new(it, "connectionType", json_string("cups"));
	json_object_set_new(it, "protocol", json_string("cups"));
	cups_set_text(it, "makeAndModel", cups_opt(d, "printer-make-and-model"));
	cups_set_text(it, "location", cups_opt(d, "printer-location"));
	if (duri && strlen(duri) <= PRINTER_URI_MAX) {
		cups_set_text(it, "uri", duri);
		cups_device_endpoint(ctx, it, duri);
	}
	if ((duri && cups_uri_uuid(duri, uuid, sizeof(uuid)) == 0) ||
	    ((v = cups_opt(d, "printer-uuid")) && uuid_norm(v, uuid, sizeof(uuid)) == 0))
		json_object_set_new(it, "uuid", json_string(uuid));
	else {
		snprintf(key, sizeof(key), "cups:%s:%s", ctx->hostname, d->name);
		json_object_set_new(it, "deviceKey", json_string(key));
	}
	/* printer-state: 3 idle, 4 processing, 5 stopped. */
	json_object_set_new(it, "status", json_string(!state ? "unknown" :
	    atoi(state) == 5 ? "error" : "online"));
	if (reasons && strcmp(reasons, "none") != 0 &&
	    (r = discover_cups_reasons(reasons)) != NULL)
		json_object_set_new(it, "stateReasons", r);
	json_object_set_new(caps, "cupsQueue", json_string(json_string_value(
	    json_object_get(it, "name"))));
	if ((v = cups_opt(d, "printer-info")) != NULL) {
		char buf[PRINTER_TEXT_MAX + 1];

		discover_clean_text(v, strlen(v), buf, sizeof(buf));
		json_object_set_new(caps, "cupsInfo", json_string(buf));
	}
	json_object_set_new(caps, "cupsDefault", json_boolean(d->is_default));
	if ((v = cups_opt(d, "printer-is-shared")) != NULL)
		json_object_set_new(caps, "cupsShared", json_boolean(strcmp(v, "true") == 0));
	json_object_set_new(it, "capabilities", caps);
	return it;
}

int
discover_cups(struct discover_ctx *ctx)
{
	cups_dest_t *dests = NULL;
	http_t *http;
	long tmo = ctx->cfg->ipp_timeout_ms;
	int n, added = 0;

	if (tmo > discover_remaining_ms(ctx))
		tmo = discover_remaining_ms(ctx);
	http = httpConnect2(cupsServer(), ippPort(), NULL, AF_UNSPEC, cupsEncryption(), 1,
	    (int)tmo, NULL);
	if (!http) {
		log_warnx("[DISCOVERY] cups: cannot reach the CUPS server %s (%s); no queues "
		    "listed", cupsServer(), cupsLastErrorString());
		return -1;
	}
	httpSetTimeout(http, (double)tmo / 1000.0, NULL, NULL);
	n = cupsGetDests2(http, &dests);
	if (n == 0 && cupsLastError() > IPP_STATUS_OK_EVENTS_COMPLETE &&
	    cupsLastError() != IPP_STATUS_ERROR_NOT_FOUND) {
		log_warnx("[DISCOVERY] cups: listing queues on %s failed: %s", cupsServer(),
		    cupsLastErrorString());
		httpClose(http);
		return -1;
	}
	for (int i = 0; i < n && added < CUPS_MAX_QUEUES; i++) {
		if (dests[i].instance)	/* an instance is a set of options, not a printer */
			continue;
		if (discover_add(ctx, cups_item(ctx, &dests[i]), "cups") == 0)
			added++;
	}
	if (n > CUPS_MAX_QUEUES)
		log_warnx("[DISCOVERY] cups: %d queues; only the first %d are reported", n,
		    CUPS_MAX_QUEUES);
	cupsFreeDests(n, dests);
	httpClose(http);
	log_debug("[DISCOVERY] cups: %d queue(s) on %s", added, cupsServer());
	return 0;
}
