// SPDX-License-Identifier: Apache-2.0
/*
 * The SYN proxy's control plane (stage 5 of DESIGN.md; the contract is
 * include/flowlens/synproxy.h, the datapath bpf/synproxy.h).
 *
 * A service is an address and a TCP port. flowlensd keeps the list here,
 * sorted, and mirrors it in three places:
 *   - the pinned maps: FL_MAP_SYNPROXY (key -> MSS and window scale), a
 *     zeroed per-CPU counter entry in FL_MAP_SYNPROXY_STATS, and
 *     fl_config.synproxy_services (0 skips the stage in XDP);
 *   - nftables: one table, inet flowlens_synproxy, rewritten in a single
 *     transaction (libnftables) on every change, that leaves SYNs to the
 *     service untracked and lets netfilter's synproxy open the connection
 *     to the server once a cookie ACK comes through XDP;
 *   - sysctl net.netfilter.nf_conntrack_tcp_loose = 0 (conntrack must not
 *     pick up a connection from an ACK alone: that ACK is synproxy's).
 * The table goes, and the sysctl gets its old value back, when the last
 * service goes and on a clean shutdown; after a crash both stay, and the
 * next flowlensd takes them up again.
 *
 * SYNPROXY_FILE, next to the state file, is rewritten on every change:
 * the services (restored from it when the maps start empty, after a
 * reboot), whether the table is installed and the sysctl's old value
 * (both needed after a crash).
 *
 *   {"format": "flowlens-synproxy", "version": 2, "saved_at": ...,
 *    "services": [{"addr": ..., "port": ..., "mss": ..., "wscale": ...}],
 *    "nft_table": true, "tcp_loose_saved": 1}
 *
 * (user/lib/persist.c writes it; version 1 had the same keys, no "format".)
 *
 * On a change the order keeps every packet answered by one side or the
 * other: a new service gets its nftables rules before XDP answers for it,
 * and a removed one leaves XDP before its rules go.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <nftables/libnftables.h>

#include "daemon.h"
#include "log.h"
#include "module.h"
#include "persist.h"
#include "flowlens.skel.h"

#define SYNPROXY_FILE "synproxy.json"

static const struct fl_persist_format synproxy_format = {
	.name = "flowlens-synproxy",
	.version = 2,
	.legacy_version = 1, /* the same keys, no "format" */
};
#define SYNPROXY_TABLE "inet flowlens_synproxy"
#define SYSCTL_TCP_LOOSE "/proc/sys/net/netfilter/nf_conntrack_tcp_loose"
#define SYSCTL_TCP_TIMESTAMPS "/proc/sys/net/ipv4/tcp_timestamps"
#define SYNPROXY_MSS_MIN 536
#define SYNPROXY_MSS_MAX 9000

struct synproxy_service {
	struct fl_synproxy_key key;
	struct fl_synproxy_conf conf;
};

struct synproxy {
	struct bpf_map *conf_map; /* NULL: the BPF object has no SYN proxy */
	struct bpf_map *stats_map;
	struct synproxy_service *services; /* sorted, FL_SYNPROXY_MAX */
	int nr_services;
	bool table; /* inet flowlens_synproxy is (or may be) installed */
	int tcp_loose_saved; /* the sysctl before we set it; -1: untouched */
	char path[512];
};

static const char *const counter_names[FL_SP_COUNT] = {
#define FL_X_NAME(id, name) [FL_SP_##id] = name,
	FL_SYNPROXY_COUNTERS(FL_X_NAME)
#undef FL_X_NAME
};

/* ---- services ---- */

static int key_family(const struct fl_synproxy_key *key)
{
	return key->family == 4 ? AF_INET : AF_INET6;
}

static const char *key_addr(const struct fl_synproxy_key *key, char *buf,
			    size_t len)
{
	return fl_addr_format(key_family(key), &key->addr, buf, len);
}

static int service_cmp(const void *a, const void *b)
{
	const struct fl_synproxy_key *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->addr.b, y->addr.b, sizeof(x->addr.b));
	if (c)
		return c;
	return (int)ntohs(x->port) - (int)ntohs(y->port);
}

static int service_find(const struct synproxy *sp,
			const struct fl_synproxy_key *key)
{
	int i;

	for (i = 0; i < sp->nr_services; i++)
		if (!service_cmp(&sp->services[i].key, key))
			return i;
	return -1;
}

bool synproxy_covers(const struct daemon *d, int family,
		     const union fl_addr *addr, int port)
{
	const struct synproxy *sp = d->synproxy;
	int i;

	for (i = 0; sp && i < sp->nr_services; i++) {
		const struct fl_synproxy_key *k = &sp->services[i].key;

		if (key_family(k) == family &&
		    !memcmp(&k->addr, addr, sizeof(*addr)) &&
		    (port < 0 || ntohs(k->port) == port))
			return true;
	}
	return false;
}

