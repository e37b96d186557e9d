/*
 * discover_dnssd.c: DNS-SD printers through avahi-client: browse _ipp._tcp,
 * _ipps._tcp, _pdl-datastream._tcp and _printer._tcp for a bounded window
 * (dnssd_browse_ms, ended early once avahi has reported everything and every
 * resolve is in), then one printer per service name and host, with the
 * identity its TXT record gives (UUID, ty, product, usb_MFG, usb_MDL). Not
 * here: IPP requests on what it finds (discover_ipp.c) or merging (discover.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-common/error.h>
#include <avahi-common/simple-watch.h>

#include "common/clock.h"
#include "log.h"
#include "printer.h"
#include "uuid.h"
#include "agent/discover_dnssd.h"
#include "agent/discover_source.h"

#define DNSSD_MAX_SERVICES 256		/* services resolved in one browse */
#define DNSSD_NAME_MAX 256

static const struct {
	const char *type;
	const char *protocol;		/* PrinterData protocol */
	const char *scheme;		/* URI scheme */
} dnssd_types[] = {
	{ "_ipp._tcp", "ipp", "ipp" },
	{ "_ipps._tcp", "ipps", "ipps" },
	{ "_pdl-datastream._tcp", "raw", "socket" },
	{ "_printer._tcp", "lpd", "lpd" },
};
#define DNSSD_NTYPES 4

static void
dnssd_copy(char *dst, const char *v, size_t vlen)
{
	discover_clean_text(v, vlen, dst, DNSSD_TXT_VALUE_MAX);
}

/* rp becomes part of a URI we build: only unreserved and '/' characters. */
static int
dnssd_rp_ok(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("-._~/", v[i]))
			return 0;
	return 1;
}

int
dnssd_txt_parse(const char *const *recs, const size_t *lens, int n, struct dnssd_txt *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n && i < DNSSD_TXT_MAX_RECORDS; i++) {
		const char *r = recs[i], *eq;
		size_t len = lens[i] > 255 ? 255 : lens[i], klen, vlen;
		const char *v;
		char tmp[DNSSD_TXT_VALUE_MAX];

		if (!r || len == 0 || (eq = memchr(r, '=', len)) == NULL || eq == r) {
			if (r && len > 0 && !memchr(r, '=', len))
				continue;	/* a boolean attribute: nothing we use */
			out->bad++;
			continue;
		}
		klen = (size_t)(eq - r);
		v = eq + 1;
		vlen = len - klen - 1;
#define KEY(k) (klen == sizeof(k) - 1 && strncasecmp(r, k, klen) == 0)
		if (KEY("UUID")) {
			dnssd_copy(tmp, v, vlen);
			if (uuid_norm(tmp, out->uuid, sizeof(out->uuid)) < 0) {
				out->uuid[0] = '\0';
				out->bad++;
			}
		} else if (KEY("ty")) {
			dnssd_copy(out->ty, v, vlen);
		} else if (KEY("product")) {
			/* "(Model Name)": the parentheses are part of the convention. */
			if (vlen >= 2 && v[0] == '(' && v[vlen - 1] == ')')
				dnssd_copy(out->product, v + 1, vlen - 2);
			else
				dnssd_copy(out->product, v, vlen);
		} else if (KEY("usb_MFG")) {
			dnssd_copy(out->usb_mfg, v, vlen);
		} else if (KEY("usb_MDL")) {
			dnssd_copy(out->usb_mdl, v, vlen);
		} else if (KEY("note")) {
			dnssd_copy(out->note, v, vlen);
		} else if (KEY("rp")) {
			if (vlen < DNSSD_TXT_VALUE_MAX && dnssd_rp_ok(v, vlen)) {
				while (vlen > 0 && *v == '/')
					v++, vlen--;
				memcpy(out->rp, v, vlen);
				out->rp[vlen] = '\0';
			} else
				out->bad++;
		}
#undef KEY
	}
	return 0;
}

