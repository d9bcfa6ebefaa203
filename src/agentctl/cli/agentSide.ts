import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import * as path from "node:path";
import rulesFile from "../status-rules.json";
import type { Probe, Session } from "../model";
import { AGENT_COMMANDS } from "../model";
import { checkSessionName, defaultSessionName } from "../names";
import { cpuPercent, descendants, parseRssBytes, parseStat, type ProcStat } from "../procs";
import { compileRules, detectStatus, statusLabel } from "../status";
import { captureArgs, clientFormat, META_OPTIONS, paneFormat, parseClients, parsePanes, splitCaptures } from "../tmuxFormat";
import { tmuxArgs } from "./paths";
import { run } from "./run";

// What runs as the agent user (through `sudo -n -u <agent> agentctl _probe|_start|_kill`):
// it talks to the agent's own tmux server and reads the agent's own sidecar files and
// processes. A human's process never reads an agent's files or runs git in an agent's
// repository (both could run code the agent planted, as the human).

const SIDECARS = () => path.join(homedir(), ".local/state/agentctl/sessions");

interface Sidecar {
  session: string;
  dir: string;
  branch: string;
  worktree: boolean;
  agent: string;
  launched_by: string;
  created: string;
}

function readSidecars(): Sidecar[] {
  const dir = SIDECARS();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .flatMap((f) => {
      try {
        return [JSON.parse(readFileSync(path.join(dir, f), "utf8")) as Sidecar];
      } catch {
        return [];
      }
    });
}

function writeSidecar(s: Sidecar) {
  const dir = SIDECARS();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${s.session}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(s, null, 2) + "\n", { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** Name of a uid from /etc/passwd ("uid N" when unknown). */
function userName(uid: number): string {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const f = line.split(":");
    if (f.length > 2 && Number(f[2]) === uid) return f[0]!;
  }
  return `uid ${uid}`;
}

const readProc = (pid: number, file: string) => {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return "";
  }
};

/** The human behind a process of ours: its login uid (kernel-kept, set at ssh login),
 *  else the first ancestor run by someone other than us and root (sudo's caller). */
export function humanBehind(pid: number): string {
  const me = userInfo().uid;
  const loginuid = Number(readProc(pid, "loginuid").trim());
  if (Number.isFinite(loginuid) && loginuid !== 4294967295 && loginuid !== me) return userName(loginuid);
  for (let p = pid, hops = 0; p > 1 && hops < 32; hops++) {
    const status = readProc(p, "status");
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    if (Number.isFinite(uid) && uid !== me && uid !== 0) return userName(uid);
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
    if (!ppid) break;
    p = ppid;
  }
  return process.env.SUDO_USER || "unknown";
}

