# Shared helpers, prepended to every provisioning script (after its variables).
# Every script is idempotent: run twice, the second run changes nothing.

log() { printf 'agent-runtime %s on %s: %s\n' "${AR_STEP:-step}" "$(hostname)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# install_file PATH MODE OWNER:GROUP < content — atomic (temp + rename in the same
# directory), only when the content or mode differs. Temp names carry a dot, so sudo
# and systemd ignore them while they exist.
install_file() {
  local path=$1 mode=$2 owner=$3 tmp
  tmp=$(mktemp "$(dirname "$path")/.$(basename "$path").XXXXXX")
  cat > "$tmp"
  if [[ -f $path ]] && cmp -s "$tmp" "$path" && [[ $(stat -c '%a %U:%G' "$path") == "${mode#0} $owner" ]]; then
    rm -f "$tmp"
    return 0
  fi
  chmod "$mode" "$tmp"
  chown "$owner" "$tmp"
  mv -f "$tmp" "$path"
  log "wrote $path"
}

# ensure_packages PKG… — installs only what is missing, so hosts without a mirror
# (or a second run) never touch apt.
ensure_packages() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

in_container() { systemd-detect-virt --container --quiet; }

# remove_user NAME — stop everything the user runs, then delete the account. userdel
# refuses while a process is still exiting, so retry (bounded) after each kill.
remove_user() {
  local user=$1 uid
  uid=$(id -u "$user")
  loginctl disable-linger "$user" 2>/dev/null || true
  loginctl terminate-user "$user" 2>/dev/null || true
  systemctl stop "user@$uid.service" 2>/dev/null || true
  for _ in $(seq 1 20); do
    pkill -KILL -u "$uid" 2>/dev/null || true
    userdel "$user" 2>/dev/null && return 0
    sleep 0.25
  done
  userdel "$user" # the last try reports why
}
