// SPDX-License-Identifier: Apache-2.0
/*
 * FlowSpec routes through gobgpd, both ways.
 *
 * Received: every path of the RIB stream that a peer sent (it has a
 * "neighbor-ip"; ours do not) is validated (RFC 8955 section 6), held to
 * its peer's limit and compiled (user/lib/flowspec.c) into rules of origin
 * flowspec, which name the peer and the route. A changed route's new rules
 * go in before its old ones come out; a withdrawn route's rules come out.
 * The rules' orders start at BGP_ORDER_BASE, after every operator and
 * DDoS rule. After the speaker restarts, routes the new stream does not
 * show again within BGP_SWEEP_GRACE seconds are removed.
 *
 * Announced: each rule the DDoS engine installs is announced as the route
 * fs_route_from_rule() makes of it, if it is narrow enough (a /32 or /128
 * source, or the victim with a protocol or port), and withdrawn when the
 * rule goes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "bgp_priv.h"
#include "daemon.h"
#include "log.h"
#include "prefix.h"
#include "rule.h"

static const char *const status_names[] = {
	[FS_ST_INSTALLED] = "installed", [FS_ST_ACCEPT] = "accept",
	[FS_ST_REFUSED] = "refused",	 [FS_ST_UNSUPPORTED] = "unsupported",
	[FS_ST_IGNORED] = "ignored",
};

static const char *const reason_names[] = {
	[FS_R_NONE] = "",
	[FS_R_MALFORMED] = "malformed",
	[FS_R_UNMATCHABLE] = "unmatchable",
	[FS_R_EMPTY] = "empty",
	[FS_R_TOO_BIG] = "too-big",
	[FS_R_OVER_LIMIT] = "over-limit",
	[FS_R_INVALID] = "invalid",
	[FS_R_ENGINE] = "engine",
	[FS_R_NON_TERMINAL] = "non-terminal",
};

const char *fs_status_name(enum fs_status s)
{
	return s < FS_ST_COUNT ? status_names[s] : "?";
}

const char *fs_reason_name(enum fs_reason r)
{
	return r < FS_R_COUNT ? reason_names[r] : "?";
}

/* FNV-1a: a route's id from its peer and NLRI, the same after a restart. */
static __u32 fnv32(const char *a, const char *b)
{
	__u32 h = 2166136261U;
	const char *s;

	for (s = a; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619U;
	h = (h ^ ' ') * 16777619U;
	for (s = b; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619U;
	return h;
}

/* ---- unicast routes, for validation ------------------------------------ */

/* A unicast path a peer sent: what section 6 compares a FlowSpec
 * destination with. Kept in a list: validation is rare, tables small. */
struct unicast {
	struct fl_prefix p;
	char peer[48];
	__u32 first_as; /* the left-most AS of its AS_PATH; 0: empty */
	struct unicast *next;
};

static struct unicast *unicasts;

static void unicast_clear(void)
{
	struct unicast *u;

	while ((u = unicasts)) {
		unicasts = u->next;
		free(u);
	}
}

/* ---- one path of the stream -------------------------------------------- */

static struct json_object *attr_of(struct json_object *path, int type)
{
	struct json_object *attrs, *a, *t;
	size_t i;

	if (!json_object_object_get_ex(path, "attrs", &attrs) ||
	    !json_object_is_type(attrs, json_type_array))
		return NULL;
	for (i = 0; i < json_object_array_length(attrs); i++) {
		a = json_object_array_get_idx(attrs, i);
		if (json_object_object_get_ex(a, "type", &t) &&
		    json_object_get_int(t) == type)
			return a;
	}
	return NULL;
}

/* The AS_PATH's left-most AS, and whether the path has any AS at all. */
static __u32 first_as(struct json_object *path, bool *empty)
{
	struct json_object *a = attr_of(path, 2), *segs, *asns;
	size_t i;

	*empty = true;
	if (!a || !json_object_object_get_ex(a, "as_paths", &segs))
		return 0;
	for (i = 0; i < json_object_array_length(segs); i++) {
		struct json_object *s = json_object_array_get_idx(segs, i);

		if (json_object_object_get_ex(s, "asns", &asns) &&
		    json_object_array_length(asns)) {
			*empty = false;
			return json_object_get_int64(
				json_object_array_get_idx(asns, 0));
		}
	}
	return 0;
}

/* 4 or 6 from MP_REACH (gobgp prints it on withdrawals too), 0 for what
 * is not FlowSpec; *unicast for a unicast path. */
static int path_family(struct json_object *path, bool *unicast)
{
	struct json_object *mp = attr_of(path, 14), *v;
	int afi = 0, safi = 1;

	*unicast = false;
	if (mp) {
		if (json_object_object_get_ex(mp, "afi", &v))
			afi = json_object_get_int(v);
		if (json_object_object_get_ex(mp, "safi", &v))
			safi = json_object_get_int(v);
	} else {
		/* IPv4 unicast: a NEXT_HOP attribute, no MP_REACH */
		afi = attr_of(path, 3) ? 1 : 0;
	}
	if (safi == 1 && afi) {
		*unicast = true;
		return afi == 2 ? 6 : 4;
	}
	if (safi != 133)
		return 0;
	return afi == 2 ? 6 : 4;
}

static bool covers(const struct fl_prefix *outer, const struct fl_prefix *in);
static void revalidate(struct daemon *d, struct bgp *b,
		       const struct fl_prefix *p);

/* A peer's unicast path came or went: the FlowSpec routes whose
 * destination it covers are validated again. */
static void unicast_path(struct daemon *d, struct bgp *b,
			 struct json_object *path, const char *peer,
			 bool withdrawal)
{
	struct json_object *nlri, *v;
	struct unicast *u, **pp;
	struct fl_prefix p;
	char err[64];
	bool empty;

	if (!json_object_object_get_ex(path, "nlri", &nlri) ||
	    !json_object_object_get_ex(nlri, "prefix", &v) ||
	    fl_prefix_parse(json_object_get_string(v), &p, err, sizeof(err)))
		return;
	for (pp = &unicasts; (u = *pp); pp = &u->next)
		if (!strcmp(u->peer, peer) && u->p.family == p.family &&
		    u->p.len == p.len &&
		    !memcmp(&u->p.addr, &p.addr, sizeof(p.addr)))
			break;
	if (withdrawal) {
		if (u) {
			*pp = u->next;
			free(u);
			revalidate(d, b, &p);
		}
		return;
	}
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return;
		u->next = unicasts;
		unicasts = u;
	}
	u->p = p;
	snprintf(u->peer, sizeof(u->peer), "%s", peer);
	u->first_as = first_as(path, &empty);
	revalidate(d, b, &p);
}

static bool covers(const struct fl_prefix *outer, const struct fl_prefix *in)
{
	return outer->family == in->family && outer->len <= in->len &&
	       fl_prefix_contains(outer, in->family, &in->addr);
}

/*
 * RFC 8955 section 6: (a) a destination prefix; (b) the best unicast
 * route to it came from the peer that sent the FlowSpec route (RFC 9117:
 * or the route's AS_PATH is empty: a controller in our own AS); (c) no
 * more specific unicast route came from another AS; and from an eBGP peer
 * the left-most AS is the peer's. 0 or -EINVAL with @why.
 */
static int validate(struct bgp *b, const struct bgp_neighbor *nb,
		    const struct fs_received *e, char *why, size_t len)
{
	const struct fs_route *r = &e->route;
	const struct fs_component *dc = &r->c[FS_DST];
	const char *peer = e->peer;
	struct fl_prefix dst;
	struct unicast *u, *best = NULL;
	__u32 left = e->first_as, peer_as = nb ? nb->as : 0;
	bool empty = e->empty_path;
	bool ebgp = peer_as && peer_as != (nb->local_as ?: b->as);

	if (nb && nb->validate == BGP_VALIDATE_OFF)
		return 0;
	if (ebgp && !empty && left != peer_as) {
		snprintf(why, len,
			 "its AS_PATH starts with AS %u, not the peer's AS %u",
			 left, peer_as);
		return -EINVAL;
	}
	if (!dc->present) {
		snprintf(why, len,
			 "no destination prefix (RFC 8955 section 6)");
		return -EINVAL;
	}
	dst.family = r->family == 6 ? AF_INET6 : AF_INET;
	dst.len = dc->len;
	dst.addr = dc->addr;
	if (nb && nb->validate == BGP_VALIDATE_RFC9117 && empty)
		return 0; /* RFC 9117: a route from within the AS */
	for (u = unicasts; u; u = u->next)
		if (covers(&u->p, &dst) && (!best || u->p.len > best->p.len))
			best = u;
	if (!best || strcmp(best->peer, peer)) {
		snprintf(
			why, len,
			best ? "the best unicast route to its destination came from %s, not from this peer (RFC 8955 section 6)" :
			       "no unicast route covers its destination (RFC 8955 section 6)%s",
			best ? best->peer : "");
		return -EINVAL;
	}
	for (u = unicasts; u; u = u->next)
		if (u != best && covers(&dst, &u->p) && u->p.len > dst.len &&
		    u->first_as != best->first_as) {
			snprintf(
				why, len,
				"a more specific unicast route came from another AS (%u) (RFC 8955 section 6)",
				u->first_as);
			return -EINVAL;
		}
	return 0;
}

/* ---- received routes ---------------------------------------------------- */

static struct fs_received *by_route_id(struct bgp *b, __u32 id)
{
	struct fs_received *r;

	HASH_FIND(hh_id, b->received_by_id, &id, sizeof(id), r);
	return r;
}

static void rules_out(struct daemon *d, __u32 *ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		rules_del(d, ids[i], FL_ORIGIN_FLOWSPEC);
	free(ids);
}

static __u32 order_of(const struct fs_route *r)
{
	int max = r->family == 6 ? 128 : 32;
	int dl = r->c[FS_DST].present ? r->c[FS_DST].len : 0;
	int sl = r->c[FS_SRC].present ? r->c[FS_SRC].len : 0;

	/* more specific destinations first, then sources (RFC 8955 5.1
	 * orders by the destination first) */
	return BGP_ORDER_BASE + ((__u32)(max - dl) << 8) + (max - sl);
}

/* A route's status changed from or to installed: its neighbor's count. */
static void count_installed(struct bgp *b, const struct fs_received *e,
			    int delta)
{
	struct bgp_neighbor *nb = bgp_neighbor_find(b, e->peer);

	if (nb && (delta > 0 || nb->installed))
		nb->installed += delta;
}

static void set_refused(struct fs_received *e, enum fs_reason why,
			const char *text)
{
	e->status = FS_ST_REFUSED;
	e->reason = why;
	snprintf(e->why, sizeof(e->why), "%.255s", text);
}

/* What @e's route becomes now: its rules in (the old ones out after),
 * or the reason it has none. */
static void evaluate(struct daemon *d, struct bgp *b, struct fs_received *e)
{
	struct bgp_neighbor *nb = bgp_neighbor_find(b, e->peer);
	__u32 *old = e->rules, max;
	size_t nr_old = e->nr_rules, n = 0, i, bad;
	enum fs_refusal why = FS_OK;
	bool was_installed = e->status == FS_ST_INSTALLED;
	struct fl_rule *rules;
	char err[256];
	int ret;

	e->rules = NULL;
	e->nr_rules = 0;
	e->reason = FS_R_NONE;
	e->why[0] = '\0';
	e->redirect = e->route.redirect;
	if (!b->receive) {
		e->status = FS_ST_IGNORED;
		goto done;
	}
	if (validate(b, nb, e, err, sizeof(err))) {
		set_refused(e, FS_R_INVALID, err);
		goto done;
	}
	max = nb && nb->max ? nb->max : b->receive_max;
	if (!was_installed && nb && nb->installed >= max) {
		snprintf(err, sizeof(err),
			 "peer %s is at its limit of %u routes", e->peer, max);
		set_refused(e, FS_R_OVER_LIMIT, err);
		goto done;
	}
	rules = calloc(FS_EXPAND_DEFAULT, sizeof(*rules));
	if (!rules) {
		set_refused(e, FS_R_ENGINE, "out of memory");
		goto done;
	}
	ret = fs_compile(&e->route, rules, FS_EXPAND_DEFAULT, &n, &why, err,
			 sizeof(err));
	if (ret) {
		static const enum fs_reason map[FS_REFUSALS] = {
			[FS_MALFORMED] = FS_R_MALFORMED,
			[FS_UNMATCHABLE] = FS_R_UNMATCHABLE,
			[FS_EMPTY] = FS_R_EMPTY,
			[FS_TOO_BIG] = FS_R_TOO_BIG,
			[FS_NON_TERMINAL] = FS_R_NON_TERMINAL,
		};

		set_refused(e,
			    why < FS_REFUSALS && map[why] ? map[why] :
							    FS_R_MALFORMED,
			    err);
		free(rules);
		goto done;
	}
	if (!n) {
		e->status = e->redirect ? FS_ST_UNSUPPORTED : FS_ST_ACCEPT;
		free(rules);
		goto done;
	}
	for (i = 0; i < n; i++) {
		rules[i].order = order_of(&e->route);
		rules[i].origin = FL_RULE_FROM_FLOWSPEC;
		rules[i].peer_family = e->peer_family == AF_INET6 ? 6 : 4;
		rules[i].peer = e->peer_addr;
		rules[i].route = e->id;
	}
	ret = rules_add(d, rules, n, FL_ORIGIN_FLOWSPEC, &bad, err,
			sizeof(err));
	if (ret) {
		set_refused(e, FS_R_ENGINE, err);
		free(rules);
		goto done;
	}
	e->rules = calloc(n, sizeof(*e->rules));
	for (i = 0; e->rules && i < n; i++)
		e->rules[i] = rules[i].id;
	e->nr_rules = e->rules ? n : 0;
	free(rules);
	e->status = FS_ST_INSTALLED;
done:
	if (was_installed != (e->status == FS_ST_INSTALLED))
		count_installed(b, e, was_installed ? -1 : 1);
	if (e->redirect) {
		b->unsupported_redirect++;
		pr_warn("bgp: route from %s asks to redirect, which this box does not do: %s (%s)",
			e->peer, e->text,
			e->status == FS_ST_INSTALLED ?
				"its other actions are enforced" :
				"no rule");
	}
	b->count[e->status]++;
	/* sample: nothing to copy packets to here; the route is counted,
	 * and its rules count what they match */
	if (e->route.sample && e->status == FS_ST_INSTALLED)
		b->sampled++;
	if (e->status == FS_ST_REFUSED) {
		b->refused[e->reason]++;
		pr_warn("bgp: refused a route from %s (%s): %s: %s", e->peer,
			reason_names[e->reason], e->text, e->why);
	}
	rules_out(d, old, nr_old);
}

/* A unicast route came or went either way can make an installed route
 * invalid or an invalid one valid: a more specific route from another AS
 * (c), or a new best route from another peer (b), coming; or going. */
static void revalidate(struct daemon *d, struct bgp *b,
		       const struct fl_prefix *p)
{
	struct fs_received *r, *t;
	char why[sizeof(r->why)];

	HASH_ITER(hh, b->received, r, t) {
		bool was_invalid = r->reason == FS_R_INVALID, invalid;
		struct fl_prefix dst;

		if (!r->route.c[FS_DST].present ||
		    (!was_invalid && r->status != FS_ST_INSTALLED))
			continue;
		dst.family = r->route.family == 6 ? AF_INET6 : AF_INET;
		dst.len = r->route.c[FS_DST].len;
		dst.addr = r->route.c[FS_DST].addr;
		/* a route more or less specific than the destination can
		 * change (b) and (c) */
		if (!covers(p, &dst) && !covers(&dst, p))
			continue;
		invalid = validate(b, bgp_neighbor_find(b, r->peer), r, why,
				   sizeof(why)) != 0;
		if (invalid != was_invalid)
			evaluate(d, b, r);
		else if (invalid) /* still invalid: why may have changed */
			snprintf(r->why, sizeof(r->why), "%s", why);
	}
}

static void received_free(struct daemon *d, struct bgp *b,
			  struct fs_received *e)
{
	if (e->status == FS_ST_INSTALLED)
		count_installed(b, e, -1);
	rules_out(d, e->rules, e->nr_rules);
	HASH_DELETE(hh, b->received, e);
	HASH_DELETE(hh_id, b->received_by_id, e);
	free(e);
}

static struct fs_received *received_new(struct bgp *b, const char *key,
					__u32 id)
{
	struct fs_received *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	snprintf(e->key, sizeof(e->key), "%s", key);
	while (!id || by_route_id(b, id))
		id++;
	e->id = id;
	e->since = bgp_now();
	e->status = FS_ST_IGNORED; /* until evaluated: not installed */
	HASH_ADD_STR(b->received, key, e);
	HASH_ADD(hh_id, b->received_by_id, id, sizeof(e->id), e);
	return e;
}

static void flowspec_path(struct daemon *d, struct bgp *b,
			  struct json_object *path, int family,
			  const char *peer, bool withdrawal)
{
	struct json_object *nlri;
	struct fs_received *e;
	struct fs_route route;
	char key[sizeof(e->key)], err[256];
	const char *nlri_text;
	struct fl_prefix pa;
	__u32 id;

	if (!json_object_object_get_ex(path, "nlri", &nlri))
		return;
	nlri_text =
		json_object_to_json_string_ext(nlri, JSON_C_TO_STRING_PLAIN);
	snprintf(key, sizeof(key), "%s %s", peer, nlri_text);
	HASH_FIND_STR(b->received, key, e);
	if (withdrawal) {
		if (e) {
			b->withdrawn++;
			pr_info("bgp: %s withdrew %s", peer, e->text);
			received_free(d, b, e);
		}
		return;
	}
	if (fs_route_from_json(path, family, &route, err, sizeof(err))) {
		/* kept, refused, so that it is listed and its withdrawal
		 * finds it */
		if (!e)
			e = received_new(b, key, fnv32(peer, nlri_text));
		if (!e)
			return;
		snprintf(e->peer, sizeof(e->peer), "%s", peer);
		snprintf(e->text, sizeof(e->text), "ipv%d %.200s", family,
			 nlri_text);
		e->seen = true;
		rules_out(d, e->rules, e->nr_rules);
		e->rules = NULL;
		e->nr_rules = 0;
		if (e->status == FS_ST_INSTALLED)
			count_installed(b, e, -1);
		set_refused(e, FS_R_MALFORMED, err);
		b->count[FS_ST_REFUSED]++;
		b->refused[FS_R_MALFORMED]++;
		pr_warn("bgp: a route from %s does not parse: %s", peer, err);
		return;
	}
	id = fnv32(peer, nlri_text);
	if (!e) {
		struct fs_received *adopted = by_route_id(b, id);

		/* after a restart, the route whose rules are still in */
		if (adopted && !adopted->key[0]) {
			HASH_DELETE(hh_id, b->received_by_id, adopted);
			e = received_new(b, key, id);
			if (e) {
				e->rules = adopted->rules;
				e->nr_rules = adopted->nr_rules;
				e->status = FS_ST_INSTALLED;
			}
			free(adopted);
		} else {
			e = received_new(b, key, id);
		}
		if (!e)
			return;
	}
	snprintf(e->peer, sizeof(e->peer), "%s", peer);
	if (!fl_prefix_parse(peer, &pa, err, sizeof(err))) {
		e->peer_family = pa.family;
		e->peer_addr = pa.addr;
	}
	e->route = route;
	e->first_as = first_as(path, &e->empty_path);
	fs_route_format(&route, e->text, sizeof(e->text));
	e->seen = true;
	evaluate(d, b, e);
}

void fs_monitor_line(struct daemon *d, struct bgp *b, char *line)
{
	struct json_object *arr = json_tokener_parse(line), *path, *v;
	size_t i;

	if (!arr || !json_object_is_type(arr, json_type_array)) {
		b->bad_lines++;
		json_object_put(arr);
		return;
	}
	for (i = 0; i < json_object_array_length(arr); i++) {
		bool withdrawal = false, unicast;
		const char *peer;
		int family;

		path = json_object_array_get_idx(arr, i);
		/* ours have no neighbor: what we announce */
		if (!json_object_object_get_ex(path, "neighbor-ip", &v))
			continue;
		peer = json_object_get_string(v);
		if (json_object_object_get_ex(path, "withdrawal", &v))
			withdrawal = json_object_get_boolean(v);
		family = path_family(path, &unicast);
		if (!family)
			continue;
		if (unicast)
			unicast_path(d, b, path, peer, withdrawal);
		else
			flowspec_path(d, b, path, family, peer, withdrawal);
	}
	json_object_put(arr);
}

void fs_speaker_restarted(struct daemon *d, struct bgp *b)
{
	struct fs_received *r, *t;
	struct fs_announced *a, *at;

	unicast_clear();
	HASH_ITER(hh, b->received, r, t)
		r->seen = false;
	HASH_ITER(hh, b->announced, a, at) {
		a->sent = true;
		bgp_job(b, JOB_ANNOUNCE, a->rule,
			"global rib -a ipv%d-flowspec add %s", a->family,
			a->words);
	}
	(void)d;
}

void fs_sweep(struct daemon *d, struct bgp *b)
{
	struct fs_received *r, *t;
	size_t n = 0;

	HASH_ITER(hh_id, b->received_by_id, r, t) {
		if (r->seen)
			continue;
		n++;
		received_free(d, b, r);
	}
	if (n)
		pr_info("bgp: %zu received routes the speaker no longer has were removed",
			n);
}

void fs_drop_received(struct daemon *d, struct bgp *b, const char *peer)
{
	struct fs_received *r, *t;

	HASH_ITER(hh_id, b->received_by_id, r, t) {
		if (peer && strcmp(r->peer, peer))
			continue;
		if (peer || !r->key[0]) {
			received_free(d, b, r);
			continue;
		}
		rules_out(d, r->rules, r->nr_rules);
		r->rules = NULL;
		r->nr_rules = 0;
		if (r->status == FS_ST_INSTALLED)
			count_installed(b, r, -1);
		r->status = FS_ST_IGNORED;
	}
}

void fs_reevaluate(struct daemon *d, struct bgp *b)
{
	struct fs_received *r, *t;

	HASH_ITER(hh, b->received, r, t)
		if (r->status != FS_ST_INSTALLED)
			evaluate(d, b, r);
}

/* ---- flowlensd restarted -------------------------------------------------- */

static int adopt_one(const struct fl_rule_def *def, void *arg)
{
	struct bgp *b = arg;
	const struct fl_rule *rule = &def->rule;
	struct fs_received *e;
	__u32 *ids;

	if (rule->origin != FL_RULE_FROM_FLOWSPEC || !rule->route)
		return 0;
	e = by_route_id(b, rule->route);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return 0;
		e->id = rule->route;
		e->status = FS_ST_INSTALLED;
		e->peer_family = rule->peer_family == 6 ? AF_INET6 : AF_INET;
		e->peer_addr = rule->peer;
		inet_ntop(e->peer_family, &rule->peer, e->peer,
			  sizeof(e->peer));
		snprintf(
			e->text, sizeof(e->text),
			"(kept from before a restart, until the speaker shows it)");
		e->since = bgp_now();
		HASH_ADD(hh_id, b->received_by_id, id, sizeof(e->id), e);
		count_installed(b, e, 1);
	}
	ids = realloc(e->rules, (e->nr_rules + 1) * sizeof(*ids));
	if (!ids)
		return 0;
	e->rules = ids;
	e->rules[e->nr_rules++] = rule->id;
	return 0;
}

