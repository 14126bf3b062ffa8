// SPDX-License-Identifier: Apache-2.0
/*
 * What the kernel knows about the interface flgen sends on, through
 * rtnetlink (libnl-route): its MAC, MTU, state and counters, the source
 * address it would pick, and the next hop's MAC towards a destination
 * (a route lookup bound to the interface, then the neighbour table,
 * asking the kernel to resolve it if it is not there yet).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "flgen.h"
#include "log.h"
#include "prefix.h"

#define NEIGH_RESOLVE_MS 1000
#define NEIGH_POLL_MS 20
#define SETTLE_MS 500

static struct nl_sock *route_socket(void)
{
	struct nl_sock *sock = nl_socket_alloc();

	if (!sock)
		return NULL;
	if (nl_connect(sock, NETLINK_ROUTE)) {
		nl_socket_free(sock);
		return NULL;
	}
	return sock;
}

static int link_get(int ifindex, struct rtnl_link **link)
{
	struct nl_sock *sock = route_socket();
	int err;

	if (!sock)
		return -ENOMEM;
	err = rtnl_link_get_kernel(sock, ifindex, NULL, link);
	nl_socket_free(sock);
	return err ? -ENODEV : 0;
}

int flgen_iface_get(const char *name, struct flgen_iface *ifc)
{
	struct rtnl_link *link;
	struct nl_addr *addr;
	const char *type;
	int err;

	memset(ifc, 0, sizeof(*ifc));
	if (!name) {
		flgen_error("no interface given: use -i IFACE");
		return -EINVAL;
	}
	if (strlen(name) >= FLGEN_IF_NAMESIZE ||
	    !(ifc->ifindex = if_nametoindex(name))) {
		flgen_error(
			"unknown interface '%s' (not in this network namespace?)",
			name);
		return -ENODEV;
	}
	strcpy(ifc->name, name);
	err = link_get(ifc->ifindex, &link);
	if (err) {
		flgen_error("cannot read interface %s over rtnetlink", name);
		return err;
	}
	addr = rtnl_link_get_addr(link);
	if (!addr || nl_addr_get_len(addr) != 6) {
		flgen_error(
			"%s is not an Ethernet interface (no 6-byte MAC address)",
			name);
		rtnl_link_put(link);
		return -EINVAL;
	}
	memcpy(ifc->mac, nl_addr_get_binary_addr(addr), 6);
	ifc->mtu = rtnl_link_get_mtu(link);
	ifc->up = rtnl_link_get_flags(link) & IFF_UP;
	type = rtnl_link_get_type(link);
	ifc->veth = type && !strcmp(type, "veth");
	rtnl_link_put(link);
	return 0;
}

int flgen_iface_stats(const struct flgen_iface *ifc,
		      struct flgen_if_stats *stats)
{
	struct rtnl_link *link;
	int err;

	memset(stats, 0, sizeof(*stats));
	err = link_get(ifc->ifindex, &link);
	if (err)
		return err;
	stats->tx_packets = rtnl_link_get_stat(link, RTNL_LINK_TX_PACKETS);
	stats->tx_bytes = rtnl_link_get_stat(link, RTNL_LINK_TX_BYTES);
	stats->tx_dropped = rtnl_link_get_stat(link, RTNL_LINK_TX_DROPPED);
	stats->tx_errors = rtnl_link_get_stat(link, RTNL_LINK_TX_ERRORS);
	rtnl_link_put(link);
	return 0;
}

static socklen_t sockaddr_make(int family, const union fl_addr *addr,
			       unsigned short port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr->b, 4);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr->b, 16);
		return sizeof(*sin6);
	}
}

/* A UDP socket bound to the interface: the kernel's own view of the path. */
static int bound_udp_socket(const struct flgen_iface *ifc, int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifc->name,
		       strlen(ifc->name) + 1)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int flgen_source_address(const struct flgen_iface *ifc, int family,
			 const union fl_addr *dst, union fl_addr *src)
{
	struct sockaddr_storage ss;
	char text[INET6_ADDRSTRLEN];
	socklen_t len;
	int fd, err = 0;

	fd = bound_udp_socket(ifc, family);
	if (fd < 0)
		return fd;
	len = sockaddr_make(family, dst, 9, &ss);
	if (connect(fd, (struct sockaddr *)&ss, len) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len)) {
		err = -errno;
		flgen_error("no route to %s via %s (%s): give --src",
			    fl_addr_format(family, dst, text, sizeof(text)),
			    ifc->name, strerror(errno));
		goto out;
	}
	memset(src, 0, sizeof(*src));
	if (family == AF_INET)
		memcpy(src->b, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else
		memcpy(src->b, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
out:
	close(fd);
	return err;
}

struct route_answer {
	bool found;
	int ifindex;
	int type;
	bool has_gateway;
	union fl_addr gateway;
};

static int route_parse(struct nl_msg *msg, void *arg)
{
	struct route_answer *answer = arg;
	struct rtnl_route *route;
	struct rtnl_nexthop *nh;
	struct nl_addr *gw;

	if (rtnl_route_parse(nlmsg_hdr(msg), &route))
		return NL_SKIP;
	answer->found = true;
	answer->type = rtnl_route_get_type(route);
	nh = rtnl_route_get_nnexthops(route) ? rtnl_route_nexthop_n(route, 0) :
					       NULL;
	if (nh) {
		answer->ifindex = rtnl_route_nh_get_ifindex(nh);
		gw = rtnl_route_nh_get_gateway(nh);
		if (gw && nl_addr_get_len(gw) <= sizeof(answer->gateway) &&
		    nl_addr_get_family(gw) == rtnl_route_get_family(route)) {
			answer->has_gateway = true;
			memcpy(answer->gateway.b, nl_addr_get_binary_addr(gw),
			       nl_addr_get_len(gw));
		}
	}
	rtnl_route_put(route);
	return NL_OK;
}

/* `ip route get DST oif IF`: the next hop on IF towards dst. */
static int route_get(struct nl_sock *sock, const struct flgen_iface *ifc,
		     int family, const union fl_addr *dst,
		     struct route_answer *answer)
{
	unsigned int alen = family == AF_INET ? 4 : 16;
	struct rtmsg rtm = {
		.rtm_family = family,
		.rtm_dst_len = alen * 8,
	};
	struct nl_msg *msg;
	struct nl_cb *base, *cb;
	int err;

	memset(answer, 0, sizeof(*answer));
	msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST);
	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) ||
	    nla_put(msg, RTA_DST, alen, dst->b) ||
	    nla_put_u32(msg, RTA_OIF, ifc->ifindex)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	/* No NLM_F_ACK: an ACK left unread would confuse the neighbour dump
	 * that follows on this socket. Errors come back regardless. */
	nl_socket_disable_auto_ack(sock);
	err = nl_send_auto(sock, msg);
	nlmsg_free(msg);
	if (err < 0)
		return -EIO;
	base = nl_socket_get_cb(sock);
	cb = base ? nl_cb_clone(base) : NULL;
	nl_cb_put(base);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, route_parse, answer);
	err = nl_recvmsgs(sock, cb);
	nl_cb_put(cb);
	if (err < 0 || !answer->found)
		return -ENETUNREACH;
	if (answer->type != RTN_UNICAST && answer->type != RTN_LOCAL)
		return -ENETUNREACH;
	return 0;
}

