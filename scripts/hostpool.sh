#!/usr/bin/env bash
# Local test hosts for agent-runtime: Debian 12 (bookworm; 13 trixie with --suite)
# systemd-nspawn containers on overlayfs copies of one cached rootfs, or QEMU VMs booted
# from it, each in its own network namespace on a private bridge. Nothing in
# 10.213.0.0/16 can leave the machine (unreachable route, no default route inside the
# namespaces); hosts are reached by IP only.
#
#   hostpool.sh rootfs [--suite bookworm|trixie]
#   hostpool.sh up --pool NAME --subnet 10.213.X [--kind nspawn|vm] [--suite S] HOST[:KIND]...   # JSON hosts
#   hostpool.sh vm-image [--suite bookworm|trixie]          # build the cached VM image
#   hostpool.sh down --pool NAME | --all [--keep NAME]...
#   hostpool.sh status --pool NAME [--json]
#   hostpool.sh leftovers [--pool NAME | --keep NAME...]   # exit 1 if anything remains
set -euo pipefail
# ip, mount and debootstrap live in sbin, which a non-login root PATH may lack.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# --suite picks the Debian release of every host of the command (default: the
# AGENT_RUNTIME_ROOTFS_SUITE environment variable, else bookworm). It is read before the
# parts are sourced: rootfs.sh derives the image's name and cache key from it.
args=()
while (($#)); do
  case $1 in
    --suite) export AGENT_RUNTIME_ROOTFS_SUITE=${2:?--suite needs a value} && shift 2 ;;
    *) args+=("$1") && shift ;;
  esac
done
set -- "${args[@]}"

# One file per concern under lib/hostpool/, all sourced here before any command runs.
HOSTPOOL_LIB=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib/hostpool
readonly HOSTPOOL_LIB
# shellcheck source-path=SCRIPTDIR source=lib/hostpool/pool.sh
source "$HOSTPOOL_LIB/pool.sh"     # paths, naming, lock, lookups, ssh probe
# shellcheck source-path=SCRIPTDIR source=lib/hostpool/rootfs.sh
source "$HOSTPOOL_LIB/rootfs.sh"   # the cached rootfs and its cache key
# shellcheck source-path=SCRIPTDIR source=lib/hostpool/status.sh
source "$HOSTPOOL_LIB/status.sh"   # host JSON, status table
# shellcheck source-path=SCRIPTDIR source=lib/hostpool/down.sh
source "$HOSTPOOL_LIB/down.sh"     # teardown, leftovers
# shellcheck source-path=SCRIPTDIR source=lib/hostpool/vm.sh
source "$HOSTPOOL_LIB/vm.sh"       # hosts of kind vm: image, QEMU
# shellcheck source-path=SCRIPTDIR source=lib/hostpool/up.sh
source "$HOSTPOOL_LIB/up.sh"       # boot a pool

usage() {
  sed -n '8,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
    rootfs)
      ((EUID == 0)) || die "must run as root"
      ensure_rootfs
      ;;
    vm-image)
      ((EUID == 0)) || die "must run as root"
      ensure_vm_image "$(ensure_rootfs)"
      ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    leftovers) cmd_leftovers "$@" ;;
    *) usage ;;
  esac
}

main "$@"
