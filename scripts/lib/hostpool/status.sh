# shellcheck shell=bash
# hostpool.sh, part 3 of 5 (sourced by scripts/hostpool.sh): a running pool's hosts, as
# the JSON contract src/sandbox/hostPool.ts parses and as the `status` table.
# shellcheck disable=SC2034 # idx: the hosts file's first column, read and skipped

json_hosts() { # pool
  local pool=$1 lib=$LIB_DIR/$1 sep="" idx name addr kind hostkey
  printf '['
  while read -r idx name addr kind; do
    hostkey=$(cut -d' ' -f1,2 "$lib/$name/ssh_host_ed25519_key.pub")
    printf '%s\n  {"name":"%s","address":"%s","port":22,"adminUser":"root","privateKeyPath":"%s","hostPublicKey":"%s","knownHostsPath":"%s","kind":"%s"' \
      "$sep" "$name" "$addr" "$lib/id_ed25519" "$hostkey" "$lib/known_hosts" "${kind:-nspawn}"
    if [[ ${2:-} == --status ]]; then
      local ready=false running=false pid
      pid=$(cat "$RUN_DIR/$pool/$name.pid" 2>/dev/null || true)
      { is_our_nspawn "$pid" "$pool" || is_our_vm "$pid" "$pool"; } && running=true
      $running && ssh_probe "$pool" "$addr" && ready=true
      printf ',"running":%s,"reachable":%s' "$running" "$ready"
    fi
    printf '}'
    sep=,
  done <"$RUN_DIR/$pool/hosts"
  printf '\n]\n'
}

cmd_status() {
  local pool="" json=0
  while (($#)); do
    case $1 in
      --pool) pool=${2:?--pool needs a value} && shift 2 ;;
      --json) json=1 && shift ;;
      *) usage ;;
    esac
  done
  valid_pool "$pool" || die "--pool must match ^[a-z][a-z0-9]{0,7}\$ (got '$pool')"
  if [[ ! -f $RUN_DIR/$pool/hosts ]]; then
    if ((json)); then echo '[]'; else echo "pool $pool: not running"; fi
    return 0
  fi
  if ((json)); then
    json_hosts "$pool" --status
    return 0
  fi
  local idx name addr pid state ssh
  printf '%-20s %-15s %-5s %-6s %-14s %-4s %s\n' NAME ADDRESS PORT ADMIN STATE SSH KEY
  while read -r idx name addr kind; do
    pid=$(cat "$RUN_DIR/$pool/$name.pid" 2>/dev/null || true)
    state=dead ssh=no
    { is_our_nspawn "$pid" "$pool" || is_our_vm "$pid" "$pool"; } && state=running
    [[ $state == running ]] && ssh_probe "$pool" "$addr" && ssh=yes
    printf '%-20s %-15s %-5s %-6s %-14s %-4s %s\n' "$name" "$addr" 22 root "${state}${kind:+/$kind}" "$ssh" \
      "$LIB_DIR/$pool/id_ed25519"
  done <"$RUN_DIR/$pool/hosts"
}
