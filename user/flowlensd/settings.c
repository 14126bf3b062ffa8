// SPDX-License-Identifier: Apache-2.0
/*
 * Runtime settings. The pinned maps are the single source of truth: the
 * struct fl_config in FL_MAP_CONFIG and the protected-prefix LPM tries.
 * Every change is also written to the state file (state.c), which only
 * matters when the pins are gone (a reboot).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "log.h"
#include "module.h"
#include "units.h"
#include "flowlens.skel.h"

static const char *const malformed_names[] = {
	[FL_MALFORMED_PASS] = "pass",
	[FL_MALFORMED_DROP] = "drop",
};

static const char *const mode_names[FL_MODE_MAX] = {
#define FL_X_NAME(id, name) [FL_MODE_##id] = name,
	FL_MODES(FL_X_NAME)
#undef FL_X_NAME
};

const char *mode_name(unsigned int mode)
{
	return mode < FL_MODE_MAX ? mode_names[mode] : "unknown";
}

int mode_parse(const char *name)
{
	int i;

	for (i = 0; i < FL_MODE_MAX; i++)
		if (!strcmp(name, mode_names[i]))
			return i;
	return -EINVAL;
}

int settings_read(struct daemon *d, struct fl_config *cfg)
{
	__u32 key = 0;

	return bpf_map__lookup_elem(d->skel->maps.FL_MAP_CONFIG, &key,
				    sizeof(key), cfg, sizeof(*cfg), 0);
}

/*
 * The sketch counts per CPU and per epoch (2^FL_EPOCH_SHIFT ns), so the
 * thresholds the program compares against are the operator's rates scaled
 * to one epoch and shared out over the CPUs.
 */
static void derive_thresholds(struct daemon *d, struct fl_config *cfg)
{
	double epoch_s = (double)(1ULL << FL_EPOCH_SHIFT) / 1e9;

	cfg->heavy_packets = ceil(cfg->heavy_pps * epoch_s / d->ncpus);
	cfg->heavy_bytes = ceil(cfg->heavy_bps / 8.0 * epoch_s / d->ncpus);
	if (!cfg->heavy_packets)
		cfg->heavy_packets = 1;
	if (!cfg->heavy_bytes)
		cfg->heavy_bytes = 1;
}

int settings_write(struct daemon *d, const struct fl_config *cfg)
{
	struct fl_config copy = *cfg;
	__u32 key = 0;

	copy.mode = d->opt.mode;
	derive_thresholds(d, &copy);
	return bpf_map__update_elem(d->skel->maps.FL_MAP_CONFIG, &key,
				    sizeof(key), &copy, sizeof(copy), 0);
}

int settings_voip_want(struct daemon *d, unsigned int reason, bool on)
{
	unsigned int wants = on ? d->voip_wants | reason :
				  d->voip_wants & ~reason;
	struct fl_config cfg;
	int err;

	if (!wants == !d->voip_wants) {
		__atomic_store_n(&d->voip_wants, wants, __ATOMIC_RELAXED);
		return 0;
	}
	err = settings_read(d, &cfg);
	if (err)
		return err;
	if (wants)
		cfg.escalate_flags |= FL_ESCALATE_F_VOIP;
	else
		cfg.escalate_flags &= ~FL_ESCALATE_F_VOIP;
	err = settings_write(d, &cfg);
	if (!err)
		__atomic_store_n(&d->voip_wants, wants, __ATOMIC_RELAXED);
	return err;
}

bool sip_port(const struct daemon *d, __u16 port)
{
	int i;

	for (i = 0; i < FL_SIP_PORTS_MAX && d->sip_ports[i]; i++)
		if (d->sip_ports[i] == port)
			return true;
	return false;
}

/* Fresh maps get defaults; reused ones keep what they hold, but the mode
 * and the CPU count may have changed since. */
static int settings_init(struct daemon *d)
{
	struct fl_config cfg;
	int err;

	err = settings_read(d, &cfg);
	if (err)
		return err;
	if (!cfg.heavy_pps) {
		cfg.heavy_pps = FL_HEAVY_PPS_DEFAULT;
		cfg.heavy_bps = FL_HEAVY_BPS_DEFAULT;
		cfg.malformed_policy = FL_MALFORMED_PASS;
	}
	/* the modules that want VoIP flows escalated say so again */
	cfg.escalate_flags &= ~FL_ESCALATE_F_VOIP;
	if (!cfg.hash_seed && getrandom(&cfg.hash_seed, sizeof(cfg.hash_seed),
					0) != sizeof(cfg.hash_seed))
		cfg.hash_seed = 0x9e3779b97f4a7c15ULL ^ (__u64)time(NULL);
	return settings_write(d, &cfg);
}

