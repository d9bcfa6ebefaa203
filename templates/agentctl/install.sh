# agentctl (the team's session manager) on this server: the bundle the program built,
# checked against the hash this step is keyed on, run by the distro's node through a
# small wrapper; and the server's name, which agentctl shows and uses in targets.
# The bundle arrives as the file $AR_PAYLOAD: a root-only temp file (ssh executor,
# AR_PAYLOAD_TEMP=1) or the copy in the admin's home (command executor, kept for re-runs).
# Vars: AR_SERVER, AR_SHA256
AR_STEP=agentctl
[[ -n ${AR_PAYLOAD:-} && -f $AR_PAYLOAD ]] || die "the agentctl bundle did not arrive (no payload file)"
got=$(sha256sum "$AR_PAYLOAD" | cut -d' ' -f1)
[[ $got == "$AR_SHA256" ]] || die "the agentctl bundle arrived damaged (sha256 $got, expected $AR_SHA256)"
node=$(command -v node || true)
[[ -n $node ]] || die "node is missing (the runtime step installs nodejs): agentctl can't run"
major=$("$node" -p 'process.versions.node.split(".")[0]') || die "$node does not run"
((major >= 18)) || die "node $major is too old for agentctl (needs 18 or later)"
install -d -m 0755 /usr/local/lib/agent-runtime /etc/agent-runtime
install_file /usr/local/lib/agent-runtime/agentctl.mjs 0644 root:root <"$AR_PAYLOAD"
[[ ${AR_PAYLOAD_TEMP:-} != 1 ]] || rm -f "$AR_PAYLOAD"
printf '#!/bin/sh\n# Managed by agent-runtime: agentctl, the team session manager.\nexec %s /usr/local/lib/agent-runtime/agentctl.mjs "$@"\n' "$node" |
  install_file /usr/local/bin/agentctl 0755 root:root
printf '{ "server": "%s" }\n' "$AR_SERVER" | install_file /etc/agent-runtime/agentctl.json 0644 root:root
# The launcher agentctl replaces.
rm -f /usr/local/bin/agent-session
echo "agentctl: $(/usr/local/bin/agentctl --version) on node $("$node" --version)"
