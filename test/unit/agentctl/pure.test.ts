import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { mergeServers, sortSessions, withFallback } from "../../../src/agentctl/merge";
import { SCHEMA_VERSION, ServerEnvelopeSchema, type ServerEnvelope, type Session } from "../../../src/agentctl/model";
import { checkSessionName, defaultSessionName, parseTarget, slug } from "../../../src/agentctl/names";
import { cpuPercent, descendants, parseRssBytes, parseStat } from "../../../src/agentctl/procs";
import { hopHosts, reachableAgents } from "../../../src/agentctl/sudoList";
import { clean, COLUMNS, layout, renderTable } from "../../../src/agentctl/table";
import { captureArgs, paneFormat, parseClients, parsePanes, splitCaptures } from "../../../src/agentctl/tmuxFormat";

// agentctl's pure core: names, sudo -l and hop config reading, /proc arithmetic, the
// tmux formats and their parsing, table layout, merging across servers, the JSON shape.

const session = (over: Partial<Session> = {}): Session => ({
  agent_user: "wes-agent",
  session: "app-claude",
  project: { dir: "/home/wes-agent/app", branch: "main", worktree: false },
  agent: "claude",
  launched_by: "wes",
  created: "2026-11-30T08:00:00.000Z",
  status: { state: "running", label: "running", idle_seconds: 0 },
  cpu_percent: 12.5,
  rss_bytes: 300 * 1024 * 1024,
  attached: [],
  ...over,
});
const envelope = (server: string, sessions: Session[], over: Partial<ServerEnvelope> = {}): ServerEnvelope => ({
  schema_version: SCHEMA_VERSION,
  server,
  reachable: true,
  stale: false,
  errors: [],
  generated_at: "2026-11-30T09:00:00.000Z",
  sessions,
  ...over,
});

describe("names", () => {
  test.each([
    ["/home/wes-agent/app", "claude", [], "app-claude"],
    ["/home/wes-agent/app/", "claude", ["app-claude"], "app-claude-2"],
    ["/home/wes-agent/app", "claude", ["app-claude", "app-claude-2"], "app-claude-3"],
    ["/home/wes-agent/my project.v2", "codex", [], "my-project-v2-codex"],
    ["/", "shell", [], "home-shell"],
  ])("%s + %s (taken %o) → %s", (dir, agent, taken, want) => expect(defaultSessionName(dir, agent, taken)).toBe(want));

  test("a default name is always new and always acceptable to tmux and checkSessionName", () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom("claude", "codex", "shell"), fc.array(fc.string()), (dir, agent, taken) => {
        const name = defaultSessionName(dir, agent, taken);
        expect(taken).not.toContain(name);
        expect(checkSessionName(name)).toBeUndefined();
      }),
    );
  });

  test("slug never leaves a dot, colon or space (tmux target syntax)", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(slug(s)).toMatch(/^[A-Za-z0-9_-]+$/);
      }),
    );
  });

  test("targets", () => {
    expect(parseTarget("dev-wes/wes-agent/app-claude", "dev-marcus")).toEqual({
      server: "dev-wes",
      agentUser: "wes-agent",
      session: "app-claude",
    });
    expect(parseTarget("wes-agent/app-claude", "dev-wes")).toEqual({ server: "dev-wes", agentUser: "wes-agent", session: "app-claude" });
    expect(parseTarget("app-claude", "dev-wes")).toMatch(/is not SERVER\/AGENT_USER\/SESSION/);
    expect(parseTarget("dev-wes/../x", "dev-wes")).toMatch(/is not/);
    expect(checkSessionName("bad name")).toMatch(/letters, digits/);
  });
});

describe("who may be reached", () => {
  test("agent users from sudo -n -l, never humans or root", () => {
    const out = `Matching Defaults entries for marcus on dev-wes:
    use_pty, logfile=/var/log/sudo.log, log_year, log_host, iolog_dir=/var/log/sudo-io/%{user}

User marcus may run the following commands on dev-wes:
    (wes-agent) NOPASSWD: ALL
    (nadia-agent, olga-agent : ALL) NOPASSWD: ALL
    (root) /usr/bin/true
    (wes) ALL
`;
    expect(reachableAgents(out)).toEqual(["nadia-agent", "olga-agent", "wes-agent"]);
    expect(reachableAgents("")).toEqual([]);
  });

  test("hosts from the hop config, not patterns", () => {
    const conf = "# Managed\nHost dev-wes\n    HostName 10.0.0.2\nHost dev-nadia\n    Port 22\nHost *\n  ForwardAgent no\nHost dev-wes\n";
    expect(hopHosts(conf)).toEqual(["dev-wes", "dev-nadia"]);
  });
});