void fs_adopt_rules(struct daemon *d, struct bgp *b)
{
	rules_for_each(d, adopt_one, b);
	if (b->announce)
		fs_announce_all(d, b);
}

void fs_free(struct bgp *b)
{
	struct fs_received *r, *t;
	struct fs_announced *a, *at;

	HASH_ITER(hh_id, b->received_by_id, r, t) {
		if (r->key[0])
			HASH_DELETE(hh, b->received, r);
		HASH_DELETE(hh_id, b->received_by_id, r);
		free(r->rules);
		free(r);
	}
	HASH_ITER(hh, b->announced, a, at) {
		HASH_DEL(b->announced, a);
		free(a);
	}
	unicast_clear();
}

/* ---- announced routes ------------------------------------------------------ */

static bool host_prefix(int family, __u8 len)
{
	return len == (family == 6 ? 128 : 32);
}

/* Never a route that blackholes a customer's prefix: a single source, or
 * the victim with what the attack uses. */
static bool announceable(const struct fl_rule *r)
{
	if (r->action == FL_RULE_PERMIT || !r->family)
		return false;
	if ((r->fields & FL_RF_SRC) && host_prefix(r->family, r->src_len))
		return true;
	return (r->fields & FL_RF_DST) && host_prefix(r->family, r->dst_len) &&
	       (r->fields & (FL_RF_PROTO | FL_RF_SPORT | FL_RF_DPORT));
}

