import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { planTeam, type TeamPlan } from "../../src/plan/access";
import { openStack } from "../../src/sandbox/engine";
import { sshExec, startPool, stopPool, type ExecResult, type PoolHost } from "../../src/sandbox/hostPool";
import { sandboxTeamYaml } from "../../src/sandbox/sandboxTeam";
import { shq } from "../../src/render/script";
import { formatError } from "../../src/team/errors";
import { parseTeam } from "../../src/team/load";

// End-to-end plumbing: boot one pool host per person, give each person a key pair,
// render team.yaml for those hosts, and run the real engine on it.

export { POOL, SUBNET, SUITE } from "./pool";
import { POOL, SUBNET, SUITE } from "./pool";
export const ADMIN = "agent-runtime";

export interface TeamEnv {
  dir: string;
  hosts: PoolHost[];
  keys: Record<string, string>;
  adminKey: string;
  stack?: Stack;
}

/** Boot hosts dev-<person> for each person (plus `extraHosts`, named as given; containers,
 *  VMs for the people in `vms`) and generate their keys. */
export async function bootTeam(people: string[], extraHosts: string[] = [], vms: string[] = []): Promise<TeamEnv> {
  const dir = mkdtempSync(path.join(tmpdir(), "agent-runtime-e2e-"));
  const kinds = Object.fromEntries(vms.map((p) => [`dev-${p}`, "vm" as const]));
  const hosts = await startPool({ pool: POOL, subnet: SUBNET, names: [...people.map((p) => `dev-${p}`), ...extraHosts], kinds });
  // The e2e-trixie project's claim rests on this: every host runs the release asked for.
  for (const h of hosts) {
    const os = await sshExec(h, ". /etc/os-release && echo $VERSION_CODENAME");
    if (os.stdout.trim() !== SUITE) throw new Error(`${h.name} runs Debian "${os.stdout.trim()}" (${os.stderr.trim()}), expected ${SUITE}`);
  }
  mkdirSync(path.join(dir, "keys"), { mode: 0o700 });
  const keys = Object.fromEntries(
    people.map((p) => {
      const k = path.join(dir, "keys", p);
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${p}@e2e`, "-f", k]);
      return [p, k];
    }),
  );
  return { dir, hosts, keys, adminKey: hosts[0]!.privateKeyPath };
}

/** Stop the hosts and remove the temp dir (always call from afterAll). */
export async function teardownTeam(env: TeamEnv | undefined): Promise<void> {
  await stopPool(POOL);
  if (env) rmSync(env.dir, { recursive: true, force: true });
}

/** team.yaml text rewritten for env's hosts and keys; throws on invalid input. */
export function renderTeam(env: TeamEnv, text: string, et?: { aptLine: string; signingKey: string }): { yaml: string; plan: TeamPlan } {
  const people = Object.keys(env.keys);
  const yaml = sandboxTeamYaml(text, {
    hosts: env.hosts,
    personKeys: Object.fromEntries(people.map((p) => [p, readFileSync(`${env.keys[p]}.pub`, "utf8")])),
    et,
  });
  const r = parseTeam(yaml, "team.yaml");
  if (!r.ok) throw new Error(r.errors.map(formatError).join("\n"));
  return { yaml, plan: planTeam(r.team) };
}

/** Write team.yaml and point the stack at it (with optional fault injection). */
export async function configure(env: TeamEnv, yaml: string, faults?: object): Promise<Stack> {
  const teamFile = path.join(env.dir, "team.yaml");
  writeFileSync(teamFile, yaml);
  env.stack = await openStack({
    stateDir: path.join(env.dir, "engine"),
    stackName: "e2e",
    // Executor "ssh": the command provider plugin can't be built here (README "Toolchain").
    config: {
      teamFile,
      executor: "ssh",
      adminKeyPath: env.adminKey,
      adminPublicKey: readFileSync(`${env.adminKey}.pub`, "utf8").trim(),
      archiveDir: path.join(env.dir, "archives"),
      testFaults: JSON.stringify(faults ?? {}),
    },
  });
  return env.stack;
}

/** Resource operations (other than `same`) of an up/preview, as "op name". */
export function collectOps(events: EngineEvent[]): string[] {
  return events
    .map((e) => e.resourcePreEvent?.metadata)
    .filter((m): m is NonNullable<typeof m> => !!m && m.op !== "same" && m.type !== "pulumi:pulumi:Stack")
    .map((m) => `${m.op} ${m.urn.split("::").pop()}`)
    .sort();
}

/** `up` that also returns the non-`same` operations it performed. */
export async function upOps(stack: Stack): Promise<{ ops: string[]; output: string }> {
  const events: EngineEvent[] = [];
  let output = "";
  await stack.up({ onEvent: (e) => events.push(e), onOutput: (s) => (output += s) });
  return { ops: collectOps(events), output };
}

const host = (env: TeamEnv, server: string) => env.hosts.find((h) => h.name === server)!;

/** Run a command as a person (their own key) on a server. */
export function asPerson(env: TeamEnv, person: string, server: string, command: string): Promise<ExecResult> {
  return sshExec(host(env, server), command, { user: person, keyPath: env.keys[person] });
}

/** Run a command as root on a server, through the provisioner account. */
export async function asRoot(env: TeamEnv, server: string, command: string): Promise<string> {
  const r = await sshExec(host(env, server), `sudo -n bash -c ${shq(command)}`, { user: ADMIN });
  if (r.code !== 0) throw new Error(`${server}: ${command}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Cut (or restore) a pool host's only link, inside the network namespace the pool made for
 *  it: nothing answers at its address any more, as for a machine that is off. */
export function setHostLink(pool: string, address: string, state: "up" | "down"): void {
  const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter((n) => n.startsWith(`ar-${pool}-`));
  const ns = namespaces.find((n) =>
    execFileSync("ip", ["-n", n, "-4", "-o", "addr", "show", "dev", "eth0"], { encoding: "utf8" }).includes(` ${address}/`),
  );
  if (!ns) throw new Error(`no network namespace of pool ${pool} holds ${address}`);
  execFileSync("ip", ["-n", ns, "link", "set", "eth0", state]);
}
