/*
 * discover_ipp.c: IPP Get-Printer-Attributes, through libcups, on every IPP
 * endpoint the other sources found plus the configured ipp_uris. It gives the
 * strongest identity (printer-uuid) and the live state. Each request has its
 * own time limit and every attribute copied out is bounded. Not here: finding
 * endpoints (the other sources) or merging (discover.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cups/cups.h>

#include "log.h"
#include "printer.h"
#include "uuid.h"
#include "agent/discover_source.h"
#include "agent/ieee1284.h"

#define IPP_MAX_FORMATS 32		/* document-format-supported entries kept */
#define IPP_MAX_MARKERS 16		/* marker-* entries kept */

static const char *const ipp_requested[] = {
	"printer-uuid", "printer-name", "printer-make-and-model", "printer-state",
	"printer-state-reasons", "printer-location", "printer-info", "printer-device-id",
	"marker-names", "marker-levels", "marker-types", "marker-colors",
	"document-format-supported", "color-supported",
};

/* No prompt, ever: a printer that wants a password is reported as such. */
static const char *
ipp_no_password(const char *prompt, http_t *http, const char *method,
    const char *resource, void *data)
{
	(void)prompt, (void)http, (void)method, (void)resource, (void)data;
	return NULL;
}

/* Called when a read or write has waited ipp_timeout_ms: give up (0). */
static int
ipp_timed_out(http_t *http, void *data)
{
	(void)http;
	*(int *)data = 1;
	return 0;
}

/* Copy value `i` of a text-like attribute, cleaned and bounded. */
static const char *
ipp_text(ipp_attribute_t *a, int i, char *buf, size_t len)
{
	const char *s;

	if (!a || i >= ippGetCount(a) || (s = ippGetString(a, i, NULL)) == NULL)
		return NULL;
	return discover_clean_text(s, strlen(s), buf, len) ? buf : NULL;
}

static void
ipp_set_text(json_t *it, const char *key, ipp_t *resp, const char *attr)
{
	char buf[PRINTER_TEXT_MAX + 1];

	if (ipp_text(ippFindAttribute(resp, attr, IPP_TAG_ZERO), 0, buf, sizeof(buf)))
		json_object_set_new(it, key, json_string(buf));
}

static json_t *
ipp_markers(ipp_t *resp)
{
	ipp_attribute_t *names = ippFindAttribute(resp, "marker-names", IPP_TAG_ZERO);
	ipp_attribute_t *levels = ippFindAttribute(resp, "marker-levels", IPP_TAG_INTEGER);
	ipp_attribute_t *types = ippFindAttribute(resp, "marker-types", IPP_TAG_ZERO);
	ipp_attribute_t *colors = ippFindAttribute(resp, "marker-colors", IPP_TAG_ZERO);
	json_t *arr = json_array();
	char buf[128];

	for (int i = 0; names && i < ippGetCount(names) && i < IPP_MAX_MARKERS; i++) {
		json_t *m = json_object();

		if (ipp_text(names, i, buf, sizeof(buf)))
			json_object_set_new(m, "name", json_string(buf));
		if (levels && i < ippGetCount(levels))
			json_object_set_new(m, "level", json_integer(ippGetInteger(levels, i)));
		if (ipp_text(types, i, buf, sizeof(buf)))
			json_object_set_new(m, "type", json_string(buf));
		if (ipp_text(colors, i, buf, sizeof(buf)))
			json_object_set_new(m, "color", json_string(buf));
		json_array_append_new(arr, m);
	}
	return arr;
}

static json_t *
ipp_capabilities(ipp_t *resp)
{
	ipp_attribute_t *a = ippFindAttribute(resp, "document-format-supported", IPP_TAG_ZERO);
	json_t *caps = json_object(), *fmts = json_array(), *markers;
	char buf[128];

	for (int i = 0; a && i < ippGetCount(a) && i < IPP_MAX_FORMATS; i++)
		if (ipp_text(a, i, buf, sizeof(buf)))
			json_array_append_new(fmts, json_string(buf));
	json_object_set_new(caps, "documentFormats", fmts);
	if ((a = ippFindAttribute(resp, "color-supported", IPP_TAG_BOOLEAN)) != NULL)
		json_object_set_new(caps, "color", json_boolean(ippGetBoolean(a, 0)));
	markers = ipp_markers(resp);
	if (json_array_size(markers))
		json_object_set_new(caps, "markers", markers);
	else
		json_decref(markers);
	return caps;
}

