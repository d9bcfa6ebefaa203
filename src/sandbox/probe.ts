import type { TeamPlan } from "../plan/access";
import { compareAccess, parseProbe, PROBE_SCRIPT, type AccessFinding } from "../probe/sudoProbe";
import { sshExec, type PoolHost } from "./hostPool";

// Runs the least-privilege probe on live hosts: one ssh per host as the provisioner
// account, `sudo -l -U` for every user, compared with the plan.

/** Actual sudo targets per user on one host. */
export async function probeHost(host: PoolHost, admin = "agent-runtime"): Promise<Map<string, Set<string>>> {
  const r = await sshExec(host, "sudo -n bash -s", { user: admin, input: PROBE_SCRIPT });
  if (r.code !== 0) throw new Error(`probe on ${host.name} (${host.address}) failed: ${r.stderr.trim()}`);
  return parseProbe(r.stdout);
}

/** Every extra or missing grant on the given hosts (host name = server name). */
export async function auditAccess(plan: TeamPlan, hosts: PoolHost[], admin = "agent-runtime"): Promise<AccessFinding[]> {
  const findings: AccessFinding[] = [];
  for (const h of hosts) findings.push(...compareAccess(plan, h.name, await probeHost(h, admin), admin));
  return findings;
}