struct json_object *settings_to_json(const struct fl_config *cfg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "mode",
			       json_object_new_string(mode_name(cfg->mode)));
	json_object_object_add(
		o, "malformed",
		json_object_new_string(
			malformed_names[cfg->malformed_policy & 1]));
	json_object_object_add(o, "heavy_pps",
			       json_object_new_uint64(cfg->heavy_pps));
	json_object_object_add(o, "heavy_bps",
			       json_object_new_uint64(cfg->heavy_bps));
	/* stage 7: set by flowlensd from --workers, not by config set */
	json_object_object_add(
		o, "escalate",
		json_object_new_string(cfg->escalate_flags & FL_ESCALATE_F_OFF ?
					       "off" :
					       "on"));
	json_object_object_add(
		o, "escalate_tcp",
		json_object_new_int(cfg->escalate_tcp ?:
							FL_ESCALATE_TCP_DEFAULT));
	json_object_object_add(
		o, "escalate_udp",
		json_object_new_int(cfg->escalate_udp ?:
							FL_ESCALATE_UDP_DEFAULT));
	json_object_object_add(
		o, "escalate_pps",
		json_object_new_int(cfg->escalate_pps ?:
							FL_ESCALATE_PPS_DEFAULT));
	return o;
}

int settings_set(struct daemon *d, const char *key, const char *value,
		 char *err, size_t errlen)
{
	struct fl_config cfg;
	uint64_t n;
	int ret;

	ret = settings_read(d, &cfg);
	if (ret) {
		snprintf(err, errlen, "cannot read settings: %s",
			 strerror(-ret));
		return ret;
	}

	if (!strcmp(key, "malformed")) {
		if (!strcmp(value, "pass")) {
			cfg.malformed_policy = FL_MALFORMED_PASS;
		} else if (!strcmp(value, "drop")) {
			cfg.malformed_policy = FL_MALFORMED_DROP;
		} else {
			snprintf(
				err, errlen,
				"malformed: '%s' is not a policy (pass or drop)",
				value);
			return -EINVAL;
		}
	} else if (!strcmp(key, "heavy-pps") || !strcmp(key, "heavy-bps")) {
		if (fl_parse_count(value, &n) || !n) {
			snprintf(
				err, errlen,
				"%s: '%s' is not a positive rate (e.g. 5000, 20k, 1M)",
				key, value);
			return -EINVAL;
		}
		if (key[6] == 'p')
			cfg.heavy_pps = n;
		else
			cfg.heavy_bps = n;
	} else if (!strcmp(key, "escalate-pps")) {
		if (fl_parse_count(value, &n) || !n ||
		    n > FL_ESCALATE_PPS_MAX) {
			snprintf(
				err, errlen,
				"escalate-pps: '%s' is not a rate from 1 to %u packets a second (e.g. 5000, 20k)",
				value, FL_ESCALATE_PPS_MAX);
			return -EINVAL;
		}
		cfg.escalate_pps = n;
	} else {
		snprintf(
			err, errlen,
			"unknown setting '%s' (malformed, heavy-pps, heavy-bps, escalate-pps)",
			key);
		return -EINVAL;
	}

	ret = settings_write(d, &cfg);
	if (ret) {
		snprintf(err, errlen, "cannot write settings: %s",
			 strerror(-ret));
		return ret;
	}
	state_save(d); /* logs a warning itself if it fails */
	return 0;
}

static void lpm_key(const struct fl_prefix *prefix, void *key)
{
	if (prefix->family == AF_INET) {
		struct fl_lpm4_key *k = key;

		k->prefixlen = prefix->len;
		memcpy(k->addr, prefix->addr.b, sizeof(k->addr));
	} else {
		struct fl_lpm6_key *k = key;

		k->prefixlen = prefix->len;
		memcpy(k->addr, prefix->addr.b, sizeof(k->addr));
	}
}

