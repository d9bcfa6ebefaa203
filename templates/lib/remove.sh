# Destroy: every version of the shared helpers goes, once nothing else agent-runtime
# installed is left in /usr/local/lib/agent-runtime (the runtime's PAM hook and agentctl
# are removed first: their steps depend on this one). When the lib step alone is replaced
# on a live server (`pulumi up --replace`), the new copy is made first and this runs
# after it: the other files are still there, so the helpers stay.
# Vars: AR_HELPERS_DIR
AR_STEP=helpers-remove
others=$(find /usr/local/lib/agent-runtime -mindepth 1 -maxdepth 1 ! -path "$AR_HELPERS_DIR" -print -quit 2>/dev/null || true)
if [[ -n $others ]]; then
  log "kept $AR_HELPERS_DIR: other agent-runtime files are still installed ($others)"
else
  rm -rf -- "$AR_HELPERS_DIR"
  rmdir /usr/local/lib/agent-runtime 2>/dev/null || true
  log "removed $AR_HELPERS_DIR"
fi
