# shellcheck shell=bash
# peak_mem PID OUT: until PID exits, sample its process tree every 0.2 s and write the
# peak resident memory (VmHWM, MB) per role to OUT: engine (the pulumi CLI), langhost
# (pulumi-language-nodejs), program (node running index.ts), providers (dynamic
# provider node processes and their launchers). Sourced by bench/preview.sh.
peak_mem() {
  local root=$1 out=$2 pid comm cmd hwm role
  declare -A peak=([engine]=0 [langhost]=0 [program]=0 [providers]=0)
  declare -A seen=()
  for ((tick = 0; tick < 30000; tick++)); do # bounded: 100 minutes
    [[ -e /proc/$root ]] || break
    local pids=("$root") i=0 kids=()
    while ((i < ${#pids[@]})); do
      read -r -a kids < <(cat "/proc/${pids[i]}/task/"*/children 2>/dev/null || true) || true
      pids+=("${kids[@]}")
      i=$((i + 1))
    done
    for pid in "${pids[@]}"; do
      hwm=$(awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$pid/status" 2>/dev/null) || continue
      [[ -n $hwm ]] || continue
      comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
      cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
      case $comm:$cmd in
        pulumi:*) role=engine ;;
        pulumi-language*) role=langhost ;;
        *dynamic-provider* | pulumi-resource*) role=providers ;;
        node:*) role=program ;;
        *) continue ;;
      esac
      # several processes of one role (providers): the sum of their peaks
      if [[ $role == providers ]]; then
        seen[$pid]=$hwm
      elif ((hwm > peak[$role])); then
        peak[$role]=$hwm
      fi
    done
    sleep 0.2
  done
  local sum=0
  for pid in "${!seen[@]}"; do sum=$((sum + seen[$pid])); done
  peak[providers]=$sum
  printf '%s %s %s %s\n' "${peak[engine]}" "${peak[langhost]}" "${peak[program]}" "${peak[providers]}" >"$out"
}
