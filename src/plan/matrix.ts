import type { TeamPlan } from "./access";

// Human-readable views of a plan; pure string building, used by the CLI and the sandbox.

/** Server × human table: which agent user each human may become there (`*` = recorded). */
export function renderMatrix(plan: TeamPlan): string {
  const humans = [...new Set(plan.servers.flatMap((s) => s.humans.map((h) => h.name)))].sort();
  const rows = plan.servers.map((s) => [
    s.name,
    ...humans.map((h) => {
      const g = s.grants.find((x) => x.human === h);
      return g ? `${g.target}${g.ioLog ? "*" : ""}` : "-";
    }),
  ]);
  const table = [["server", ...humans], ...rows];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  const lines = table.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join("  ")
      .trimEnd(),
  );
  const hopLines = plan.servers.filter((s) => s.hopsTo.length).map((s) => `  ${s.owner} hops from ${s.name} to ${s.hopsTo.join(", ")}`);
  const limitLines = plan.servers.flatMap((s) =>
    s.agents.map(
      (a) =>
        `  ${a.name.padEnd(widths[0]!)} cpu ${a.limits.cpu} cores, memory ${a.limits.memory} (high ${a.limits.memoryHigh}), tasks ${a.limits.tasks}`,
    ),
  );
  return [
    `team ${plan.team}: who may become which agent user, per server`,
    ...lines,
    "* someone else's agent user: every session is recorded (sudo I/O log).",
    "No human user and no root is a sudo target anywhere.",
    ...(hopLines.length ? ["hops (ssh from one's own server, key generated there):", ...hopLines] : []),
    "agent limits:",
    ...limitLines,
  ].join("\n");
}

/** One-line summary for `validate`. */
export function summary(plan: TeamPlan, people: { role: string }[]): string {
  const count = (r: string) => people.filter((p) => p.role === r).length;
  const grants = plan.servers.reduce((n, s) => n + s.grants.length, 0);
  return `team ${plan.team}: ${people.length} people (${count("lead")} lead, ${count("senior")} senior, ${count("developer")} developer), ${plan.servers.length} servers, ${grants} sudo grants`;
}
