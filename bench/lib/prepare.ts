// Bench preparation (not product code): from a booted pool's host list and a team file,
// write what each tool needs to provision the same team onto those hosts:
//   team.yaml          the team on the pool hosts (the sandbox's rewrite: existing hosts,
//                      bench-generated person keys), for `pulumi up`;
//   ansible/hosts.json the Ansible inventory with every file content as a host variable,
//                      rendered by the product's own pure renderers (same bytes);
//   floor/<server>.sh  every step's script for one server, concatenated in dependency
//                      order: the floor (one ssh session per host, one combined script).
// Usage: tsx bench/lib/prepare.ts HOSTS_JSON TEAM_FILE OUT_DIR [KEYS_DIR]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { planTeam, type ServerPlan } from "../../src/plan/access";
import {
  AUDIT_BASE_FILE,
  AUDIT_WATCH_FILE,
  auditScript,
  renderAuditBaseRules,
  renderAuditdSettings,
  renderAuditWatches,
} from "../../src/render/audit";
import { adminScript } from "../../src/render/bootstrap";
import { helpersScript } from "../../src/render/helpers";
import { renderAgentTmuxConf, renderPamHook, renderPamStack } from "../../src/render/containment";
import { renderAgentAuditRules, runtimeScript, sliceProperties } from "../../src/render/runtime";
import { buildAgentctl } from "../../src/agentctl/build";
import { renderSshdDropIn, sshdScript } from "../../src/render/sshd";
import { renderSudoDefaults, SUDO_DEFAULTS_FILE, sudoersFileName, sudoersFiles, sudoersScript } from "../../src/render/sudoers";
import { agentScript, authorizedKeys, hopConfigScript, hopKeyScript, humanScript } from "../../src/render/users";
import type { PoolHost } from "../../src/sandbox/hostPool";
import { sandboxTeamYaml } from "../../src/sandbox/sandboxTeam";
import { parseTeam } from "../../src/team/load";
import { template } from "../../src/render/script";

const [hostsFile, teamFile, out, keysArg] = process.argv.slice(2);
if (!hostsFile || !teamFile || !out) throw new Error("usage: prepare.ts HOSTS_JSON TEAM_FILE OUT_DIR");
const hosts = JSON.parse(readFileSync(hostsFile, "utf8")) as PoolHost[];
const source = readFileSync(teamFile, "utf8");
const first = parseTeam(source, teamFile);
if (!first.ok) throw new Error(JSON.stringify(first.errors));

// One key pair per person, kept across runs (the fingerprint compares their keys verbatim).
const keysDir = keysArg ?? path.join(out, "keys");
mkdirSync(keysDir, { recursive: true, mode: 0o700 });
const personKeys = Object.fromEntries(
  planTeam(first.team).servers.map((s) => {
    const key = path.join(keysDir, s.owner);
    if (!existsSync(key)) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${s.owner}@bench`, "-f", key]);
    return [s.owner, readFileSync(`${key}.pub`, "utf8").trim()];
  }),
);
const benchTeam = sandboxTeamYaml(source, { hosts, personKeys });
writeFileSync(path.join(out, "team.yaml"), benchTeam);
const parsed = parseTeam(benchTeam, "bench team.yaml");
if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
const team = parsed.team;
const plan = planTeam(team);
const ADMIN = "agent-runtime";
const adminKey = readFileSync(`${hosts[0]!.privateKeyPath}.pub`, "utf8").trim();
const hostOf = (server: string) => hosts.find((h) => h.name === server)!;
// The runtime step's journald drop-in (templates/runtime/base.sh), byte for byte.
const journald =
  "# Managed by agent-runtime: audit trail survives reboots; journald keeps kernel auditing on.\n[Journal]\nStorage=persistent\nAudit=yes\n";

/** Host variables for bench/ansible/site.yml: plain data and file contents. */
function ansibleVars(s: ServerPlan) {
  const h = hostOf(s.name);
  return {
    ansible_host: h.address,
    ansible_port: h.port,
    ansible_ssh_private_key_file: h.privateKeyPath,
    ansible_ssh_extra_args: `-o UserKnownHostsFile=${h.knownHostsPath} -o GlobalKnownHostsFile=/dev/null`,
    owner: s.owner,
    admin_user: ADMIN,
    admin_key: adminKey,
    admin_sudoers: `# Managed by agent-runtime: the provisioner account.\n${ADMIN} ALL=(ALL) NOPASSWD: ALL\n`,
    // Files the same on every server: copied from files/ (as a playbook would ship them;
    // inline content would go through Jinja, and tmux formats contain "{#").
    files_dir: path.join(out, "ansible", "files"),
    auditd_settings: renderAuditdSettings()
      .trim()
      .split("\n")
      .map((line) => ({ key: line.split(" = ")[0], line })),
    humans: s.humans.map((p) => ({ name: p.name, keys: authorizedKeys(p) + "\n", forwarding: p.forwarding, hop_from: p.hopFrom ?? "" })),
    agents: s.agents.map((a) => ({
      name: a.name,
      owner: a.owner,
      slice: sliceProperties(a.limits),
      audit_rules: renderAgentAuditRules(a.name, a.owner),
    })),
    sudoers: {
      [SUDO_DEFAULTS_FILE]: renderSudoDefaults() + "\n",
      ...Object.fromEntries(Object.entries(sudoersFiles(s)).map(([p, c]) => [sudoersFileName(p), c + "\n"])),
    },
    // The runtime step's login.defs settings (templates/hardening/login.defs: KEY VALUE lines).
    login_defs: template("hardening/login.defs")
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => ({ key: l.trim().split(/\s+/)[0], value: l.trim().split(/\s+/)[1] })),
    hops: s.hopsTo.map((peer) => ({
      name: peer,
      address: hostOf(peer).address,
      port: hostOf(peer).port,
      host_key: hostOf(peer).hostPublicKey.trim(),
    })),
  };
}