static void service_insert(struct synproxy *sp,
			   const struct synproxy_service *s)
{
	int i = 0;

	while (i < sp->nr_services &&
	       service_cmp(&sp->services[i].key, &s->key) < 0)
		i++;
	memmove(&sp->services[i + 1], &sp->services[i],
		(sp->nr_services - i) * sizeof(*s));
	sp->services[i] = *s;
	sp->nr_services++;
}

static void service_remove(struct synproxy *sp, int i)
{
	memmove(&sp->services[i], &sp->services[i + 1],
		(sp->nr_services - i - 1) * sizeof(sp->services[0]));
	sp->nr_services--;
}

/* "198.51.100.2 port 80" */
static const char *service_name(const struct fl_synproxy_key *key, char *buf,
				size_t len)
{
	char addr[FL_PREFIX_STRLEN];

	snprintf(buf, len, "%s port %u", key_addr(key, addr, sizeof(addr)),
		 ntohs(key->port));
	return buf;
}

static struct json_object *service_json(const struct synproxy_service *s)
{
	struct json_object *o = json_object_new_object();
	char addr[FL_PREFIX_STRLEN];

	json_object_object_add(
		o, "addr",
		json_object_new_string(key_addr(&s->key, addr, sizeof(addr))));
	json_object_object_add(o, "port",
			       json_object_new_int(ntohs(s->key.port)));
	json_object_object_add(o, "mss", json_object_new_int(s->conf.mss));
	json_object_object_add(o, "wscale",
			       json_object_new_int(s->conf.wscale));
	return o;
}

/*
 * An integer member of a request or of the file: -ENOENT if absent,
 * -EINVAL (with err naming it) if not a number in [min, max].
 */
static int json_int_in(struct json_object *o, const char *name, long long min,
		       long long max, long long *value, char *err,
		       size_t errlen)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v))
		return -ENOENT;
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "%s must be a number from %lld to %lld",
			 name, min, max);
		return -EINVAL;
	}
	*value = json_object_get_int64(v);
	if (*value < min || *value > max) {
		snprintf(err, errlen,
			 "%s must be a number from %lld to %lld, not %lld",
			 name, min, max, *value);
		return -EINVAL;
	}
	return 0;
}

static int json_key(struct json_object *o, bool need_port,
		    struct fl_synproxy_key *key, char *err, size_t errlen)
{
	struct fl_prefix prefix;
	struct json_object *v;
	const char *text;
	long long port;
	int ret;

	memset(key, 0, sizeof(*key));
	if (!json_object_object_get_ex(o, "addr", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "missing \"addr\"");
		return -EINVAL;
	}
	text = json_object_get_string(v);
	ret = fl_prefix_parse(text, &prefix, err, errlen);
	if (ret)
		return ret;
	if (prefix.len != (prefix.family == AF_INET ? 32 : 128)) {
		snprintf(err, errlen, "'%s' is a prefix; give one address",
			 text);
		return -EINVAL;
	}
	key->family = prefix.family == AF_INET ? 4 : 6;
	memcpy(key->addr.b, prefix.addr.b, prefix.family == AF_INET ? 4 : 16);

	ret = json_int_in(o, "port", 1, 65535, &port, err, errlen);
	if (ret == -ENOENT && need_port) {
		snprintf(err, errlen, "missing \"port\"");
		return -EINVAL;
	}
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	key->port = htons(port);
	return 0;
}

/* A service as a request or the file gives it: addr, port, mss?, wscale? */
static int json_service(struct json_object *o, struct synproxy_service *s,
			char *err, size_t errlen)
{
	long long v;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = json_key(o, true, &s->key, err, errlen);
	if (ret)
		return ret;
	s->conf.mss = FL_SYNPROXY_MSS_DEFAULT;
	s->conf.wscale = FL_SYNPROXY_WSCALE_DEFAULT;
	ret = json_int_in(o, "mss", SYNPROXY_MSS_MIN, SYNPROXY_MSS_MAX, &v, err,
			  errlen);
	if (!ret)
		s->conf.mss = v;
	else if (ret != -ENOENT)
		return ret;
	ret = json_int_in(o, "wscale", 0, FL_SYNPROXY_WSCALE_MAX, &v, err,
			  errlen);
	if (!ret)
		s->conf.wscale = v;
	else if (ret != -ENOENT)
		return ret;
	return 0;
}

/* ---- the file ---- */

