import { z } from "zod";

// What an agent session is doing, read from its pane by rules that are data
// (status-rules.json), never code: a team adds an agent by adding rules. Pure: the
// caller hands in what tmux reported (pane text, title, liveness, last activity).

/** A session's state. "waiting" is shown as "waiting for input". */
export type State = "running" | "waiting" | "idle" | "exited" | "error";

/** What tmux says about a session's active pane. */
export interface PaneSnapshot {
  /** `#{pane_title}` (agents set it, e.g. with a spinner). */
  title: string;
  /** `capture-pane -p`: the visible screen, one line per row. */
  text: string;
  /** `#{pane_dead}`: the command ended (remain-on-exit) or the session is gone. */
  dead: boolean;
  /** `#{pane_dead_status}` when dead. */
  exitStatus?: number;
  /** Seconds since `#{window_activity}`. */
  activityAgeSeconds: number;
}

const RuleSchema = z.strictObject({
  state: z.enum(["running", "waiting", "idle", "error"]),
  /** title: the pane title; screen: the whole screen; tail: the last `lines` non-empty
   *  lines; above-box: the `lines` non-empty lines above the last box (╭ or ┌), e.g. an
   *  agent's prompt box, or the tail when there is no box. */
  region: z.enum(["title", "screen", "tail", "above-box"]),
  lines: z.number().int().positive().max(200).optional(),
  pattern: z.string().min(1),
  priority: z.number().int(),
  activityWithinSeconds: z.number().positive().optional(),
});

export const RuleFileSchema = z.strictObject({
  schema_version: z.literal(1),
  comment: z.string().optional(),
  busyWithinSeconds: z.number().nonnegative(),
  agents: z.record(z.string().regex(/^([a-z0-9][a-z0-9_-]*|\*)$/), z.strictObject({ rules: z.array(RuleSchema) })),
});

export type Rule = z.infer<typeof RuleSchema>;

interface CompiledRule extends Rule {
  re: RegExp;
  /** "agent#index", for explaining a decision. */
  id: string;
}

/** Rules ready to run: per agent, its own rules and the "*" rules, by priority. */
export interface RuleSet {
  busyWithinSeconds: number;
  byAgent: Map<string, CompiledRule[]>;
  common: CompiledRule[];
}

/** Validate a rule file; errors name the rule (`agents.claude.rules[2].pattern: …`). */
export function compileRules(data: unknown, source = "status-rules.json"): RuleSet {
  const parsed = RuleFileSchema.safeParse(data);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new Error(`${source} ${i.path.join(".")}: ${i.message}`);
  }
  const compile = (agent: string) =>
    parsed.data.agents[agent]!.rules.map((r, n): CompiledRule => {
      try {
        return { ...r, re: new RegExp(r.pattern, "mu"), id: `${agent}#${n}` };
      } catch (e) {
        throw new Error(`${source} agents.${agent}.rules[${n}].pattern: ${(e as Error).message}`);
      }
    });
  const byPriority = (a: CompiledRule, b: CompiledRule) => b.priority - a.priority;
  const byAgent = new Map(
    Object.keys(parsed.data.agents)
      .filter((a) => a !== "*")
      .map((a) => [a, compile(a)] as const),
  );
  const common = parsed.data.agents["*"] ? compile("*") : [];
  for (const [a, rules] of byAgent) byAgent.set(a, [...rules, ...common].sort(byPriority));
  return { busyWithinSeconds: parsed.data.busyWithinSeconds, byAgent, common: [...common].sort(byPriority) };
}

const nonEmpty = (text: string) =>
  text
    .split("\n")
    .map((l) => l.replace(/\s+$/, ""))
    .filter((l) => l.length > 0);

/** The text a rule looks at. */
export function region(rule: Pick<Rule, "region" | "lines">, pane: PaneSnapshot): string {
  const n = rule.lines ?? 5;
  switch (rule.region) {
    case "title":
      return pane.title;
    case "screen":
      return nonEmpty(pane.text).join("\n");
    case "tail":
      return nonEmpty(pane.text).slice(-n).join("\n");
    case "above-box": {
      const lines = nonEmpty(pane.text);
      let top = lines.length - 1;
      while (top >= 0 && !/^\s*[╭┌]/.test(lines[top]!)) top--;
      return (top < 0 ? lines : lines.slice(0, top)).slice(-n).join("\n");
    }
  }
}

/** The decided state, with the rule that decided it (none: activity alone). */
export interface Status {
  state: State;
  /** Seconds since the pane last changed (for "idle for …"). */
  idleSeconds: number;
  exitStatus?: number;
  rule?: string;
}

/** Decide a session's state from its pane. Unknown agents get the "*" rules. */
export function detectStatus(rules: RuleSet, agent: string, pane: PaneSnapshot): Status {
  const idleSeconds = Math.max(0, Math.floor(pane.activityAgeSeconds));
  if (pane.dead) return { state: "exited", idleSeconds, exitStatus: pane.exitStatus };
  for (const rule of rules.byAgent.get(agent) ?? rules.common) {
    if (rule.activityWithinSeconds !== undefined && pane.activityAgeSeconds > rule.activityWithinSeconds) continue;
    if (rule.re.test(region(rule, pane))) return { state: rule.state, idleSeconds, rule: rule.id };
  }
  return { state: pane.activityAgeSeconds <= rules.busyWithinSeconds ? "running" : "idle", idleSeconds };
}

/** "1h 5m", "3m", "42s". */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** The STATUS column: running, waiting for input, idle for 5m, exited (0), error. */
export function statusLabel(s: Pick<Status, "state" | "idleSeconds" | "exitStatus">): string {
  switch (s.state) {
    case "waiting":
      return "waiting for input";
    case "idle":
      return `idle for ${humanDuration(s.idleSeconds)}`;
    case "exited":
      return s.exitStatus === undefined ? "exited" : `exited (${s.exitStatus})`;
    default:
      return s.state;
  }
}
