#!/usr/bin/env bash
# A local, signed apt repository carrying a stand-in `et` package, so the runtime's
# Eternal Terminal mechanism (apt source + pinned signing key + install + /etc/et.cfg +
# et.service) can be exercised on hosts that have no route anywhere. The package is
# NOT Eternal Terminal: /usr/bin/etserver only checks its config file and sleeps.
#
#   et-fixture.sh build   # build once (cached), print the fixture directory
#
# The directory holds: repo/ (flat repo: the .deb, Packages, Release, InRelease),
# signing-key.asc (the repo's armored public key), package-version, decoy-key.asc (a
# second public key that signs nothing, for "wrong pinned key" tests) and gnupg/
# (GNUPGHOME, no passphrase).
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Bump when anything below changes what is built: it is the cache key.
readonly FIXTURE_VERSION=1
readonly PKG_VERSION=6.2.9-agent-runtime-fixture2
readonly CACHE_DIR=${AGENT_RUNTIME_CACHE:-/var/cache/agent-runtime}
readonly DEST=$CACHE_DIR/et-fixture

log() { printf '[et-fixture] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

need() { # command package
  command -v "$1" >/dev/null || die "$1 not found (apt-get install -y $2)"
}

# The package tree: etserver refuses to run without a readable config, so the service
# being active says the config the runtime wrote is where et expects it.
write_package_tree() { # dir
  local root=$1
  install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system"
  cat >"$root/DEBIAN/control" <<EOF
Package: et
Version: $PKG_VERSION
Architecture: all
Maintainer: agent-runtime tests <et-fixture@agent-runtime.invalid>
Section: net
Priority: optional
Description: stand-in for Eternal Terminal (agent-runtime test fixture)
 Installs /usr/bin/etserver, which only validates its config file and sleeps,
 and et.service as the real package does. It is not Eternal Terminal.
EOF
  cat >"$root/usr/bin/etserver" <<'EOF'
#!/bin/sh
# agent-runtime test fixture: stands in for the Eternal Terminal server.
cfg=/etc/et.cfg
for arg in "$@"; do
  case $arg in --cfgfile=*) cfg=${arg#--cfgfile=} ;; esac
done
[ -r "$cfg" ] || { echo "etserver (fixture): cannot read $cfg" >&2; exit 1; }
grep -q '^port *= *[0-9]' "$cfg" || { echo "etserver (fixture): no port in $cfg" >&2; exit 1; }
# Not exec: the service's main process keeps this command line, as the real server does.
sleep infinity
EOF
  chmod 0755 "$root/usr/bin/etserver"
  cat >"$root/lib/systemd/system/et.service" <<'EOF'
[Unit]
Description=Eternal Terminal (agent-runtime test fixture)
After=network.target

[Service]
Type=simple
ExecStart=/usr/bin/etserver --cfgfile=/etc/et.cfg
Restart=on-failure

[Install]
WantedBy=multi-user.target
EOF
}

# A flat repo's Release, written by hand (no apt-utils needed): apt checks the
# Packages hash against it and the signature on InRelease against the pinned key.
write_release() { # repo dir
  local f
  {
    printf 'Origin: agent-runtime\nLabel: agent-runtime et fixture\n'
    printf 'Date: %s\n' "$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
    printf 'SHA256:\n'
    for f in Packages Packages.gz; do
      printf ' %s %s %s\n' "$(sha256sum "$1/$f" | cut -d' ' -f1)" "$(stat -c %s "$1/$f")" "$f"
    done
  } >"$1/Release"
}

gen_key() { # gnupghome uid
  gpg --homedir "$1" --batch --quiet --passphrase '' \
    --quick-gen-key "$2" ed25519 sign never 2>/dev/null
}

build() {
  local tmp=$1
  install -d -m 0700 "$tmp/gnupg" "$tmp/decoy-gnupg"
  write_package_tree "$tmp/pkg"
  install -d -m 0755 "$tmp/repo"
  dpkg-deb --root-owner-group -Zxz --build "$tmp/pkg" "$tmp/repo/et_${PKG_VERSION}_all.deb" >/dev/null
  (cd "$tmp/repo" && dpkg-scanpackages --multiversion . /dev/null 2>/dev/null >Packages)
  gzip -9nc "$tmp/repo/Packages" >"$tmp/repo/Packages.gz"
  write_release "$tmp/repo"

  gen_key "$tmp/gnupg" "agent-runtime et fixture <et-fixture@agent-runtime.invalid>"
  gpg --homedir "$tmp/gnupg" --batch --quiet --yes --passphrase '' --pinentry-mode loopback \
    --clearsign -o "$tmp/repo/InRelease" "$tmp/repo/Release"
  gpg --homedir "$tmp/gnupg" --batch --quiet --yes --passphrase '' --pinentry-mode loopback \
    --armor --detach-sign -o "$tmp/repo/Release.gpg" "$tmp/repo/Release"
  gpg --homedir "$tmp/gnupg" --batch --armor --export >"$tmp/signing-key.asc"

  gen_key "$tmp/decoy-gnupg" "agent-runtime et fixture decoy <decoy@agent-runtime.invalid>"
  gpg --homedir "$tmp/decoy-gnupg" --batch --armor --export >"$tmp/decoy-key.asc"
  # gpg leaves an agent per home running; nothing of ours may outlive the build.
  gpgconf --homedir "$tmp/gnupg" --kill all 2>/dev/null || true
  gpgconf --homedir "$tmp/decoy-gnupg" --kill all 2>/dev/null || true
  rm -rf "$tmp/pkg" "$tmp/decoy-gnupg"

  chmod -R a+rX "$tmp/repo"
  chmod 0644 "$tmp/signing-key.asc" "$tmp/decoy-key.asc"
  printf '%s\n' "$PKG_VERSION" >"$tmp/package-version"
  printf '%s %s\n' "$FIXTURE_VERSION" "$PKG_VERSION" >"$tmp/.agent-runtime-et-fixture"
}

cmd_build() {
  need dpkg-deb dpkg
  need dpkg-scanpackages dpkg-dev
  need gpg gpg
  need gpgconf gpgconf
  if [[ $(cat "$DEST/.agent-runtime-et-fixture" 2>/dev/null) == "$FIXTURE_VERSION $PKG_VERSION" ]]; then
    printf '%s\n' "$DEST"
    return
  fi
  mkdir -p "$CACHE_DIR"
  # Several runs (tests, the sandbox) may ask at once: one builds, the others wait.
  exec 9>"$CACHE_DIR/.et-fixture.lock"
  flock -w 300 9 || die "timed out waiting for another et fixture build"
  if [[ $(cat "$DEST/.agent-runtime-et-fixture" 2>/dev/null) != "$FIXTURE_VERSION $PKG_VERSION" ]]; then
    local tmp
    tmp=$(mktemp -d "$CACHE_DIR/.et-fixture-build-XXXXXX")
    chmod 0755 "$tmp"
    build "$tmp" || {
      rm -rf "$tmp"
      die "build failed"
    }
    rm -rf "$DEST"
    mv -T "$tmp" "$DEST"
    log "built $PKG_VERSION in $DEST"
  fi
  exec 9>&-
  printf '%s\n' "$DEST"
}

case ${1:-} in
  build) cmd_build ;;
  *)
    sed -n '7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
