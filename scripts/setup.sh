#!/usr/bin/env bash
# setup.sh — everything agent-runtime needs on a fresh Debian/Ubuntu machine, idempotent:
#   1. Debian packages: shellcheck (lints the templates), and for local hosts
#      debootstrap, systemd-container (systemd-nspawn), iproute2, openssh-client, and
#      qemu-system-x86 + qemu-utils for VM hosts;
#   2. the toolchain (Node >= 22, Pulumi CLI, language host, command provider), built
#      offline and cached outside the repo: scripts/setup-toolchain.sh;
#   3. npm dependencies from the lockfile (install scripts off: they download plugins);
#   4. with --hosts: the cached Debian rootfs for local test hosts.
# Prints the path of the toolchain env file last, so callers can `source` it:
#   env_file=$(scripts/setup.sh --print-env) && source "$env_file"
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
PRINT_ENV=0
HOSTS=0
for arg in "$@"; do
  case $arg in
    --print-env) PRINT_ENV=1 ;;
    --hosts) HOSTS=1 ;;
    *) echo "setup.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
exec 3>&1 1>&2

need=()
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v gpg >/dev/null || need+=(gpg)
if ((HOSTS)); then
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v systemd-nspawn >/dev/null || need+=(systemd-container)
  command -v ip >/dev/null || need+=(iproute2)
  command -v dpkg-scanpackages >/dev/null || need+=(dpkg-dev)
  # VM hosts (the vm test project): QEMU with TCG, qcow2 overlays, ext4 images.
  command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
  command -v qemu-img >/dev/null || need+=(qemu-utils)
  [[ -x /sbin/mkfs.ext4 || -x /usr/sbin/mkfs.ext4 ]] || need+=(e2fsprogs)
fi
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then echo "setup: missing ${need[*]}; run as root or install them" >&2; exit 1; fi
  echo "setup: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The module proxy refuses the pinned language host and the command provider (README
# "Status"): build the language host from the last sdk/v3 that carried it, and run
# without the command provider (the sandbox and tests use executor "ssh").
export AGENT_RUNTIME_NODEJS_HOST_FALLBACK=${AGENT_RUNTIME_NODEJS_HOST_FALLBACK:-1}
export AGENT_RUNTIME_TOOLCHAIN_OPTIONAL=${AGENT_RUNTIME_TOOLCHAIN_OPTIONAL:-pulumi-resource-command}
env_file=$("$ROOT/scripts/setup-toolchain.sh" --print-env)
# shellcheck source=/dev/null
source "$env_file"

stamp="$ROOT/node_modules/.agent-runtime-lock"
if [[ ! -f $stamp ]] || ! cmp -s "$ROOT/package-lock.json" "$stamp"; then
  # `npm install` with the committed lockfile installs exactly the locked versions;
  # `npm ci` here rejects lockfiles that lack other platforms' optional packages
  # (rollup's), which this machine's npm never writes.
  echo "setup: npm install from package-lock.json (scripts ignored)"
  (cd "$ROOT" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
  cp "$ROOT/package-lock.json" "$stamp"
else
  echo "setup: npm dependencies up to date"
fi

# actionlint, for the workflow lint in the unit tests (Go module proxy, cached).
"$ROOT/scripts/lint-workflows.sh" --install

if ((HOSTS)); then
  echo "setup: rootfs $("$ROOT/scripts/hostpool.sh" rootfs)"
fi
((PRINT_ENV)) && echo "$env_file" >&3
exit 0