describe("/proc arithmetic", () => {
  const stat = (pid: number, ppid: number, ticks: number, comm = "bash") =>
    `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${ticks} 0 0 0 20 0 1 0 100 1000 200`;

  test("stat lines, command names with spaces and parentheses included", () => {
    expect(parseStat(stat(42, 1, 250, "my (odd) prog"))).toEqual({ pid: 42, ppid: 1, ticks: 250 });
    expect(parseStat("garbage")).toBeUndefined();
  });

  test("CPU is the change over the window, not a lifetime average", () => {
    const before = [parseStat(stat(10, 1, 10_000))!, parseStat(stat(11, 10, 0))!];
    // 2 s later: pid 10 used 1 s of CPU, pid 11 used 1 s, pid 12 appeared and used 0.5 s.
    const after = [parseStat(stat(10, 1, 10_100))!, parseStat(stat(11, 10, 100))!, parseStat(stat(12, 11, 50))!];
    const tree = descendants([10], after);
    expect([...tree].sort()).toEqual([10, 11, 12]);
    expect(cpuPercent(tree, before, after, 2)).toBe(125);
    expect(cpuPercent(new Set([11]), before, after, 2)).toBe(50);
    expect(cpuPercent(tree, before, after, 0)).toBe(0);
  });

  test("descendants survive cycles and unknown roots", () => {
    expect(
      [
        ...descendants(
          [1],
          [
            { pid: 1, ppid: 2, ticks: 0 },
            { pid: 2, ppid: 1, ticks: 0 },
          ],
        ),
      ].sort(),
    ).toEqual([1, 2]);
    expect([...descendants([99], [])]).toEqual([99]);
  });

  test("RSS from status", () => {
    expect(parseRssBytes("Name:\tbash\nVmRSS:\t    2048 kB\n")).toBe(2048 * 1024);
    expect(parseRssBytes("Name:\tkthreadd\n")).toBe(0);
  });
});

describe("tmux formats", () => {
  const N = "0123456789abcdef";
  const record = (fields: string[]) => fields.join(`${N}F`) + `${N}E`;
  test("fields split by the nonce: names and titles may hold anything else", () => {
    const out =
      record([
        "$1",
        "%1",
        "100",
        "0",
        "",
        "1700000000",
        "1699990000",
        "1",
        "/home/a/app",
        "main",
        "0",
        "claude",
        "wes",
        "2026",
        "app;x\tF|E",
        "✳ title\twith\ttabs",
      ]) +
      "\n" +
      record(["$2", "%4", "200", "1", "3", "1700000001", "1699990001", "0", "", "", "", "", "", "", "plain", ""]) +
      "\n";
    const panes = parsePanes(out, N);
    expect(panes).toHaveLength(2);
    expect(panes[0]).toMatchObject({
      sessionId: "$1",
      paneId: "%1",
      panePid: 100,
      dead: false,
      active: true,
      session: "app;x\tF|E",
      title: "✳ title\twith\ttabs",
    });
    expect(panes[0]!.meta).toEqual({
      project: "/home/a/app",
      branch: "main",
      worktree: "0",
      agent: "claude",
      launchedBy: "wes",
      created: "2026",
    });
    expect(panes[1]).toMatchObject({ dead: true, deadStatus: 3, active: false });
    expect(paneFormat(N).split(`${N}F`)).toHaveLength(16);
  });

  test("a record with a planted separator of another nonce is just text", () => {
    const planted = record(["$1", "%1", "1", "0", "", "1", "1", "1", "", "", "", "", "", "", "x", "fedcba9876543210F"]);
    expect(parsePanes(planted, N)[0]!.title).toBe("fedcba9876543210F");
  });

  test("captures in one tmux call, split back in order", () => {
    expect(captureArgs(["%1", "%2"], N)).toEqual([
      "capture-pane",
      "-p",
      "-t",
      "%1",
      ";",
      "display-message",
      "-p",
      `${N}C`,
      ";",
      "capture-pane",
      "-p",
      "-t",
      "%2",
      ";",
      "display-message",
      "-p",
      `${N}C`,
    ]);
    expect(splitCaptures(`one\n${N}C\ntwo\nlines\n${N}C\n`, N, 2)).toEqual(["one\n", "two\nlines\n"]);
    expect(parseClients(`123${N}F1${N}F$1\n456${N}F0${N}F$2\n`, N)).toEqual([
      { pid: 123, readonly: true, sessionId: "$1" },
      { pid: 456, readonly: false, sessionId: "$2" },
    ]);
  });
});