static int synproxy_fill(struct json_object *root, void *arg)
{
	struct synproxy *sp = arg;
	struct json_object *list;
	int i;

	list = json_object_new_array();
	for (i = 0; i < sp->nr_services; i++)
		json_object_array_add(list, service_json(&sp->services[i]));
	json_object_object_add(root, "services", list);
	json_object_object_add(root, "nft_table",
			       json_object_new_boolean(sp->table));
	json_object_object_add(
		root, "tcp_loose_saved",
		sp->tcp_loose_saved < 0 ?
			NULL :
			json_object_new_int(sp->tcp_loose_saved));
	return 0;
}

static int synproxy_save(struct daemon *d)
{
	return fl_persist_save(d->synproxy->path, &synproxy_format,
			       synproxy_fill, d->synproxy);
}

/* Reads the file; its services go to @from_file (the caller decides). */
static void synproxy_load(struct daemon *d, struct synproxy_service *from_file,
			  int *nr_from_file)
{
	struct synproxy *sp = d->synproxy;
	struct json_object *root, *list, *v;
	int ret, version;
	char err[512];
	size_t i, n;

	*nr_from_file = 0;
	ret = fl_persist_load(sp->path, &synproxy_format, &root, &version, err,
			      sizeof(err));
	if (ret == -ENOENT)
		return;
	if (ret) {
		pr_warn("synproxy: %s; no SYN proxy services restored", err);
		return;
	}
	if (json_object_object_get_ex(root, "nft_table", &v))
		sp->table = json_object_get_boolean(v);
	if (json_object_object_get_ex(root, "tcp_loose_saved", &v) &&
	    json_object_is_type(v, json_type_int))
		sp->tcp_loose_saved = json_object_get_int(v);
	if (json_object_object_get_ex(root, "services", &list) &&
	    json_object_is_type(list, json_type_array)) {
		n = json_object_array_length(list);
		for (i = 0; i < n && *nr_from_file < FL_SYNPROXY_MAX; i++) {
			if (json_service(json_object_array_get_idx(list, i),
					 &from_file[*nr_from_file], err,
					 sizeof(err))) {
				pr_warn("%s: service %zu: %s", sp->path, i,
					err);
				continue;
			}
			(*nr_from_file)++;
		}
	}
	json_object_put(root);
}

/* ---- the system: nftables and sysctls ---- */

/*
 * nft's error text names the failure on its first line, then repeats the
 * command and marks the culprit with carets: keep the text lines.
 */
static void nft_error_text(const char *text, char *err, size_t errlen)
{
	const char *line = text, *end;
	size_t used = 0;

	err[0] = '\0';
	while (line && *line && used + 1 < errlen) {
		end = strchrnul(line, '\n');
		if (strspn(line, " \t^~") < (size_t)(end - line)) {
			used += snprintf(err + used, errlen - used, "%s%.*s",
					 used ? ": " : "", (int)(end - line),
					 line);
			if (used >= errlen)
				break;
		}
		line = *end ? end + 1 : NULL;
	}
	if (!err[0])
		snprintf(err, errlen, "nft failed without a message");
}

static int nft_run(const char *script, char *err, size_t errlen)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	char text[480];
	int ret = 0;

	if (!nft) {
		snprintf(err, errlen, "nft: cannot create a context");
		return -ENOMEM;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	if (nft_run_cmd_from_buffer(nft, script)) {
		nft_error_text(nft_ctx_get_error_buffer(nft), text,
			       sizeof(text));
		snprintf(err, errlen, "nft: %s", text);
		pr_debug("nft failed on:\n%s", script);
		ret = -EIO;
	}
	nft_ctx_free(nft);
	return ret;
}

static bool same_group(const struct synproxy_service *a,
		       const struct synproxy_service *b)
{
	return a->key.family == b->key.family && a->conf.mss == b->conf.mss &&
	       a->conf.wscale == b->conf.wscale;
}

/* services4, or services4_mss1460_wscale7 for a group */
static const char *set_name(const struct synproxy_service *s, bool group,
			    char *buf, size_t len)
{
	if (group)
		snprintf(buf, len, "services%u_mss%u_wscale%u", s->key.family,
			 s->conf.mss, s->conf.wscale);
	else
		snprintf(buf, len, "services%u", s->key.family);
	return buf;
}

/* The named set of @first's family, or of its group (family, MSS and
 * window scale): address . port elements. */