function allStats(): ProcStat[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map((d) => parseStat(readProc(Number(d), "stat")))
    .filter((s): s is ProcStat => !!s);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `_probe`: every session of this agent user, with status, CPU, RSS and clients. */
export async function probe(sampleMs: number): Promise<Probe> {
  const agentUser = userInfo().username;
  const nonce = randomBytes(8).toString("hex");
  const rules = compileRules(rulesFile);
  const before = allStats();
  const t0 = Date.now();
  const listed = await run("tmux", tmuxArgs("list-panes", "-a", "-F", paneFormat(nonce)), { timeoutMs: 5000 });
  const panes = listed.code === 0 ? parsePanes(listed.stdout, nonce) : [];
  const bySession = new Map<string, typeof panes>();
  for (const p of panes) bySession.set(p.sessionId, [...(bySession.get(p.sessionId) ?? []), p]);
  const shown = [...bySession.values()].map((ps) => ps.find((p) => p.active) ?? ps[0]!);
  const [captured, clients] = await Promise.all([
    shown.length
      ? run(
          "tmux",
          tmuxArgs(
            ...captureArgs(
              shown.map((p) => p.paneId),
              nonce,
            ),
          ),
          { timeoutMs: 5000 },
        )
      : undefined,
    shown.length ? run("tmux", tmuxArgs("list-clients", "-F", clientFormat(nonce)), { timeoutMs: 5000 }) : undefined,
  ]);
  const screens = splitCaptures(captured?.stdout ?? "", nonce, shown.length);
  const attached = parseClients(clients?.stdout ?? "", nonce);
  const wait = sampleMs - (Date.now() - t0);
  if (wait > 0) await sleep(wait);
  const after = allStats();
  const seconds = (Date.now() - t0) / 1000;
  const now = Date.now() / 1000;
  const sessions: Session[] = shown.map((pane, i) => {
    const all = bySession.get(pane.sessionId)!;
    const tree = descendants(
      all.map((p) => p.panePid),
      after,
    );
    const rss = [...tree].reduce((sum, pid) => sum + parseRssBytes(readProc(pid, "status")), 0);
    const agent = pane.meta.agent || "shell";
    const status = detectStatus(rules, agent, {
      title: pane.title,
      text: screens[i] ?? "",
      dead: all.every((p) => p.dead),
      exitStatus: pane.deadStatus,
      activityAgeSeconds: now - pane.windowActivity,
    });
    return {
      agent_user: agentUser,
      session: pane.session,
      project: { dir: pane.meta.project, branch: pane.meta.branch, worktree: pane.meta.worktree === "1" },
      agent,
      launched_by: pane.meta.launchedBy || "unknown",
      created: pane.meta.created || new Date(pane.sessionCreated * 1000).toISOString(),
      status: { state: status.state, label: statusLabel(status), idle_seconds: status.idleSeconds, exit_status: status.exitStatus },
      cpu_percent: cpuPercent(tree, before, after, seconds),
      rss_bytes: rss,
      attached: attached.filter((c) => c.sessionId === pane.sessionId).map((c) => `${humanBehind(c.pid)}${c.readonly ? "(ro)" : ""}`),
    };
  });
  // Sessions whose tmux server is gone (a reboot, a crash) are still known from their
  // sidecar files, as exited, until someone kills them.
  const live = new Set(sessions.map((s) => s.session));
  for (const s of readSidecars()) {
    if (live.has(s.session)) continue;
    sessions.push({
      agent_user: agentUser,
      session: s.session,
      project: { dir: s.dir, branch: s.branch, worktree: s.worktree },
      agent: s.agent,
      launched_by: s.launched_by,
      created: s.created,
      status: { state: "exited", label: "exited (tmux session gone)", idle_seconds: 0 },
      cpu_percent: 0,
      rss_bytes: 0,
      attached: [],
    });
  }
  return { agent_user: agentUser, sessions };
}

/** tmux reads an argument ending in ";" as a command separator, unless it is "\;". */
const tmuxLiteral = (v: string) => (v.endsWith(";") ? `${v.slice(0, -1)}\\;` : v);

export interface StartRequest {
  /** --dir; without it the caller's directory when the agent can use it, else its home. */
  dir?: string;
  cwd?: string;
  agent: string;
  name?: string;
  command: string[];
}

async function git(dir: string, ...args: string[]): Promise<string> {
  const r = await run("git", ["-C", dir, ...args], { timeoutMs: 3000, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } });
  return r.code === 0 ? r.stdout.trim() : "";
}

/** `_start`: a new session in this agent user's tmux server, under its user manager
 *  (so its slice limits apply), with the metadata recorded twice. */
