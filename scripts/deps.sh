#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# deps.sh PACKAGE... - install the Debian packages that are missing.
# Idempotent and quick when everything is present: one dpkg-query, and
# apt-get only runs (with an index refresh) when something is missing.
set -eu

missing=
for pkg in "$@"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
	case "$status" in
	ii*) ;;
	*) missing="$missing $pkg" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "deps: all $# Debian packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing:$missing" >&2
	echo "deps: run 'sudo make deps' to install them" >&2
	exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt_install() {
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing </dev/null
}
if ! apt_install; then
	apt-get update -q </dev/null
	apt_install
fi
