# The shared helpers (templates/lib/common.sh) are installed once per server, by its
# lib step, at a root-owned path named by their hash (AR_HELPERS, set above): a step
# carries only its own lines. They are sourced only when that file and every directory
# above it belong to root alone (no symbolic link, nothing group- or other-writable: the
# lib step's test, templates/lib/install.sh) and the file has the hash this script was
# rendered with, so nothing an agent user prepared can run here as root.
ar_load_helpers() {
  local p=$AR_HELPERS why=""
  while [[ -n $p ]]; do
    [[ $(stat -c '%u %A' -- "$p" 2>/dev/null) =~ ^0\ [-d]....-..-.$ ]] || { why="$p is missing or not root's alone"; break; }
    p=${p%/*}
  done
  [[ -n $why || $(sha256sum <"$AR_HELPERS") == "$AR_HELPERS_SHA256  -" ]] || why="$AR_HELPERS does not have sha256 $AR_HELPERS_SHA256"
  [[ -z $why ]] && return 0
  printf 'agent-runtime on %s: ERROR: the shared helpers this step needs are not usable: %s. The %s step installs them: run `agent-runtime drift --repair` (it re-runs that step), then pulumi up again\n' \
    "${AR_WHERE:-$(hostname)}" "$why" "${AR_WHERE:+${AR_WHERE%% *}-}lib" >&2
  exit 1
}
ar_load_helpers
# shellcheck source=templates/lib/common.sh
source "$AR_HELPERS"