static void nft_set(FILE *f, const struct synproxy_service *services, int nr,
		    const struct synproxy_service *first, bool group)
{
	char name[64], addr[FL_PREFIX_STRLEN];
	const char *sep = " ";
	int i;

	fprintf(f,
		"\tset %s {\n"
		"\t\ttype %s . inet_service\n"
		"\t\telements = {",
		set_name(first, group, name, sizeof(name)),
		first->key.family == 4 ? "ipv4_addr" : "ipv6_addr");
	for (i = 0; i < nr; i++) {
		const struct synproxy_service *s = &services[i];

		if (group ? !same_group(s, first) :
			    s->key.family != first->key.family)
			continue;
		fprintf(f, "%s%s . %u", sep,
			key_addr(&s->key, addr, sizeof(addr)),
			ntohs(s->key.port));
		sep = ", ";
	}
	fprintf(f, " }\n\t}\n");
}

/* Whether services[i] is the first of its family (or group). */
static bool first_of(const struct synproxy_service *services, int i, bool group)
{
	int j;

	for (j = 0; j < i; j++)
		if (group ? same_group(&services[j], &services[i]) :
			    services[j].key.family == services[i].key.family)
			return false;
	return true;
}

/*
 * The whole table, replaced in one transaction: adding it first makes the
 * delete succeed whether or not it was there. With no services, only the
 * first two lines: the table goes.
 *
 * The services are sets, so a packet costs one lookup however many there
 * are: services4 and services6 hold every service of a family, and one
 * set per family, MSS and window scale feeds the synproxy statement with
 * those settings (usually one or two).
 */
