import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import * as path from "node:path";
import { ProbeSchema, SCHEMA_VERSION, ServerEnvelopeSchema, type ServerEnvelope } from "../model";
import { withFallback } from "../merge";
import { hopHosts, reachableAgents } from "../sudoList";
import { AGENTCTL, HOP_CONFIG, localServer } from "./paths";
import { run, sudoRefusal } from "./run";

// Gathering sessions, run as the human: locally through sudo (exactly the agent users
// `sudo -n -l` names), on other servers through ssh with the caller's hop config, in
// parallel, bounded in time, one connection per host (ControlMaster).

/** Agent users the caller may become here. */
export async function myAgents(): Promise<{ agents: string[]; error?: string }> {
  const r = await run("sudo", ["-n", "-l"], { timeoutMs: 5000 });
  if (r.code !== 0) return { agents: [], error: /a password is required/.test(r.stderr) ? undefined : sudoRefusal(r.stderr) };
  return { agents: reachableAgents(r.stdout) };
}

/** The agent user's own environment for systemd --user (runtime dir, bus). */
export function agentEnv(agent: string): string[] {
  const uid = userUid(agent);
  return uid === undefined ? [] : [`XDG_RUNTIME_DIR=/run/user/${uid}`, `DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/${uid}/bus`];
}

function userUid(name: string): number | undefined {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const f = line.split(":");
    if (f[0] === name) return Number(f[2]);
  }
  return undefined;
}

/** `sudo -n -u AGENT agentctl <args>` (as the agent, in the agent's environment). */
export function asAgent(agent: string, args: string[], timeoutMs = 10_000) {
  return run("sudo", ["-n", "-u", agent, "env", ...agentEnv(agent), AGENTCTL, ...args], { timeoutMs });
}

/** This server's sessions that the caller may reach. */
export async function collectLocal(sampleMs = 250): Promise<ServerEnvelope> {
  const server = localServer();
  const { agents, error } = await myAgents();
  const errors = error ? [error] : [];
  const probes = await Promise.all(
    agents.map(async (agent) => {
      // Exactly the command sudoers names as AGENTCTL_PROBE (not I/O logged): no env wrapper.
      const r = await run("sudo", ["-n", "-u", agent, AGENTCTL, "_probe", "--sample-ms", String(sampleMs)], { timeoutMs: 10_000 });
      if (r.code !== 0) {
        errors.push(`${agent}: ${r.timedOut ? "no answer in 10 s" : sudoRefusal(r.stderr)}`);
        return [];
      }
      const parsed = ProbeSchema.safeParse(safeJson(r.stdout));
      if (!parsed.success || parsed.data.agent_user !== agent) {
        errors.push(`${agent}: unreadable answer from the probe`);
        return [];
      }
      return parsed.data.sessions;
    }),
  );
  return {
    schema_version: SCHEMA_VERSION,
    server,
    reachable: true,
    stale: false,
    errors,
    generated_at: new Date().toISOString(),
    sessions: probes.flat(),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Servers in the caller's hop config (~/.ssh/agent-runtime.conf), without this one. */
export function hopServers(): string[] {
  const file = path.join(homedir(), HOP_CONFIG);
  if (!existsSync(file)) return [];
  const local = localServer();
  return hopHosts(readFileSync(file, "utf8")).filter((h) => h !== local);
}

/** ssh options for agentctl's own connections: no prompts, short timeouts, one
 *  connection per host kept for a while for the short requests (ls, kill). An attach
 *  (`shared: false`) gets its own connection: sshd's MaxSessions counts the sessions of
 *  one connection, and long attaches must not use up the ones `ls` needs. */
export function sshOptions(shared = true): string[] {
  if (!shared) return ["-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "ControlMaster=no", "-o", "ControlPath=none"];
  const dir = path.join(
    process.env.XDG_RUNTIME_DIR && existsSync(process.env.XDG_RUNTIME_DIR) ? process.env.XDG_RUNTIME_DIR : path.join(homedir(), ".ssh"),
    "agentctl-cm",
  );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return [
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=3",
    "-o", "ServerAliveInterval=2",
    "-o", "ServerAliveCountMax=2",
    "-o", "ControlMaster=auto",
    "-o", `ControlPath=${dir}/%C`,
    "-o", "ControlPersist=60",
  ]; // prettier-ignore
}

const cacheFile = (server: string) => path.join(homedir(), ".cache/agentctl/servers", `${server}.json`);

function readCache(server: string): ServerEnvelope | undefined {
  try {
    const parsed = ServerEnvelopeSchema.safeParse(JSON.parse(readFileSync(cacheFile(server), "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(e: ServerEnvelope) {
  const file = cacheFile(e.server);
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(`${file}.tmp`, JSON.stringify(e));
    renameSync(`${file}.tmp`, file);
  } catch {
    // a cache we can't write only costs the stale view
  }
}

/** One other server's sessions: `ssh SERVER agentctl ls --json`, or its last known
 *  answer marked stale when it doesn't answer within `timeoutMs`. */
export async function collectRemote(server: string, timeoutMs = 5000): Promise<ServerEnvelope> {
  const r = await run("ssh", [...sshOptions(), server, "agentctl", "ls", "--json"], { timeoutMs });
  const now = new Date();
  let fresh: ServerEnvelope | { error: string };
  if (r.timedOut) fresh = { error: `no answer in ${timeoutMs / 1000} s` };
  else if (r.code !== 0) fresh = { error: r.stderr.trim().split("\n").pop() || `ssh exit ${r.code}` };
  else {
    const parsed = ServerEnvelopeSchema.safeParse(safeJson(r.stdout));
    fresh = parsed.success ? { ...parsed.data, server } : { error: "unreadable answer (agentctl missing or another version?)" };
  }
  const result = withFallback(server, fresh, readCache(server), now);
  if ("schema_version" in fresh) writeCache(result);
  return result;
}

/** This server, and with `all` every server in the hop config, in parallel. */
export async function collect(all: boolean): Promise<ServerEnvelope[]> {
  const remote = all ? hopServers() : [];
  return Promise.all([collectLocal(), ...remote.map((s) => collectRemote(s))]);
}

export const caller = () => userInfo().username;