void fs_announce_key(struct bgp *b, const struct fl_rule *rule, __u32 key,
		     const char *by)
{
	struct fs_announced *a;
	struct fs_route route;
	char *argv[64], buf[1024];
	size_t off = 0;
	int n, i;

	HASH_FIND(hh, b->announced, &key, sizeof(key), a);
	if (a)
		return;
	if (!announceable(rule) || fs_route_from_rule(rule, &route)) {
		b->not_announceable++;
		return;
	}
	n = fs_route_args(&route, buf, sizeof(buf), argv, 64);
	if (n < 0) {
		b->not_announceable++;
		return;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return;
	a->rule = key;
	a->attack = rule->attack;
	snprintf(a->by, sizeof(a->by), "%s", by);
	a->family = rule->family;
	a->since = bgp_now();
	fs_route_format(&route, a->text, sizeof(a->text));
	for (i = 0; i < n && off < sizeof(a->words); i++)
		off += snprintf(a->words + off, sizeof(a->words) - off, "%s%s",
				i ? " " : "", argv[i]);
	HASH_ADD(hh, b->announced, rule, sizeof(a->rule), a);
	a->sent = true;
	b->announced_total++;
	pr_info("bgp: announcing %s (rule %u, attack %u)", a->text, a->rule,
		a->attack);
	bgp_job(b, JOB_ANNOUNCE, a->rule, "global rib -a ipv%d-flowspec add %s",
		a->family, a->words);
}

static void announce(struct bgp *b, const struct fl_rule *rule)
{
	fs_announce_key(b, rule, rule->id, "ddos");
}

static void withdraw(struct bgp *b, struct fs_announced *a)
{
	pr_info("bgp: withdrawing %s (rule %u)", a->text, a->rule);
	bgp_job(b, JOB_WITHDRAW, a->rule, "global rib -a ipv%d-flowspec del %s",
		a->family, a->words);
	b->withdrawn_total++;
	HASH_DEL(b->announced, a);
	free(a);
}

static int announce_one(const struct fl_rule_def *def, void *arg)
{
	if (def->rule.attack && def->rule.origin != FL_RULE_FROM_FLOWSPEC)
		announce(arg, &def->rule);
	return 0;
}

void fs_announce_all(struct daemon *d, struct bgp *b)
{
	rules_for_each(d, announce_one, b);
}

void fs_withdraw_all(struct daemon *d, struct bgp *b)
{
	struct fs_announced *a, *t;

	(void)d;
	HASH_ITER(hh, b->announced, a, t)
		withdraw(b, a);
}

void fs_withdraw_key(struct bgp *b, __u32 key)
{
	struct fs_announced *a;

	HASH_FIND(hh, b->announced, &key, sizeof(key), a);
	if (a)
		withdraw(b, a);
}

void fs_on_rule(void *ctx, const struct fl_event *ev)
{
	struct bgp *b = ctx;
	const struct fl_rule *rule = ev->rule.rule;
	struct fs_announced *a;

	if (ev->type == FL_EV_RULE_ADDED) {
		if (b->announce && ev->rule.origin == FL_ORIGIN_DDOS)
			announce(b, rule);
		return;
	}
	HASH_FIND(hh, b->announced, &rule->id, sizeof(rule->id), a);
	if (a)
		withdraw(b, a);
}

/* ---- JSON ------------------------------------------------------------------- */

struct json_object *fs_received_json(const struct fs_received *r)
{
	struct json_object *o = json_object_new_object(), *ids;
	size_t i;

	json_object_object_add(o, "id", json_object_new_int64(r->id));
	json_object_object_add(o, "peer", json_object_new_string(r->peer));
	json_object_object_add(o, "route", json_object_new_string(r->text));
	json_object_object_add(o, "status",
			       json_object_new_string(status_names[r->status]));
	json_object_object_add(
		o, "reason",
		r->reason ? json_object_new_string(reason_names[r->reason]) :
			    NULL);
	json_object_object_add(
		o, "why", r->why[0] ? json_object_new_string(r->why) : NULL);
	json_object_object_add(o, "redirect",
			       json_object_new_boolean(r->redirect));
	/* not yet shown again by a restarted speaker's stream */
	json_object_object_add(o, "stale", json_object_new_boolean(!r->seen));
	ids = json_object_new_array();
	for (i = 0; i < r->nr_rules; i++)
		json_object_array_add(ids, json_object_new_int64(r->rules[i]));
	json_object_object_add(o, "rules", ids);
	json_object_object_add(o, "age",
			       json_object_new_double(bgp_now() - r->since));
	return o;
}

struct json_object *fs_announced_json(const struct fs_announced *a)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "rule", json_object_new_int64(a->rule));
	json_object_object_add(o, "attack", json_object_new_int64(a->attack));
	json_object_object_add(o, "by", json_object_new_string(a->by));
	json_object_object_add(o, "route", json_object_new_string(a->text));
	json_object_object_add(o, "gobgp", json_object_new_string(a->words));
	json_object_object_add(o, "age",
			       json_object_new_double(bgp_now() - a->since));
	return o;
}

