# Managed by agent-runtime: no core dumps in login shells either (see /etc/security/limits.d/60-agent-runtime.conf).
ulimit -c 0