static bool neigh_usable(struct rtnl_neigh *neigh)
{
	int state = rtnl_neigh_get_state(neigh);
	struct nl_addr *lladdr = rtnl_neigh_get_lladdr(neigh);

	return lladdr && nl_addr_get_len(lladdr) == 6 &&
	       (state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE |
			 NUD_PERMANENT | NUD_NOARP));
}

static int neigh_lookup(struct nl_sock *sock, int ifindex, int family,
			const union fl_addr *addr, unsigned char mac[6])
{
	struct nl_cache *cache;
	struct rtnl_neigh *neigh;
	struct nl_addr *key;
	int err = -ENOENT;

	if (rtnl_neigh_alloc_cache(sock, &cache))
		return -EIO;
	key = nl_addr_build(family, addr->b, family == AF_INET ? 4 : 16);
	if (!key) {
		nl_cache_free(cache);
		return -ENOMEM;
	}
	neigh = rtnl_neigh_get(cache, ifindex, key);
	if (neigh) {
		if (neigh_usable(neigh)) {
			memcpy(mac,
			       nl_addr_get_binary_addr(
				       rtnl_neigh_get_lladdr(neigh)),
			       6);
			err = 0;
		}
		rtnl_neigh_put(neigh);
	}
	nl_addr_put(key);
	nl_cache_free(cache);
	return err;
}

