# Undo a hop: the person no longer reaches other servers from here. Files in the home are
# removed as the person, never by root.
# Vars: AR_USER
AR_STEP="hop-remove $AR_USER"
if ! id -u "$AR_USER" >/dev/null 2>&1 || ! is_managed "$AR_USER"; then echo "$AR_USER: absent"; exit 0; fi
home=$(getent passwd "$AR_USER" | cut -d: -f6)
# shellcheck disable=SC2016 # expanded by the inner shell
as_user "$AR_USER" bash -c '
  set -euo pipefail
  ssh=$1/.ssh
  rm -f "$ssh/agent-runtime-hop" "$ssh/agent-runtime-hop.pub" "$ssh/agent-runtime.conf" "$ssh/agent-runtime_known_hosts"
  if [[ -f $ssh/config && ! -L $ssh/config ]]; then sed -i "\|^Include ~/.ssh/agent-runtime.conf\$|d" "$ssh/config"; fi' _ "$home"
echo "hop for $AR_USER removed"