/* State and reasons: stopped is offline when the printer says so, else error. */
static void
ipp_state(json_t *it, ipp_t *resp)
{
	ipp_attribute_t *st = ippFindAttribute(resp, "printer-state", IPP_TAG_ENUM);
	ipp_attribute_t *rs = ippFindAttribute(resp, "printer-state-reasons", IPP_TAG_ZERO);
	json_t *reasons = json_array();
	const char *status = "unknown";
	int offline = 0;
	char buf[101];

	for (int i = 0; rs && i < ippGetCount(rs) && i < PRINTER_REASONS_MAX; i++) {
		if (!ipp_text(rs, i, buf, sizeof(buf)) || strcmp(buf, "none") == 0)
			continue;
		offline |= strncmp(buf, "offline", 7) == 0;
		json_array_append_new(reasons, json_string(buf));
	}
	if (st) {
		int s = ippGetInteger(st, 0);

		if (s == IPP_PSTATE_IDLE || s == IPP_PSTATE_PROCESSING)
			status = offline ? "offline" : "online";
		else if (s == IPP_PSTATE_STOPPED)
			status = offline ? "offline" : "error";
	}
	json_object_set_new(it, "status", json_string(status));
	json_object_set_new(it, "stateReasons", reasons);
}

/* Identity and names from the response. */
static void
ipp_identity(json_t *it, ipp_t *resp, const char *host)
{
	ipp_attribute_t *a;
	struct ieee1284_id id;
	char buf[PRINTER_TEXT_MAX + 1], uuid[40];
	const char *s, *mm;

	if (ipp_text(ippFindAttribute(resp, "printer-uuid", IPP_TAG_URI), 0, buf,
	    sizeof(buf)) && uuid_norm(buf, uuid, sizeof(uuid)) == 0)
		json_object_set_new(it, "uuid", json_string(uuid));
	ipp_set_text(it, "makeAndModel", resp, "printer-make-and-model");
	ipp_set_text(it, "location", resp, "printer-location");
	a = ippFindAttribute(resp, "printer-device-id", IPP_TAG_TEXT);
	if (a && (s = ippGetString(a, 0, NULL)) != NULL &&
	    ieee1284_parse(s, strlen(s), &id) == 0) {
		if (id.manufacturer[0])
			json_object_set_new(it, "manufacturer", json_string(id.manufacturer));
		if (id.model[0])
			json_object_set_new(it, "model", json_string(id.model));
		if (id.serial[0])
			json_object_set_new(it, "serialNumber", json_string(id.serial));
	}
	mm = json_string_value(json_object_get(it, "makeAndModel"));
	if (!json_object_get(it, "manufacturer") && mm && strchr(mm, ' ')) {
		/* CUPS's own convention: the make is the first word. */
		snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(mm, " "), mm);
		json_object_set_new(it, "manufacturer", json_string(buf));
	}
	if (ipp_text(ippFindAttribute(resp, "printer-name", IPP_TAG_ZERO), 0, buf,
	    sizeof(buf)) || ipp_text(ippFindAttribute(resp, "printer-info", IPP_TAG_ZERO), 0,
	    buf, sizeof(buf)))
		json_object_set_new(it, "name", json_string(buf));
	else if (mm)
		json_object_set_new(it, "name", json_string(mm));
	else
		json_object_set_new(it, "name", json_string(host));
}

/* One request on one resource. Returns the response (caller frees) or NULL,
 * with a reason in err. */
static ipp_t *
ipp_request(http_t *http, const char *uri, const char *resource, const int *timed_out,
    char *err, size_t errlen)
{
	ipp_t *req, *resp;

	req = ippNewRequest(IPP_OP_GET_PRINTER_ATTRIBUTES);
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, uri);
	ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes",
	    (int)(sizeof(ipp_requested) / sizeof(ipp_requested[0])), NULL, ipp_requested);
	resp = cupsDoRequest(http, req, resource);	/* frees req */
	if (!resp || ippGetStatusCode(resp) > IPP_STATUS_OK_EVENTS_COMPLETE) {
		if (*timed_out)
			snprintf(err, errlen, "no answer within ipp_timeout_ms");
		else if (!resp && cupsLastError() == IPP_STATUS_OK)
			snprintf(err, errlen, "no IPP response");
		else
			snprintf(err, errlen, "%s", cupsLastErrorString());
		ippDelete(resp);
		return NULL;
	}
	return resp;
}