struct json_object *fs_counts_json(const struct bgp *b)
{
	struct json_object *o = json_object_new_object(), *rx, *ref;
	int i;

	rx = json_object_new_object();
	for (i = 0; i < FS_ST_COUNT; i++)
		json_object_object_add(rx, status_names[i],
				       json_object_new_uint64(b->count[i]));
	json_object_object_add(rx, "withdrawn",
			       json_object_new_uint64(b->withdrawn));
	json_object_object_add(rx, "redirect_unsupported",
			       json_object_new_uint64(b->unsupported_redirect));
	json_object_object_add(rx, "sampled",
			       json_object_new_uint64(b->sampled));
	json_object_object_add(
		rx, "routes",
		json_object_new_int(HASH_CNT(hh_id, b->received_by_id)));
	ref = json_object_new_object();
	for (i = 1; i < FS_R_COUNT; i++)
		json_object_object_add(ref, reason_names[i],
				       json_object_new_uint64(b->refused[i]));
	json_object_object_add(rx, "refused_by_reason", ref);
	json_object_object_add(o, "received", rx);
	rx = json_object_new_object();
	json_object_object_add(rx, "routes",
			       json_object_new_int(HASH_COUNT(b->announced)));
	json_object_object_add(rx, "announced",
			       json_object_new_uint64(b->announced_total));
	json_object_object_add(rx, "withdrawn",
			       json_object_new_uint64(b->withdrawn_total));
	json_object_object_add(rx, "not_announceable",
			       json_object_new_uint64(b->not_announceable));
	json_object_object_add(o, "announced", rx);
	json_object_object_add(o, "bad_lines",
			       json_object_new_uint64(b->bad_lines));
	return o;
}
