# ~/.ssh/agent-runtime.conf on a lead's or senior's own server: the servers they may
# reach, by address, with pinned host keys where known, using their hop key. Every file
# in the home is read and written as the person (as_user, user_write): root never follows
# a path they control.
# Vars: AR_USER, AR_HOSTS (lines: "name address port [hostkey]")
AR_STEP="hop config $AR_USER"

id -u "$AR_USER" >/dev/null 2>&1 || die "$AR_USER does not exist on this server"
is_managed "$AR_USER" || die "$AR_USER is not an account agent-runtime manages"
home=$(getent passwd "$AR_USER" | cut -d: -f6)
conf=""
known=""
while read -r name address port hostkey; do
  [[ -n $name ]] || continue
  conf+="Host $name"$'\n'"    HostName $address"$'\n'"    Port $port"$'\n'"    User $AR_USER"$'\n'
  conf+="    IdentityFile ~/.ssh/agent-runtime-hop"$'\n'"    IdentitiesOnly yes"$'\n'
  conf+="    ForwardAgent no"$'\n'"    UserKnownHostsFile ~/.ssh/agent-runtime_known_hosts"$'\n'
  if [[ -n ${hostkey:-} ]]; then
    if [[ $port == 22 ]]; then known+="$address $hostkey"$'\n'; else known+="[$address]:$port $hostkey"$'\n'; fi
    conf+="    StrictHostKeyChecking yes"$'\n'
  else
    conf+="    StrictHostKeyChecking accept-new"$'\n'
  fi
done <<<"$AR_HOSTS"
as_user "$AR_USER" mkdir -p -m 0700 "$home/.ssh"
printf '# Managed by agent-runtime: servers %s may reach.\n%s' "$AR_USER" "$conf" | user_write "$AR_USER" "$home/.ssh/agent-runtime.conf" 0600
printf '%s' "$known" | user_write "$AR_USER" "$home/.ssh/agent-runtime_known_hosts" 0600
# The person's own ~/.ssh/config, read as them: Include must come first (ssh, like
# sshd, keeps the first value it reads).
current=$(as_user "$AR_USER" bash -c 'if [[ -e $1 ]]; then head -c 1048576 "$1"; fi' _ "$home/.ssh/config") || die "could not read $home/.ssh/config as $AR_USER"
if ! grep -qx 'Include ~/.ssh/agent-runtime.conf' <<<"$current"; then
  { echo 'Include ~/.ssh/agent-runtime.conf'; [[ -z $current ]] || printf '%s\n' "$current"; } | user_write "$AR_USER" "$home/.ssh/config" 0600
fi
echo "hop config for $AR_USER: $(grep -c '^Host ' <<<"$conf") servers"