static int
ipp_query(struct discover_ctx *ctx, const char *uri, const char *via)
{
	char scheme[32], user[256], host[256], res[1024], peer[256], err[256], uribuf[1400];
	const char *resources[2];
	int port = 0, nres = 1, rc = -1, timed_out = 0;
	long tmo = ctx->cfg->ipp_timeout_ms;
	http_t *http = NULL;
	ipp_t *resp = NULL;
	json_t *it;

	if (httpSeparateURI(HTTP_URI_CODING_ALL, uri, scheme, sizeof(scheme), user,
	    sizeof(user), host, sizeof(host), &port, res, sizeof(res)) < HTTP_URI_STATUS_OK ||
	    !host[0]) {
		log_warnx("[DISCOVERY] ipp: '%.100s' is not a usable printer URI", uri);
		return -1;
	}
	if (tmo > discover_remaining_ms(ctx))
		tmo = discover_remaining_ms(ctx);
	http = httpConnect2(host, port, NULL, AF_UNSPEC, strcmp(scheme, "ipps") == 0 ?
	    HTTP_ENCRYPTION_ALWAYS : HTTP_ENCRYPTION_IF_REQUESTED, 1, (int)tmo, NULL);
	if (!http) {
		log_warnx("[DISCOVERY] ipp: %s (from %s): cannot connect: %s", uri, via,
		    cupsLastErrorString());
		return -1;
	}
	httpSetTimeout(http, (double)tmo / 1000.0, ipp_timed_out, &timed_out);
	resources[0] = res[0] ? res : "/";
	/* A port scan only knows 631 is open; IPP Everywhere printers answer on
	 * /ipp/print, CUPS-style servers on their queue paths, older ones on /. */
	if (strcmp(via, "netscan") == 0)
		resources[nres++] = "/";
	for (int i = 0; i < nres && !resp && !timed_out; i++) {
		resp = ipp_request(http, uri, resources[i], &timed_out, err, sizeof(err));
		if (resp && i > 0) {
			snprintf(uribuf, sizeof(uribuf), "%s://%s:%d%s", scheme, host, port,
			    resources[i]);
			uri = uribuf;
		}
	}
	if (!resp) {
		log_warnx("[DISCOVERY] ipp: %s (from %s): Get-Printer-Attributes failed: %s",
		    uri, via, err);
		goto done;
	}
	it = json_object();
	ipp_identity(it, resp, host);
	json_object_set_new(it, "connectionType", json_string("network"));
	json_object_set_new(it, "protocol", json_string(scheme));
	json_object_set_new(it, "address", json_string(host));
	json_object_set_new(it, "port", json_integer(port));
	json_object_set_new(it, "uri", json_string(uri));
	ipp_state(it, resp);
	json_object_set_new(it, "capabilities", ipp_capabilities(resp));
	discover_add_alias(it, host, port);
	if (httpGetAddress(http) && httpAddrString(httpGetAddress(http), peer, sizeof(peer)))
		discover_add_alias(it, peer, port);
	discover_add(ctx, it, "ipp");
	rc = 0;
done:
	ippDelete(resp);
	httpClose(http);
	return rc;
}

int
discover_ipp(struct discover_ctx *ctx)
{
	size_t i, n = json_array_size(ctx->ipp_targets);
	json_t *t;
	int ok = 0;

	cupsSetPasswordCB2(ipp_no_password, NULL);
	json_array_foreach(ctx->ipp_targets, i, t) {
		if (discover_remaining_ms(ctx) <= 0) {
			log_warnx("[DISCOVERY] ipp: time limit reached; %zu of %zu endpoints not "
			    "queried", n - i, n);
			break;
		}
		if (ipp_query(ctx, json_string_value(json_object_get(t, "uri")),
		    json_string_value(json_object_get(t, "via"))) == 0)
			ok++;
	}
	log_debug("[DISCOVERY] ipp: %d of %zu endpoint(s) answered", ok, n);
	return 0;
}
