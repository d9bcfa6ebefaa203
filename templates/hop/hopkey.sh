# A lead's or senior's hop key, generated on their own server: the private key never
# leaves it and never enters Pulumi state; only the public key (printed last) does.
# Its own step, so changing where they hop never touches the key. Everything in the
# home happens as the person (as_user): a planted symlink reaches only their own files.
# The printed key is checked to be one ed25519 public key before it goes anywhere.
# Vars: AR_USER
AR_STEP="hop key $AR_USER"

id -u "$AR_USER" >/dev/null 2>&1 || die "$AR_USER does not exist on this server"
is_managed "$AR_USER" || die "$AR_USER is not an account agent-runtime manages"
home=$(getent passwd "$AR_USER" | cut -d: -f6)
key=$home/.ssh/agent-runtime-hop
# shellcheck disable=SC2016 # expanded by the inner shell
pub=$(as_user "$AR_USER" bash -c '
  set -euo pipefail
  key=$1 comment=$2
  mkdir -p -m 0700 "$(dirname "$key")"
  if [[ ! -f $key ]]; then ssh-keygen -q -t ed25519 -N "" -C "$comment" -f "$key" >&2; echo "generated $key" >&2; fi
  head -c 4096 "$key.pub"' _ "$key" "$AR_USER@$(hostname) agent-runtime hop") || die "could not read $key.pub as $AR_USER"
line=$(head -n 1 <<<"$pub")
if [[ $(grep -c . <<<"$pub") -ne 1 || ! $line =~ ^ssh-ed25519\ [A-Za-z0-9+/]+=*(\ .*)?$ ]]; then
  die "$key.pub is not one ssh-ed25519 public key; refusing to authorize it anywhere (remove it and the private key, and run again)"
fi
cut -d' ' -f1,2 <<<"$line" | sed "s|\$| $AR_USER-hop@$(hostname)|"
