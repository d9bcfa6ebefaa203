import { spawnSync } from "node:child_process";
import { realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import { planTeam } from "../plan/access";
import { diffPlans } from "../plan/diff";
import { renderDiffJson, renderDiffMarkdown } from "../render/accessDiff";
import { formatError } from "../team/errors";
import { loadTeamFile, parseTeam, type LoadResult } from "../team/load";
import type { Team } from "../team/model";

// `agent-runtime access-diff`: who gains or loses which access where, between the team
// file of a base (a file, or a git ref such as origin/main) and the working copy. CI
// posts the markdown on every pull request; exit 0 whether or not anything changed, 1
// when either side is invalid (a reviewer must see why), 2 on bad usage.

const USAGE = "usage: agent-runtime access-diff --base REF|FILE [--head FILE] [--format markdown|json]";

/** Parsed command line. */
export interface AccessDiffOptions {
  base: string;
  head: string;
  format: "markdown" | "json";
}

/** Command line → options, or a usage error message. */
export function parseAccessDiffArgs(args: string[]): AccessDiffOptions | string {
  const opts: Partial<AccessDiffOptions> = { head: "team.yaml", format: "markdown" };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    if (!["--base", "--head", "--format"].includes(flag)) return `unknown argument "${args[i]}"`;
    const value = inline ?? args[++i];
    if (value === undefined || value === "") return `${flag} needs a value`;
    if (flag === "--base") opts.base = value;
    else if (flag === "--head") opts.head = value;
    else if (value === "markdown" || value === "json") opts.format = value;
    else return `--format must be markdown or json, not "${value}"`;
  }
  return opts.base ? (opts as AccessDiffOptions) : "--base is required";
}

/** The base side: a team, a missing file at that ref (everything is new), or error lines. */
type BaseSide =
  { kind: "team"; result: LoadResult; label: string } | { kind: "absent"; label: string } | { kind: "error"; message: string };

function git(cwd: string, args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync("git", args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) return { ok: false, out: "", err: r.error.message };
  return { ok: r.status === 0, out: r.stdout, err: r.stderr.trim() };
}

const isFile = (p: string) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

/** `--base`: a file when one exists at that path, else `git show <ref>:<head's path in the repo>`. */
export function readBase(base: string, headFile: string): BaseSide {
  if (isFile(base)) return { kind: "team", result: loadTeamFile(base), label: base };
  if (base.startsWith("-")) return { kind: "error", message: `base "${base}" is not a file, and a git ref never starts with "-"` };
  if (!isFile(headFile))
    return {
      kind: "error",
      message: `base "${base}" is not a file, and the head file ${headFile} (needed to find its path in git) does not exist`,
    };
  const headReal = realpathSync(headFile);
  const top = git(path.dirname(headReal), ["rev-parse", "--show-toplevel"]);
  if (!top.ok) return { kind: "error", message: `base "${base}" is not a file, and ${headFile} is not in a git repository (${top.err})` };
  const root = realpathSync(top.out.trim());
  const rel = path.relative(root, headReal).split(path.sep).join("/");
  const label = `${base}:${rel}`;
  if (!git(root, ["rev-parse", "--verify", "--quiet", `${base}^{commit}`]).ok) {
    return {
      kind: "error",
      message: `base "${base}" is neither a file nor a git ref in ${root} (in CI, check out with history: fetch-depth 0)`,
    };
  }
  // A valid ref without the file: the team file is new in this change, so everything is.
  if (!git(root, ["cat-file", "-e", label]).ok) return { kind: "absent", label };
  const shown = git(root, ["show", label]);
  if (!shown.ok) return { kind: "error", message: `git show ${label}: ${shown.err}` };
  return { kind: "team", result: parseTeam(shown.out, rel), label };
}

function errorLines(side: string, r: LoadResult): string[] {
  if (r.ok) return [];
  return [...r.errors.map((e) => `${side}: ${formatError(e)}`), `${side}: ${r.errors.length} error${r.errors.length === 1 ? "" : "s"}`];
}

/** Run the command; output on stdout, errors on stderr. Returns the exit code. */
export function accessDiffCommand(args: string[]): number {
  const opts = parseAccessDiffArgs(args);
  if (typeof opts === "string") {
    console.error(`access-diff: ${opts}\n${USAGE}`);
    return 2;
  }
  const base = readBase(opts.base, opts.head);
  const head = loadTeamFile(opts.head);
  const errors: string[] = [];
  if (base.kind === "error") errors.push(`base: ${base.message}`);
  if (base.kind === "team") errors.push(...errorLines(`base (${base.label})`, base.result));
  errors.push(...errorLines(`head (${opts.head})`, head));
  if (errors.length > 0 || !head.ok || base.kind === "error" || (base.kind === "team" && !base.result.ok)) {
    console.error(errors.join("\n"));
    return 1;
  }
  let baseTeam: Team;
  if (base.kind === "absent") {
    console.error(`access-diff: ${base.label} does not exist: every server is new`);
    baseTeam = { ...head.team, people: [] };
  } else {
    baseTeam = (base.result as Extract<LoadResult, { ok: true }>).team;
  }
  const diff = diffPlans(planTeam(baseTeam), planTeam(head.team), baseTeam, head.team);
  const labels = { base: base.label, head: opts.head };
  process.stdout.write(opts.format === "json" ? renderDiffJson(diff, labels) : renderDiffMarkdown(diff, labels));
  return 0;
}
