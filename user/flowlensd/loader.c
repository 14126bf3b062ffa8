// SPDX-License-Identifier: Apache-2.0
/*
 * Loading and attaching. The object comes from the skeleton, but libxdp
 * loads and attaches it: where the kernel supports libxdp's dispatcher it
 * runs as one program among several (the object carries its run config),
 * and where it does not, libxdp falls back to attaching it alone. Maps are
 * pinned by name under <bpffs>/flowlens/, and a restarted daemon reuses
 * them, so counters and settings survive, as long as they have its layout
 * version (include/flowlens/layout.h, pinned in FL_MAP_LAYOUT).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "ifstats.h"
#include "log.h"
#include "module.h"
#include "ruleset.h"
#include "flowlens.skel.h"
#include "flowlens_tc.skel.h"

#define FL_PROG_NAME "flowlens"

const char *xdp_mode_name(enum xdp_attach_mode mode)
{
	switch (mode) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "skb";
	case XDP_MODE_HW:
		return "hw";
	default:
		return "unspec";
	}
}

/*
 * libbpf and libxdp are chatty even when all is well (libxdp probes its
 * dispatcher by loading programs that may fail), so their output is shown
 * with -v only; our own messages say what failed and point to -v.
 */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	fl_log_v(FL_LOG_DEBUG, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt,
			va_list ap)
{
	fl_log_v(FL_LOG_DEBUG, fmt, ap);
	return 0;
}

static const char *attach_kind(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	const char *kind = "as a single program";

	if (!mp || libxdp_get_error(mp))
		return kind;
	if (!xdp_multiprog__is_legacy(mp))
		kind = "under libxdp's dispatcher";
	xdp_multiprog__close(mp);
	return kind;
}

static int ensure_bpffs(const char *path)
{
	struct statfs st;

	if (mkdir(path, 0700) && errno != EEXIST) {
		pr_err("cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	if (statfs(path, &st)) {
		pr_err("cannot stat %s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", path, "bpf", 0, "mode=0700")) {
		int err = -errno;

		pr_err("%s is not a bpf filesystem and mounting one there failed: %s (mount it with 'mount -t bpf bpf %s' or pass --bpffs)",
		       path, strerror(errno), path);
		return err;
	}
	pr_info("mounted bpffs at %s", path);
	return 0;
}

/*
 * libbpf reuses a pinned map only if it matches the object's definition;
 * say which one does not, and how to start over, before it fails. The
 * flow cache's size is left to flows_map_resize().
 */
static int check_pinned_maps(struct daemon *d)
{
	struct bpf_map *flows = d->skel->maps.FL_MAP_FLOWS;
	struct bpf_map_info info;
	struct bpf_map *map;
	char path[512];
	int fd, err = 0;

	bpf_object__for_each_map(map, d->skel->obj) {
		__u32 len = sizeof(info);

		if (!bpf_map__pin_path(map))
			continue;
		snprintf(path, sizeof(path), "%s", bpf_map__pin_path(map));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue; /* not pinned yet: created on load */
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    info.type != bpf_map__type(map) ||
		    info.key_size != bpf_map__key_size(map) ||
		    info.value_size != bpf_map__value_size(map) ||
		    (info.max_entries != bpf_map__max_entries(map) &&
		     map != flows) ||
		    info.map_flags != bpf_map__map_flags(map)) {
			pr_err("pinned map %s does not match this flowlensd (its layout changed); remove it to start over: rm %s (settings come back from the state file)",
			       bpf_map__name(map), path);
			err = -EINVAL;
		}
		close(fd);
	}
	return err;
}

/*
 * The flow cache holds --max-flows entries. It is the one map that is only
 * a cache - a flow missing from it is escalated again and a worker writes
 * its verdict again - so a pinned one of another size is not refused: its
 * pin is removed here and the load creates and pins one of the new size.
 * The old map lives on as long as a program still uses it (one a crashed
 * daemon left attached, until attach replaces it). Runs once every other
 * check has passed, so a refused start changes nothing.
 */
static int flows_map_resize(struct daemon *d)
{
	struct bpf_map *map = d->skel->maps.FL_MAP_FLOWS;
	__u32 want = bpf_map__max_entries(map), len;
	struct bpf_map_info info;
	const char *path = bpf_map__pin_path(map);
	int fd, err;

	fd = path ? bpf_obj_get(path) : -1;
	if (fd < 0)
		return 0; /* not pinned yet: created on load */
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	close(fd);
	if (err) {
		pr_err("cannot read %s: %s", path, strerror(-err));
		return err;
	}
	if (info.max_entries == want)
		return 0;
	if (unlink(path)) {
		err = -errno;
		pr_err("cannot remove %s to resize the flow cache: %s (start with --max-flows %u to keep it)",
		       path, strerror(errno), info.max_entries);
		return err;
	}
	pr_warn("the flow cache was pinned with room for %u flows, --max-flows asks for %u: replaced by an empty one (cached verdicts are lost; the workers classify those flows again)",
		info.max_entries, want);
	return 0;
}

