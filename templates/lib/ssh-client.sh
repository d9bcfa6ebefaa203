# The provisioner's ssh client, for the scripts in templates/gate/ (they run where
# `pulumi up` runs); renderScript adds this file to those scripts only.
# ssh_setup DIR HOST PORT HOSTKEY — the key (AR_KEY_PATH, or AR_KEY written into DIR)
# and the pinned host key (DIR/known) as the array SSH_OPTS; without a pin the first key
# seen is accepted (and any other refused). The TypeScript twin is src/ssh/clientOptions.ts.
ssh_setup() {
  local dir=$1 host=$2 port=$3 hostkey=$4 key=${AR_KEY_PATH:-} strict=accept-new pattern=$2
  if [[ -z $key ]]; then
    key=$dir/key
    printf '%s\n' "${AR_KEY:?no AR_KEY_PATH or AR_KEY}" > "$key"
    chmod 0600 "$key"
  fi
  [[ $port == 22 ]] || pattern="[$host]:$port"
  : > "$dir/known"
  if [[ -n $hostkey ]]; then
    printf '%s %s\n' "$pattern" "$hostkey" > "$dir/known"
    strict=yes
  fi
  # -n: these scripts are themselves read from stdin (bash -s), which ssh would swallow.
  # shellcheck disable=SC2034 # used by the caller
  SSH_OPTS=(-n -F none -o "StrictHostKeyChecking=$strict" -o "UserKnownHostsFile=$dir/known" -o GlobalKnownHostsFile=/dev/null
    -o BatchMode=yes -o ConnectTimeout=10 -o IdentitiesOnly=yes -o IdentityAgent=none -o LogLevel=ERROR -o ServerAliveInterval=10 -o ServerAliveCountMax=3 -i "$key" -p "$port")
}
