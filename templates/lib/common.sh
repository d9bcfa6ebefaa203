# Shared helpers, prepended to every provisioning script (after its variables).
# Every script is idempotent: run twice, the second run changes nothing.

# AR_WHERE ("dev-wes (agent-runtime@10.0.0.5:22)") is set by the executor before the script.
log() { printf 'agent-runtime %s on %s: %s\n' "${AR_STEP:-step}" "${AR_WHERE:-$(hostname)}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# install_file PATH MODE OWNER:GROUP < content — atomic (temp + rename in the same
# directory), only when the content or mode differs. Temp names carry a dot, so sudo
# and systemd ignore them while they exist. Only for directories that root alone
# controls: anything inside a managed user's home goes through user_write instead.
install_file() {
  local path=$1 mode=$2 owner=$3 dir tmp
  dir=$(dirname "$path")
  if [[ ! -d $dir || -L $dir || $(stat -c %u "$dir") != 0 ]] || [[ -n $(find "$dir" -maxdepth 0 -perm /022) ]]; then
    die "refusing to write $path: $dir is not a directory that only root controls"
  fi
  [[ -L $path ]] && die "refusing to write $path: it is a symbolic link"
  tmp=$(mktemp "$dir/.$(basename "$path").XXXXXX")
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

# as_user USER CMD… — run CMD with USER's uid, gid and groups (no PAM, no login, clean
# environment, cwd /). Everything root does inside a managed user's home goes through
# this: a symlink or hard link the user planted then reaches only what the user could
# reach anyway.
as_user() {
  local user=$1
  shift
  (cd / && setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups --reset-env -- "$@")
}

# user_write USER PATH MODE < content — write a file in USER's home as USER: atomic,
# only when content or mode differ. A planted symlink at PATH is replaced, never followed.
user_write() {
  local user=$1 path=$2 mode=$3 out
  # shellcheck disable=SC2016 # the inner script is single-quoted on purpose
  out=$(as_user "$user" bash -c '
    set -euo pipefail
    path=$1 mode=$2
    tmp=$(mktemp "$(dirname "$path")/.$(basename "$path").XXXXXX")
    cat > "$tmp"
    if [[ -f $path && ! -L $path ]] && cmp -s "$tmp" "$path" && [[ $(stat -c %a "$path") == "${mode#0}" ]]; then
      rm -f "$tmp"
      exit 0
    fi
    chmod "$mode" "$tmp"
    mv -f "$tmp" "$path"
    echo changed' _ "$path" "$mode") || die "could not write $path as $user"
  [[ -z $out ]] || log "wrote $path (as $user)"
}

# ensure_line FILE LINE — FILE (root's, outside any home) contains LINE exactly once.
ensure_line() {
  local file=$1 line=$2
  [[ -f $file ]] && grep -qxF -- "$line" "$file" && return 0
  printf '%s\n' "$line" >> "$file"
  log "added $line to $file"
}

# drop_line FILE LINE — removes every line equal to LINE (no-op if absent).
drop_line() {
  local file=$1 line=$2
  [[ -f $file ]] && grep -qxF -- "$line" "$file" || return 0
  local tmp
  tmp=$(mktemp "$(dirname "$file")/.$(basename "$file").XXXXXX")
  grep -vxF -- "$line" "$file" > "$tmp" || true
  chmod --reference="$file" "$tmp"
  chown --reference="$file" "$tmp"
  mv -f "$tmp" "$file"
}

# --- accounts ------------------------------------------------------------------------
# Accounts agent-runtime creates carry a mark: /var/lib/agent-runtime/accounts/NAME
# holding "KIND UID", written by root right after useradd. An account without it (the
# host's admin, a system account, a local employee) is never adopted and never deleted.
# Groups: agent-runtime-humans (sshd reads their keys from /etc/ssh/agent-runtime),
# agent-runtime-forward (opted in to forwarding), agent-runtime-agents.
MARK_DIR=/var/lib/agent-runtime/accounts
# shellcheck disable=SC2034 # not every script uses every group
GROUP_HUMANS="agent-runtime-humans" GROUP_FORWARD="agent-runtime-forward" GROUP_AGENTS="agent-runtime-agents"

is_managed() {
  local user=$1 uid
  uid=$(id -u "$user" 2>/dev/null) || return 1
  [[ -f $MARK_DIR/$user && ! -L $MARK_DIR/$user ]] && [[ $(cut -d' ' -f2 "$MARK_DIR/$user") == "$uid" ]]
}

# ensure_account NAME KIND COMMENT — create and mark NAME, or check that it is ours.
ensure_account() {
  local user=$1 kind=$2 comment=$3
  install -d -m 0755 /var/lib/agent-runtime
  install -d -m 0700 "$MARK_DIR"
  if id -u "$user" >/dev/null 2>&1; then
    is_managed "$user" || die "account $user already exists on $(hostname) and was not created by agent-runtime (no mark in $MARK_DIR): it is never adopted. Rename the person in team.yaml, or remove or rename that account on the server first"
    return 0
  fi
  useradd --create-home --shell /bin/bash --comment "$comment" "$user"
  printf '%s %s\n' "$kind" "$(id -u "$user")" > "$MARK_DIR/$user"
  log "created $user"
}

ensure_group() { getent group "$1" >/dev/null || groupadd --system "$1"; }

# in_group USER GROUP
in_group() { id -nG "$1" 2>/dev/null | tr ' ' '\n' | grep -qxF "$2"; }

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

# stop_user USER — end everything USER runs, however it was started: linger, logins,
# the user manager (user units), the sudo/su scopes agent-runtime's PAM hook made for
# sessions USER opened as an agent user, processes whose loginuid is USER (what they
# left running as agent users they could reach; needs a real kernel: in a container
# loginuid is unset), and finally every process with USER's uid.
stop_user() {
  local user=$1 uid pid f
  uid=$(id -u "$user")
  loginctl disable-linger "$user" 2>/dev/null || true
  loginctl terminate-user "$user" 2>/dev/null || true
  systemctl stop "user@$uid.service" 2>/dev/null || true
  systemctl stop "agent-runtime:$user:*.scope" 2>/dev/null || true
  for f in /proc/[0-9]*/loginuid; do
    pid=${f#/proc/}
    pid=${pid%/loginuid}
    if [[ $(cat "$f" 2>/dev/null) == "$uid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  for _ in $(seq 1 20); do
    pkill -KILL -u "$uid" 2>/dev/null || true
    pgrep -u "$uid" >/dev/null || return 0
    sleep 0.25
  done
  pgrep -u "$uid" >/dev/null && die "processes of $user survive SIGKILL: $(pgrep -a -u "$uid" | head -n 3 | tr '\n' ';')"
  return 0
}

# delete_account NAME — delete a stopped account and its mark. userdel refuses while a
# process is still exiting, so retry (bounded).
delete_account() {
  local user=$1
  for _ in $(seq 1 20); do
    userdel "$user" 2>/dev/null && break
    pkill -KILL -u "$user" 2>/dev/null || true
    sleep 0.25
  done
  if id -u "$user" >/dev/null 2>&1; then userdel "$user"; fi # the last try reports why
  rm -f "$MARK_DIR/$user"
}

# remove_user NAME — stop everything the user runs, then delete the account.
remove_user() {
  stop_user "$1"
  delete_account "$1"
}

# agent_persistence AGENT — what AGENT has set up to run by itself: crontab, at jobs,
# systemd user unit files (read as AGENT) and running user units that don't come with
# the OS (transient ones included). Printed when someone loses access to it, so the
# revoking reviewer sees what that person may have left behind.
agent_persistence() {
  local agent=$1 uid home files running="" unit cron="none" at=0
  uid=$(id -u "$agent" 2>/dev/null) || { echo "$agent: absent"; return 0; }
  home=$(getent passwd "$agent" | cut -d: -f6)
  [[ -f /var/spool/cron/crontabs/$agent ]] && cron="$(grep -cv '^#' "/var/spool/cron/crontabs/$agent" || true) lines"
  [[ -d /var/spool/cron/atjobs ]] && at=$(find /var/spool/cron/atjobs -maxdepth 1 -type f -user "$uid" | wc -l)
  files=$(as_user "$agent" find "$home/.config/systemd/user" -maxdepth 2 \( -type f -o -type l \) -printf '%P ' 2>/dev/null || true)
  while read -r unit; do
    [[ -n $unit ]] || continue
    [[ $(as_user "$agent" env XDG_RUNTIME_DIR="/run/user/$uid" systemctl --user show -p FragmentPath --value "$unit" 2>/dev/null) == /usr/* ]] || running+="$unit "
  done < <(as_user "$agent" env XDG_RUNTIME_DIR="/run/user/$uid" systemctl --user list-units --type=service,timer --no-legend --plain 2>/dev/null | awk '{print $1}')
  echo "$agent: crontab ${cron}; at jobs ${at}; user unit files ${files:-none}; running user units ${running:-none}"
}

# sudoers_targets FILE — the agent users the rules in a sudoers.d FILE reach, sorted.
sudoers_targets() { sed -n 's/^[a-z_][a-z0-9_-]* ALL=(\([a-z0-9_-]*-agent\)) .*/\1/p' "$1" | sort -u; }

# report_revoked AGENT… — one "revoked:" line per agent user someone no longer reaches.
report_revoked() {
  local agent
  for agent in "$@"; do echo "revoked: $(agent_persistence "$agent")"; done
}