/* Whether any map of the object is pinned already. */
static bool maps_pinned(struct daemon *d)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, d->skel->obj)
		if (bpf_map__pin_path(map) &&
		    !access(bpf_map__pin_path(map), F_OK))
			return true;
	return false;
}

/*
 * Pinned maps of another layout (include/flowlens/layout.h) would be
 * misread: libbpf only compares sizes, and a moved field keeps its size.
 * So the layout version pinned with them must be ours, and maps pinned
 * with no version at all (by a flowlensd from before there was one) are
 * refused too. Nothing is changed: the maps stay as they were, for the
 * flowlensd that made them or for the operator to remove.
 */
static int check_layout(struct daemon *d)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info), key = 0, version = 0;
	char path[512], found[128];
	void *value = NULL;
	int fd, err;

	if (!maps_pinned(d))
		return 0; /* created on load, and the version written then */
	snprintf(path, sizeof(path), "%s/%s", d->pin_dir,
		 FL_STRINGIFY(FL_MAP_LAYOUT));
	fd = bpf_obj_get(path);
	if (fd < 0 && errno != ENOENT) {
		err = -errno;
		pr_err("cannot open %s: %s", path, strerror(errno));
		return err;
	}
	if (fd < 0) {
		snprintf(found, sizeof(found),
			 "no layout version (no %s: made by an older flowlensd)",
			 FL_STRINGIFY(FL_MAP_LAYOUT));
		goto refuse;
	}
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
	    info.type == BPF_MAP_TYPE_ARRAY && info.key_size == sizeof(key) &&
	    info.value_size >= sizeof(version))
		value = calloc(1, info.value_size);
	if (value && !bpf_map_lookup_elem(fd, &key, value))
		memcpy(&version, value, sizeof(version));
	free(value);
	close(fd);
	if (version == FL_LAYOUT_VERSION)
		return 0;
	if (version)
		snprintf(found, sizeof(found), "layout version %u", version);
	else
		snprintf(found, sizeof(found),
			 "no readable layout version (%s holds none: a flowlensd stopped before writing it?)",
			 FL_STRINGIFY(FL_MAP_LAYOUT));
refuse:
	pr_err("the maps pinned in %s have %s; this flowlensd uses layout version %d and will not run against them (they are left as they are). To start over: stop every flowlensd using them, remove them (rm -r %s) and start flowlensd again; rules, settings, SYN proxy services and DDoS thresholds come back from the state files next to %s, counters start from zero",
	       d->pin_dir, found, FL_LAYOUT_VERSION, d->pin_dir,
	       d->opt.state_path);
	return -EPROTO;
}

/* Right after the load: the maps now exist, pinned, with this layout. */
static int layout_write(struct daemon *d)
{
	struct fl_layout layout = { .version = FL_LAYOUT_VERSION };
	__u32 key = 0;
	int err;

	err = bpf_map__update_elem(d->skel->maps.FL_MAP_LAYOUT, &key,
				   sizeof(key), &layout, sizeof(layout),
				   BPF_ANY);
	if (err)
		pr_err("cannot write the layout version into %s: %s",
		       FL_STRINGIFY(FL_MAP_LAYOUT), strerror(-err));
	return err;
}