static char *nft_script(const struct synproxy_service *services, int nr)
{
	static const char *const filter_hooks[] = { "input", "forward" };
	char *buf = NULL, name[64];
	size_t len = 0;
	unsigned int h;
	FILE *f;
	int i;

	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fprintf(f, "add table " SYNPROXY_TABLE "\n");
	fprintf(f, "delete table " SYNPROXY_TABLE "\n");
	if (!nr)
		goto out;
	fprintf(f, "table " SYNPROXY_TABLE " {\n");
	for (i = 0; i < nr; i++) {
		if (first_of(services, i, false))
			nft_set(f, services, nr, &services[i], false);
		if (first_of(services, i, true))
			nft_set(f, services, nr, &services[i], true);
	}
	/* SYNs XDP could not answer reach synproxy untracked. */
	fprintf(f,
		"\tchain prerouting {\n"
		"\t\ttype filter hook prerouting priority raw; policy accept;\n");
	for (i = 0; i < nr; i++)
		if (first_of(services, i, false))
			fprintf(f,
				"\t\t%s daddr . tcp dport @%s tcp flags & (fin|syn|rst|ack) == syn notrack\n",
				services[i].key.family == 4 ? "ip" : "ip6",
				set_name(&services[i], false, name,
					 sizeof(name)));
	fprintf(f, "\t}\n");
	/* A cookie ACK is invalid to conntrack (tcp_loose 0): synproxy's. */
	for (h = 0; h < sizeof(filter_hooks) / sizeof(filter_hooks[0]); h++) {
		fprintf(f,
			"\tchain %1$s {\n"
			"\t\ttype filter hook %1$s priority filter; policy accept;\n",
			filter_hooks[h]);
		for (i = 0; i < nr; i++)
			if (first_of(services, i, true))
				fprintf(f,
					"\t\t%s daddr . tcp dport @%s ct state invalid,untracked synproxy mss %u wscale %u timestamp sack-perm\n",
					services[i].key.family == 4 ? "ip" :
								      "ip6",
					set_name(&services[i], true, name,
						 sizeof(name)),
					services[i].conf.mss,
					services[i].conf.wscale);
		for (i = 0; i < nr; i++)
			if (first_of(services, i, false))
				fprintf(f,
					"\t\t%s daddr . tcp dport @%s ct state invalid drop\n",
					services[i].key.family == 4 ? "ip" :
								      "ip6",
					set_name(&services[i], false, name,
						 sizeof(name)));
		fprintf(f, "\t}\n");
	}
	fprintf(f, "}\n");
out:
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int sysctl_read(const char *path, int *value)
{
	FILE *f = fopen(path, "r");
	int ret = 0;

	if (!f)
		return -errno;
	if (fscanf(f, "%d", value) != 1)
		ret = -EIO;
	fclose(f);
	return ret;
}

static int sysctl_write(const char *path, int value)
{
	FILE *f = fopen(path, "w");
	int ret = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%d\n", value) < 0)
		ret = -EIO;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

/* nf_conntrack_tcp_loose to 0, the old value in the file first. */
static void tcp_loose_off(struct daemon *d)
{
	struct synproxy *sp = d->synproxy;
	int value, err;

	err = sysctl_read(SYSCTL_TCP_LOOSE, &value);
	if (err) {
		pr_warn("synproxy: cannot read %s: %s (the SYN proxy needs it at 0)",
			SYSCTL_TCP_LOOSE, strerror(-err));
		return;
	}
	if (sp->tcp_loose_saved < 0) {
		sp->tcp_loose_saved = value;
		synproxy_save(d);
	}
	if (value == 0)
		return;
	err = sysctl_write(SYSCTL_TCP_LOOSE, 0);
	if (err)
		pr_warn("synproxy: cannot set %s to 0: %s", SYSCTL_TCP_LOOSE,
			strerror(-err));
	else
		pr_info("synproxy: net.netfilter.nf_conntrack_tcp_loose = 0 (was %d)",
			value);
}

static void tcp_loose_restore(struct daemon *d)
{
	struct synproxy *sp = d->synproxy;
	int err;

	if (sp->tcp_loose_saved < 0)
		return;
	err = sysctl_write(SYSCTL_TCP_LOOSE, sp->tcp_loose_saved);
	if (err)
		pr_warn("synproxy: cannot restore %s to %d: %s",
			SYSCTL_TCP_LOOSE, sp->tcp_loose_saved, strerror(-err));
	else
		pr_info("synproxy: net.netfilter.nf_conntrack_tcp_loose = %d again",
			sp->tcp_loose_saved);
	sp->tcp_loose_saved = -1;
}

/*
 * The client's window scale and SACK permission ride in the timestamp of
 * the cookie SYN-ACK: without timestamps on this box, netfilter's
 * synproxy cannot read them back. Returns the warning, or NULL.
 */
static const char *timestamps_warning(void)
{
	int value;

	if (sysctl_read(SYSCTL_TCP_TIMESTAMPS, &value) || value)
		return NULL;
	return "net.ipv4.tcp_timestamps is 0: proxied connections lose window scaling and SACK (sysctl -w net.ipv4.tcp_timestamps=1)";
}

/*
 * Brings nftables and the sysctl in line with the first @nr services (all
 * of them, or 0 on shutdown): the table replaced, or removed, in one
 * transaction, then tcp_loose set or restored.
 */
static int system_sync(struct daemon *d, int nr, char *err, size_t errlen)
{
	struct synproxy *sp = d->synproxy;
	char *script;
	int ret;

	if (!nr && !sp->table && sp->tcp_loose_saved < 0)
		return 0; /* never installed: do not load nf_tables for nothing */
	script = nft_script(sp->services, nr);
	if (!script) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (nr && !sp->table) {
		/* Recorded before it exists, so a crash cannot lose it. */
		sp->table = true;
		synproxy_save(d);
	}
	ret = nft_run(script, err, errlen);
	free(script);
	if (!ret && nr) {
		tcp_loose_off(d);
	} else if (!ret) {
		sp->table = false;
		tcp_loose_restore(d);
	}
	synproxy_save(d);
	return ret;
}

/* ---- the maps ---- */

static int config_count_write(struct daemon *d)
{
	struct fl_config cfg;
	int err = settings_read(d, &cfg);

	if (err)
		return err;
	cfg.synproxy_services = d->synproxy->nr_services;
	return settings_write(d, &cfg);
}

/* A service's counters from zero (@fresh) or kept if they exist. */
static int stats_create(struct daemon *d, const struct fl_synproxy_key *key,
			bool fresh)
{
	struct synproxy *sp = d->synproxy;
	size_t size = d->ncpus * sizeof(struct fl_synproxy_stats);
	void *zero = calloc(1, size);
	int err;

	if (!zero)
		return -ENOMEM;
	err = bpf_map__update_elem(sp->stats_map, key, sizeof(*key), zero, size,
				   fresh ? BPF_ANY : BPF_NOEXIST);
	free(zero);
	return err == -EEXIST ? 0 : err;
}

static int stats_read(struct daemon *d, const struct fl_synproxy_key *key,
		      struct fl_synproxy_stats *sum)
{
	struct synproxy *sp = d->synproxy;
	struct fl_synproxy_stats *percpu;
	int cpu, i, err;

	memset(sum, 0, sizeof(*sum));
	percpu = calloc(d->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	err = bpf_map__lookup_elem(sp->stats_map, key, sizeof(*key), percpu,
				   d->ncpus * sizeof(*percpu), 0);
	if (!err)
		for (cpu = 0; cpu < d->ncpus; cpu++)
			for (i = 0; i < FL_SP_COUNT; i++)
				sum->c[i] += percpu[cpu].c[i];
	free(percpu);
	return err == -ENOENT ? 0 : err;
}

static int conf_write(struct daemon *d, const struct synproxy_service *s)
{
	return bpf_map__update_elem(d->synproxy->conf_map, &s->key,
				    sizeof(s->key), &s->conf, sizeof(s->conf),
				    BPF_ANY);
}

static int conf_delete(struct daemon *d, const struct fl_synproxy_key *key)
{
	int err = bpf_map__delete_elem(d->synproxy->conf_map, key, sizeof(*key),
				       0);

	return err == -ENOENT ? 0 : err;
}

/* The services the pinned map holds (a restart), sorted. */
static int services_from_map(struct daemon *d)
{
	struct synproxy *sp = d->synproxy;
	struct fl_synproxy_key key, next;
	struct synproxy_service s;
	void *prev = NULL;

	while (!bpf_map__get_next_key(sp->conf_map, prev, &next,
				      sizeof(next)) &&
	       sp->nr_services < FL_SYNPROXY_MAX) {
		s.key = next;
		if (!bpf_map__lookup_elem(sp->conf_map, &next, sizeof(next),
					  &s.conf, sizeof(s.conf), 0))
			service_insert(sp, &s);
		key = next;
		prev = &key;
	}
	return sp->nr_services;
}

/* ---- open and close ---- */

static int synproxy_open(struct daemon *d)
{
	struct synproxy_service *from_file = NULL;
	struct synproxy *sp;
	char err[512], *copy;
	const char *warning;
	int i, nr_from_file, ret;

	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	d->synproxy = sp;
	sp->tcp_loose_saved = -1;
	copy = strdup(d->opt.state_path);
	snprintf(sp->path, sizeof(sp->path), "%s/" SYNPROXY_FILE,
		 copy ? dirname(copy) : ".");
	free(copy);

	sp->conf_map = bpf_object__find_map_by_name(
		d->skel->obj, FL_STRINGIFY(FL_MAP_SYNPROXY));
	sp->stats_map = bpf_object__find_map_by_name(
		d->skel->obj, FL_STRINGIFY(FL_MAP_SYNPROXY_STATS));
	if (!sp->conf_map || !sp->stats_map) {
		/* The file is left as it is, for a flowlensd that has them. */
		sp->conf_map = sp->stats_map = NULL;
		pr_warn("synproxy: the BPF object has no %s and %s maps: no SYN proxy",
			FL_STRINGIFY(FL_MAP_SYNPROXY),
			FL_STRINGIFY(FL_MAP_SYNPROXY_STATS));
		return 0;
	}
	sp->services = calloc(FL_SYNPROXY_MAX, sizeof(*sp->services));
	from_file = calloc(FL_SYNPROXY_MAX, sizeof(*from_file));
	if (!sp->services || !from_file) {
		free(from_file);
		return -ENOMEM;
	}

	synproxy_load(d, from_file, &nr_from_file);
	/* The pinned map is the truth; the file only when it starts empty
	 * (after a reboot; the file mirrors the map, so an empty map with
	 * services in the file means the pins were lost). */
	if (!services_from_map(d)) {
		for (i = 0; i < nr_from_file; i++) {
			ret = conf_write(d, &from_file[i]);
			if (ret) {
				pr_warn("synproxy: cannot restore %s: %s",
					service_name(&from_file[i].key, err,
						     sizeof(err)),
					strerror(-ret));
				continue;
			}
			service_insert(sp, &from_file[i]);
		}
		if (sp->nr_services)
			pr_info("synproxy: restored %d service%s from %s",
				sp->nr_services,
				sp->nr_services == 1 ? "" : "s", sp->path);
	}
	free(from_file);
	/* Counters survive a restart; a service restored from the file
	 * starts from zero. */
	for (i = 0; i < sp->nr_services; i++) {
		ret = stats_create(d, &sp->services[i].key, false);
		if (ret)
			pr_warn("synproxy: cannot create the counters of %s: %s",
				service_name(&sp->services[i].key, err,
					     sizeof(err)),
				strerror(-ret));
	}
	ret = config_count_write(d);
	if (ret)
		pr_warn("synproxy: cannot write the service count: %s",
			strerror(-ret));

	/* After a crash the table is still there: replaced all the same. */
	if (system_sync(d, sp->nr_services, err, sizeof(err)))
		pr_err("synproxy: %s; SYNs are answered in XDP, but no proxied connection reaches the server until this is fixed",
		       err);
	else if (sp->nr_services)
		pr_info("synproxy: %d service%s, nftables table %s installed",
			sp->nr_services, sp->nr_services == 1 ? "" : "s",
			SYNPROXY_TABLE);
	warning = timestamps_warning();
	if (sp->nr_services && warning)
		pr_warn("synproxy: %s", warning);
	synproxy_save(d);
	return 0;
}

/*
 * A clean shutdown takes the table down and restores the sysctl; the
 * services stay in the maps and the file, and the next flowlensd puts both
 * back. (After a crash this never runs: both stay, and XDP keeps
 * answering.)
 */
static void synproxy_close(struct daemon *d)
{
	struct synproxy *sp = d->synproxy;
	char err[512];

	if (!sp)
		return;
	if (sp->conf_map) {
		if (sp->table || sp->tcp_loose_saved >= 0) {
			if (system_sync(d, 0, err, sizeof(err)))
				pr_warn("synproxy: cannot remove nftables table %s: %s",
					SYNPROXY_TABLE, err);
			else
				pr_info("synproxy: removed nftables table %s",
					SYNPROXY_TABLE);
		}
		synproxy_save(d);
	}
	free(sp->services);
	free(sp);
	d->synproxy = NULL;
}

/* ---- control requests ---- */

static int need_maps(struct daemon *d, char *err, size_t errlen)
{
	if (d->synproxy && d->synproxy->conf_map)
		return 0;
	snprintf(err, errlen,
		 "this flowlensd's BPF object has no SYN proxy (no %s map)",
		 FL_STRINGIFY(FL_MAP_SYNPROXY));
	return -EOPNOTSUPP;
}

static int cmd_synproxy_add(struct daemon *d, struct json_object *req,
			    struct json_object **data, char *err, size_t errlen)
{
	struct synproxy_service s, old;
	struct synproxy *sp = d->synproxy;
	char name[FL_PREFIX_STRLEN + 16], why[512];
	const char *warning;
	int i, ret;

	ret = need_maps(d, err, errlen);
	if (ret)
		return ret;
	ret = json_service(req, &s, err, errlen);
	if (ret)
		return ret;
	service_name(&s.key, name, sizeof(name));

	i = service_find(sp, &s.key);
	if (i >= 0) {
		/* New settings: nftables first, then what XDP advertises. */
		old = sp->services[i];
		sp->services[i].conf = s.conf;
		ret = system_sync(d, sp->nr_services, err, errlen);
		if (!ret) {
			ret = conf_write(d, &s);
			if (ret)
				snprintf(err, errlen, "cannot update %s: %s",
					 name, strerror(-ret));
		}
		if (ret) {
			sp->services[i] = old;
			system_sync(d, sp->nr_services, why, sizeof(why));
			return ret;
		}
		pr_info("synproxy: %s: mss %u wscale %u (was mss %u wscale %u)",
			name, s.conf.mss, s.conf.wscale, old.conf.mss,
			old.conf.wscale);
	} else {
		if (sp->nr_services == FL_SYNPROXY_MAX) {
			snprintf(err, errlen,
				 "cannot add %s: all %d services in use", name,
				 FL_SYNPROXY_MAX);
			return -ENOSPC;
		}
		/* nftables first, so a cookie ACK always finds synproxy. */
		service_insert(sp, &s);
		ret = system_sync(d, sp->nr_services, err, errlen);
		if (!ret) {
			ret = stats_create(d, &s.key, true);
			if (!ret)
				ret = conf_write(d, &s);
			if (!ret)
				ret = config_count_write(d);
			if (ret)
				snprintf(err, errlen, "cannot add %s: %s", name,
					 strerror(-ret));
		}
		if (ret) {
			conf_delete(d, &s.key);
			bpf_map__delete_elem(sp->stats_map, &s.key,
					     sizeof(s.key), 0);
			service_remove(sp, service_find(sp, &s.key));
			config_count_write(d);
			system_sync(d, sp->nr_services, why, sizeof(why));
			return ret;
		}
		pr_info("synproxy: %s added (mss %u wscale %u)", name,
			s.conf.mss, s.conf.wscale);
	}
	synproxy_save(d);

	*data = json_object_new_object();
	json_object_object_add(*data, "service", service_json(&s));
	json_object_object_add(*data, "updated",
			       json_object_new_boolean(i >= 0));
	if (i >= 0)
		json_object_object_add(*data, "was", service_json(&old));
	warning = timestamps_warning();
	if (warning)
		pr_warn("synproxy: %s", warning);
	json_object_object_add(*data, "warning",
			       warning ? json_object_new_string(warning) :
					 NULL);
	return 0;
}

static int cmd_synproxy_del(struct daemon *d, struct json_object *req,
			    struct json_object **data, char *err, size_t errlen)
{
	struct synproxy *sp = d->synproxy;
	char name[FL_PREFIX_STRLEN + 16], why[400];
	struct synproxy_service s;
	int i, ret;

	ret = need_maps(d, err, errlen);
	if (ret)
		return ret;
	ret = json_key(req, true, &s.key, err, errlen);
	if (ret)
		return ret;
	service_name(&s.key, name, sizeof(name));
	i = service_find(sp, &s.key);
	if (i < 0) {
		snprintf(err, errlen, "no SYN proxy on %s", name);
		return -ENOENT;
	}
	s = sp->services[i];

	/* XDP stops answering first, then the rules go. */
	ret = conf_delete(d, &s.key);
	if (ret) {
		snprintf(err, errlen, "cannot remove %s: %s", name,
			 strerror(-ret));
		return ret;
	}
	service_remove(sp, i);
	ret = config_count_write(d);
	if (ret)
		pr_warn("synproxy: cannot write the service count: %s",
			strerror(-ret));
	bpf_map__delete_elem(sp->stats_map, &s.key, sizeof(s.key), 0);
	ret = system_sync(d, sp->nr_services, why, sizeof(why));
	if (ret) {
		/* The service is gone from XDP; its rules stay until the
		 * next change, which tries again. */
		pr_warn("synproxy: %s removed, but %s", name, why);
		snprintf(err, errlen, "%s removed from XDP, but %s", name, why);
		return ret;
	}
	pr_info("synproxy: %s removed", name);

	*data = json_object_new_object();
	json_object_object_add(*data, "service", service_json(&s));
	json_object_object_add(*data, "services",
			       json_object_new_int(sp->nr_services));
	return 0;
}

static int cmd_synproxy_list(struct daemon *d, struct json_object *req,
			     struct json_object **data, char *err,
			     size_t errlen)
{
	struct synproxy *sp = d->synproxy;
	struct json_object *list;
	int i, ret;

	ret = need_maps(d, err, errlen);
	if (ret)
		return ret;
	list = json_object_new_array();
	for (i = 0; i < sp->nr_services; i++)
		json_object_array_add(list, service_json(&sp->services[i]));
	*data = json_object_new_object();
	json_object_object_add(*data, "services", list);
	json_object_object_add(*data, "nft_table",
			       json_object_new_boolean(sp->table));
	json_object_object_add(
		*data, "tcp_loose_saved",
		sp->tcp_loose_saved < 0 ?
			NULL :
			json_object_new_int(sp->tcp_loose_saved));
	return 0;
}

/* All services, those of one address, or one (addr and port given). */
static int cmd_synproxy_stats(struct daemon *d, struct json_object *req,
			      struct json_object **data, char *err,
			      size_t errlen)
{
	struct synproxy *sp = d->synproxy;
	struct fl_synproxy_key want = {};
	struct fl_synproxy_stats sum;
	struct json_object *list, *o, *v;
	bool by_addr, by_port;
	char name[FL_PREFIX_STRLEN + 16];
	int i, c, ret;

	ret = need_maps(d, err, errlen);
	if (ret)
		return ret;
	by_addr = json_object_object_get_ex(req, "addr", &v);
	by_port = json_object_object_get_ex(req, "port", &v);
	if (by_port && !by_addr) {
		snprintf(err, errlen, "\"port\" needs an \"addr\"");
		return -EINVAL;
	}
	if (by_addr) {
		ret = json_key(req, false, &want, err, errlen);
		if (ret)
			return ret;
	}

	list = json_object_new_array();
	for (i = 0; i < sp->nr_services; i++) {
		const struct synproxy_service *s = &sp->services[i];

		if (by_addr &&
		    (s->key.family != want.family ||
		     memcmp(&s->key.addr, &want.addr, sizeof(want.addr))))
			continue;
		if (by_port && s->key.port != want.port)
			continue;
		ret = stats_read(d, &s->key, &sum);
		if (ret)
			pr_debug("synproxy: cannot read the counters of %s: %s",
				 service_name(&s->key, name, sizeof(name)),
				 strerror(-ret));
		o = service_json(s);
		for (c = 0; c < FL_SP_COUNT; c++)
			json_object_object_add(
				o, counter_names[c],
				json_object_new_uint64(sum.c[c]));
		json_object_array_add(list, o);
	}
	if (by_addr && !json_object_array_length(list)) {
		json_object_put(list);
		if (by_port)
			service_name(&want, name, sizeof(name));
		else
			key_addr(&want, name, sizeof(name));
		snprintf(err, errlen, "no SYN proxy on %s", name);
		return -ENOENT;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "services", list);
	return 0;
}

const struct command synproxy_commands[] = {
	{ "synproxy-add", cmd_synproxy_add },
	{ "synproxy-del", cmd_synproxy_del },
	{ "synproxy-list", cmd_synproxy_list },
	{ "synproxy-stats", cmd_synproxy_stats },
	{ NULL, NULL },
};

const struct fl_module synproxy_module = {
	.name = "synproxy",
	.open = synproxy_open,
	.close = synproxy_close,
	.save = synproxy_save,
	.commands = synproxy_commands,
};
