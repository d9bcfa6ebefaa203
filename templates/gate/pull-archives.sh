# Offboarding archives outlive the server: run where `pulumi up` runs, when a server's
# steps are deleted (after every user on it was archived, before the machine is deleted
# or the provisioner account removed). Copies every archive under
# /var/backups/agent-runtime on the server that is not yet in AR_DEST; never overwrites.
# Vars: AR_HOST, AR_PORT, AR_USER, AR_HOST_KEY (may be empty), AR_DEST
# Env: AR_KEY_PATH (a key file) or AR_KEY (the key text; written only to a private temp dir)
AR_STEP=archives
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
key=${AR_KEY_PATH:-}
if [[ -z $key ]]; then
  key=$dir/key
  printf '%s\n' "${AR_KEY:?no AR_KEY_PATH or AR_KEY}" > "$key"
  chmod 0600 "$key"
fi
strict=accept-new
if [[ -n $AR_HOST_KEY ]]; then
  if [[ $AR_PORT == 22 ]]; then pattern=$AR_HOST; else pattern="[$AR_HOST]:$AR_PORT"; fi
  printf '%s %s\n' "$pattern" "$AR_HOST_KEY" > "$dir/known"
  strict=yes
fi
mkdir -p "$AR_DEST"
chmod 0700 "$AR_DEST"
# Archives are root's 0600 files on the server: read them through sudo, one tar stream.
# ssh -n: this script is itself read from stdin (bash -s), which ssh would swallow.
ssh -n -F /dev/null -o BatchMode=yes -o ConnectTimeout=10 -o IdentitiesOnly=yes -o StrictHostKeyChecking=$strict \
  -o UserKnownHostsFile="$dir/known" -o GlobalKnownHostsFile=/dev/null -i "$key" -p "$AR_PORT" "$AR_USER@$AR_HOST" \
  "sudo -n tar -C /var/backups/agent-runtime -cf - --exclude='.work-*' ." > "$dir/archives.tar" ||
  die "could not read /var/backups/agent-runtime on $AR_USER@$AR_HOST:$AR_PORT; the archives are still on the server"
tar -C "$AR_DEST" --skip-old-files --no-same-owner -xf "$dir/archives.tar"
chmod -R go-rwx "$AR_DEST"
echo "archives of $AR_HOST in $AR_DEST: $(find "$AR_DEST" -maxdepth 1 -name '*.tar.gz' | wc -l)"