static int loader_open(struct daemon *d)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	char config_pin[512];
	int err;

	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);

	err = ensure_bpffs(d->opt.bpffs);
	if (err)
		return err;
	/* libxdp pins its dispatcher state in the same bpffs. */
	setenv("LIBXDP_BPFFS", d->opt.bpffs, 0);

	snprintf(d->pin_dir, sizeof(d->pin_dir), "%s/%s", d->opt.bpffs,
		 FL_PIN_SUBDIR);
	if (mkdir(d->pin_dir, 0700) && errno != EEXIST) {
		pr_err("cannot create %s: %s", d->pin_dir, strerror(errno));
		return -errno;
	}
	/*
	 * One daemon per set of pinned maps. The socket check in control.c
	 * only sees a daemon on the same socket; this lock also stops one
	 * started with another --socket from taking over the interfaces.
	 */
	d->lock_fd = open(d->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->lock_fd < 0 || flock(d->lock_fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		if (err == -EWOULDBLOCK)
			pr_err("another flowlensd is running with the maps in %s",
			       d->pin_dir);
		else
			pr_err("cannot lock %s: %s", d->pin_dir,
			       strerror(-err));
		return err;
	}
	snprintf(config_pin, sizeof(config_pin), "%s/%s", d->pin_dir,
		 FL_STRINGIFY(FL_MAP_CONFIG));
	d->maps_were_pinned = access(config_pin, F_OK) == 0;

	d->ncpus = libbpf_num_possible_cpus();
	if (d->ncpus <= 0) {
		pr_err("cannot count possible CPUs: %s", strerror(-d->ncpus));
		return d->ncpus ?: -EINVAL;
	}

	open_opts.pin_root_path = d->pin_dir;
	d->skel = flowlens_bpf__open_opts(&open_opts);
	if (!d->skel) {
		err = -errno;
		pr_err("cannot open the embedded BPF object: %s",
		       strerror(-err));
		return err;
	}
	if (d->opt.max_rules) {
		err = fl_ruleset_set_max(d->skel->obj, d->opt.max_rules);
		if (err) {
			pr_err("cannot size the rule maps: %s", strerror(-err));
			return err;
		}
	}
	err = bpf_map__set_max_entries(d->skel->maps.FL_MAP_FLOWS,
				       d->opt.max_flows ?: FL_FLOWS_MAX);
	if (err) {
		pr_err("cannot size the flow cache: %s", strerror(-err));
		return err;
	}
	err = check_layout(d);
	if (err)
		return err;
	err = check_pinned_maps(d);
	if (err)
		return err;
	err = flows_map_resize(d);
	if (err)
		return err;
	pr_info("flow cache: room for %u flows",
		bpf_map__max_entries(d->skel->maps.FL_MAP_FLOWS));
	d->prog = xdp_program__from_bpf_obj(d->skel->obj, "xdp");
	err = libxdp_get_error(d->prog);
	if (err) {
		d->prog = NULL;
		pr_err("libxdp cannot use the BPF object: %s", strerror(-err));
		return err;
	}
	return 0;
}

/*
 * A flowlens program left on the interface by a daemon that died (or by
 * xdp-loader) is replaced; anything else is left alone and reported.
 */
static int remove_stale_program(const struct fl_iface *ifc)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int err = 0;

	mp = xdp_multiprog__get_from_ifindex(ifc->ifindex);
	if (!mp || libxdp_get_error(mp))
		return 0;

	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (!p)
			goto out;
		if (strcmp(xdp_program__name(p), FL_PROG_NAME)) {
			pr_err("%s already has XDP program '%s' (id %u) attached; unload it first (xdp-loader unload %s --all)",
			       ifc->name, xdp_program__name(p),
			       xdp_program__id(p), ifc->name);
			err = -EBUSY;
			goto out;
		}
		pr_warn("%s: replacing a flowlens program left attached (id %u)",
			ifc->name, xdp_program__id(p));
		err = xdp_multiprog__detach(mp);
		goto out;
	}

	for (p = xdp_multiprog__next_prog(NULL, mp); p;
	     p = xdp_multiprog__next_prog(p, mp)) {
		if (strcmp(xdp_program__name(p), FL_PROG_NAME))
			continue;
		pr_warn("%s: removing a flowlens program left in the dispatcher (id %u)",
			ifc->name, xdp_program__id(p));
		err = xdp_program__detach(p, ifc->ifindex,
					  xdp_multiprog__attach_mode(mp), 0);
		break;
	}
out:
	if (err)
		pr_err("%s: cannot remove the old XDP program: %s", ifc->name,
		       strerror(-err));
	xdp_multiprog__close(mp);
	return err;
}

static int attach_one(struct daemon *d, struct fl_iface *ifc)
{
	enum xdp_attach_mode mode = d->opt.xdp_mode;
	int err;

	err = remove_stale_program(ifc);
	if (err)
		return err;

	err = xdp_program__attach(d->prog, ifc->ifindex, mode, 0);
	if (err && xdp_program__fd(d->prog) < 0) {
		/* libxdp loads the object on the first attach. */
		pr_err("cannot load the BPF program: %s (run with -v for the verifier log)",
		       strerror(-err));
		return err;
	}
	if (err && mode == XDP_MODE_NATIVE) {
		pr_warn("%s: native XDP attach failed (%s); falling back to skb (generic) mode, which is slower",
			ifc->name, strerror(-err));
		mode = XDP_MODE_SKB;
		err = xdp_program__attach(d->prog, ifc->ifindex, mode, 0);
	}
	if (err) {
		pr_err("cannot attach to %s in %s mode: %s (%s-v shows libxdp's details)",
		       ifc->name, xdp_mode_name(mode), strerror(-err),
		       mode == XDP_MODE_NATIVE ? "try --xdp-mode skb; " : "");
		return err;
	}
	ifc->mode = mode;
	ifc->attached = true;
	pr_info("attached to %s (ifindex %d) in %s mode, %s", ifc->name,
		ifc->ifindex, xdp_mode_name(mode), attach_kind(ifc->ifindex));
	return 0;
}

