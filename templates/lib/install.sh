# The shared helpers (templates/lib/common.sh) at their hashed path, AR_HELPERS: every
# other step on this server sources them from there after templates/lib/load.sh checked
# them. Every directory on the path must be root's alone (owner root, nothing group- or
# other-writable, never a link) and is made here when missing. Versions an undo recorded
# in the state may still name are kept: remove.sh takes them all when the server goes.
# Runs as the provisioner (after the admin step), so it works on hosts whose first user
# (root) sshd no longer admits.
# Vars: AR_HELPERS (path), AR_HELPERS_TEXT (content)
AR_STEP=helpers
root_only() { [[ $(stat -c '%u %A' -- "$1" 2>/dev/null) =~ ^0\ [-d]....-..-.$ ]]; }
dir=
IFS=/ read -ra parts <<<"${AR_HELPERS%/*}"
for part in "${parts[@]}"; do
  [[ -n $part ]] || continue
  dir+=/$part
  [[ -e $dir || -L $dir ]] || mkdir -m 0755 -- "$dir"
  root_only "$dir" || die "refusing to install the shared helpers: $dir is not a directory that only root controls"
done
printf '%s' "$AR_HELPERS_TEXT" | install_file "$AR_HELPERS" 0644 root:root
echo "helpers: $AR_HELPERS"
