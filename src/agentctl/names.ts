// Session names and addresses: `<project>-<agent>`, then -2, -3 for parallel sessions,
// so nobody ever types `new2`; targets are SERVER/AGENT_USER/SESSION.

const SAFE = /[^A-Za-z0-9_-]+/g;

/** tmux-safe part of a name: no dots or colons (tmux target syntax), no spaces. */
export function slug(text: string): string {
  return (
    text
      .replace(SAFE, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40) || "session"
  );
}

/** `<project>-<agent>`, or with -2, -3… when taken. */
export function defaultSessionName(projectDir: string, agent: string, taken: readonly string[]): string {
  const project = projectDir.replace(/\/+$/, "").split("/").pop() || "home";
  const base = `${slug(project)}-${slug(agent)}`;
  if (!taken.includes(base)) return base;
  for (let n = 2; ; n++) if (!taken.includes(`${base}-${n}`)) return `${base}-${n}`;
}

/** A name given with --name: tmux-safe or refused. */
export function checkSessionName(name: string): string | undefined {
  return /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/.test(name) ? undefined : `session name "${name}": letters, digits, _ and - only (at most 64)`;
}

export interface Target {
  server: string;
  agentUser: string;
  session: string;
}

/** SERVER/AGENT_USER/SESSION (SERVER may be omitted for this server). */
export function parseTarget(text: string, localServer: string): Target | string {
  const parts = text.split("/");
  if (parts.length === 2) parts.unshift(localServer);
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(p)))
    return `"${text}" is not SERVER/AGENT_USER/SESSION (e.g. dev-wes/wes-agent/app-claude)`;
  const [server, agentUser, session] = parts as [string, string, string];
  return { server, agentUser, session };
}

export const formatTarget = (t: Target) => `${t.server}/${t.agentUser}/${t.session}`;