struct dnssd_state;

/* One service seen by the browser; resolved or still being resolved. */
struct dnssd_svc {
	struct dnssd_state *st;
	char name[DNSSD_NAME_MAX];
	int type;			/* index into dnssd_types */
	char domain[DNSSD_NAME_MAX];
	int resolved, failed;
	char host[DNSSD_NAME_MAX];	/* the host's mDNS name */
	char addr[AVAHI_ADDRESS_STR_MAX];
	int port;
	int local;			/* published by this machine */
	struct dnssd_txt txt;
};

struct dnssd_state {
	AvahiSimplePoll *poll;
	AvahiClient *client;
	struct dnssd_svc *svcs;
	int nsvcs;
	int pending;			/* resolvers in flight */
	int browsers_done;		/* browsers that said ALL_FOR_NOW or failed */
	int dropped;			/* services over DNSSD_MAX_SERVICES */
	int bad_txt;
};

static void
dnssd_txt_from_list(AvahiStringList *l, struct dnssd_txt *out)
{
	const char *recs[DNSSD_TXT_MAX_RECORDS];
	size_t lens[DNSSD_TXT_MAX_RECORDS];
	int n = 0;

	for (; l && n < DNSSD_TXT_MAX_RECORDS; l = avahi_string_list_get_next(l)) {
		recs[n] = (const char *)avahi_string_list_get_text(l);
		lens[n] = avahi_string_list_get_size(l);
		n++;
	}
	dnssd_txt_parse(recs, lens, n, out);
}

static void
dnssd_resolve_cb(AvahiServiceResolver *r, AvahiIfIndex iface, AvahiProtocol proto,
    AvahiResolverEvent event, const char *name, const char *type, const char *domain,
    const char *host_name, const AvahiAddress *address, uint16_t port,
    AvahiStringList *txt, AvahiLookupResultFlags flags, void *data)
{
	struct dnssd_svc *s = data;
	struct dnssd_state *st = s->st;

	(void)iface, (void)proto, (void)name, (void)type, (void)domain;
	if (event == AVAHI_RESOLVER_FOUND && address) {
		discover_clean_text(host_name ? host_name : "", strlen(host_name ?
		    host_name : ""), s->host, sizeof(s->host));
		avahi_address_snprint(s->addr, sizeof(s->addr), address);
		s->port = port;
		s->local = (flags & AVAHI_LOOKUP_RESULT_LOCAL) != 0;
		dnssd_txt_from_list(txt, &s->txt);
		s->resolved = 1;
		st->bad_txt += s->txt.bad;
	} else {
		s->failed = 1;
	}
	st->pending--;
	avahi_service_resolver_free(r);
}

static void
dnssd_browse_cb(AvahiServiceBrowser *b, AvahiIfIndex iface, AvahiProtocol proto,
    AvahiBrowserEvent event, const char *name, const char *type, const char *domain,
    AvahiLookupResultFlags flags, void *data)
{
	struct dnssd_state *st = data;
	int t;

	(void)b, (void)flags;
	switch (event) {
	case AVAHI_BROWSER_NEW:
		for (t = 0; t < DNSSD_NTYPES; t++)
			if (strcasecmp(type, dnssd_types[t].type) == 0)
				break;
		if (t == DNSSD_NTYPES || strlen(name) >= DNSSD_NAME_MAX ||
		    strlen(domain) >= DNSSD_NAME_MAX)
			return;
		/* The same service on several interfaces is resolved once. */
		for (int i = 0; i < st->nsvcs; i++)
			if (st->svcs[i].type == t && strcmp(st->svcs[i].name, name) == 0 &&
			    strcmp(st->svcs[i].domain, domain) == 0)
				return;
		if (st->nsvcs >= DNSSD_MAX_SERVICES) {
			st->dropped++;
			return;
		}
		{
			struct dnssd_svc *s = &st->svcs[st->nsvcs];

			memset(s, 0, sizeof(*s));
			s->st = st;
			snprintf(s->name, sizeof(s->name), "%s", name);
			snprintf(s->domain, sizeof(s->domain), "%s", domain);
			s->type = t;
			if (avahi_service_resolver_new(st->client, iface, proto, name, type,
			    domain, AVAHI_PROTO_INET, 0, dnssd_resolve_cb, s) == NULL)
				return;
			st->nsvcs++;
			st->pending++;
		}
		break;
	case AVAHI_BROWSER_FAILURE:
		log_warnx("[DISCOVERY] dnssd: browsing failed: %s",
		    avahi_strerror(avahi_client_errno(st->client)));
		st->browsers_done++;
		break;
	case AVAHI_BROWSER_ALL_FOR_NOW:
		st->browsers_done++;
		break;
	case AVAHI_BROWSER_REMOVE:
	case AVAHI_BROWSER_CACHE_EXHAUSTED:
		break;
	}
}

