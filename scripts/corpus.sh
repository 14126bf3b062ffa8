# SPDX-License-Identifier: Apache-2.0
#
# corpus.sh - sourced by the tests, benches and demo that replay nDPI's
# capture corpus. fl_pcap_dir prints its directory: $FL_PCAP_DIR if set,
# else ../shared/pcap/ndpi next to this checkout, else
# /work/shared/pcap/ndpi (a clone elsewhere, as CI's, on the same machine).
# Prints the first candidate even when none exists; callers check.
fl_pcap_dir() {
	local top d
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	for d in "${FL_PCAP_DIR:-}" "$top/../shared/pcap/ndpi" /work/shared/pcap/ndpi; do
		if [ -n "$d" ] && [ -d "$d" ]; then
			(cd "$d" && pwd)
			return 0
		fi
	done
	echo "${FL_PCAP_DIR:-$top/../shared/pcap/ndpi}"
}
