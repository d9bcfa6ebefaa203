# Readiness gate, run where `pulumi up` runs: wait (bounded) until the server answers
# ssh with the pinned host key, before any remote step. A host key that doesn't match
# team.yaml stops the run: nothing is sent to an impostor.
# One gate for both executors: the key comes as a file (ssh) or as text (command).
# Vars: AR_SERVER, AR_HOST, AR_PORT, AR_USERS (tried in order), AR_HOST_KEY (may be empty), AR_TRIES, AR_WAIT
# Env: AR_KEY_PATH (a key file) or AR_KEY (the key text; written only to a private temp dir)
AR_STEP=ready
AR_WHERE="$AR_SERVER ($AR_HOST:$AR_PORT)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ssh_setup "$dir" "$AR_HOST" "$AR_PORT" "$AR_HOST_KEY"
for ((i = 1; i <= AR_TRIES; i++)); do
  for user in $AR_USERS; do
    if ssh "${SSH_OPTS[@]}" "$user@$AR_HOST" true 2>"$dir/err"; then
      echo "ready: $AR_SERVER as $user@$AR_HOST:$AR_PORT"
      exit 0
    fi
    if grep -q 'Host key verification failed\|HOST IDENTIFICATION HAS CHANGED' "$dir/err"; then
      die "$AR_SERVER ($AR_HOST:$AR_PORT) presented a host key that does not match the pinned one (hostKey in team.yaml); refusing to provision it"
    fi
  done
  sleep "$AR_WAIT"
done
die "no ssh answer from $AR_SERVER ($AR_HOST:$AR_PORT) after $AR_TRIES tries: $(tail -n 3 "$dir/err")"