static void
dnssd_client_cb(AvahiClient *c, AvahiClientState state, void *data)
{
	(void)c, (void)state, (void)data;
}

/* The service of the same name on the same host with the best type. */
static int
dnssd_is_primary(const struct dnssd_state *st, int i)
{
	for (int j = 0; j < st->nsvcs; j++)
		if (j != i && st->svcs[j].resolved &&
		    strcmp(st->svcs[j].name, st->svcs[i].name) == 0 &&
		    strcmp(st->svcs[j].host, st->svcs[i].host) == 0 &&
		    (st->svcs[j].type < st->svcs[i].type ||
		    (st->svcs[j].type == st->svcs[i].type && j < i)))
			return 0;
	return 1;
}

static void
dnssd_set(json_t *it, const char *key, const char *v)
{
	if (v && *v && !json_object_get(it, key))
		json_object_set_new(it, key, json_string(v));
}

static void
dnssd_add_service(struct discover_ctx *ctx, const struct dnssd_state *st, int i)
{
	const struct dnssd_svc *s = &st->svcs[i];
	char uri[600], name[DNSSD_NAME_MAX], mm[2 * DNSSD_TXT_VALUE_MAX];
	const char *lo = "127.0.0.1";
	json_t *it = json_object(), *types = json_array();

	discover_clean_text(s->name, strlen(s->name), name, sizeof(name));
	json_object_set_new(it, "name", json_string(name[0] ? name : s->addr));
	json_object_set_new(it, "connectionType", json_string("network"));
	json_object_set_new(it, "protocol", json_string(dnssd_types[s->type].protocol));
	json_object_set_new(it, "address", json_string(s->addr));
	json_object_set_new(it, "port", json_integer(s->port));
	snprintf(uri, sizeof(uri), "%s://%s:%d/%s", dnssd_types[s->type].scheme, s->addr,
	    s->port, s->type == 2 ? "" : s->txt.rp);
	json_object_set_new(it, "uri", json_string(uri));
	discover_add_svc_alias(it, s->name);
	/* Every type this service name has on this host is this one device. */
	for (int j = 0; j < st->nsvcs; j++) {
		const struct dnssd_svc *o = &st->svcs[j];
		const struct dnssd_txt *tx = &o->txt;

		if (!o->resolved || strcmp(o->name, s->name) || strcmp(o->host, s->host))
			continue;
		json_array_append_new(types, json_string(dnssd_types[o->type].type));
		discover_add_alias(it, o->addr, o->port);
		if (o->local)
			discover_add_alias(it, lo, o->port);
		dnssd_set(it, "uuid", tx->uuid);
		dnssd_set(it, "manufacturer", tx->usb_mfg);
		dnssd_set(it, "model", tx->usb_mdl);
		dnssd_set(it, "makeAndModel", tx->ty[0] ? tx->ty : tx->product);
		dnssd_set(it, "location", tx->note);
		if (o->type <= 1) {
			/* A service this machine publishes is queried over loopback. */
			snprintf(uri, sizeof(uri), "%s://%s:%d/%s", dnssd_types[o->type].scheme,
			    o->local ? lo : o->addr, o->port, tx->rp);
			discover_add_ipp_target(ctx, uri, "dnssd");
		}
	}
	if (!json_object_get(it, "makeAndModel") && json_object_get(it, "manufacturer") &&
	    json_object_get(it, "model")) {
		snprintf(mm, sizeof(mm), "%s %s",
		    json_string_value(json_object_get(it, "manufacturer")),
		    json_string_value(json_object_get(it, "model")));
		json_object_set_new(it, "makeAndModel", json_string(mm));
	}
	json_object_set_new(it, "capabilities", json_pack("{s:o}", "dnssdTypes", types));
	discover_add(ctx, it, "dnssd");
}

