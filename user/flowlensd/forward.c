// SPDX-License-Identifier: Apache-2.0
/*
 * Router mode's ports: FL_MAP_TX_PORTS holds every interface this
 * flowlensd runs on, so the XDP program may redirect to them and hands
 * anything routed elsewhere to the kernel; FL_MAP_PORT_MACS their MACs, so
 * only frames addressed to the router are routed. Also warns when the kernel's
 * IP forwarding is off, in which case bpf_fib_lookup refuses every packet
 * and router mode would silently become "pass everything".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "iface.h"
#include "log.h"
#include "module.h"
#include "flowlens.skel.h"

/* 1 if the sysctl at PATH reads non-zero, 0 if zero, -errno if unreadable */
static int sysctl_enabled(const char *path)
{
	FILE *f = fopen(path, "r");
	int value = 0, n;

	if (!f)
		return -errno;
	n = fscanf(f, "%d", &value);
	fclose(f);
	return n == 1 ? value != 0 : -EINVAL;
}

static void check_forwarding(const struct daemon *d)
{
	char path[128];
	int i;

	for (i = 0; i < d->nr_ifaces; i++) {
		snprintf(path, sizeof(path),
			 "/proc/sys/net/ipv4/conf/%s/forwarding",
			 d->ifaces[i].name);
		if (sysctl_enabled(path) == 0)
			pr_warn("%s: IPv4 forwarding is off, so router mode hands its IPv4 packets to the kernel, which drops them (sysctl -w net.ipv4.conf.%s.forwarding=1, or net.ipv4.ip_forward=1 for all)",
				d->ifaces[i].name, d->ifaces[i].name);
	}
	if (sysctl_enabled("/proc/sys/net/ipv6/conf/all/forwarding") == 0)
		pr_warn("IPv6 forwarding is off, so router mode hands IPv6 packets to the kernel, which drops them (sysctl -w net.ipv6.conf.all.forwarding=1)");
}

static int port_mac_add(struct daemon *d, const struct fl_iface *ifc)
{
	struct fl_port_mac mac = {};
	__u32 key = ifc->ifindex;
	int err;

	err = fl_iface_mac(ifc->name, mac.addr);
	if (err)
		return err;
	return bpf_map__update_elem(d->skel->maps.FL_MAP_PORT_MACS, &key,
				    sizeof(key), &mac, sizeof(mac), 0);
}

/*
 * The devmap and the MAC map are created with each program (the devmap
 * cannot be pinned, see forward.h), so they are filled right after
 * attaching (libxdp loads the program on the first attach).
 */
static int forward_ports_sync(struct daemon *d)
{
	struct bpf_map *map = d->skel->maps.FL_MAP_TX_PORTS;
	int i, err;

	if (d->opt.mode != FL_MODE_ROUTER)
		return 0;
	for (i = 0; i < d->nr_ifaces; i++) {
		__u32 ifindex = d->ifaces[i].ifindex;

		err = bpf_map__update_elem(map, &ifindex, sizeof(ifindex),
					   &ifindex, sizeof(ifindex), 0);
		if (err) {
			pr_err("%s: cannot add it to the egress ports (%s): the driver may not support XDP_REDIRECT as a target",
			       d->ifaces[i].name, strerror(-err));
			return err;
		}
		err = port_mac_add(d, &d->ifaces[i]);
		if (err) {
			pr_err("%s: cannot record its MAC address: %s",
			       d->ifaces[i].name, strerror(-err));
			return err;
		}
	}
	check_forwarding(d);
	return 0;
}

const struct fl_module forward_module = {
	.name = "forward",
	.open = forward_ports_sync,
};
