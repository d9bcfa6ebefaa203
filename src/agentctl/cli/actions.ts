import { createInterface } from "node:readline";
import type { Target } from "../names";
import { formatTarget } from "../names";
import { agentEnv, asAgent, caller, hopServers, myAgents, sshOptions } from "./collect";
import { journal } from "./journal";
import { localServer, tmuxArgs } from "./paths";
import { run, runInteractive, sudoRefusal } from "./run";

// new, attach and kill, as the human. Here: through sudo to the agent user, refused with
// a sentence when sudo says no. Elsewhere: through ssh to that server's agentctl, which
// applies that server's sudo rules and writes that server's journal.

export class Refused extends Error {}

/** Where a target lives: here, or a server in the hop config. */
export function where(server: string): "local" | "remote" {
  if (server === localServer()) return "local";
  if (hopServers().includes(server)) return "remote";
  throw new Refused(`${server} is not this server and not in your hop config (~/.ssh/agent-runtime.conf): you have no access to it`);
}

/** Refuse (with the reason) unless sudo lets the caller become this agent user here. */
export async function mayBecome(agentUser: string): Promise<void> {
  const { agents } = await myAgents();
  if (!agents.includes(agentUser))
    throw new Refused(
      `${caller()} may not become ${agentUser} on ${localServer()} (sudo -l lists ${agents.length ? agents.join(", ") : "no agent users"})`,
    );
}

/** The agent user to start in when --as is not given: your own, else the only one. */
export async function defaultAgentUser(): Promise<string> {
  const { agents } = await myAgents();
  const own = `${caller()}-agent`;
  if (agents.includes(own)) return own;
  if (agents.length === 1) return agents[0]!;
  throw new Refused(
    agents.length ? `choose one with --as: ${agents.join(", ")}` : `${caller()} may not become any agent user on ${localServer()}`,
  );
}

export interface NewOptions {
  dir?: string;
  agent: string;
  name?: string;
  as?: string;
  command: string[];
}

const START_TIMEOUT_MS = 90_000;

/** Start a session; returns its target. */
export async function newSession(o: NewOptions): Promise<Target> {
  const agentUser = o.as ?? (await defaultAgentUser());
  await mayBecome(agentUser);
  const request = Buffer.from(
    JSON.stringify({ dir: o.dir, cwd: process.cwd(), agent: o.agent, name: o.name, command: o.command }),
  ).toString("base64");
  // Generous: the first session after boot starts the agent's user manager scope, and a
  // busy server (a test VM under TCG took over 20 s) is slow to start two node processes.
  const r = await asAgent(agentUser, ["_start", request], START_TIMEOUT_MS);
  if (r.timedOut) {
    throw new Refused(
      `${agentUser}: no answer in ${START_TIMEOUT_MS / 1000} s; the session may still appear: check \`agentctl ls\` before starting it again`,
    );
  }
  if (r.code !== 0) throw new Refused(`${agentUser}: ${sudoRefusal(r.stderr)}`);
  const started = JSON.parse(r.stdout) as { session: string; agent: string };
  const target = { server: localServer(), agentUser, session: started.session };
  journal({ action: "new", caller: caller(), agentUser, session: started.session, server: target.server, mode: started.agent });
  return target;
}

/** Attach (read-only: `tmux attach -r`, a safety catch, not a security boundary). */
export async function attach(t: Target, readOnly: boolean): Promise<number> {
  if (where(t.server) === "remote")
    return runInteractive("ssh", [
      ...sshOptions(false),
      "-t",
      t.server,
      "agentctl",
      "attach",
      formatTarget(t),
      ...(readOnly ? ["--read-only"] : []),
    ]);
  await mayBecome(t.agentUser);
  journal({
    action: "attach",
    caller: caller(),
    agentUser: t.agentUser,
    session: t.session,
    server: t.server,
    mode: readOnly ? "ro" : "rw",
  });
  const args = tmuxArgs("attach-session", ...(readOnly ? ["-r"] : []), "-t", `=${t.session}`);
  // cd /: the caller's directory is usually not the agent's to read.
  process.chdir("/");
  return runInteractive("sudo", ["-n", "-u", t.agentUser, "env", ...agentEnv(t.agentUser), "tmux", ...args]);
}

/** Ask for the session's name to be typed back (kill's confirmation). */
export async function confirmByName(session: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new Refused(`not a terminal: pass --yes to kill ${session} without typing its name`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string>((resolve) => rl.question(`type the session name (${session}) to kill it: `, resolve));
  rl.close();
  return answer.trim() === session;
}

export async function killSession(t: Target): Promise<void> {
  if (where(t.server) === "remote") {
    const r = await run("ssh", [...sshOptions(), t.server, "agentctl", "kill", formatTarget(t), "--yes"], { timeoutMs: 45_000 });
    if (r.code !== 0) throw new Refused(r.stderr.trim().replace(/^agentctl: /, "") || `${t.server}: ssh exit ${r.code}`);
    return;
  }
  await mayBecome(t.agentUser);
  const r = await asAgent(t.agentUser, ["_kill", t.session], 30_000);
  if (r.timedOut) throw new Refused(`${formatTarget(t)}: no answer in 30 s; check \`agentctl ls\``);
  if (r.code !== 0) throw new Refused(`${formatTarget(t)}: ${r.stderr.trim().replace(/^agentctl: /, "") || "kill failed"}`);
  journal({ action: "kill", caller: caller(), agentUser: t.agentUser, session: t.session, server: t.server, mode: "kill" });
}
