// SPDX-License-Identifier: Apache-2.0
/*
 * flowlensd's application-policy matcher (user/flowlensd/policy_match.c),
 * on flows made up here: what a worker or flowlensd's pass over the flow
 * cache decides for each direction of a classified flow.
 *
 * One policy at a time, on a table of {policy, flow, does it match each
 * direction}: by app (the app or the master protocol: TLS.YouTube is
 * YouTube and TLS), category, risk, SNI (exact, or '*.' the domain and the
 * names under it, never a name that merely ends so), JA3C, with dev and
 * from/to. Then whole tables, sorted as flowlensd sorts them: the lowest
 * order wins (the lower id between equals), a permit stops the policies
 * after it, and each direction gets its own policy.
 *
 * The names are resolved to nDPI's ids when a policy is added, so the
 * matcher sees ids only: nDPI's own for the protocols; the category and
 * risk numbers are any (their names are checked in test_policy.sh).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <ndpi/ndpi_protocol_ids.h>

#include "policy.h"
#include "prefix.h"
#include "test_progs.h"

#define CAT_WEB 5
#define CAT_VIDEO 27
#define RISK_XSS 1
#define RISK_SELF_SIGNED 10
#define JA3C_FIREFOX "6734f37431670b3ab4292b8f60f29984"
#define JA3C_OTHER "6734f37431670b3ab4292b8f60f29985"
#define IF_CLIENT 3 /* the interface the flows came in on */
#define IF_OTHER 4

static union fl_addr addr(const char *text)
{
	struct fl_prefix p;
	char err[128];

	if (fl_prefix_parse(text, &p, err, sizeof(err)))
		test__fail(__FILE__, __LINE__, "bad address %s: %s", text, err);
	return p.addr;
}

/* The flows: a YouTube video over TLS (IPv4), and plain HTTP (IPv6) with
 * no SNI, JA3 or risk. Packets from key.lo are direction 0. */
static struct fl_flow_key yt_key, http_key;
static struct policy_flow yt, http;

static void flows_make(void)
{
	yt_key = (struct fl_flow_key){
		.lo = addr("192.0.2.10"),
		.hi = addr("198.51.100.20"),
		.lo_port = htons(50000),
		.hi_port = htons(443),
		.proto = 6,
		.family = 4,
	};
	yt = (struct policy_flow){
		.key = &yt_key,
		.ifindex = IF_CLIENT,
		.app = NDPI_PROTOCOL_YOUTUBE,
		.master = NDPI_PROTOCOL_TLS,
		.category = CAT_VIDEO,
		.risk = 1ULL << RISK_SELF_SIGNED,
		.sni = "www.youtube.com",
		.ja3c = JA3C_FIREFOX,
	};
	http_key = (struct fl_flow_key){
		.lo = addr("2001:db8::1"),
		.hi = addr("2001:db8:1::2"),
		.lo_port = htons(80),
		.hi_port = htons(40000),
		.proto = 6,
		.family = 6,
	};
	http = (struct policy_flow){
		.key = &http_key,
		.ifindex = IF_CLIENT,
		.app = NDPI_PROTOCOL_HTTP,
		.category = CAT_WEB,
		.sni = "",
		.ja3c = "",
	};
}

/* The policy parts a test sets: a kind and its value, dev, from/to. */
struct pdesc {
	enum pm_kind kind;
	int value_id;
	const char *value;
	int ifindex;
	enum pm_dir dir;
	const char *prefix;
};

static struct policy_def def_make(const struct pdesc *d)
{
	struct policy_def p = {
		.kind = d->kind,
		.value_id = d->value_id,
		.ifindex = d->ifindex,
		.dir = d->dir,
	};
	char err[128];

	snprintf(p.value, sizeof(p.value), "%s", d->value ?: "");
	if (d->prefix &&
	    fl_prefix_parse(d->prefix, &p.prefix, err, sizeof(err)))
		test__fail(__FILE__, __LINE__, "bad prefix %s: %s", d->prefix,
			   err);
	return p;
}

/* Directions: the packets from key.lo (0), from key.hi (1). */
enum { NONE = 0, FROM_LO = 1, FROM_HI = 2, BOTH = 3 };

