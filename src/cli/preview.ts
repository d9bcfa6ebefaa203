import { existsSync, writeFileSync } from "node:fs";
import { planTeam } from "../plan/access";
import { diffPlans } from "../plan/diff";
import { renderDiffMarkdown } from "../render/accessDiff";
import { previewSandbox, sandboxSourceTeam } from "../sandbox/sandbox";
import { formatError } from "../team/errors";
import { loadTeamFile } from "../team/load";

// `agent-runtime preview [team.yaml] [--out FILE]`: what CI posts on a pull request, run
// locally against the sandbox: the access diff (applied team → this file) and the
// engine's `pulumi preview --diff`, as one markdown document.

/** Entry point for `preview`. */
export async function previewCommand(args: string[]): Promise<number> {
  const outIdx = args.indexOf("--out");
  const out = outIdx >= 0 ? args[outIdx + 1] : undefined;
  const headFile = args.find((a, i) => !a.startsWith("--") && (outIdx < 0 || i !== outIdx + 1)) ?? "team.yaml";
  const base = sandboxSourceTeam();
  if (!existsSync(base)) {
    console.error("preview: no sandbox stack (run: agent-runtime sandbox up)");
    return 1;
  }
  const [b, h] = [loadTeamFile(base, "applied team.yaml"), loadTeamFile(headFile)];
  for (const r of [b, h]) if (!r.ok) return (console.error(r.errors.map(formatError).join("\n")), 1);
  if (!b.ok || !h.ok) return 1;
  const diff = diffPlans(planTeam(b.team), planTeam(h.team), b.team, h.team);
  const access = renderDiffMarkdown(diff, { base: "applied", head: headFile });
  const engine = await previewSandbox(headFile);
  const markdown = [
    access.trimEnd(),
    "",
    "<details><summary>pulumi preview --diff (sandbox)</summary>",
    "",
    "```diff",
    engine.stdout.trimEnd(),
    "```",
    "</details>",
    "",
  ].join("\n");
  if (out) writeFileSync(out, markdown);
  else process.stdout.write(markdown);
  return 0;
}