int
discover_dnssd(struct discover_ctx *ctx)
{
	AvahiServiceBrowser *browsers[DNSSD_NTYPES] = { NULL };
	struct dnssd_state st;
	int64_t deadline;
	int err = 0, nbrowsers = 0, rc = -1, added = 0;

	memset(&st, 0, sizeof(st));
	if ((st.svcs = calloc(DNSSD_MAX_SERVICES, sizeof(*st.svcs))) == NULL ||
	    (st.poll = avahi_simple_poll_new()) == NULL) {
		log_warnx("[DISCOVERY] dnssd: cannot create the avahi poll loop");
		free(st.svcs);
		return -1;
	}
	st.client = avahi_client_new(avahi_simple_poll_get(st.poll), 0, dnssd_client_cb, &st,
	    &err);
	if (!st.client) {
		log_warnx("[DISCOVERY] dnssd: the avahi daemon is not reachable (%s); DNS-SD "
		    "skipped, other sources go on", avahi_strerror(err));
		goto done;
	}
	for (int t = 0; t < DNSSD_NTYPES; t++) {
		browsers[t] = avahi_service_browser_new(st.client, AVAHI_IF_UNSPEC,
		    AVAHI_PROTO_INET, dnssd_types[t].type, NULL, 0, dnssd_browse_cb, &st);
		if (browsers[t])
			nbrowsers++;
		else
			log_warnx("[DISCOVERY] dnssd: cannot browse %s: %s", dnssd_types[t].type,
			    avahi_strerror(avahi_client_errno(st.client)));
	}
	deadline = clock_ms() + ctx->cfg->dnssd_browse_ms;
	if (deadline > ctx->deadline_ms)
		deadline = ctx->deadline_ms;
	while (nbrowsers > 0) {
		int64_t left = deadline - clock_ms();

		if (left <= 0 || (st.browsers_done >= nbrowsers && st.pending == 0))
			break;
		if (avahi_simple_poll_iterate(st.poll, (int)left) != 0)
			break;
	}
	if (st.pending > 0)
		log_info("[DISCOVERY] dnssd: %d service(s) still resolving after the browse "
		    "window; left out", st.pending);
	if (st.dropped)
		log_warnx("[DISCOVERY] dnssd: more than %d services; %d left out",
		    DNSSD_MAX_SERVICES, st.dropped);
	if (st.bad_txt)
		log_warnx("[DISCOVERY] dnssd: ignored %d malformed TXT entr%s", st.bad_txt,
		    st.bad_txt == 1 ? "y" : "ies");
	for (int i = 0; i < st.nsvcs; i++)
		if (st.svcs[i].resolved && dnssd_is_primary(&st, i)) {
			dnssd_add_service(ctx, &st, i);
			added++;
		}
	log_debug("[DISCOVERY] dnssd: %d service(s), %d printer(s)", st.nsvcs, added);
	rc = 0;
done:
	/* Freeing the client frees its browsers and any resolver still running,
	 * so no callback can reach svcs afterwards. */
	if (st.client)
		avahi_client_free(st.client);
	avahi_simple_poll_free(st.poll);
	free(st.svcs);
	return rc;
}
