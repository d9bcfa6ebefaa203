import * as path from "node:path";
import type { TeamPlan } from "../plan/access";
import { renderMatrix } from "../plan/matrix";
import { REPO_ROOT } from "../sandbox/engine";
import type { PoolHost } from "../sandbox/hostPool";
import { preconditions, sandboxDown, sandboxPaths, sandboxStatus, sandboxUp, type SandboxProgress } from "../sandbox/sandbox";
import { formatError } from "../team/errors";

// `agent-runtime sandbox up|down|status`: arguments in, text out. What the commands do
// (hosts, keys, engine) lives in src/sandbox/sandbox.ts.

// Progress and the engine's own output go to stderr; stdout carries only the result.
const progress: SandboxProgress = {
  step: (line) => console.error(line),
  engine: (chunk) => process.stderr.write(chunk),
};

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

async function up(teamFile: string): Promise<number> {
  const r = await sandboxUp(teamFile, progress);
  if (!r.ok) {
    console.error(r.errors.map(formatError).join("\n"));
    return 1;
  }
  console.log(nextSteps(r.plan, r.hosts));
  return 0;
}

function nextSteps(plan: TeamPlan, hosts: PoolHost[]): string {
  const addr = (server: string) => hosts.find((h) => h.name === server)!.address;
  const ssh = (who: string, server: string) =>
    `ssh -i ${path.join(sandboxPaths.keys, who)} -o IdentitiesOnly=yes -o UserKnownHostsFile=${sandboxPaths.knownHosts} ${who}@${addr(server)}`;
  const dev = plan.servers.find((s) => s.grants.some((g) => g.reason !== "own"))!;
  const lead = dev.grants.find((g) => g.reason === "lead") ?? dev.grants.find((g) => g.reason !== "own")!;
  return [
    renderMatrix(plan),
    "",
    `Log in as ${dev.owner} and start an agent session (runs inside ${dev.owner}-agent's limited slice):`,
    `  ${ssh(dev.owner, dev.name)}`,
    `  agentctl new --name demo`,
    "",
    `Log in as ${lead.human} on ${dev.name}, list and attach (recorded by sudo I/O logging):`,
    `  ${ssh(lead.human, dev.name)}`,
    `  agentctl ls`,
    `  agentctl attach ${dev.name}/${dev.owner}-agent/demo --read-only`,
    `  agentctl          # the full-screen view of every session you may reach`,
    "",
    "Status: agent-runtime sandbox status --json     Tear down: agent-runtime sandbox down",
  ].join("\n");
}

async function down(): Promise<number> {
  const r = await sandboxDown(progress);
  console.log("sandbox: down (hosts, mounts, namespaces and bridge removed; keys kept in " + sandboxPaths.keys + ")");
  if (r.destroyError === undefined) return 0;
  // The hosts and their state are gone; only the undo scripts did not all run (nothing to fix).
  console.error(
    `sandbox down: pulumi destroy failed, the hosts were removed anyway (with the stack state that described them):\n${r.destroyError}`,
  );
  return 1;
}

async function status(json: boolean): Promise<number> {
  const hosts = await sandboxStatus();
  if (json) {
    console.log(
      JSON.stringify(
        hosts.map((h) => ({
          name: h.name,
          address: h.address,
          port: h.port,
          adminUser: h.adminUser,
          keyPath: h.privateKeyPath,
          reachable: h.reachable,
        })),
        null,
        2,
      ),
    );
  } else if (hosts.length === 0) {
    console.log("sandbox: no hosts (run: agent-runtime sandbox up)");
  } else {
    for (const h of hosts)
      console.log(
        `${h.name.padEnd(12)} ${h.address}:${h.port}  ${h.reachable ? "reachable" : "NOT reachable"}  (admin ${h.adminUser}, key ${h.privateKeyPath})`,
      );
  }
  return 0;
}
