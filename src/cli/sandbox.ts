import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { planTeam, type TeamPlan } from "../plan/access";
import { renderMatrix } from "../plan/matrix";
import { openStack, REPO_ROOT } from "../sandbox/engine";
import { poolStatus, startPool, stopPool, type PoolHost } from "../sandbox/hostPool";
import { sandboxTeamYaml } from "../sandbox/sandboxTeam";
import { formatError } from "../team/errors";
import { parseTeam } from "../team/load";
import { ensureEtFixture } from "../sandbox/etFixture";

// `agent-runtime sandbox up|down|status`: the example team on local nspawn hosts,
// provisioned by the real engine. State (keys, generated team.yaml, Pulumi backend)
// lives in /var/lib/agent-runtime/sandbox and survives between commands.

/** Host pool the sandbox owns (tests use others). */
export const SANDBOX_POOL = process.env.AGENT_RUNTIME_SANDBOX_POOL ?? "sandbox";
const POOL = SANDBOX_POOL;
const SUBNET = process.env.AGENT_RUNTIME_SANDBOX_SUBNET ?? "10.213.1";
/** Keys, the generated team.yaml and the engine state of the sandbox. */
export const SANDBOX_STATE = process.env.AGENT_RUNTIME_SANDBOX_STATE ?? "/var/lib/agent-runtime/sandbox";
const STATE = SANDBOX_STATE;
const STACK = "sandbox";

/** Entry point for `sandbox …`. */
export async function sandboxCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const json = rest.includes("--json");
  const teamFile = rest.find((a) => !a.startsWith("--")) ?? path.join(REPO_ROOT, "team.yaml");
  const problem = preconditions();
  if (problem) {
    console.error(`sandbox: ${problem}`);
    return 1;
  }
  if (sub === "up") return up(teamFile);
  if (sub === "down") return down();
  if (sub === "status") return status(json);
  console.error("usage: agent-runtime sandbox up [team.yaml] | down | status [--json]");
  return 2;
}

/** What a fresh machine lacks for local hosts, in words; undefined when all is there. */
export function preconditions(): string | undefined {
  if (process.platform !== "linux") return `local hosts need Linux with systemd-nspawn (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "local hosts need root (network namespaces, overlay mounts, systemd-nspawn): run with sudo";
  return undefined;
}

function setup(): void {
  // Installs missing Debian packages, the toolchain, npm deps and the rootfs; idempotent.
  execFileSync("bash", [path.join(REPO_ROOT, "scripts/setup.sh"), "--hosts"], { stdio: ["ignore", "ignore", "inherit"] });
}

function personKeys(plan: TeamPlan): Record<string, string> {
  const dir = path.join(STATE, "keys");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return Object.fromEntries(
    plan.servers.map((s) => {
      const key = path.join(dir, s.owner);
      if (!existsSync(key)) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${s.owner}@sandbox`, "-f", key]);
      return [s.owner, readFileSync(`${key}.pub`, "utf8").trim()];
    }),
  );
}

/** The team file as the sandbox applies it: pool hosts, sandbox keys, the et fixture repo. */
async function writeSandboxTeam(source: string, plan: TeamPlan, hosts: PoolHost[], file: string): Promise<void> {
  const et = await ensureEtFixture(hosts, SUBNET);
  writeFileSync(file, sandboxTeamYaml(source, { hosts, personKeys: personKeys(plan), et }));
}

async function up(teamFile: string): Promise<number> {
  const source = readFileSync(teamFile, "utf8");
  const parsed = parseTeam(source, teamFile);
  if (!parsed.ok) {
    console.error(parsed.errors.map(formatError).join("\n"));
    return 1;
  }
  const plan = planTeam(parsed.team);
  console.error("sandbox: setting up (packages, toolchain, npm, rootfs) …");
  setup();
  mkdirSync(STATE, { recursive: true, mode: 0o700 });
  const names = plan.servers.map((s) => s.name);
  let hosts = await healthyHosts(names);
  if (!hosts) {
    console.error(`sandbox: booting ${names.length} hosts …`);
    // Fresh hosts: whatever an earlier stack recorded about old hosts no longer holds.
    rmSync(path.join(STATE, "engine"), { recursive: true, force: true });
    hosts = await startPool({ pool: POOL, subnet: SUBNET, names });
  }
  const generated = path.join(STATE, "team.yaml");
  await writeSandboxTeam(source, plan, hosts, generated);
  writeFileSync(path.join(STATE, "source-team.yaml"), source); // the base of `agent-runtime preview`
  const stack = await sandboxStack(generated, hosts[0]!.privateKeyPath);
  console.error("sandbox: pulumi up …");
  const result = await stack.up({ onOutput: (s) => process.stderr.write(s) });
  console.error(`sandbox: up ${result.summary.result}`);
  console.log(nextSteps(plan, hosts));
  return 0;
}

