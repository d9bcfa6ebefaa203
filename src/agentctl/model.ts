import { z } from "zod";

// The data agentctl passes around and prints with --json: one envelope per server.
// README "agentctl --json" documents it; bump SCHEMA_VERSION on any incompatible change.

export const SCHEMA_VERSION = 1;

export const SessionSchema = z.object({
  /** The agent user whose tmux server runs the session. */
  agent_user: z.string(),
  session: z.string(),
  project: z.object({ dir: z.string(), branch: z.string(), worktree: z.boolean() }),
  /** claude | codex | gemini | aider | shell | a team's own. */
  agent: z.string(),
  /** The human who launched it, as recorded at launch (see README on trust). */
  launched_by: z.string(),
  /** ISO 8601. */
  created: z.string(),
  status: z.object({
    state: z.enum(["running", "waiting", "idle", "exited", "error"]),
    label: z.string(),
    idle_seconds: z.number(),
    exit_status: z.number().optional(),
  }),
  /** Percent of one core over the sampling window (current, not a lifetime average). */
  cpu_percent: z.number(),
  /** Resident memory of the session's process trees, bytes. */
  rss_bytes: z.number(),
  /** Humans attached right now (`(ro)` suffix for read-only clients). */
  attached: z.array(z.string()),
});
export type Session = z.infer<typeof SessionSchema>;

export const ServerEnvelopeSchema = z.object({
  schema_version: z.literal(SCHEMA_VERSION),
  server: z.string(),
  /** false: the server did not answer in time (sessions are the last known, stale). */
  reachable: z.boolean(),
  stale: z.boolean(),
  /** Why the server is missing or partial (sudo refusals, ssh errors). */
  errors: z.array(z.string()),
  /** When these sessions were read (ISO 8601). */
  generated_at: z.string(),
  sessions: z.array(SessionSchema),
});
export type ServerEnvelope = z.infer<typeof ServerEnvelopeSchema>;

/** `ls --all-servers --json`. */
export interface MultiEnvelope {
  schema_version: typeof SCHEMA_VERSION;
  servers: ServerEnvelope[];
}

/** What the agent-side probe returns for one agent user. */
export const ProbeSchema = z.object({ agent_user: z.string(), sessions: z.array(SessionSchema) });
export type Probe = z.infer<typeof ProbeSchema>;

/** Agents agentctl knows how to start (the `--agent` values) and their commands. */
export const AGENT_COMMANDS: Record<string, string[]> = {
  claude: ["claude"],
  codex: ["codex"],
  gemini: ["gemini"],
  aider: ["aider"],
  shell: [],
};