static const struct {
	const char *name;
	struct pdesc p;
	enum { YT, HTTP } flow;
	unsigned int match; /* the directions it matches */
} single[] = {
	/* app: the app or the master protocol */
	{ "app YouTube: TLS.YouTube by its app",
	  { .kind = PM_APP, .value_id = NDPI_PROTOCOL_YOUTUBE },
	  YT,
	  BOTH },
	{ "app TLS: TLS.YouTube by its master",
	  { .kind = PM_APP, .value_id = NDPI_PROTOCOL_TLS },
	  YT,
	  BOTH },
	{ "app HTTP: not TLS.YouTube",
	  { .kind = PM_APP, .value_id = NDPI_PROTOCOL_HTTP },
	  YT,
	  NONE },
	{ "app HTTP: HTTP",
	  { .kind = PM_APP, .value_id = NDPI_PROTOCOL_HTTP },
	  HTTP,
	  BOTH },
	{ "app TLS: not HTTP",
	  { .kind = PM_APP, .value_id = NDPI_PROTOCOL_TLS },
	  HTTP,
	  NONE },
	{ "app Unknown: not HTTP, whose master is none (0)",
	  { .kind = PM_APP, .value_id = NDPI_PROTOCOL_UNKNOWN },
	  HTTP,
	  NONE },
	/* category */
	{ "category Video: YouTube",
	  { .kind = PM_CATEGORY, .value_id = CAT_VIDEO },
	  YT,
	  BOTH },
	{ "category Web: not YouTube",
	  { .kind = PM_CATEGORY, .value_id = CAT_WEB },
	  YT,
	  NONE },
	{ "category Web: HTTP",
	  { .kind = PM_CATEGORY, .value_id = CAT_WEB },
	  HTTP,
	  BOTH },
	/* risk: one bit of the flow's bitmap */
	{ "risk self-signed: YouTube's",
	  { .kind = PM_RISK, .value_id = RISK_SELF_SIGNED },
	  YT,
	  BOTH },
	{ "risk xss: not YouTube's",
	  { .kind = PM_RISK, .value_id = RISK_XSS },
	  YT,
	  NONE },
	{ "risk self-signed: not HTTP (no risk)",
	  { .kind = PM_RISK, .value_id = RISK_SELF_SIGNED },
	  HTTP,
	  NONE },
	/* sni: exact */
	{ "sni www.youtube.com: exact",
	  { .kind = PM_SNI, .value = "www.youtube.com" },
	  YT,
	  BOTH },
	{ "sni WWW.YouTube.COM: case-blind",
	  { .kind = PM_SNI, .value = "WWW.YouTube.COM" },
	  YT,
	  BOTH },
	{ "sni youtube.com: exact, not a suffix",
	  { .kind = PM_SNI, .value = "youtube.com" },
	  YT,
	  NONE },
	{ "sni m.youtube.com",
	  { .kind = PM_SNI, .value = "m.youtube.com" },
	  YT,
	  NONE },
	{ "sni ww.youtube.com: exact, not a tail",
	  { .kind = PM_SNI, .value = "ww.youtube.com" },
	  YT,
	  NONE },
	/* sni: '*.' */
	{ "sni *.youtube.com: a name under it",
	  { .kind = PM_SNI, .value = "*.youtube.com" },
	  YT,
	  BOTH },
	{ "sni *.www.youtube.com: the domain itself",
	  { .kind = PM_SNI, .value = "*.www.youtube.com" },
	  YT,
	  BOTH },
	{ "sni *.tube.com: not across a label",
	  { .kind = PM_SNI, .value = "*.tube.com" },
	  YT,
	  NONE },
	{ "sni *.m.www.youtube.com: not a name above it",
	  { .kind = PM_SNI, .value = "*.m.www.youtube.com" },
	  YT,
	  NONE },
	{ "sni *.com: not a flow with no SNI",
	  { .kind = PM_SNI, .value = "*.com" },
	  HTTP,
	  NONE },
	/* ja3c */
	{ "ja3c: the client's",
	  { .kind = PM_JA3C, .value = JA3C_FIREFOX },
	  YT,
	  BOTH },
	{ "ja3c: another", { .kind = PM_JA3C, .value = JA3C_OTHER }, YT, NONE },
	{ "ja3c: not a flow with none",
	  { .kind = PM_JA3C, .value = JA3C_FIREFOX },
	  HTTP,
	  NONE },
	/* dev */
	{ "dev: the flow's",
	  { .kind = PM_APP,
	    .value_id = NDPI_PROTOCOL_YOUTUBE,
	    .ifindex = IF_CLIENT },
	  YT,
	  BOTH },
	{ "dev: another",
	  { .kind = PM_APP,
	    .value_id = NDPI_PROTOCOL_YOUTUBE,
	    .ifindex = IF_OTHER },
	  YT,
	  NONE },
	{ "dev: gone (-1)",
	  { .kind = PM_APP, .value_id = NDPI_PROTOCOL_YOUTUBE, .ifindex = -1 },
	  YT,
	  NONE },
	{ "dev: the app must match too",
	  { .kind = PM_APP,
	    .value_id = NDPI_PROTOCOL_HTTP,
	    .ifindex = IF_CLIENT },
	  YT,
	  NONE },
	/* from/to: one direction each */
	{ "from 192.0.2.0/24: the client's packets",
	  { .kind = PM_APP,
	    .value_id = NDPI_PROTOCOL_YOUTUBE,
	    .dir = PD_FROM,
	    .prefix = "192.0.2.0/24" },
	  YT,
	  FROM_LO },
	{ "to 192.0.2.0/24: the server's packets",
	  { .kind = PM_APP,
	    .value_id = NDPI_PROTOCOL_YOUTUBE,
	    .dir = PD_TO,
	    .prefix = "192.0.2.0/24" },
	  YT,
	  FROM_HI },
	{ "to 198.51.100.20: the client's packets",
	  { .kind = PM_APP,
	    .value_id = NDPI_PROTOCOL_YOUTUBE,
	    .dir = PD_TO,
	    .prefix = "198.51.100.20" },
	  YT,
	  FROM_LO },
	{ "to 203.0.113.0/24: neither",
	  { .kind = PM_APP,
	    .value_id = NDPI_PROTOCOL_YOUTUBE,
	    .dir = PD_TO,
	    .prefix = "203.0.113.0/24" },
	  YT,
	  NONE },
	{ "to 2001:db8::/32: not an IPv4 flow",
	  { .kind = PM_APP,
	    .value_id = NDPI_PROTOCOL_YOUTUBE,
	    .dir = PD_TO,
	    .prefix = "2001:db8::/32" },
	  YT,
	  NONE },
	{ "from 2001:db8::/48: IPv6, key.lo's packets",
	  { .kind = PM_APP,
	    .value_id = NDPI_PROTOCOL_HTTP,
	    .dir = PD_FROM,
	    .prefix = "2001:db8::/48" },
	  HTTP,
	  FROM_LO },
	{ "to 2001:db8::/48: IPv6, key.hi's packets",
	  { .kind = PM_APP,
	    .value_id = NDPI_PROTOCOL_HTTP,
	    .dir = PD_TO,
	    .prefix = "2001:db8::/48" },
	  HTTP,
	  FROM_HI },
	{ "from 2001:db8::/48 dev another: dev still counts",
	  { .kind = PM_APP,
	    .value_id = NDPI_PROTOCOL_HTTP,
	    .ifindex = IF_OTHER,
	    .dir = PD_FROM,
	    .prefix = "2001:db8::/48" },
	  HTTP,
	  NONE },
};

