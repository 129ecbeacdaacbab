#!/usr/bin/env bash
# Run a command inside a private network namespace with only a loopback interface
# (multicast routed on it), so that DDS discovery, the simulated CAN bus (python-can
# udp_multicast) and V2X UDP traffic cannot leave this computer.
#
# Needs root (or unprivileged user namespaces) and iproute2; where neither is available
# the command runs directly and says so: the tests still use localhost-only discovery and
# a private ROS domain id.
#
# Usage: scripts/netns_sandbox.sh COMMAND [ARG...]
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }

if [ "${LSV_IN_NETNS:-}" = 1 ]; then exec "$@"; fi

# Ephemeral ports start above every port the stack binds by number (python-can's udp_multicast
# 43113, V2X 30300 and the suite's 31000-50999): every process holds two ephemeral UDP ports
# (Fast DDS), and in the default 32768-60999 one of them took 43113 just before the CAN bus
# bound it, once in ~400 suite runs (EADDRINUSE: "could not create or configure socket").
ephemeral_ports='51000 60999'
setup_lo="ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo \\
  && { echo '$ephemeral_ports' > /proc/sys/net/ipv4/ip_local_port_range \\
       || echo '[netns-sandbox] cannot narrow the ephemeral port range' >&2; }"
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null \
   && unshare --net true 2>/dev/null; then
  exec unshare --net -- env LSV_IN_NETNS=1 bash -c "$setup_lo && exec \"\$@\"" netns-sandbox "$@"
fi
if command -v unshare >/dev/null && command -v ip >/dev/null && unshare --map-root-user --net true 2>/dev/null; then
  exec unshare --map-root-user --net -- env LSV_IN_NETNS=1 bash -c "$setup_lo && exec \"\$@\"" netns-sandbox "$@"
fi
echo "[netns-sandbox] no private network namespace available; running on the host network" \
     "(localhost discovery, private ROS domain)" >&2
exec "$@"