/* The interface's counters: its FL_MAP_IF_FAST slot (the datapath's
 * cheap path), else an entry by ifindex; from zero on the first attach,
 * kept across restarts. */
static int if_stats_create(struct daemon *d, const struct fl_iface *ifc)
{
	size_t size = d->ncpus * sizeof(struct fl_if_stats);
	__u32 key = ifc->ifindex;
	void *zero;
	int err;

	err = fl_ifstats_claim(bpf_map__fd(d->skel->maps.FL_MAP_IF_FAST), key);
	if (err)
		return err < 0 ? err : 0;
	pr_info("%s shares its counter slot with another interface: counted by ifindex",
		ifc->name);
	zero = calloc(1, size);
	if (!zero)
		return -ENOMEM;
	err = bpf_map__update_elem(d->skel->maps.FL_MAP_IF_STATS, &key,
				   sizeof(key), zero, size, BPF_NOEXIST);
	free(zero);
	return err == -EEXIST ? 0 : err;
}

/*
 * tc ingress: bpf/flowlens_tc.bpf.c marks the checksums the XDP program
 * verified for the kernel, which IPv6 connections through the SYN proxy
 * need (include/flowlens/synproxy.h says why). Our own handle, replaced on
 * restart; without it everything else works.
 */
#define FL_TC_HANDLE 0xf10
#define FL_TC_PRIORITY 1

static void tc_attach(struct daemon *d, struct fl_iface *ifc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FL_TC_HANDLE,
		    .priority = FL_TC_PRIORITY, .flags = BPF_TC_F_REPLACE);
	int err;

	if (!d->tc_skel)
		return;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_warn("%s: no tc ingress hook (%s): IPv6 connections through the SYN proxy will fail",
			ifc->name, strerror(-err));
		return;
	}
	opts.prog_fd = bpf_program__fd(d->tc_skel->progs.flowlens_tc);
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		pr_warn("%s: cannot attach on tc ingress (%s): IPv6 connections through the SYN proxy will fail",
			ifc->name, strerror(-err));
		return;
	}
	ifc->tc_attached = true;
}

static void tc_detach(struct fl_iface *ifc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FL_TC_HANDLE,
		    .priority = FL_TC_PRIORITY);
	int err;

	if (!ifc->tc_attached)
		return;
	err = bpf_tc_detach(&hook, &opts);
	if (err)
		pr_warn("cannot detach from tc ingress of %s: %s", ifc->name,
			strerror(-err));
	ifc->tc_attached = false;
}

static int loader_attach_all(struct daemon *d)
{
	int i, err;

	d->tc_skel = flowlens_tc_bpf__open_and_load();
	if (!d->tc_skel)
		pr_warn("cannot load the tc program (%s): IPv6 connections through the SYN proxy will fail",
			strerror(errno));
	for (i = 0; i < d->nr_ifaces; i++) {
		err = attach_one(d, &d->ifaces[i]);
		/* The first attach loaded the object (even if it then failed
		 * to attach): the maps it pinned get their version at once. */
		if (i == 0 && xdp_program__fd(d->prog) >= 0) {
			int lerr = layout_write(d);

			err = err ?: lerr;
		}
		if (err)
			return err;
		tc_attach(d, &d->ifaces[i]);
		err = if_stats_create(d, &d->ifaces[i]);
		if (err) {
			pr_err("cannot create counters for %s: %s",
			       d->ifaces[i].name, strerror(-err));
			return err;
		}
	}
	return 0;
}

static void loader_detach_all(struct daemon *d)
{
	int i, err;

	for (i = 0; i < d->nr_ifaces; i++) {
		struct fl_iface *ifc = &d->ifaces[i];

		tc_detach(ifc);
		if (!ifc->attached)
			continue;
		err = xdp_program__detach(d->prog, ifc->ifindex, ifc->mode, 0);
		if (err)
			pr_warn("cannot detach from %s: %s", ifc->name,
				strerror(-err));
		else
			pr_info("detached from %s", ifc->name);
		ifc->attached = false;
	}
}

static void loader_close(struct daemon *d)
{
	xdp_program__close(d->prog);
	d->prog = NULL;
	flowlens_bpf__destroy(d->skel);
	d->skel = NULL;
	flowlens_tc_bpf__destroy(d->tc_skel);
	d->tc_skel = NULL;
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	d->lock_fd = -1;
}

const struct fl_module loader_module = {
	.name = "loader",
	.open = loader_open,
	.close = loader_close,
};

const struct fl_module attach_module = {
	.name = "attach",
	.open = loader_attach_all,
	.close = loader_detach_all,
};
