import { planTeam } from "../plan/access";
import { renderMatrix, summary } from "../plan/matrix";
import { formatError } from "../team/errors";
import { loadTeamFile } from "../team/load";

/** `agent-runtime validate [file] [--json]`: exit 0 with a summary, or 1 with every error. */
export function validateCommand(args: string[]): number {
  const json = args.includes("--json");
  const file = args.find((a) => !a.startsWith("--")) ?? "team.yaml";
  const r = loadTeamFile(file);
  if (!r.ok) {
    if (json) console.log(JSON.stringify({ ok: false, file, errors: r.errors }, null, 2));
    else {
      console.error(r.errors.map(formatError).join("\n"));
      console.error(`${file}: ${r.errors.length} error${r.errors.length === 1 ? "" : "s"}`);
    }
    return 1;
  }
  const plan = planTeam(r.team);
  if (json) console.log(JSON.stringify({ ok: true, file, summary: summary(plan, r.team.people) }, null, 2));
  else console.log(`${file}: valid — ${summary(plan, r.team.people)}`);
  return 0;
}

/** `agent-runtime plan [file] [--json]`: the access matrix (or the full plan as JSON). */
export function planCommand(args: string[]): number {
  const json = args.includes("--json");
  const file = args.find((a) => !a.startsWith("--")) ?? "team.yaml";
  const r = loadTeamFile(file);
  if (!r.ok) {
    console.error(r.errors.map(formatError).join("\n"));
    return 1;
  }
  const plan = planTeam(r.team);
  console.log(json ? JSON.stringify(plan, null, 2) : renderMatrix(plan));
  return 0;
}
