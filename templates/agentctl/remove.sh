# Destroy: remove agentctl. Sessions keep running; their sidecar files stay in the agent
# users' homes (offboarding archives them with the home).
AR_STEP=agentctl-remove
rm -f /usr/local/bin/agentctl /usr/local/lib/agent-runtime/agentctl.mjs /etc/agent-runtime/agentctl.json
echo "agentctl: removed"
