import type { AccessDiff, DiffLabels, FieldChange, KeyRef, ServerDiff } from "../plan/diff";
import type { ResolvedLimits } from "../team/model";

// The access diff (src/plan/diff.ts) as text: markdown for the pull-request comment and
// the CLI, JSON for tools. Free text from team.yaml (key comments) is neutralised first.

/** Free text (key comments) cannot close the fenced block or inject markup. */
const safe = (s: string) => s.replace(/[`\u0000-\u001f\u007f]/g, "'");
const keyText = (k: KeyRef) => `${k.fingerprint} (${safe([k.type, k.comment].filter(Boolean).join(" "))})`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const fieldText = (c: FieldChange) => `${c.field} ${c.from ?? "(none)"} → ${c.to ?? "(none)"}`;
const onOff = (b: boolean) => (b ? "on" : "off");
const limitsText = (l: ResolvedLimits) => `cpu ${l.cpu}, memory ${l.memory} (high ${l.memoryHigh}), tasks ${l.tasks}`;

/** One short line: what changes, counted. */
export function summaryLine(d: AccessDiff): string {
  const s = d.summary;
  const parts = [
    [s.serversCreated, "server created", "servers created"],
    [s.serversDestroyed, "server destroyed", "servers destroyed"],
    [s.grantsAdded, "grant added", "grants added"],
    [s.grantsRemoved, "grant removed", "grants removed"],
    [s.grantsChanged, "grant changed", "grants changed"],
    [s.humansCreated, "human user created", "human users created"],
    [s.humansRemoved, "human user removed", "human users removed"],
    [s.keysAdded, "key added", "keys added"],
    [s.keysRemoved, "key removed", "keys removed"],
    [s.forwardingChanged, "forwarding change", "forwarding changes"],
    [s.limitsChanged, "agent limit change", "agent limit changes"],
    [s.teamChanges, "team-wide setting changed", "team-wide settings changed"],
  ] as const;
  const text = parts.filter(([n]) => n > 0).map(([n, one, many]) => plural(n, one, many));
  return text.length ? `${text.join(", ")}.` : "No access changes.";
}

/** One server's lines in review order: the machine, grants, humans, keys, forwarding, agents, settings. */
export function serverLines(s: ServerDiff): string[] {
  const on = `on ${s.server}`;
  const machine = `${s.status === "created" ? "+" : "-"} server ${s.server}  [${s.spec.map((c) => `${c.field} ${c.to ?? c.from}`).join(", ")}]`;
  return [
    ...(s.status === "changed" ? [] : [machine]),
    ...s.grants.map((g) => {
      const reason = g.was && g.was.reason !== g.reason ? `${g.was.reason} → ${g.reason}` : g.reason;
      const rec =
        g.was && g.was.recorded !== g.recorded ? (g.recorded ? "now recorded" : "no longer recorded") : g.recorded ? "recorded" : "";
      const where = g.op === "-" ? `base line ${g.line}` : `line ${g.line}`;
      return `${g.op} ${g.human} → ${g.target} ${on} (${reason})  [${[rec, where].filter(Boolean).join("; ")}]`;
    }),
    ...s.humans.map((x) => {
      const keys = x.keys.length ? `keys: ${x.keys.map(keyText).join(", ")}` : "";
      const hop = x.hopFrom ? `hop key from ${x.hopFrom}` : "";
      return `${x.op} human ${x.human} ${on}  [${[keys, hop, x.forwarding ? "forwarding on" : ""].filter(Boolean).join("; ")}]`;
    }),
    ...s.keys.map((k) => `${k.op} key ${keyText(k.key)} for ${k.human} ${on}`),
    ...s.forwarding.map((f) => `~ forwarding for ${f.human} ${on}: ${onOff(f.from)} → ${onOff(f.to)}`),
    ...s.agents.map((a) =>
      a.op === "~"
        ? `~ ${a.agent} limits ${on}: ${a.changes.map(fieldText).join(", ")}`
        : `${a.op} agent user ${a.agent} ${on}  [${limitsText(a.limits)}]`,
    ),
    ...(s.status === "changed" ? s.spec.map((c) => `~ ${s.server} ${fieldText(c)}`) : []),
  ];
}

/** Markdown for a pull-request comment: heading, summary, team-wide changes, one section per server. */
export function renderDiffMarkdown(d: AccessDiff, labels: DiffLabels): string {
  const out = [`## Access diff: team ${safe(d.team)}`, "", `\`${safe(labels.base)}\` → \`${safe(labels.head)}\`: ${summaryLine(d)}`];
  const block = (title: string, lines: string[]) => out.push("", `### ${title}`, "", "```diff", ...lines, "```");
  if (d.teamChanges.length) {
    block(
      "team-wide (every server and cloud firewall)",
      d.teamChanges.map((c) =>
        c.field === "allowFrom" ? `${c.to ? "+" : "-"} allowFrom ${safe(c.to ?? c.from!)}` : `~ ${safe(fieldText(c))}`,
      ),
    );
  }
  for (const s of d.servers) block(`${s.server} (${s.status})`, serverLines(s));
  return `${out.join("\n")}\n`;
}

/** JSON with the labels, the summary line and the structured diff (stable key order). */
export function renderDiffJson(d: AccessDiff, labels: DiffLabels): string {
  return `${JSON.stringify({ base: labels.base, head: labels.head, summaryLine: summaryLine(d), ...d }, null, 2)}\n`;
}