describe("table", () => {
  test("control characters from an agent never reach the terminal", () => {
    expect(clean("a\u001b]52;c;ZXZpbA==\u0007b\u009bc")).toBe("a?]52;c;ZXZpbA==?b?c");
    const t = renderTable([envelope("dev-wes", [session({ session: "x\u001b[2J" })])], new Date());
    expect(t).not.toMatch(/\u001b/);
  });

  test("columns in the documented order, padded, the project cut first when narrow", () => {
    const rows = [
      ["dev-wes", "app-claude", "~/a-very-long-project-directory-name (main)", "claude", "wes-agent", "wes", "running", "12%", "300M", "-"],
    ];
    const wide = layout(rows);
    expect(wide[0]).toMatch(new RegExp(`^${COLUMNS.join("\\s+")}$`));
    const narrow = layout(rows, 100);
    expect(Math.max(...narrow.map((l) => [...l].length))).toBeLessThanOrEqual(100);
    expect(narrow[1]).toMatch(/~\/a-very.*…/);
    expect(narrow[1]).toMatch(/claude\s+wes-agent\s+wes\s+running\s+12%\s+300M\s+-$/);
  });

  test("an unreachable server is a line saying so, with the age of what is shown", () => {
    const e = envelope("dev-nadia", [session()], { reachable: false, stale: true, errors: ["no answer in 5 s"] });
    const t = renderTable([e], new Date("2026-11-30T09:02:00.000Z"));
    expect(t).toMatch(/^dev-nadia\s+app-claude\s.*running \(stale\)/m);
    expect(t).toMatch(/^dev-nadia: unreachable \(no answer in 5 s\); showing what it had 2m ago$/m);
    expect(renderTable([], new Date())).toBe("no sessions\n");
  });
});

describe("merging servers", () => {
  const now = new Date("2026-11-30T09:00:00.000Z");
  test("a fresh answer wins; without one the last answer is kept, marked stale; with neither, an empty unreachable row", () => {
    const last = envelope("dev-wes", [session()]);
    const fresh = envelope("dev-wes", []);
    expect(withFallback("dev-wes", fresh, last, now)).toBe(fresh);
    expect(withFallback("dev-wes", { error: "timeout" }, last, now)).toMatchObject({
      reachable: false,
      stale: true,
      errors: ["timeout"],
      sessions: [session()],
    });
    expect(withFallback("dev-wes", { error: "timeout" }, undefined, now)).toMatchObject({ reachable: false, stale: false, sessions: [] });
    expect(ServerEnvelopeSchema.safeParse(withFallback("dev-wes", { error: "x" }, undefined, now)).success).toBe(true);
  });

  test("this server first, then by name; waiting sessions first; filters", () => {
    const waiting = session({ session: "z", agent: "codex", status: { state: "waiting", label: "waiting for input", idle_seconds: 3 } });
    const merged = mergeServers(
      [envelope("dev-wes", [session(), waiting]), envelope("dev-marcus", []), envelope("dev-a", [])],
      "dev-marcus",
    );
    expect(merged.map((e) => e.server)).toEqual(["dev-marcus", "dev-a", "dev-wes"]);
    expect(merged[2]!.sessions.map((s) => s.session)).toEqual(["z", "app-claude"]);
    expect(mergeServers([envelope("dev-wes", [session(), waiting])], "x", { waitingOnly: true })[0]!.sessions).toEqual([waiting]);
    expect(mergeServers([envelope("dev-wes", [session(), waiting])], "x", { text: "CLAUDE" })[0]!.sessions.map((s) => s.session)).toEqual([
      "app-claude",
    ]);
    expect(sortSessions([])).toEqual([]);
  });
});
