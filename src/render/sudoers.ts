import { cmp } from "../byteOrder";
import type { Grant, ServerPlan } from "../plan/access";
import { breakSudoers } from "./faults";
import { fill, renderScript, template } from "./script";

// sudoers.d content from the plan. One file per human per server; the rule's only
// target is an agent user (the plan guarantees it; `sudoersRule` re-checks, because a
// rendering bug here is a privilege escalation). Each file is installed through visudo
// (templates/sudoers/install.sh); revoking a grant rewrites or deletes exactly that
// human's file on that server.

/** `/etc/sudoers.d` file name for a human (no dots: sudo skips names with dots). */
export const sudoersFileName = (human: string) => `agent-runtime-user-${human}`;
/** The shared defaults file; sorts before the per-human files. */
export const SUDO_DEFAULTS_FILE = "agent-runtime-defaults";

/** `marcus ALL=(wes-agent) NOPASSWD: ALL`. */
export function sudoersRule(g: Grant): string {
  if (!g.target.endsWith("-agent") || g.target === g.human) throw new Error(`refusing to render a sudo rule to "${g.target}"`);
  return `${g.human} ALL=(${g.target}) NOPASSWD: ALL`;
}

/** The file for one human on one server, from their grants there. */
export function renderHumanSudoers(server: string, human: string, grants: Grant[]): string {
  const mine = grants.filter((g) => g.human === human).sort((a, b) => cmp(a.target, b.target));
  if (mine.length === 0) throw new Error(`${human} has no grant on ${server}`);
  const recorded = mine.filter((g) => g.ioLog);
  const rules = [
    // No team.yaml line numbers here: an unrelated edit would rewrite every file.
    ...mine.map((g) => `# ${g.target}: ${g.reason === "own" ? "their own agent user" : `as ${g.reason}`}`),
    // Sessions in someone else's agent user are recorded; attaches included.
    ...(recorded.length ? [`Defaults:${human} log_input, log_output`] : []),
    ...mine.map(sudoersRule),
  ].join("\n");
  return fill(template("sudoers/human.sudoers"), { HUMAN: human, SERVER: server, RULES: rules }).trimEnd() + "\n";
}

/** Shared defaults (use_pty, sudo log, I/O log directory). */
export function renderSudoDefaults(): string {
  return template("sudoers/defaults.sudoers");
}

/** The content of each human's file on this server, keyed by human; `broken` humans get breakSudoers (test-only). */
export function sudoersFiles(plan: ServerPlan, broken: readonly string[] = []): Record<string, string> {
  const humans = [...new Set(plan.grants.map((g) => g.human))].sort();
  return Object.fromEntries(
    humans.map((h) => {
      const text = renderHumanSudoers(plan.name, h, plan.grants);
      return [h, broken.includes(h) ? breakSudoers(text, h) : text];
    }),
  );
}

/** The rule lines of a sudoers file (what a reviewer must see). */
export function rulesOf(content: string): string {
  return content
    .split("\n")
    .filter((l) => / ALL=\(/.test(l))
    .join("\n");
}

/** Script installing one sudoers.d file through visudo (templates/sudoers/install.sh). */
export function sudoersScript(file: string, content: string): string {
  return renderScript("sudoers/install.sh", { AR_FILE: file, AR_CONTENT: content });
}

/** Revoke: remove the file and list the reached agents' crontabs and user units (templates/sudoers/remove.sh). */
export function sudoersRemoveScript(file: string): string {
  return renderScript("sudoers/remove.sh", { AR_FILE: file });
}