void test_policy_match_one(void)
{
	struct policy_def p;
	size_t i;

	flows_make();
	for (i = 0; i < ARRAY_SIZE(single); i++) {
		const struct policy_flow *f = single[i].flow == HTTP ? &http :
								       &yt;

		test__case("%s", single[i].name);
		p = def_make(&single[i].p);
		ASSERT_EQ(policy_def_matches(&p, f, 0),
			  !!(single[i].match & FROM_LO),
			  "matches direction 0 (from key.lo)");
		ASSERT_EQ(policy_def_matches(&p, f, 1),
			  !!(single[i].match & FROM_HI),
			  "matches direction 1 (from key.hi)");
	}
}

/* A policy of a table: its id, order and slot, and what it matches. */
struct tdef {
	__u32 id, order;
	__u16 slot;
	__u8 action;
	struct pdesc p;
};

#define TABLE_MAX 4

static const struct {
	const char *name;
	struct tdef defs[TABLE_MAX]; /* in the order added (by id) */
	int flow; /* YT or HTTP */
	__u16 slots[2];
} tables[] = {
	{ "no policies", {}, YT, { 0, 0 } },
	{ "the lowest order wins, not the first added",
	  { { 1,
	      200,
	      11,
	      FL_POLICY_DROP,
	      { .kind = PM_APP, .value_id = NDPI_PROTOCOL_YOUTUBE } },
	    { 2,
	      100,
	      12,
	      FL_POLICY_MARK,
	      { .kind = PM_CATEGORY, .value_id = CAT_VIDEO } } },
	  YT,
	  { 12, 12 } },
	{ "equal orders: the lower id",
	  { { 4,
	      100,
	      14,
	      FL_POLICY_DROP,
	      { .kind = PM_SNI, .value = "*.youtube.com" } },
	    { 3,
	      100,
	      13,
	      FL_POLICY_MARK,
	      { .kind = PM_JA3C, .value = JA3C_FIREFOX } } },
	  YT,
	  { 13, 13 } },
	{ "permit stops the policies after it",
	  { { 1,
	      20,
	      21,
	      FL_POLICY_DROP,
	      { .kind = PM_SNI, .value = "*.youtube.com" } },
	    { 2,
	      10,
	      22,
	      FL_POLICY_PERMIT,
	      { .kind = PM_APP, .value_id = NDPI_PROTOCOL_TLS } },
	    { 3,
	      30,
	      23,
	      FL_POLICY_DROP,
	      { .kind = PM_CATEGORY, .value_id = CAT_VIDEO } } },
	  YT,
	  { 22, 22 } },
	{ "a permit that does not match stops nothing",
	  { { 1,
	      20,
	      21,
	      FL_POLICY_DROP,
	      { .kind = PM_SNI, .value = "*.youtube.com" } },
	    { 2,
	      10,
	      22,
	      FL_POLICY_PERMIT,
	      { .kind = PM_APP, .value_id = NDPI_PROTOCOL_HTTP } } },
	  YT,
	  { 21, 21 } },
	{ "each direction its own: permit from the client, drop the rest",
	  { { 1,
	      20,
	      31,
	      FL_POLICY_DROP,
	      { .kind = PM_APP, .value_id = NDPI_PROTOCOL_YOUTUBE } },
	    { 2,
	      10,
	      32,
	      FL_POLICY_PERMIT,
	      { .kind = PM_APP,
		.value_id = NDPI_PROTOCOL_YOUTUBE,
		.dir = PD_FROM,
		.prefix = "192.0.2.0/24" } } },
	  YT,
	  { 32, 31 } },
	{ "none of them matches",
	  { { 1,
	      20,
	      41,
	      FL_POLICY_DROP,
	      { .kind = PM_APP, .value_id = NDPI_PROTOCOL_YOUTUBE } },
	    { 2,
	      10,
	      42,
	      FL_POLICY_PERMIT,
	      { .kind = PM_SNI, .value = "*.example.com" } },
	    { 3,
	      5,
	      43,
	      FL_POLICY_DROP,
	      { .kind = PM_APP,
		.value_id = NDPI_PROTOCOL_HTTP,
		.ifindex = IF_OTHER } } },
	  HTTP,
	  { 0, 0 } },
	{ "HTTP: only the policy for key.hi's packets",
	  { { 1,
	      20,
	      51,
	      FL_POLICY_DROP,
	      { .kind = PM_CATEGORY,
		.value_id = CAT_WEB,
		.dir = PD_FROM,
		.prefix = "2001:db8:1::/48" } },
	    { 2,
	      10,
	      52,
	      FL_POLICY_PERMIT,
	      { .kind = PM_CATEGORY, .value_id = CAT_VIDEO } } },
	  HTTP,
	  { 0, 51 } },
};

