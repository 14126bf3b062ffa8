/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: `flowlensd replay [OPTIONS] FILE...` - the workers' classifier
 * (classify.h) run offline over pcap/pcapng files, one JSON object per
 * flow on stdout. argv[0] is "replay".
 */
#ifndef FLOWLENSD_REPLAY_H
#define FLOWLENSD_REPLAY_H

int replay_main(int argc, char **argv);

#endif /* FLOWLENSD_REPLAY_H */
