import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { MultiEnvelope, ServerEnvelope } from "../../src/agentctl/model";
import { shq } from "../../src/render/script";
import { asPerson, asRoot, POOL, bootTeam, configure, renderTeam, teardownTeam, upOps, type TeamEnv } from "./harness";

// agentctl on the example team's servers, through the real engine: who sees which
// sessions (exactly what sudo allows, on the servers in their hop config), what a
// session's status and LAUNCHED BY say, read-only attach, kill, the full-screen view
// driven with tmux send-keys / capture-pane, the journal, and an unreachable server.

const EXAMPLE = readFileSync(path.join(__dirname, "../../team.yaml"), "utf8");
let env: TeamEnv;

/** A fake Claude Code that stops at a permission prompt, as the real one does. */
const PROMPTING = `bash -c ${shq('printf "⏺ Bash(npm test)\\n\\n Do you want to proceed?\\n ❯ 1. Yes\\n   2. No\\n"; exec sleep 3600')}`;

async function person(who: string, server: string, command: string) {
  const r = await asPerson(env, who, server, command);
  expect(r.code, `${who}@${server}: ${command}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

const lsAll = async (who: string, server: string) =>
  JSON.parse(await person(who, server, "agentctl ls --all-servers --json")) as MultiEnvelope;
const sessionsOf = (m: MultiEnvelope) => m.servers.flatMap((s) => s.sessions.map((x) => ({ server: s.server, ...x })));

/** Poll `check` (bounded) until it returns true; returns the last value seen. */
async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, tries = 40): Promise<T> {
  let v = await probe();
  for (let i = 0; i < tries && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 500));
    v = await probe();
  }
  if (!ok(v)) throw new Error(`${what}: still ${JSON.stringify(v).slice(0, 2000)}`);
  return v;
}

/** The agent user's pane, read by root (never through the client under test). */
const agentPane = (server: string, agent: string, session: string) =>
  asRoot(env, server, `runuser -u ${agent} -- tmux -L agents capture-pane -p -t ${shq(`=${session}:`)}`);

beforeAll(async () => {
  env = await bootTeam(["marcus", "olga", "wes", "nadia"]);
  const stack = await configure(env, renderTeam(env, EXAMPLE).yaml);
  await upOps(stack);
  // A git project in each agent's home, made by the agent user itself.
  for (const dev of ["wes", "nadia"])
    await asRoot(env, `dev-${dev}`, `runuser -u ${dev}-agent -- git init -q -b feature-x /home/${dev}-agent/app`);
});
afterAll(async () => {
  await teardownTeam(env);
});

describe.sequential("agentctl on the example team", () => {
  test("installed on every server, from the bundle the program built, on the distro's node", async () => {
    for (const dev of ["marcus", "olga", "wes", "nadia"]) {
      expect(await person(dev, `dev-${dev}`, "agentctl --version")).toMatch(/^agentctl 1 \(json schema 1\)$/m);
      expect(await asRoot(env, `dev-${dev}`, "cat /etc/agent-runtime/agentctl.json")).toBe(`{ "server": "dev-${dev}" }\n`);
      expect(await asRoot(env, `dev-${dev}`, "test -e /usr/local/bin/agent-session && echo present || echo gone")).toBe("gone\n");
    }
  });

  test("new: named <project>-<agent>, -2 for a second one, metadata recorded, inside the agent's slice", async () => {
    const first = await person("wes", "dev-wes", `agentctl new --dir /home/wes-agent/app --agent claude -- ${PROMPTING}`);
    expect(first).toBe("started dev-wes/wes-agent/app-claude; attach with: agentctl attach dev-wes/wes-agent/app-claude\n");
    const second = await person("wes", "dev-wes", "agentctl new --dir /home/wes-agent/app --agent claude -- sleep 3600");
    expect(second).toMatch(/^started dev-wes\/wes-agent\/app-claude-2;/);
    // The lead starts one in wes's agent user; nadia starts one from her home (her
    // directory is not the agent's to use: it falls back to the agent's home).
    expect(await person("marcus", "dev-wes", "agentctl new --as wes-agent --dir /home/wes-agent/app --name review")).toMatch(
      /^started dev-wes\/wes-agent\/review;/,
    );
    expect(await person("nadia", "dev-nadia", "agentctl new --agent codex -- sleep 3600")).toMatch(
      /^started dev-nadia\/nadia-agent\/nadia-agent-codex;/,
    );
    // tmux options and the sidecar hold the same record.
    const opts = await asRoot(
      env,
      "dev-wes",
      "runuser -u wes-agent -- tmux -L agents show-options -t =app-claude: | grep @agentctl_ | sort",
    );
    expect(opts).toMatch(/^@agentctl_agent claude$/m);
    expect(opts).toMatch(/^@agentctl_branch feature-x$/m);
    expect(opts).toMatch(/^@agentctl_launched_by wes$/m);
    expect(opts).toMatch(/^@agentctl_project \/home\/wes-agent\/app$/m);
    const sidecar = JSON.parse(await asRoot(env, "dev-wes", "cat /home/wes-agent/.local/state/agentctl/sessions/review.json"));
    expect(sidecar).toMatchObject({ session: "review", launched_by: "marcus", branch: "feature-x", agent: "shell" });
    // The tmux server runs in the agent's user manager, under user-<uid>.slice.
    const uid = (await asRoot(env, "dev-wes", "id -u wes-agent")).trim();
    const pid = (await asRoot(env, "dev-wes", "runuser -u wes-agent -- tmux -L agents display-message -p '#{pid}'")).trim();
    expect(pid).toMatch(/^\d+$/);
    expect(await asRoot(env, "dev-wes", `cat /proc/${pid}/cgroup`)).toContain(`/user.slice/user-${uid}.slice/user@${uid}.service/`);
  });

  test("the lead sees every developer's sessions on every server, with who launched them and what they wait for", async () => {
    const m = await until(
      "lead's view",
      () => lsAll("marcus", "dev-marcus"),
      (v) => sessionsOf(v).some((s) => s.status.state === "waiting"),
    );
    expect(m.schema_version).toBe(1);
    expect(m.servers.map((s) => [s.server, s.reachable])).toEqual([
      ["dev-marcus", true],
      ["dev-nadia", true],
      ["dev-olga", true],
      ["dev-wes", true],
    ]);
    const rows = sessionsOf(m).map((s) => `${s.server}/${s.agent_user}/${s.session} by ${s.launched_by}`);
    expect(rows.sort()).toEqual([
      "dev-nadia/nadia-agent/nadia-agent-codex by nadia",
      "dev-wes/wes-agent/app-claude by wes",
      "dev-wes/wes-agent/app-claude-2 by wes",
      "dev-wes/wes-agent/review by marcus",
    ]);
    const claude = sessionsOf(m).find((s) => s.session === "app-claude")!;
    expect(claude.status).toMatchObject({ state: "waiting", label: "waiting for input" });
    expect(claude.project).toEqual({ dir: "/home/wes-agent/app", branch: "feature-x", worktree: false });
    expect(claude.rss_bytes).toBeGreaterThan(0);
    // --waiting keeps only the sessions that need a human.
    const waiting = JSON.parse(await person("marcus", "dev-marcus", "agentctl ls --all-servers --waiting --json")) as MultiEnvelope;
    expect(sessionsOf(waiting).map((s) => s.session)).toEqual(["app-claude"]);
    // The table: the columns the issue names, one row per session.
    const table = await person("marcus", "dev-marcus", "agentctl ls --all-servers");
    expect(table.split("\n")[0]).toMatch(/^SERVER\s+SESSION\s+PROJECT\s+AGENT\s+AGENT USER\s+LAUNCHED BY\s+STATUS\s+CPU\s+RAM\s+ATTACHED$/);
    expect(table).toMatch(/^dev-wes\s+app-claude\s+~\/app \(feature-x\)\s+claude\s+wes-agent\s+wes\s+waiting for input\s+\d+%\s+\S+\s+-$/m);
  });

  test("a developer sees only their own agent user; the senior sees the mentee's and no one else's", async () => {
    const wes = await lsAll("wes", "dev-wes");
    expect(wes.servers.map((s) => s.server)).toEqual(["dev-wes"]);
    expect([...new Set(sessionsOf(wes).map((s) => s.agent_user))]).toEqual(["wes-agent"]);
    const olga = await lsAll("olga", "dev-olga");
    expect(olga.servers.map((s) => s.server)).toEqual(["dev-olga", "dev-nadia"]);
    expect(sessionsOf(olga).map((s) => `${s.server}/${s.agent_user}/${s.session}`)).toEqual(["dev-nadia/nadia-agent/nadia-agent-codex"]);
  });

  test("the probe behind ls and the view writes no sudo I/O log; an attach does", async () => {
    const count = async () => Number((await asRoot(env, "dev-wes", "find /var/log/sudo-io/marcus -name log 2>/dev/null | wc -l")).trim());
    const before = await count();
    for (let i = 0; i < 3; i++) await person("marcus", "dev-marcus", "agentctl ls --all-servers --json");
    expect(await count()).toBe(before);
    // A read-only attach (a client that detaches at once) is recorded.
    await person("marcus", "dev-wes", "tmux -L drv new-session -d -x 160 -y 40 'agentctl attach dev-wes/wes-agent/review --read-only'");
    await until("the attach's I/O log", count, (n) => n > before);
    await asPerson(env, "marcus", "dev-wes", "tmux -L drv kill-server");
  });

  test("read-only attach cannot type; a read-write attach can (same driver)", async () => {
    const drive = async (mode: string, word: string) => {
      await person(
        "marcus",
        "dev-wes",
        `tmux -L drv new-session -d -x 160 -y 40 ${shq(`agentctl attach dev-wes/wes-agent/review ${mode}`)}`,
      );
      // Wait until the client shows the agent's shell, then type into it.
      await until(
        "attached",
        () => person("marcus", "dev-wes", "tmux -L drv capture-pane -p"),
        (t) => /wes-agent@/.test(t),
      );
      await person("marcus", "dev-wes", `tmux -L drv send-keys ${shq(`echo ${word}-$((6*7))`)} Enter`);
      await new Promise((r) => setTimeout(r, 1500));
      const pane = await agentPane("dev-wes", "wes-agent", "review");
      await asPerson(env, "marcus", "dev-wes", "tmux -L drv kill-server");
      return pane;
    };
    expect(await drive("--read-only", "ro")).not.toMatch(/ro-42/);
    expect(await drive("", "rw")).toMatch(/^rw-42$/m);
  });

  test("kill works only where sudo allows, and never asks for a password", async () => {
    const human = await asPerson(env, "olga", "dev-nadia", "agentctl kill dev-nadia/nadia/x --yes </dev/null");
    expect(human.code).toBe(1);
    expect(human.stderr).toBe("agentctl: olga may not become nadia on dev-nadia (sudo -l lists nadia-agent)\n");
    const unreachable = await asPerson(env, "wes", "dev-wes", "agentctl kill dev-nadia/nadia-agent/nadia-agent-codex --yes");
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^agentctl: dev-nadia is not this server and not in your hop config/);
    // Without --yes and without a terminal: refused, nothing killed.
    const noTty = await asPerson(env, "olga", "dev-olga", "agentctl kill dev-nadia/nadia-agent/nadia-agent-codex </dev/null");
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toMatch(/pass --yes/);
    // The senior kills her mentee's session from her own server, over her hop.
    expect(await person("olga", "dev-olga", "agentctl kill dev-nadia/nadia-agent/nadia-agent-codex --yes")).toBe(
      "killed dev-nadia/nadia-agent/nadia-agent-codex\n",
    );
    expect(await asRoot(env, "dev-nadia", "runuser -u nadia-agent -- tmux -L agents ls 2>&1 || true")).not.toMatch(/nadia-agent-codex/);
  });

  test("the full-screen view: list, filter, read-only attach and back, kill with confirmation", async () => {
    const screen = () => person("marcus", "dev-marcus", "tmux -L tui capture-pane -p");
    const keys = (...k: string[]) => person("marcus", "dev-marcus", `tmux -L tui send-keys ${k.map(shq).join(" ")}`);
    await person("marcus", "dev-marcus", "tmux -L tui -f /dev/null new-session -d -x 200 -y 50 agentctl \\; set -g prefix None");
    try {
      await until("the view", screen, (t) => /agentctl · dev-marcus · this server/.test(t) && /refreshed/.test(t));
      await keys("a");
      await until("all servers", screen, (t) => /all servers · 3 sessions/.test(t) && /app-claude-2/.test(t));
      await keys("/", "c", "l", "a", "u", "d", "e", "Enter");
      const filtered = await until("filtered", screen, (t) => /matching "claude"/.test(t));
      expect(filtered).toMatch(/^ ?dev-wes\s+app-claude\s.*waiting for input/m);
      expect(filtered).not.toMatch(/review/);
      // Read-only attach to the selected row (over ssh to dev-wes), then detach back.
      await keys("r");
      await until("attached to app-claude", screen, (t) => /Do you want to proceed\?/.test(t));
      await keys("C-b", "d");
      await until(
        "back in the view, rows shown",
        screen,
        (t) => /matching "claude"/.test(t) && /app-claude-2/.test(t) && !/detached/.test(t),
      );
      // Kill app-claude-2: a wrong name kills nothing; the right one does.
      await keys("Down");
      await keys("k", "n", "o", "Enter");
      await until("refused", screen, (t) => /is not app-claude-2: nothing killed/.test(t));
      await keys("k", ..."app-claude-2".split(""), "Enter");
      await until("killed", screen, (t) => /killed dev-wes\/wes-agent\/app-claude-2/.test(t));
      expect(await asRoot(env, "dev-wes", "runuser -u wes-agent -- tmux -L agents ls -F '#{session_name}' | sort")).toBe(
        "app-claude\nreview\n",
      );
      await keys("?");
      await until("help", screen, (t) => /attach read-only \(a safety catch, not a security boundary\)/.test(t));
      await keys("x");
      await keys("q");
    } finally {
      await asPerson(env, "marcus", "dev-marcus", "tmux -L tui kill-server");
    }
  });

  test("every new, attach and kill is in the journal with caller, agent user, session, server and mode", async () => {
    const entries = async (server: string) =>
      (await asRoot(env, server, "journalctl --no-pager -o json SYSLOG_IDENTIFIER=agentctl"))
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, string>)
        .map(
          (e) =>
            `${e.AGENTCTL_ACTION} ${e.AGENTCTL_CALLER} ${e.AGENTCTL_SERVER}/${e.AGENTCTL_AGENT_USER}/${e.AGENTCTL_SESSION} ${e.AGENTCTL_MODE}`,
        );
    const wes = await entries("dev-wes");
    expect(wes).toEqual(
      expect.arrayContaining([
        "new wes dev-wes/wes-agent/app-claude claude",
        "new marcus dev-wes/wes-agent/review shell",
        "attach marcus dev-wes/wes-agent/review ro",
        "attach marcus dev-wes/wes-agent/review rw",
        "attach marcus dev-wes/wes-agent/app-claude ro",
        "kill marcus dev-wes/wes-agent/app-claude-2 kill",
      ]),
    );
    expect(await entries("dev-nadia")).toEqual([
      "new nadia dev-nadia/nadia-agent/nadia-agent-codex codex",
      "kill olga dev-nadia/nadia-agent/nadia-agent-codex kill",
    ]);
  });

  test("a server that stops answering is a row saying so, with its last known sessions marked stale, within the timeout", async () => {
    // What marcus's cache holds right now is what "last known" must show (the view's kill
    // of app-claude-2 above may or may not have been refreshed into it on a loaded machine).
    const before = await lsAll("marcus", "dev-marcus");
    const known = (before.servers.find((s) => s.server === "dev-wes") as ServerEnvelope).sessions.map((s) => s.session).sort();
    expect(known).toEqual(["app-claude", "review"]);
    // Cut dev-wes off: its link goes down in the namespace the host pool made for it.
    const address = env.hosts.find((h) => h.name === "dev-wes")!.address;
    const ns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
      .split("\n")
      .map((l) => l.split(" ")[0]!)
      .filter((n) => n.startsWith(`ar-${POOL}-`))
      .find((n) => execFileSync("ip", ["netns", "exec", n, "ip", "-4", "-o", "addr"], { encoding: "utf8" }).includes(` ${address}/`));
    expect(ns).toBeDefined();
    execFileSync("ip", ["netns", "exec", ns!, "ip", "link", "set", "eth0", "down"]);
    const t0 = Date.now();
    const m = await lsAll("marcus", "dev-marcus");
    const seconds = (Date.now() - t0) / 1000;
    expect(seconds).toBeLessThan(15);
    const wes = m.servers.find((s) => s.server === "dev-wes") as ServerEnvelope;
    expect(wes).toMatchObject({ reachable: false, stale: true });
    expect(wes.errors[0]).toMatch(/no answer in 5 s|timed out|Connection|closed/i);
    expect(wes.sessions.map((s) => s.session).sort()).toEqual(known);
    expect(m.servers.find((s) => s.server === "dev-nadia")).toMatchObject({ reachable: true, stale: false });
    const table = await person("marcus", "dev-marcus", "agentctl ls --all-servers");
    expect(table).toMatch(/^dev-wes: unreachable \(.*\); showing what it had \d+[sm] ago$/m);
    expect(table).toMatch(/waiting for input \(stale\)/);
  });
});