/** What `pulumi preview --diff` on the running sandbox says about a head team file. */
export async function previewSandbox(headFile: string): Promise<{ stdout: string; changeSummary: Record<string, number> }> {
  const hosts = await poolStatus(POOL);
  if (!existsSync(path.join(STATE, "engine")) || hosts.length === 0) throw new Error("no sandbox running (run: agent-runtime sandbox up)");
  const source = readFileSync(headFile, "utf8");
  const parsed = parseTeam(source, headFile);
  if (!parsed.ok) throw new Error(parsed.errors.map(formatError).join("\n"));
  const head = path.join(STATE, "preview-team.yaml");
  await writeSandboxTeam(source, planTeam(parsed.team), hosts, head);
  const stack = await sandboxStack(head, hosts[0]!.privateKeyPath);
  try {
    const r = await stack.preview({ diff: true, color: "never" });
    return { stdout: r.stdout, changeSummary: r.changeSummary as Record<string, number> };
  } finally {
    await stack.setConfig("agent-runtime:teamFile", { value: path.join(STATE, "team.yaml") }); // back to what is applied
  }
}

/** The team file the sandbox last applied (the base of a preview). */
export const sandboxSourceTeam = () => path.join(STATE, "source-team.yaml");

/** The sandbox stack: executor "ssh" with the pool key (see components/sshExecutor.ts). */
function sandboxStack(teamFile: string, adminKey: string) {
  return openStack({
    stateDir: path.join(STATE, "engine"),
    stackName: STACK,
    config: { teamFile, executor: "ssh", adminKeyPath: adminKey, adminPublicKey: readFileSync(`${adminKey}.pub`, "utf8").trim(), archiveDir: path.join(STATE, "archives") },
  });
}

async function healthyHosts(names: string[]): Promise<PoolHost[] | undefined> {
  const st = await poolStatus(POOL).catch(() => []);
  const ok = names.every((n) => st.some((h) => h.name === n && h.reachable));
  return ok ? st : undefined;
}

function nextSteps(plan: TeamPlan, hosts: PoolHost[]): string {
  const addr = (server: string) => hosts.find((h) => h.name === server)!.address;
  const known = path.join(STATE, "known_hosts");
  writeFileSync(known, hosts.map((h) => `${h.address} ${h.hostPublicKey.trim()}`).join("\n") + "\n");
  const ssh = (who: string, server: string) =>
    `ssh -i ${path.join(STATE, "keys", who)} -o IdentitiesOnly=yes -o UserKnownHostsFile=${known} ${who}@${addr(server)}`;
  const dev = plan.servers.find((s) => s.grants.some((g) => g.reason !== "own"))!;
  const lead = dev.grants.find((g) => g.reason === "lead") ?? dev.grants.find((g) => g.reason !== "own")!;
  return [
    renderMatrix(plan),
    "",
    `Log in as ${dev.owner} and start an agent session (runs inside ${dev.owner}-agent's limited slice):`,
    `  ${ssh(dev.owner, dev.name)}`,
    `  agent-session new ${dev.owner}-agent demo`,
    "",
    `Log in as ${lead.human} on ${dev.name}, list and attach (recorded by sudo I/O logging):`,
    `  ${ssh(lead.human, dev.name)}`,
    `  agent-session ls`,
    `  agent-session attach ${dev.owner}-agent demo`,
    "",
    "Status: agent-runtime sandbox status --json     Tear down: agent-runtime sandbox down",
  ].join("\n");
}

async function down(): Promise<number> {
  const engine = path.join(STATE, "engine");
  const hosts = await poolStatus(POOL).catch(() => []);
  if (existsSync(engine) && hosts.some((h) => h.reachable)) {
    const stack = await sandboxStack(path.join(STATE, "team.yaml"), hosts[0]!.privateKeyPath);
    console.error("sandbox: pulumi destroy …");
    await stack.destroy({ onOutput: (s) => process.stderr.write(s) });
  }
  await stopPool(POOL);
  rmSync(engine, { recursive: true, force: true });
  console.log("sandbox: down (hosts, mounts, namespaces and bridge removed; keys kept in " + path.join(STATE, "keys") + ")");
  return 0;
}

async function status(json: boolean): Promise<number> {
  // Once provisioned, root login is off: the provisioner account (same pool key) is the way in.
  const provisioned = existsSync(path.join(STATE, "engine"));
  const hosts = (await poolStatus(POOL).catch(() => [])).map((h) => ({ ...h, adminUser: provisioned ? "agent-runtime" : h.adminUser }));
  if (json) {
    console.log(JSON.stringify(hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, adminUser: h.adminUser, keyPath: h.privateKeyPath, reachable: h.reachable })), null, 2));
  } else if (hosts.length === 0) {
    console.log("sandbox: no hosts (run: agent-runtime sandbox up)");
  } else {
    for (const h of hosts) console.log(`${h.name.padEnd(12)} ${h.address}:${h.port}  ${h.reachable ? "reachable" : "NOT reachable"}  (admin ${h.adminUser}, key ${h.privateKeyPath})`);
  }
  return 0;
}