static struct bpf_map *protect_map(struct daemon *d, int family)
{
	return family == AF_INET ? d->skel->maps.FL_MAP_PROTECT4 :
				   d->skel->maps.FL_MAP_PROTECT6;
}

/*
 * An address's reason for exact counters is set when its entry is
 * created, so entries inside a prefix whose protection changed would keep
 * the old reason: a heavy hitter would not be sampled for the DDoS engine
 * once its prefix is protected, and a formerly protected address would
 * keep its counters. Their entries go; the next packet re-creates each
 * with the right reason (heavy hitters are flagged again by the sketch).
 * And track_gen moves on, so a flow accounted in batches (account.h)
 * learns at its next packet whether an address of its is protected now.
 */
static void retrack_prefix(struct daemon *d, const struct fl_prefix *prefix)
{
	struct bpf_map *map = prefix->family == AF_INET ?
				      d->skel->maps.FL_MAP_IP4_STATS :
				      d->skel->maps.FL_MAP_IP6_STATS;
	size_t key_size = bpf_map__key_size(map);
	struct fl_ip_entry *e, *tmp;
	struct fl_config cfg;
	struct fl_ip_id id;

	HASH_ITER(hh, d->ips, e, tmp) {
		if (!fl_prefix_contains(prefix, e->id.family, &e->id.addr))
			continue;
		id = e->id;
		bpf_map__delete_elem(map, id.addr.b, key_size, 0);
		rates_forget(d, e);
	}
	if (settings_read(d, &cfg))
		return;
	cfg.track_gen++;
	if (settings_write(d, &cfg))
		pr_warn("cannot move the program's track_gen on: flows in batches learn the new protection at their next flush");
}

int protect_add(struct daemon *d, const struct fl_prefix *prefix)
{
	struct bpf_map *map = protect_map(d, prefix->family);
	struct fl_lpm6_key key = {};
	struct fl_protect value = {};
	int err;

	lpm_key(prefix, &key);
	err = bpf_map__update_elem(map, &key, bpf_map__key_size(map), &value,
				   sizeof(value), BPF_NOEXIST);
	if (!err)
		retrack_prefix(d, prefix);
	return err;
}

int protect_del(struct daemon *d, const struct fl_prefix *prefix)
{
	struct bpf_map *map = protect_map(d, prefix->family);
	struct fl_lpm6_key key = {};
	int err;

	lpm_key(prefix, &key);
	err = bpf_map__delete_elem(map, &key, bpf_map__key_size(map), 0);
	if (!err)
		retrack_prefix(d, prefix);
	return err;
}

static int protect_walk(struct daemon *d, int family,
			int (*fn)(const struct fl_prefix *prefix, void *arg),
			void *arg)
{
	struct bpf_map *map = protect_map(d, family);
	size_t key_size = bpf_map__key_size(map);
	struct fl_lpm6_key key, next;
	struct fl_prefix prefix;
	void *prev = NULL;
	int ret;

	while (!bpf_map__get_next_key(map, prev, &next, key_size)) {
		memset(&prefix, 0, sizeof(prefix));
		prefix.family = family;
		prefix.len = next.prefixlen;
		memcpy(prefix.addr.b, next.addr, key_size - sizeof(__u32));
		ret = fn(&prefix, arg);
		if (ret)
			return ret;
		key = next;
		prev = &key;
	}
	return 0;
}

int protect_for_each(struct daemon *d,
		     int (*fn)(const struct fl_prefix *prefix, void *arg),
		     void *arg)
{
	int ret = protect_walk(d, AF_INET, fn, arg);

	return ret ?: protect_walk(d, AF_INET6, fn, arg);
}

/* Settings live in the pinned config map; the state file brings them back
 * after a reboot, when nothing was pinned. */
static int settings_open(struct daemon *d)
{
	int err = settings_init(d);

	if (err) {
		pr_err("cannot initialise settings: %s", strerror(-err));
		return err;
	}
	if (d->maps_were_pinned)
		pr_info("reusing pinned maps in %s: counters and settings carried over",
			d->pin_dir);
	else
		state_restore(d);
	state_save(d);
	return 0;
}

const struct fl_module settings_module = {
	.name = "settings",
	.open = settings_open,
	.save = state_save,
	.commands = settings_commands,
};