/* The table flowlensd publishes: the policies sorted with policy_def_cmp,
 * as policy.c keeps them, then copied in that order (table_publish()). */
static struct policy_table *table_make(const struct tdef *defs)
{
	struct policy_def all[TABLE_MAX], *sorted[TABLE_MAX];
	struct policy_table *t;
	size_t i, n;

	for (n = 0; n < TABLE_MAX && defs[n].id; n++) {
		all[n] = def_make(&defs[n].p);
		all[n].id = defs[n].id;
		all[n].order = defs[n].order;
		all[n].slot = defs[n].slot;
		all[n].action = defs[n].action;
		sorted[n] = &all[n];
	}
	qsort(sorted, n, sizeof(sorted[0]), policy_def_cmp);
	t = calloc(1, sizeof(*t) + n * sizeof(t->defs[0]));
	if (!t)
		return NULL;
	t->n = n;
	for (i = 0; i < n; i++)
		t->defs[i] = *sorted[i];
	return t;
}

void test_policy_match_table(void)
{
	struct policy_table *t;
	__u16 slots[2];
	size_t i;

	flows_make();
	for (i = 0; i < ARRAY_SIZE(tables); i++) {
		test__case("%s", tables[i].name);
		t = table_make(tables[i].defs);
		if (!ASSERT_TRUE(t != NULL, "table"))
			return;
		slots[0] = slots[1] = 0xffff;
		policy_table_match(t, tables[i].flow == HTTP ? &http : &yt,
				   slots);
		ASSERT_EQ(slots[0], tables[i].slots[0],
			  "slot of direction 0 (from key.lo)");
		ASSERT_EQ(slots[1], tables[i].slots[1],
			  "slot of direction 1 (from key.hi)");
		free(t);
	}
	test__case("no table yet (NULL)");
	slots[0] = slots[1] = 0xffff;
	policy_table_match(NULL, &yt, slots);
	ASSERT_EQ(slots[0], 0, "slot of direction 0");
	ASSERT_EQ(slots[1], 0, "slot of direction 1");
}
