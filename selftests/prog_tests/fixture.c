// SPDX-License-Identifier: Apache-2.0
/*
 * The fixture every other test relies on: no map is pinned (so a test never
 * shares state with a running flowlensd or leaves pins behind), and
 * PROG_TEST_RUN counts packets on the netns loopback.
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ifstats.h"
#include "pkt.h"
#include "test_progs.h"

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

/* Number of entries in @dir, and whether @name is one of them. */
static int dir_entries(const char *dir, const char *name, bool *found)
{
	struct dirent *entry;
	int count = 0;
	DIR *d;

	*found = false;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((entry = readdir(d))) {
		if (entry->d_name[0] == '.')
			continue;
		count++;
		if (!strcmp(entry->d_name, name))
			*found = true;
	}
	closedir(d);
	return count;
}

static void remove_pins(const char *dir)
{
	struct dirent *entry;
	char path[512];
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((entry = readdir(d))) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
		unlink(path);
	}
	closedir(d);
}

/* A frame the default policy passes and FL_MALFORMED_DROP drops. */
static int build_malformed(struct pkt *p)
{
	struct pkt_spec spec = {
		.l3 = PKT_IPV4,
		.l4 = PKT_TCP,
		.tcp.doff = PKT_SET(4),
	};

	return pkt_build(&spec, p);
}

static void check_no_pin_paths(struct fl_fixture *fx)
{
	struct bpf_map *map;
	char name[64];

	bpf_object__for_each_map(map, fx->skel->obj) {
		snprintf(name, sizeof(name), "%s pin path", bpf_map__name(map));
		ASSERT_NULL(bpf_map__pin_path(map), name);
		snprintf(name, sizeof(name), "%s pinned", bpf_map__name(map));
		ASSERT_FALSE(bpf_map__is_pinned(map), name);
	}
}

/*
 * Against a private bpffs: a compatible fl_config is pinned there first,
 * with a policy that drops malformed packets. The fixture must ignore it
 * and pin nothing; the same skeleton loaded with pinning left on must reuse
 * it and pin every map, which shows the first check can fail.
 */
static void check_pinning_disabled(void)
{
	char dir[] = "/tmp/flowlens-pins.XXXXXX";
	struct fl_fixture_opts opts = { .pin_root_path = dir };
	struct fl_config decoy_cfg = { .malformed_policy = FL_MALFORMED_DROP };
	struct fl_config cfg;
	struct fl_fixture fx = {};
	int decoy_fd = -1, nr_maps = 0, base;
	bool mounted = false, found;
	struct bpf_map *map;
	__u32 key = 0, action, decoy_id;
	char path[512];
	struct pkt p;

	if (!ASSERT_OK(build_malformed(&p), "build"))
		return;
	if (!ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	if (mount("bpf", dir, "bpf", 0, "mode=0700")) {
		test__log(
			"cannot mount a bpffs on %s (%s): pinning not checked",
			dir, strerror(errno));
		test__skip();
		goto out;
	}
	mounted = true;
	/* A new bpffs may come with maps.debug and progs.debug already. */
	base = dir_entries(dir, "", &found);
	if (!ASSERT_GE(base, 0, "list the bpffs"))
		goto out;

	decoy_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fl_config",
				  sizeof(__u32), sizeof(struct fl_config), 1,
				  NULL);
	if (!ASSERT_GE(decoy_fd, 0, "decoy map"))
		goto out;
	decoy_id = map_id(decoy_fd);
	snprintf(path, sizeof(path), "%s/%s", dir, FL_STRINGIFY(FL_MAP_CONFIG));
	if (!ASSERT_OK(bpf_map_update_elem(decoy_fd, &key, &decoy_cfg, 0),
		       "decoy config") ||
	    !ASSERT_OK(bpf_obj_pin(decoy_fd, path), "pin decoy"))
		goto out;

	/* The fixture: its own maps, nothing pinned. */
	if (!ASSERT_OK(fl_fixture_open_opts(&fx, &opts), "fixture open"))
		goto out;
	check_no_pin_paths(&fx);
	ASSERT_NEQ(map_id(bpf_map__fd(fx.skel->maps.fl_config)), decoy_id,
		   "fixture reused the pinned fl_config");
	ASSERT_EQ(dir_entries(dir, "fl_config", &found), base + 1,
		  "pins after the fixture loaded");
	if (ASSERT_OK(fl_run(&fx, p.data, p.len, 1, &action), "run"))
		ASSERT_EQ(action, XDP_PASS,
			  "action under the fixture's config");
	fl_fixture_close(&fx);
	ASSERT_OK(bpf_map_lookup_elem(decoy_fd, &key, &cfg), "read decoy");
	ASSERT_EQ(cfg.malformed_policy, FL_MALFORMED_DROP, "decoy untouched");

	/* The control: pinning left on reuses the decoy and pins the rest. */
	opts.keep_pinning = true;
	if (!ASSERT_OK(fl_fixture_open_opts(&fx, &opts), "pinned open"))
		goto out;
	ASSERT_EQ(map_id(bpf_map__fd(fx.skel->maps.fl_config)), decoy_id,
		  "control: pinned fl_config reused");
	bpf_object__for_each_map(map, fx.skel->obj)
		nr_maps += bpf_map__pin_path(map) != NULL;
	ASSERT_EQ(nr_maps, 39, "control: maps with a pin path");
	ASSERT_EQ(dir_entries(dir, "fl_if_stats", &found), base + nr_maps,
		  "control: pins");
	ASSERT_TRUE(found, "control: fl_if_stats pinned");
	if (ASSERT_OK(fl_run(&fx, p.data, p.len, 1, &action), "run"))
		ASSERT_EQ(action, XDP_DROP, "control: action under the decoy");
	fl_fixture_close(&fx);

out:
	if (decoy_fd >= 0)
		close(decoy_fd);
	if (mounted) {
		remove_pins(dir);
		umount2(dir, MNT_DETACH);
	}
	rmdir(dir);
}

