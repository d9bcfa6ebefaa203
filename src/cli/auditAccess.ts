import { existsSync } from "node:fs";
import * as path from "node:path";
import { planTeam } from "../plan/access";
import { poolStatus } from "../sandbox/hostPool";
import { auditAccess } from "../sandbox/probe";
import { SANDBOX_POOL, SANDBOX_STATE } from "../sandbox/sandbox";
import { formatError } from "../team/errors";
import { loadTeamFile } from "../team/load";

/** `agent-runtime audit-access [--json]`: actual `sudo -l -U` on every sandbox host vs the plan. */
export async function auditAccessCommand(args: string[]): Promise<number> {
  const json = args.includes("--json");
  const teamFile = args.find((a) => !a.startsWith("--")) ?? path.join(SANDBOX_STATE, "team.yaml");
  if (!existsSync(teamFile)) {
    console.error(`audit-access: ${teamFile} not found (run: agent-runtime sandbox up)`);
    return 1;
  }
  const r = loadTeamFile(teamFile);
  if (!r.ok) {
    console.error(r.errors.map(formatError).join("\n"));
    return 1;
  }
  const plan = planTeam(r.team);
  const hosts = (await poolStatus(SANDBOX_POOL)).filter((h) => h.running);
  const findings = await auditAccess(plan, hosts);
  if (json) console.log(JSON.stringify({ hosts: hosts.map((h) => h.name), findings }, null, 2));
  else if (findings.length === 0)
    console.log(`audit-access: ${hosts.length} hosts, actual sudo rights equal the plan (0 extra, 0 missing)`);
  else for (const f of findings) console.log(`${f.kind.toUpperCase()}: ${f.server}: ${f.user} → ${f.target}`);
  return findings.length === 0 ? 0 : 1;
}
