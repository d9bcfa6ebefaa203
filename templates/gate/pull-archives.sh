# Offboarding archives outlive the server: run where `pulumi up` runs, when a server's
# steps are deleted (after every user on it was archived, before the machine is deleted
# or the provisioner account removed). Copies every archive under
# /var/backups/agent-runtime on the server that is not yet in AR_DEST; never overwrites.
# Vars: AR_HOST, AR_PORT, AR_USER, AR_HOST_KEY (may be empty), AR_DEST
# Env: AR_KEY_PATH (a key file) or AR_KEY (the key text; written only to a private temp dir)
AR_STEP=archives
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ssh_setup "$dir" "$AR_HOST" "$AR_PORT" "$AR_HOST_KEY"
mkdir -p "$AR_DEST"
chmod 0700 "$AR_DEST"
# Archives are root's 0600 files on the server: read them through sudo, one tar stream.
ssh "${SSH_OPTS[@]}" "$AR_USER@$AR_HOST" "sudo -n tar -C /var/backups/agent-runtime -cf - --exclude='.work-*' ." > "$dir/archives.tar" ||
  die "could not read /var/backups/agent-runtime on $AR_USER@$AR_HOST:$AR_PORT; the archives are still on the server"
tar -C "$AR_DEST" --skip-old-files --no-same-owner -xf "$dir/archives.tar"
chmod -R go-rwx "$AR_DEST"
echo "archives of $AR_HOST in $AR_DEST: $(find "$AR_DEST" -maxdepth 1 -name '*.tar.gz' | wc -l)"
