// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * flowlens - the XDP program. Reads like the data flow in DESIGN.md; each
 * stage lives in its own header. Stages not listed here arrive with the
 * issues that build them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>
#include <flowlens/flowlens.h>

#include "layout.h"
#include "config.h"
#include "parse.h"
#include "stats.h"
#include "flowcache.h"
#include "account.h"
#include "allow.h"
#include "rules.h"
#include "synproxy.h"
#include "voip.h"
#include "forward.h"

/* libxdp run config: run early, let later programs see what we pass. */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(flowlens);

static __always_inline int malformed_action(const struct fl_config *cfg)
{
	return cfg->malformed_policy == FL_MALFORMED_DROP ? XDP_DROP : XDP_PASS;
}

/* 3. allowlist: a trusted source skips mitigation (counted) */
static __always_inline int mitigation_skipped(const struct fl_config *cfg,
					      struct fl_if_stats *stats,
					      const struct fl_packet *pkt)
{
	if (!stage_on(FL_STAGE_ALLOW) || !allowlisted(cfg, pkt))
		return 0;
	stats->allowlisted++;
	return 1;
}

SEC("xdp")
int flowlens(struct xdp_md *ctx)
{
	const struct fl_config *cfg = config_get();
	struct fl_if_stats *stats = if_stats_get(ctx);
	struct fl_flow *flow = NULL;
	struct fl_packet pkt = {};
	int err, exempt, act, sip_slot = -1;
	int sip = FL_SIP_KIND_NONE; /* the SIP stage's kind of packet */
	bool cached, looked; /* stages 6-7 want it; its flow was looked up */
	int dir = 0; /* the packet's direction in its flow (flow_find) */

	/* Neither can fail once the maps exist; fail open regardless. */
	if (!cfg || !stats)
		return XDP_PASS;

	/* 1. parse: bad headers are counted and never trusted */
	err = parse_packet(ctx, &pkt);
	count_packet(stats, &pkt, err);

	/* The packet's flow, once, for stages 2 and 6. Not for a SYN: it
	 * is never batched, and a SYN flood - answered by stage 5 or not -
	 * must not pay a lookup that misses; stage 6 looks for its flow. */
	cached = stage_on(FL_STAGE_FLOWCACHE) && !err &&
		 flow_cache_wanted(cfg, &pkt);
	looked = cached && !packet_is_syn(&pkt);
	if (looked)
		flow = flow_find(&pkt, &dir);

	/* 2. account: whatever has validated addresses, malformed L4 too,
	 *    so a flood of broken packets still shows up per source; before
	 *    mitigation, so the rates the DDoS engine reads still show a
	 *    flood that a rule is dropping. A classified flow's packets in
	 *    batches, through its entry. */
	if (stage_on(FL_STAGE_ACCOUNT) && pkt.has_l3 &&
	    !account_batched(cfg, &pkt, flow))
		account_packet(cfg, &pkt, flow);
	/*    ... and SIP methods, per protected host and heavy sender */
	if (stage_on(FL_STAGE_VOIP) && cfg->voip && pkt.has_l4 &&
	    (pkt.l4_proto == FL_IPPROTO_UDP ||
	     pkt.l4_proto == FL_IPPROTO_TCP) &&
	    sip_wanted(&pkt))
		sip = sip_count(ctx, &pkt, &sip_slot);

	/* 8. forward: a SPAN port's copies go nowhere, broken or not;
	 *    the rules still count what they would have done, and the
	 *    flows are classified (6, 7) as anywhere else */
	if (cfg->mode == FL_MODE_MONITOR) {
		if (err)
			return verdict(stats, XDP_DROP);
		if (stage_on(FL_STAGE_RULES) &&
		    !mitigation_skipped(cfg, stats, &pkt))
			rules_apply(NULL, &pkt);
		if (cached && flow_cache(ctx, cfg, &pkt, stats, flow, looked,
					 dir) == XDP_REDIRECT)
			return verdict(stats, XDP_REDIRECT);
		return verdict(stats, XDP_DROP);
	}
	if (err) {
		if (cfg->mode == FL_MODE_ROUTER &&
		    malformed_action(cfg) == XDP_PASS)
			stats->fwd_pass[FL_FWD_PASS_MALFORMED]++;
		return verdict(stats, malformed_action(cfg));
	}
	/* 3. allowlist, 4. rules: RULES_PERMIT exempts the packet from
	 *    later mitigation stages. */
	exempt = mitigation_skipped(cfg, stats, &pkt);
	if (stage_on(FL_STAGE_RULES) && !exempt) {
		int r = rules_apply(ctx, &pkt);

		if (r == RULES_DROP)
			return verdict(stats, XDP_DROP);
		exempt = r == RULES_PERMIT;
	}
	/*    ... and a flooded host's method limiter (VoIP) */
	if (sip_slot >= 0 && !exempt && sip_limited(&pkt, sip))
		return verdict(stats, XDP_DROP);

	/* 5. synproxy: SYNs to a protected service answered with cookies
	 *    (a TCP packet, and only while there are services: no call) */
	act = stage_on(FL_STAGE_SYNPROXY) && synproxy_wanted(cfg, &pkt) ?
		      synproxy_packet(ctx, cfg, &pkt, exempt) :
		      SP_NONE;
	if (act != SP_NONE) {
		if (act == XDP_PASS && cfg->mode == FL_MODE_ROUTER)
			stats->fwd_pass[FL_FWD_PASS_SYNPROXY]++;
		return verdict(stats, act);
	}

	/* 6. flow cache: a classified flow's cached verdict and its
	 *    application policy (drop, police, re-mark, steer);
	 * 7. escalate: a flow still being classified (or VoIP) to its
	 *    queue's worker, or on to stage 8 if there is none */
	if (cached) {
		/* A global function's result is any number to the verifier:
		 * count constants, not act. */
		act = flow_cache(ctx, cfg, &pkt, stats, flow, looked, dir);
		if (act == XDP_REDIRECT)
			return verdict(stats, XDP_REDIRECT);
		if (act == XDP_PASS)
			return verdict(stats, XDP_PASS);
		if (act == XDP_DROP) /* an application policy */
			return verdict(stats, XDP_DROP);
	}

	/* 8. forward - router: the FIB decides; host: everything to the
	 *    local stack */
	if (stage_on(FL_STAGE_FORWARD) && cfg->mode == FL_MODE_ROUTER)
		return forward_packet(ctx, &pkt, stats);
	return verdict(stats, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