mkdirSync(path.join(out, "ansible", "files"), { recursive: true });
const sharedFiles: Record<string, string> = {
  // sshd/apply.sh and sudoers/install.sh write `printf '%s\n' CONTENT` of a text that already
  // ends in a newline: the files on hosts end in a blank line, so these do too.
  "00-agent-runtime.conf": renderSshdDropIn() + "\n",
  // agentctl: the bundle the program builds, and the wrapper the agentctl step writes.
  "agentctl.mjs": readFileSync(buildAgentctl().path, "utf8"),
  agentctl:
    '#!/bin/sh\n# Managed by agent-runtime: agentctl, the team session manager.\nexec /usr/bin/node /usr/local/lib/agent-runtime/agentctl.mjs "$@"\n',
  "tmux.conf": renderAgentTmuxConf(),
  "agent-scope": renderPamHook(),
  "agent-runtime-agent-scope": renderPamStack(),
  "50-agent-runtime-journald.conf": journald,
  [AUDIT_BASE_FILE]: renderAuditBaseRules(),
  [AUDIT_WATCH_FILE]: renderAuditWatches(),
  // Host hardening (templates/hardening/), as templates/runtime/base.sh writes each file:
  // `printf '%s\n' "${X%$'\n'}"`, the text with exactly its own last newline.
  ...Object.fromEntries(
    ["sysctl.conf", "limits.conf", "coredump.conf", "modprobe.conf", "profile.sh", "issue"].map((f) => {
      const text = template(`hardening/${f}`);
      return [`hardening-${f}`, text.endsWith("\n") ? text : `${text}\n`];
    }),
  ),
};
for (const [name, text] of Object.entries(sharedFiles)) writeFileSync(path.join(out, "ansible", "files", name), text);
// agentctl's server name, per server, as a file: inline `content:` that looks like JSON is
// turned into a dict by Ansible and written back in its own formatting.
for (const s of plan.servers) writeFileSync(path.join(out, "ansible", "files", `agentctl-${s.name}.json`), `{ "server": "${s.name}" }\n`);
const inventory = { all: { hosts: Object.fromEntries(plan.servers.map((s) => [s.name, ansibleVars(s)])) } };
writeFileSync(path.join(out, "ansible", "hosts.json"), JSON.stringify(inventory, null, 1));

/** The floor: every step of one server in one script, in the engine's dependency order.
 *  Visitors' hop keys are left out (they come from another server: a second round). */
function floorScript(s: ServerPlan): string {
  const steps = [
    adminScript(ADMIN, adminKey),
    helpersScript(),
    runtimeScript(team.et),
    sshdScript(undefined, ADMIN),
    auditScript(),
    ...s.humans.map((p) => humanScript(p.name, authorizedKeys(p), p.forwarding)),
    ...s.agents.map(agentScript),
    ...(s.hopsTo.length
      ? [
          hopKeyScript(s.owner),
          hopConfigScript(
            s.owner,
            s.hopsTo.map((peer) => ({
              name: peer,
              address: hostOf(peer).address,
              port: hostOf(peer).port,
              hostKey: hostOf(peer).hostPublicKey.trim(),
            })),
          ),
        ]
      : []),
    sudoersScript(SUDO_DEFAULTS_FILE, renderSudoDefaults()),
    ...Object.entries(sudoersFiles(s)).map(([p, c]) => sudoersScript(sudoersFileName(p), c)),
  ];
  return ["set -e", ...steps.map((text, i) => `bash -s <<'AR_FLOOR_STEP_${i}'\n${text}AR_FLOOR_STEP_${i}`)].join("\n") + "\n";
}
mkdirSync(path.join(out, "floor"), { recursive: true });
for (const s of plan.servers) writeFileSync(path.join(out, "floor", `${s.name}.sh`), floorScript(s));
console.log(plan.servers.map((s) => `${s.name} ${hostOf(s.name).address}`).join("\n"));