/* Makes the kernel resolve the next hop: one empty UDP datagram to the
 * discard port of dst, sent on the interface. */
static void neigh_trigger(const struct flgen_iface *ifc, int family,
			  const union fl_addr *dst)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_make(family, dst, 9, &ss);
	int fd = bound_udp_socket(ifc, family);

	if (fd < 0)
		return;
	if (sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&ss, len) < 0)
		pr_debug("resolving the next hop: sendto: %s", strerror(errno));
	close(fd);
}

int flgen_next_hop_mac(const struct flgen_iface *ifc, int family,
		       const union fl_addr *dst, unsigned char mac[6])
{
	struct timespec pause = { 0, NEIGH_POLL_MS * 1000000L };
	char text[INET6_ADDRSTRLEN], hop[INET6_ADDRSTRLEN];
	struct route_answer route;
	const union fl_addr *next_hop;
	struct nl_sock *sock;
	int waited, err;

	fl_addr_format(family, dst, text, sizeof(text));
	sock = route_socket();
	if (!sock) {
		flgen_error("cannot open an rtnetlink socket");
		return -ENOMEM;
	}
	err = route_get(sock, ifc, family, dst, &route);
	if (err || (route.ifindex && route.ifindex != ifc->ifindex)) {
		pr_debug("no route to %s on %s", text, ifc->name);
		err = -ENETUNREACH;
		goto fail;
	}
	next_hop = route.has_gateway ? &route.gateway : dst;
	fl_addr_format(family, next_hop, hop, sizeof(hop));
	pr_debug("next hop towards %s on %s: %s", text, ifc->name, hop);

	for (waited = 0;; waited += NEIGH_POLL_MS) {
		err = neigh_lookup(sock, ifc->ifindex, family, next_hop, mac);
		if (!err || err != -ENOENT || waited >= NEIGH_RESOLVE_MS)
			break;
		if (!waited) {
			pr_debug(
				"%s is not in %s's neighbour table: resolving it",
				hop, ifc->name);
			neigh_trigger(ifc, family, dst);
		}
		nanosleep(&pause, NULL);
	}
	if (!err) {
		nl_socket_free(sock);
		return 0;
	}
fail:
	nl_socket_free(sock);
	flgen_error(
		"cannot find the next hop's MAC address for %s on %s: use --dst-mac",
		text, ifc->name);
	return -EHOSTUNREACH;
}

/* Interface counters after the last frame has gone through the driver:
 * read until they stop moving (or already account for every frame). */
void flgen_iface_settle(const struct flgen_iface *ifc,
			const struct flgen_if_stats *before, uint64_t sent,
			struct flgen_if_stats *after)
{
	struct flgen_if_stats last = {};
	int waited;

	for (waited = 0; waited <= SETTLE_MS; waited += 10) {
		if (flgen_iface_stats(ifc, after))
			return;
		if (after->tx_packets + after->tx_dropped >=
			    before->tx_packets + before->tx_dropped + sent ||
		    (waited && !memcmp(after, &last, sizeof(last))))
			return;
		last = *after;
		flgen_sleep_until(flgen_now_ns() + 10000000ULL);
	}
}

/* On a veth, frames the peer did not take show up as missing. */
void flgen_iface_check_delivery(const struct flgen_iface *ifc,
				const struct flgen_if_stats *before,
				const struct flgen_if_stats *after,
				uint64_t sent)
{
	uint64_t tx = after->tx_packets - before->tx_packets;
	uint64_t dropped = after->tx_dropped - before->tx_dropped;

	if (!ifc->veth || !sent)
		return;
	if (dropped)
		pr_warn("%s dropped %llu of the %llu frames sent (its peer's receive ring was full: the receiver did not keep up)",
			ifc->name, (unsigned long long)dropped,
			(unsigned long long)sent);
	if (tx + dropped < sent)
		pr_warn("%s's counters show only %llu of the %llu frames sent: a veth delivers XDP frames only if its peer has an XDP program (or GRO) enabled",
			ifc->name, (unsigned long long)(tx + dropped),
			(unsigned long long)sent);
}
