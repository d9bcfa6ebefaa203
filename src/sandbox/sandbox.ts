import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { planTeam, type TeamPlan } from "../plan/access";
import { knownHostsPattern } from "../ssh/clientOptions";
import { formatError, type TeamError } from "../team/errors";
import { parseTeam } from "../team/load";
import { openStack, REPO_ROOT } from "./engine";
import { ensureEtFixture } from "./etFixture";
import { poolStatus, startPool, stopPool, type PoolHost, type PoolHostStatus } from "./hostPool";
import { sandboxTeamYaml } from "./sandboxTeam";

// The sandbox: the example team on local nspawn hosts, provisioned by the real engine.
// State (keys, generated team.yaml, Pulumi backend) lives in /var/lib/agent-runtime/sandbox
// and survives between commands. `agent-runtime sandbox|preview|audit-access`
// (src/cli/) parse arguments and print; everything they do happens here.

/** Host pool the sandbox owns (tests use others). */
export const SANDBOX_POOL = process.env.AGENT_RUNTIME_SANDBOX_POOL ?? "sandbox";
const POOL = SANDBOX_POOL;
const SUBNET = process.env.AGENT_RUNTIME_SANDBOX_SUBNET ?? "10.213.1";
/** Keys, the generated team.yaml and the engine state of the sandbox. */
export const SANDBOX_STATE = process.env.AGENT_RUNTIME_SANDBOX_STATE ?? "/var/lib/agent-runtime/sandbox";
const STATE = SANDBOX_STATE;
const STACK = "sandbox";

/** Files the sandbox keeps under SANDBOX_STATE that its users handle. */
export const sandboxPaths = {
  /** One ssh key pair per person of the team: keys/<name> and keys/<name>.pub. */
  keys: path.join(STATE, "keys"),
  /** The hosts' pinned keys, for the login commands `up` prints. */
  knownHosts: path.join(STATE, "known_hosts"),
};

/** Where the sandbox reports progress: one line per step, and the engine's output as it streams. */
export interface SandboxProgress {
  step(line: string): void;
  engine(chunk: string): void;
}

/** What `up` did: team.yaml errors, or the plan it applied and the hosts it applied it to. */
export type SandboxUpResult = { ok: false; errors: TeamError[] } | { ok: true; plan: TeamPlan; hosts: PoolHost[] };

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
  const dir = sandboxPaths.keys;
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

/** Sets the machine up, boots (or reuses) the hosts and runs `pulumi up` with teamFile. */
export async function sandboxUp(teamFile: string, progress: SandboxProgress): Promise<SandboxUpResult> {
  const source = readFileSync(teamFile, "utf8");
  const parsed = parseTeam(source, teamFile);
  if (!parsed.ok) return { ok: false, errors: parsed.errors };
  const plan = planTeam(parsed.team);
  progress.step("sandbox: setting up (packages, toolchain, npm, rootfs) …");
  setup();
  mkdirSync(STATE, { recursive: true, mode: 0o700 });
  const names = plan.servers.map((s) => s.name);
  let hosts = await healthyHosts(names);
  if (!hosts) {
    progress.step(`sandbox: booting ${names.length} hosts …`);
    // Fresh hosts: whatever an earlier stack recorded about old hosts no longer holds.
    rmSync(path.join(STATE, "engine"), { recursive: true, force: true });
    hosts = await startPool({ pool: POOL, subnet: SUBNET, names });
  }
  const generated = path.join(STATE, "team.yaml");
  await writeSandboxTeam(source, plan, hosts, generated);
  writeFileSync(sandboxSourceTeam(), source); // the base of `agent-runtime preview`
  const stack = await sandboxStack(generated, hosts[0]!.privateKeyPath);
  progress.step("sandbox: pulumi up …");
  const result = await stack.up({ onOutput: (s) => progress.engine(s) });
  progress.step(`sandbox: up ${result.summary.result}`);
  writeFileSync(
    sandboxPaths.knownHosts,
    hosts.map((h) => `${knownHostsPattern(h.address, h.port)} ${h.hostPublicKey.trim()}`).join("\n") + "\n",
  );
  return { ok: true, plan, hosts };
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
    config: {
      teamFile,
      executor: "ssh",
      adminKeyPath: adminKey,
      adminPublicKey: readFileSync(`${adminKey}.pub`, "utf8").trim(),
      archiveDir: path.join(STATE, "archives"),
    },
  });
}

async function healthyHosts(names: string[]): Promise<PoolHost[] | undefined> {
  const st = await poolStatus(POOL).catch(() => []);
  const ok = names.every((n) => st.some((h) => h.name === n && h.reachable));
  return ok ? st : undefined;
}

/** What `down` did: the error of a `pulumi destroy` that failed (the hosts are removed all the same). */
export interface SandboxDownResult {
  destroyError?: string;
}

/** `pulumi destroy` while the hosts answer, then the hosts themselves, always (even when
 *  destroy fails, e.g. a host in the state is gone); keys stay. */
export async function sandboxDown(progress: SandboxProgress): Promise<SandboxDownResult> {
  const engine = path.join(STATE, "engine");
  const hosts = await poolStatus(POOL).catch(() => []);
  let destroyError: string | undefined;
  if (existsSync(engine) && hosts.some((h) => h.reachable)) {
    progress.step("sandbox: pulumi destroy …");
    try {
      const stack = await sandboxStack(path.join(STATE, "team.yaml"), hosts[0]!.privateKeyPath);
      await stack.destroy({ onOutput: (s) => progress.engine(s) });
    } catch (err) {
      destroyError = engineErrorLines(err);
      progress.step(`sandbox: pulumi destroy failed; removing the hosts anyway:\n${destroyError}`);
    }
  }
  await stopPool(POOL);
  rmSync(engine, { recursive: true, force: true });
  return { destroyError };
}

/** The engine's own error lines from a failed Automation API call (its full output is long). */
export function engineErrorLines(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text.split("\n").filter((l) => /error|failed|No route|unreachable|timed out/i.test(l));
  return (lines.length ? lines : text.split("\n")).slice(-12).join("\n").trim();
}

/** The sandbox's hosts with liveness, each with the admin user that gets in now; [] when none run. */
export async function sandboxStatus(): Promise<PoolHostStatus[]> {
  // Once provisioned, root login is off: the provisioner account (same pool key) is the way in.
  const provisioned = existsSync(path.join(STATE, "engine"));
  return (await poolStatus(POOL).catch(() => [])).map((h) => ({ ...h, adminUser: provisioned ? "agent-runtime" : h.adminUser }));
}