export async function start(req: StartRequest): Promise<Sidecar> {
  const usable = (d: string) => {
    try {
      return statSync(d).isDirectory() && readdirSync(d) !== undefined;
    } catch {
      return false;
    }
  };
  const dir = path.resolve(req.dir ?? (req.cwd && usable(req.cwd) ? req.cwd : homedir()));
  if (!usable(dir)) throw new Error(`${dir} is not a directory ${userInfo().username} can use`);
  const listed = await run("tmux", tmuxArgs("list-sessions", "-F", "#{session_name}"), { timeoutMs: 5000 });
  const taken = [...(listed.code === 0 ? listed.stdout.split("\n").filter(Boolean) : []), ...readSidecars().map((s) => s.session)];
  const name = req.name ?? defaultSessionName(dir, req.agent, taken);
  const bad = checkSessionName(name);
  if (bad) throw new Error(bad);
  if (taken.includes(name)) throw new Error(`a session named ${name} already exists for ${userInfo().username}`);
  const top = await git(dir, "rev-parse", "--show-toplevel");
  // symbolic-ref also names a branch with no commit yet; a detached HEAD shows its commit.
  const branch = top ? (await git(dir, "symbolic-ref", "--short", "HEAD")) || (await git(dir, "rev-parse", "--short", "HEAD")) : "";
  const gitDir = top ? await git(dir, "rev-parse", "--absolute-git-dir") : "";
  const common = top ? path.resolve(dir, await git(dir, "rev-parse", "--git-common-dir")) : "";
  const record: Sidecar = {
    session: name,
    dir,
    branch,
    worktree: !!top && gitDir !== common,
    agent: req.agent,
    launched_by: humanBehind(process.pid),
    created: new Date().toISOString(),
  };
  const command = req.command.length ? req.command : (AGENT_COMMANDS[req.agent] ?? []);
  const options: [string, string][] = [
    [META_OPTIONS.project, record.dir],
    [META_OPTIONS.branch, record.branch],
    [META_OPTIONS.worktree, record.worktree ? "1" : "0"],
    [META_OPTIONS.agent, record.agent],
    [META_OPTIONS.launchedBy, record.launched_by],
    [META_OPTIONS.created, record.created],
  ];
  const tmux = tmuxArgs("new-session", "-d", "-s", name, "-c", dir, ...command);
  // The tmux server belongs in the agent's user manager (user@UID.service, inside
  // user-UID.slice): a first session starts it there; later ones join it. An agent that
  // exits leaves its pane and exit status (remain-on-exit, in the managed tmux.conf).
  // OOMPolicy=continue: an OOM kill of one process (the slice's MemoryMax) must not make
  // systemd stop the scope, i.e. every session of this tmux server.
  const running = (await run("tmux", tmuxArgs("has-session"), { timeoutMs: 5000 })).code === 0;
  const r = running
    ? await run("tmux", tmux, { timeoutMs: 10_000 })
    : await run(
        "systemd-run",
        ["--user", "--scope", "--quiet", "--collect", `--unit=agent-tmux-${process.pid}`, "-p", "OOMPolicy=continue", "tmux", ...tmux],
        {
          timeoutMs: 15_000,
        },
      );
  if (r.code !== 0) throw new Error(`tmux could not start the session: ${r.stderr.trim() || r.stdout.trim()}`);
  // Separate call: an argument of the agent's command ending in ";" would split a chain.
  const set = await run(
    "tmux",
    tmuxArgs(...options.flatMap(([k, v], i) => [...(i ? [";"] : []), "set-option", "-t", `=${name}:`, k, tmuxLiteral(v)])),
    {
      timeoutMs: 5000,
    },
  );
  if (set.code !== 0) throw new Error(`tmux could not record the session's metadata: ${set.stderr.trim()}`);
  writeSidecar(record);
  return record;
}

/** `_kill`: end the session and forget it. */
export async function kill(name: string): Promise<void> {
  const bad = checkSessionName(name);
  if (bad) throw new Error(bad);
  const r = await run("tmux", tmuxArgs("kill-session", "-t", `=${name}`), { timeoutMs: 5000 });
  const sidecar = path.join(SIDECARS(), `${name}.json`);
  const known = existsSync(sidecar);
  rmSync(sidecar, { force: true });
  if (r.code !== 0 && !known) throw new Error(`no session ${name} for ${userInfo().username}`);
}
