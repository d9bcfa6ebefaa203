import type { ServerEnvelope, Session } from "./model";
import { humanDuration } from "./status";

// The `agentctl ls` table and the TUI's rows: one layout for both. Every string here may
// come from an agent user (session names, titles, branches), so control characters are
// removed before anything reaches a terminal: no escape sequence from an agent ever
// runs in a lead's terminal.

export const COLUMNS = ["SERVER", "SESSION", "PROJECT", "AGENT", "AGENT USER", "LAUNCHED BY", "STATUS", "CPU", "RAM", "ATTACHED"] as const;

/** Printable text only: C0/C1 controls, DEL and escape sequences become "?". */
export function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
}

/** "512M", "1.5G", "800K". */
export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)}G`;
  if (n >= 1024 ** 2) return `${Math.round(n / 1024 ** 2)}M`;
  return `${Math.round(n / 1024)}K`;
}

const home = (dir: string) => dir.replace(/^\/home\/[^/]+/, "~");

/** A row's cells, in COLUMNS order. */
export function sessionCells(server: string, s: Session, stale: boolean): string[] {
  const project = s.project.branch
    ? `${home(s.project.dir)} (${s.project.branch}${s.project.worktree ? ", worktree" : ""})`
    : home(s.project.dir);
  return [
    server,
    s.session,
    project,
    s.agent,
    s.agent_user,
    s.launched_by,
    stale ? `${s.status.label} (stale)` : s.status.label,
    `${Math.round(s.cpu_percent)}%`,
    formatBytes(s.rss_bytes),
    s.attached.join(",") || "-",
  ].map(clean);
}

/** The line for a server that didn't answer, or answered with errors and no sessions. */
export function serverNote(e: ServerEnvelope, now: Date): string | undefined {
  if (!e.reachable) {
    const age = Math.round((now.getTime() - Date.parse(e.generated_at)) / 1000);
    return clean(
      `${e.server}: unreachable (${e.errors[0] ?? "no answer"})${e.stale ? `; showing what it had ${humanDuration(age)} ago` : ""}`,
    );
  }
  return e.errors.length ? clean(`${e.server}: ${e.errors.join("; ")}`) : undefined;
}

/** Columns padded to their widest cell; the PROJECT column is cut first to fit `width`. */
export function layout(rows: string[][], width = Infinity): string[] {
  const header = [...COLUMNS] as string[];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? "")].length)));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  const p = COLUMNS.indexOf("PROJECT");
  if (total() > width) widths[p] = Math.max(10, widths[p]! - (total() - width));
  const fit = (cell: string, w: number) => {
    const chars = [...cell];
    return chars.length > w ? chars.slice(0, w - 1).join("") + "…" : cell + " ".repeat(w - chars.length);
  };
  return all.map((r) =>
    widths
      .map((w, i) => fit(r[i] ?? "", w))
      .join("  ")
      .trimEnd(),
  );
}

/** The whole `ls` output: table, then one line per server problem. */
export function renderTable(envelopes: readonly ServerEnvelope[], now: Date, width?: number): string {
  const rows = envelopes.flatMap((e) => e.sessions.map((s) => sessionCells(e.server, s, e.stale)));
  const notes = envelopes.map((e) => serverNote(e, now)).filter((n): n is string => !!n);
  return [...(rows.length ? layout(rows, width) : ["no sessions"]), ...notes].join("\n") + "\n";
}
