import type { ServerEnvelope, Session } from "./model";
import { SCHEMA_VERSION } from "./model";

// Results from many servers into one view. A server that doesn't answer keeps its last
// known sessions, marked stale, so one dead host never blanks the lead's screen.

/** What to show for a server: its fresh answer, or the last one marked stale. */
export function withFallback(
  server: string,
  fresh: ServerEnvelope | { error: string },
  last: ServerEnvelope | undefined,
  now: Date,
): ServerEnvelope {
  if ("schema_version" in fresh) return fresh;
  if (last) return { ...last, server, reachable: false, stale: true, errors: [fresh.error] };
  return {
    schema_version: SCHEMA_VERSION,
    server,
    reachable: false,
    stale: false,
    errors: [fresh.error],
    generated_at: now.toISOString(),
    sessions: [],
  };
}

/** Waiting sessions first (they need a human), then by server and name. */
export function sortSessions(sessions: readonly Session[]): Session[] {
  const rank = (s: Session) => (s.status.state === "waiting" ? 0 : s.status.state === "error" ? 1 : 2);
  return [...sessions].sort((a, b) => rank(a) - rank(b) || cmp(a.agent_user, b.agent_user) || cmp(a.session, b.session));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The servers in a stable order (this server first), sessions sorted, optional filters. */
export function mergeServers(
  envelopes: readonly ServerEnvelope[],
  local: string,
  filter: { waitingOnly?: boolean; text?: string } = {},
): ServerEnvelope[] {
  const text = filter.text?.toLowerCase();
  const keep = (server: string, s: Session) =>
    (!filter.waitingOnly || s.status.state === "waiting") &&
    (!text ||
      [server, s.session, s.project.dir, s.project.branch, s.agent, s.agent_user, s.launched_by, s.status.label].some((f) =>
        f.toLowerCase().includes(text),
      ));
  return [...envelopes]
    .sort((a, b) => (a.server === local ? -1 : b.server === local ? 1 : cmp(a.server, b.server)))
    .map((e) => ({ ...e, sessions: sortSessions(e.sessions.filter((s) => keep(e.server, s))) }));
}
