# shellcheck shell=bash
# hostpool.sh, part 2 of 5 (sourced by scripts/hostpool.sh): the cached Debian rootfs
# every host overlays, and its cache key (rootfs_path).

# Bump when the build steps change: it is part of the cache key.
readonly ROOTFS_VERSION=3
# AGENT_RUNTIME_ROOTFS_SUITE: the Debian release of the hosts. bookworm (Debian 12) is
# the default; trixie (Debian 13: OpenSSH 10, systemd 257, sudo 1.9.16) is the second
# release the lifecycle and runtime e2e files run on. Each suite is its own image.
readonly SUITE=${AGENT_RUNTIME_ROOTFS_SUITE:-bookworm}
case $SUITE in
  bookworm | trixie) ;;
  *) printf '[hostpool] error: unknown Debian suite "%s" (--suite or AGENT_RUNTIME_ROOTFS_SUITE): use bookworm or trixie\n' "$SUITE" >&2 && exit 1 ;;
esac
# AGENT_RUNTIME_ROOTFS_FLAVOUR=python3 (bench/ only: Ansible needs python3 on the hosts,
# and acl to become an unprivileged user) is a separate image with its own cache key and
# directory; the default image has no flavour.
readonly FLAVOUR=${AGENT_RUNTIME_ROOTFS_FLAVOUR:-}
case $FLAVOUR in
  "") EXTRA_PACKAGES=() ;;
  python3) EXTRA_PACKAGES=(python3 acl) ;;
  *) printf '[hostpool] error: unknown AGENT_RUNTIME_ROOTFS_FLAVOUR %s (known: python3)\n' "$FLAVOUR" >&2 && exit 1 ;;
esac
# cron and at: agent users must be denied both (containment tests schedule jobs as them).
# nodejs and git: agentctl runs on the distro's node (the runtime step would install it,
# but test hosts have no mirror) and reads a project's branch with git.
readonly PACKAGES=(openssh-server sudo tmux systemd systemd-sysv dbus libpam-systemd
  auditd iproute2 procps cron at nodejs git "${EXTRA_PACKAGES[@]}")
# Directory prefix of this suite's and flavour's images: bookworm-<hash>,
# bookworm+python3-<hash>, trixie-<hash>.
readonly ROOTFS_PREFIX=$SUITE${FLAVOUR:++$FLAVOUR}
readonly CACHE_DIR=${AGENT_RUNTIME_CACHE:-/var/cache/agent-runtime}

mirror_url() {
  if [[ -n ${AGENT_RUNTIME_MIRROR:-} ]]; then
    printf '%s\n' "$AGENT_RUNTIME_MIRROR"
    return
  fi
  local f=/etc/apt/sources.list.d/debian.sources url
  [[ -r $f ]] || die "$f not found; set AGENT_RUNTIME_MIRROR"
  # First stanza is the main archive; the security archive follows it.
  url=$(awk '/^URIs:/ { print $2; exit }' "$f")
  [[ -n $url ]] || die "no URIs: line in $f"
  printf '%s\n' "$url"
}

rootfs_path() {
  local hash
  hash=$(printf 'v=%s suite=%s variant=minbase packages=%s\n' \
    "$ROOTFS_VERSION" "$SUITE" "${PACKAGES[*]}" | sha256sum | cut -c1-12)
  printf '%s/rootfs/%s-%s\n' "$CACHE_DIR" "$ROOTFS_PREFIX" "$hash"
}

# Unmount anything a crashed debootstrap left mounted inside $1 (proc, sys, ...).
umount_below() {
  local dir=$1 mp
  while read -r mp; do
    umount "$mp" 2>/dev/null || umount -l "$mp"
  done < <(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
}

ensure_rootfs() {
  local dest tmp mirror start
  dest=$(rootfs_path)
  if [[ -f $dest/.agent-runtime-rootfs ]]; then
    printf '%s\n' "$dest"
    return
  fi
  command -v debootstrap >/dev/null || die "debootstrap not installed (apt-get install -y debootstrap)"
  mkdir -p "$CACHE_DIR/rootfs"
  exec 8>"$CACHE_DIR/rootfs/.lock"
  flock -w 1800 8 || die "timed out waiting for another rootfs build"
  if [[ -f $dest/.agent-runtime-rootfs ]]; then
    exec 8>&-
    printf '%s\n' "$dest"
    return
  fi
  # Only builds hold the lock, so any .build-* here is from a crashed run.
  for tmp in "$CACHE_DIR"/rootfs/.build-*; do
    [[ -d $tmp ]] || continue
    log "removing crashed build $tmp"
    umount_below "$tmp"
    rm -rf --one-file-system "$tmp"
  done
  mirror=$(mirror_url)
  tmp=$(mktemp -d "$CACHE_DIR/rootfs/.build-XXXXXX")
  chmod 0755 "$tmp" # mktemp makes 0700: non-root users could not traverse /
  start=$SECONDS
  log "debootstrap $SUITE from $mirror into $tmp (about a minute)"
  local pkgs
  pkgs=$(
    IFS=,
    printf '%s' "${PACKAGES[*]}"
  )
  if ! debootstrap --variant=minbase --include="$pkgs" \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    "$SUITE" "$tmp" "$mirror" >"$CACHE_DIR/rootfs/.build.log" 2>&1; then
    tail -n 30 "$CACHE_DIR/rootfs/.build.log" >&2
    umount_below "$tmp"
    rm -rf --one-file-system "$tmp"
    die "debootstrap failed (log: $CACHE_DIR/rootfs/.build.log)"
  fi
  chroot "$tmp" apt-get clean
  umount_below "$tmp"
  # Every host gets its own keys and machine-id at `up`; an empty machine-id is the
  # image convention and keeps ConditionFirstBoot quiet.
  rm -f "$tmp"/etc/ssh/ssh_host_* "$tmp/var/lib/dbus/machine-id"
  : >"$tmp/etc/machine-id"
  # debootstrap copies the build machine's resolvers; hosts must not have any.
  rm -f "$tmp/etc/resolv.conf"
  printf '# agent-runtime test host: no DNS, connect by IP\n' >"$tmp/etc/resolv.conf"
  printf 'localhost\n' >"$tmp/etc/hostname"
  # pam_env reads it on every ssh login and logs an error when it is missing.
  printf 'LANG=C.UTF-8\n' >"$tmp/etc/default/locale"
  printf '%s %s %s\n' "$ROOTFS_VERSION" "$SUITE" "${PACKAGES[*]}" >"$tmp/.agent-runtime-rootfs"
  mv -T "$tmp" "$dest"
  # Older versions of this flavour are dead weight (~230 MB each) unless a running pool
  # still uses one; other flavours' images are left alone.
  local old
  for old in "$CACHE_DIR/rootfs/$ROOTFS_PREFIX"-*; do
    [[ -d $old && $old != "$dest" ]] || continue
    grep -qF "lowerdir=$old," /proc/self/mountinfo || rm -rf --one-file-system "$old"
  done
  exec 8>&-
  log "rootfs ready in $((SECONDS - start)) s: $dest ($(du -sh "$dest" | cut -f1))"
  printf '%s\n' "$dest"
}
