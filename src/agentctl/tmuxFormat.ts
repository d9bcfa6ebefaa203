// The tmux side of agentctl as data: which formats the probe asks for and how their
// output is read back. Names, titles and @options are the agent user's to set, so fields
// are separated by a per-call random token the agent can't plant, never by a character.

/** What agentctl records on each session (tmux user options), and in its sidecar file. */
export const META_OPTIONS = {
  project: "@agentctl_project",
  branch: "@agentctl_branch",
  worktree: "@agentctl_worktree",
  agent: "@agentctl_agent",
  launchedBy: "@agentctl_launched_by",
  created: "@agentctl_created",
} as const;

/** One pane, as list-panes reports it. */
export interface PaneInfo {
  sessionId: string;
  session: string;
  paneId: string;
  panePid: number;
  dead: boolean;
  deadStatus?: number;
  /** Unix seconds. */
  windowActivity: number;
  sessionCreated: number;
  /** The pane a client would see: active pane of the active window. */
  active: boolean;
  meta: Record<keyof typeof META_OPTIONS, string>;
  title: string;
}

const PANE_FIELDS = [
  "#{session_id}",
  "#{pane_id}",
  "#{pane_pid}",
  "#{pane_dead}",
  "#{pane_dead_status}",
  "#{window_activity}",
  "#{session_created}",
  "#{&&:#{window_active},#{pane_active}}",
  ...Object.values(META_OPTIONS).map((o) => `#{${o}}`),
  "#{session_name}",
  "#{pane_title}",
];

/** `list-panes -a -F` format: fields joined by `<nonce>F`, each record ended by `<nonce>E`. */
export const paneFormat = (nonce: string) => PANE_FIELDS.join(`${nonce}F`) + `${nonce}E`;

/** Records of list-panes output made with paneFormat(nonce); malformed ones are dropped. */
export function parsePanes(output: string, nonce: string): PaneInfo[] {
  const keys = Object.keys(META_OPTIONS) as (keyof typeof META_OPTIONS)[];
  const panes: PaneInfo[] = [];
  for (const record of output.split(`${nonce}E`)) {
    const f = record.replace(/^\n/, "").split(`${nonce}F`);
    if (f.length !== PANE_FIELDS.length) continue;
    const [sessionId, paneId, pid, dead, deadStatus, activity, created, active] = f;
    const meta = Object.fromEntries(keys.map((k, i) => [k, f[8 + i]!])) as PaneInfo["meta"];
    panes.push({
      sessionId: sessionId!,
      paneId: paneId!,
      panePid: Number(pid),
      dead: dead === "1",
      deadStatus: deadStatus === "" ? undefined : Number(deadStatus),
      windowActivity: Number(activity),
      sessionCreated: Number(created),
      active: active === "1",
      meta,
      session: f[8 + keys.length]!,
      title: f[9 + keys.length]!,
    });
  }
  return panes;
}

/** One tmux command line capturing several panes, split by `<nonce>C` markers. */
export function captureArgs(paneIds: readonly string[], nonce: string): string[] {
  return paneIds.flatMap((id, i) => [...(i ? [";"] : []), "capture-pane", "-p", "-t", id, ";", "display-message", "-p", `${nonce}C`]);
}

/** The screens captured by captureArgs, in order. */
export function splitCaptures(output: string, nonce: string, count: number): string[] {
  const parts = output.split(`${nonce}C\n`);
  return Array.from({ length: count }, (_, i) => parts[i] ?? "");
}

/** `list-clients -F` format and reader: who is attached to which session. */
export const clientFormat = (nonce: string) => ["#{client_pid}", "#{client_readonly}", "#{session_id}"].join(`${nonce}F`);

export function parseClients(output: string, nonce: string): { pid: number; readonly: boolean; sessionId: string }[] {
  return output
    .split("\n")
    .map((l) => l.split(`${nonce}F`))
    .filter((f) => f.length === 3)
    .map(([pid, ro, sid]) => ({ pid: Number(pid), readonly: ro === "1", sessionId: sid! }));
}