/* Write the owner of lo's counter slot on every CPU, counters zeroed. */
static int set_slot_owner(struct fl_fixture *fx, __u32 owner)
{
	__u32 slot = FL_IF_FAST_SLOT(fx->ifindex);
	int n = libbpf_num_possible_cpus(), cpu, err;
	struct fl_if_fast *v = calloc(n, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (cpu = 0; cpu < n; cpu++)
		v[cpu].ifindex = owner;
	err = bpf_map_update_elem(bpf_map__fd(fx->skel->maps.fl_if_fast),
				  &slot, v, BPF_ANY);
	free(v);
	return err;
}

static int hash_keys(struct fl_fixture *fx, __u32 want, int *bad)
{
	int fd = bpf_map__fd(fx->skel->maps.fl_if_stats), keys = 0;
	__u32 key, next;

	*bad = 0;
	for (; !bpf_map_get_next_key(fd, keys ? &key : NULL, &next); keys++) {
		key = next;
		*bad += key != want;
	}
	return keys;
}

/*
 * PROG_TEST_RUN without a context counts on the loopback (ifindex 1):
 * in lo's FL_MAP_IF_FAST slot, which the fixture claimed as flowlensd
 * would; by ifindex in FL_MAP_IF_STATS while another interface owns the
 * slot; the reader adds both. A claim keeps a slot that is the
 * interface's and takes one whose owner is gone.
 */
static void check_ifindex(void)
{
	struct pkt_spec spec = { .l3 = PKT_ARP };
	__u32 action, lo = if_nametoindex("lo"), gone;
	struct fl_if_stats stats;
	struct fl_fixture fx;
	struct pkt p;
	int bad;

	if (!ASSERT_OK(pkt_build(&spec, &p), "build") ||
	    !ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	ASSERT_NEQ(lo, 0, "lo ifindex");
	ASSERT_EQ(fx.ifindex, lo, "fixture ifindex");
	check_no_pin_paths(&fx);

	/* Claimed: counted in the slot, nothing by ifindex. */
	if (!ASSERT_OK(fl_run(&fx, p.data, p.len, 1, &action), "run"))
		goto out;
	ASSERT_EQ(action, XDP_PASS, "action");
	ASSERT_EQ(hash_keys(&fx, lo, &bad), 0, "fl_if_stats entries, slot claimed");
	if (ASSERT_OK(fl_if_stats_read(&fx, &stats), "read stats")) {
		ASSERT_EQ(stats.packets, 1, "packets on lo");
		ASSERT_EQ(stats.kind.non_ip, 1, "non_ip on lo");
	}

	/* Another interface's slot: lo goes by ifindex, the first packet
	 * creating its entry; the slot's own counters are not lo's. Two
	 * interfaces never share a slot in one netns here, so the owner is
	 * an ifindex with lo's slot that does not exist. */
	gone = lo + FL_IF_FAST_SLOTS * 1000;
	if (!ASSERT_OK(set_slot_owner(&fx, gone), "slot to another owner") ||
	    !ASSERT_OK(fl_run(&fx, p.data, p.len, 1, &action), "run, slot taken") ||
	    !ASSERT_OK(fl_run(&fx, p.data, p.len, 1, &action), "run again"))
		goto out;
	ASSERT_EQ(hash_keys(&fx, lo, &bad), 1, "fl_if_stats entries, slot taken");
	ASSERT_EQ(bad, 0, "fl_if_stats key is lo");
	if (ASSERT_OK(fl_if_stats_read(&fx, &stats), "read stats"))
		ASSERT_EQ(stats.packets, 2, "packets on lo by ifindex");

	/* A claim takes a slot whose owner is gone, from zero, and the
	 * reader adds the hash entry lo had meanwhile. */
	ASSERT_EQ(fl_ifstats_claim(bpf_map__fd(fx.skel->maps.fl_if_fast), lo),
		  1, "claim over a vanished owner");
	if (!ASSERT_OK(fl_run(&fx, p.data, p.len, 1, &action), "run, reclaimed"))
		goto out;
	if (ASSERT_OK(fl_if_stats_read(&fx, &stats), "read stats"))
		ASSERT_EQ(stats.packets, 3, "packets on lo, slot and hash");

	/* A claim of the interface's own slot (a restart) keeps counting. */
	ASSERT_EQ(fl_ifstats_claim(bpf_map__fd(fx.skel->maps.fl_if_fast), lo),
		  1, "claim of lo's own slot");
	if (ASSERT_OK(fl_if_stats_read(&fx, &stats), "read stats"))
		ASSERT_EQ(stats.packets, 3, "lo's counters kept by a second claim");
out:
	fl_fixture_close(&fx);
}

void test_fixture(void)
{
	test__case("ifindex");
	check_ifindex();
	test__case("pinning");
	check_pinning_disabled();
}
