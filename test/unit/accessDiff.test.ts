import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test, vi } from "vitest";
import { accessDiffCommand, parseAccessDiffArgs } from "../../src/cli/accessDiff";
import { allGrants, planTeam } from "../../src/plan/access";
import { cmp } from "../../src/byteOrder";
import { diffPlans, type AccessDiff } from "../../src/plan/diff";
import { parseTeam } from "../../src/team/load";
import { parsePublicKey } from "../../src/team/sshKeys";
import { arbTeamSpec, fixedKey, teamYaml } from "./teamYaml";

// access-diff end to end on files and git refs: the example team and one edit at a time,
// checked in markdown (what a reviewer reads) and JSON (what tools read).

const EXAMPLE = readFileSync(path.join(__dirname, "..", "..", "team.yaml"), "utf8");
const dir = mkdtempSync(path.join(tmpdir(), "access-diff-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The example with `from` replaced by `to`; fails loudly when `from` is not there. */
function edit(from: string | RegExp, to: string, text = EXAMPLE): string {
  const next = text.replace(from, to);
  if (next === text) throw new Error(`edit: ${String(from)} not found`);
  return next;
}

let n = 0;
function file(text: string): string {
  const f = path.join(dir, `team-${++n}.yaml`);
  writeFileSync(f, text);
  return f;
}

/** Run the command, capturing what it prints. */
function run(args: string[]): { code: number; out: string; err: string } {
  let out = "";
  let err = "";
  const w = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void (err += `${a.join(" ")}\n`));
  try {
    return { code: accessDiffCommand(args) as number, out, err };
  } finally {
    w.mockRestore();
    e.mockRestore();
  }
}

const diffOf = (head: string, base = EXAMPLE) => {
  const md = run(["--base", file(base), "--head", file(head)]);
  const json = run(["--base", file(base), "--head", file(head), "--format", "json"]);
  expect([md.code, json.code, md.err, json.err]).toEqual([0, 0, "", ""]);
  return { md: md.out, json: JSON.parse(json.out) as AccessDiff & { summaryLine: string } };
};
/** Lines of the markdown's diff blocks. */
const changeLines = (md: string) => md.split("\n").filter((l) => /^[-+~] /.test(l));
const grantLines = (md: string) => changeLines(md).filter((l) => /^[-+~] \S+ → \S+-agent on dev-/.test(l));
/** 1-based line of the first line containing `needle` (after `after`, if given). */
const lineOf = (text: string, needle: string, after = "") => {
  const lines = text.split("\n");
  const start = after ? lines.findIndex((l) => l.includes(after)) : 0;
  return lines.findIndex((l, i) => i >= start && l.includes(needle)) + 1;
};
const marcusKey = EXAMPLE.match(/ssh-ed25519 \S+ marcus@laptop/)![0];
/** `text` with olga's entry ending in `forwarding: <on>` (olga is on dev-olga and, as nadia's mentor, dev-nadia). */
const olgaForwarding = (on: boolean, text = EXAMPLE) => edit(/(mentees: \[nadia[^\n]*)/, `$1\n    forwarding: ${on}`, text);

describe("the example team, one edit at a time", () => {
  test("olga mentors wes too: one grant and one human, on dev-wes only", () => {
    const { md, json } = diffOf(edit("mentees: [nadia]", "mentees: [nadia, wes]"));
    expect(grantLines(md)).toEqual(["+ olga → wes-agent on dev-wes (mentor)  [recorded; line 34]"]);
    expect(changeLines(md).filter((l) => l.startsWith("+ human"))).toEqual([
      expect.stringMatching(/^\+ human olga on dev-wes {2}\[keys: SHA256:\S+ \(ssh-ed25519 olga@laptop\); hop key from dev-olga\]$/),
    ]);
    expect(changeLines(md)).toHaveLength(2);
    expect(md).toMatch(/^## Access diff: team acme\n\n`.*` → `.*`: 1 grant added, 1 human user created\.\n\n### dev-wes \(changed\)\n/);
    expect(json.servers.map((s) => [s.server, s.status])).toEqual([["dev-wes", "changed"]]);
    expect(json.servers[0]!.grants).toEqual([{ op: "+", human: "olga", target: "wes-agent", reason: "mentor", recorded: true, line: 34 }]);
    expect(json.servers[0]!.humans.map((h) => [h.op, h.human, h.hopFrom])).toEqual([["+", "olga", "dev-olga"]]);
    expect(json.summary).toMatchObject({ grantsAdded: 1, humansCreated: 1, grantsRemoved: 0, serversChanged: 1 });
  });

  test("a key rotation shows both fingerprints on every server the person is on, never key text", () => {
    const next = fixedKey(7, "marcus@new-laptop");
    const { md, json } = diffOf(edit(marcusKey, next));
    const [oldFp, newFp] = [marcusKey, next].map((k) => (parsePublicKey(k) as { ok: true; key: { fingerprint: string } }).key.fingerprint);
    for (const server of ["dev-marcus", "dev-nadia", "dev-olga", "dev-wes"]) {
      expect(changeLines(md)).toContain(`- key ${oldFp} (ssh-ed25519 marcus@laptop) for marcus on ${server}`);
      expect(changeLines(md)).toContain(`+ key ${newFp} (ssh-ed25519 marcus@new-laptop) for marcus on ${server}`);
    }
    expect(grantLines(md)).toEqual([]);
    for (const out of [md, JSON.stringify(json)]) {
      for (const k of [marcusKey, next]) expect(out).not.toContain(k.split(" ")[1]!.slice(0, 40));
    }
    expect(json.summary).toMatchObject({ keysAdded: 4, keysRemoved: 4, grantsAdded: 0 });
  });

  test("removing a developer destroys their server and removes every grant there", () => {
    const { md, json } = diffOf(edit(/ {2}- name: wes\n[\s\S]*?\n\n/, ""));
    expect(json.servers.map((s) => [s.server, s.status])).toEqual([["dev-wes", "destroyed"]]);
    expect(grantLines(md)).toEqual([
      `- marcus → wes-agent on dev-wes (lead)  [recorded; base line ${lineOf(EXAMPLE, "role: lead")}]`,
      `- wes → wes-agent on dev-wes (own)  [base line ${lineOf(EXAMPLE, "- name: wes")}]`,
    ]);
    expect(changeLines(md)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^- server dev-wes {2}\[.*provider hcloud/),
        expect.stringMatching(/^- agent user wes-agent on dev-wes/),
      ]),
    );
    expect(json.servers[0]!.humans.map((h) => `${h.op}${h.human}`)).toEqual(["-marcus", "-wes"]);
    expect(json.summary).toMatchObject({ serversDestroyed: 1, grantsRemoved: 2, humansRemoved: 2, grantsAdded: 0 });
  });

  test("a limit change shows old → new, memoryHigh following memory", () => {
    const { md, json } = diffOf(edit("memory: 16G             # wes", "memory: 20G             # wes"));
    expect(changeLines(md)).toEqual(["~ wes-agent limits on dev-wes: memory 16G → 20G, memoryHigh 14745M → 18432M"]);
    expect(json.servers[0]!.agents).toEqual([
      {
        op: "~",
        agent: "wes-agent",
        limits: { cpu: 6, memory: "20G", memoryHigh: "18432M", tasks: 4096 },
        changes: [
          { field: "memory", from: "16G", to: "20G" },
          { field: "memoryHigh", from: "14745M", to: "18432M" },
        ],
      },
    ]);
  });

  test("promoting olga to lead: the mentor grant changes reason, the others are new", () => {
    // A lead has no mentee list (it reaches everyone), so promoting drops it.
    const head = edit(/\n {4}mentees: \[nadia\][^\n]*/, "", edit("role: senior", "role: lead"));
    const { md } = diffOf(head);
    const line = lineOf(head, "role: lead", "name: olga");
    expect(grantLines(md)).toEqual([
      `+ olga → marcus-agent on dev-marcus (lead)  [recorded; line ${line}]`,
      `~ olga → nadia-agent on dev-nadia (mentor → lead)  [recorded; line ${line}]`,
      `+ olga → wes-agent on dev-wes (lead)  [recorded; line ${line}]`,
    ]);
  });

  test("a new allowFrom range is a team-wide change", () => {
    const { md, json } = diffOf(edit("    - 198.51.100.0/24 ", "    - 203.0.113.0/24\n    - 198.51.100.0/24 "));
    expect(changeLines(md)).toEqual(["+ allowFrom 203.0.113.0/24"]);
    expect(json.teamChanges).toEqual([{ field: "allowFrom", from: null, to: "203.0.113.0/24" }]);
  });

  test("no change (even reordered developers): says so and exits 0", () => {
    const reordered = edit(/( {2}- name: marcus\n[\s\S]*?\n\n)( {2}- name: olga\n[\s\S]*?\n\n)/, "$2$1");
    const { md, json } = diffOf(reordered);
    expect(md).toContain("No access changes.");
    expect(changeLines(md)).toEqual([]);
    expect([json.empty, json.servers, json.summaryLine]).toEqual([true, [], "No access changes."]);
  });

  describe("forwarding", () => {
    const olgaHuman =
      /^\+ human olga on dev-wes {2}\[keys: SHA256:\S+ \(ssh-ed25519 olga@laptop\); hop key from dev-olga; forwarding on\]$/;

    test.each([
      ["turning it on", EXAMPLE, olgaForwarding(true), "off → on", { from: false, to: true }],
      ["turning it off", olgaForwarding(true), EXAMPLE, "on → off", { from: true, to: false }],
    ])("%s: one line per server the person is on, counted, in JSON", (_, base, head, text, change) => {
      const { md, json } = diffOf(head, base);
      expect(changeLines(md)).toEqual([`~ forwarding for olga on dev-nadia: ${text}`, `~ forwarding for olga on dev-olga: ${text}`]);
      expect(md).toContain(": 2 forwarding changes.\n\n### dev-nadia (changed)\n");
      expect(json.empty).toBe(false);
      expect(json.servers.map((s) => [s.server, s.status, s.forwarding])).toEqual([
        ["dev-nadia", "changed", [{ human: "olga", ...change }]],
        ["dev-olga", "changed", [{ human: "olga", ...change }]],
      ]);
      expect(json.summary).toMatchObject({ forwardingChanged: 2, serversChanged: 2, grantsAdded: 0, humansCreated: 0, keysAdded: 0 });
    });

    test("a human created with it on says so in its created line, not as a change", () => {
      const base = olgaForwarding(true);
      const { md, json } = diffOf(edit("mentees: [nadia]", "mentees: [nadia, wes]", base), base);
      expect(changeLines(md).filter((l) => l.startsWith("+ human"))).toEqual([expect.stringMatching(olgaHuman)]);
      expect(changeLines(md).filter((l) => l.includes("forwarding for"))).toEqual([]);
      expect(json.servers[0]!.humans).toEqual([expect.objectContaining({ op: "+", human: "olga", forwarding: true })]);
      expect(json.summary).toMatchObject({ humansCreated: 1, grantsAdded: 1, forwardingChanged: 0 });
      expect(json.summaryLine).toBe("1 grant added, 1 human user created.");
    });

    test("created with it on while turning it on elsewhere: the created line plus one change per existing server", () => {
      const { md, json } = diffOf(olgaForwarding(true, edit("mentees: [nadia]", "mentees: [nadia, wes]")));
      expect(changeLines(md)).toEqual([
        "~ forwarding for olga on dev-nadia: off → on",
        "~ forwarding for olga on dev-olga: off → on",
        "+ olga → wes-agent on dev-wes (mentor)  [recorded; line 34]",
        expect.stringMatching(olgaHuman),
      ]);
      expect(json.summaryLine).toBe("1 grant added, 1 human user created, 2 forwarding changes.");
    });

    test("a human created with it off has no forwarding in its line", () => {
      const { md, json } = diffOf(edit("mentees: [nadia]", "mentees: [nadia, wes]"));
      expect(changeLines(md).find((l) => l.startsWith("+ human"))).not.toContain("forwarding");
      expect(json.servers[0]!.humans).toEqual([expect.objectContaining({ human: "olga", forwarding: false })]);
    });

    test.each([
      ["on on both sides", olgaForwarding(true), olgaForwarding(true)],
      ["off explicitly vs the default", EXAMPLE, olgaForwarding(false)],
    ])("unchanged (%s): no access changes", (_, base, head) => {
      const { md, json } = diffOf(head, base);
      expect(changeLines(md)).toEqual([]);
      expect([json.empty, json.servers, json.summaryLine, json.summary.forwardingChanged]).toEqual([true, [], "No access changes.", 0]);
    });
  });

  test("a key comment cannot break out of the markdown block", () => {
    const { md } = diffOf(edit(marcusKey, fixedKey(9, "x```\n## pwned")));
    expect(md.match(/```/g)).toHaveLength(8); // four servers, each one opening and one closing fence
  });
});

describe("invalid input", () => {
  test("an invalid base: exit 1, each error located and marked as the base's", () => {
    const base = file(edit("role: senior", "role: seniour"));
    const r = run(["--base", base, "--head", file(EXAMPLE)]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain(`base (${base}): ${base}:31:11 developers[1].role: "seniour" is not allowed (did you mean "senior"?)`);
  });

  test("an invalid head: exit 1", () => {
    const head = file(edit("mentees: [nadia]", "mentees: [nadja]"));
    const r = run(["--base", file(EXAMPLE), "--head", head]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^head \\(${head}\\): ${head}:\\d+:\\d+ developers\\[1\\]\\.mentees\\[0\\]: `, "m"));
  });

  test.each([
    [[], "--base is required"],
    [["--base"], "--base needs a value"],
    [["--base", "x", "--format", "html"], '--format must be markdown or json, not "html"'],
    [["--base", "x", "--frmat", "json"], 'unknown argument "--frmat"'],
  ])("usage %j → %s", (args, message) => {
    expect(parseAccessDiffArgs(args)).toBe(message);
    expect(run(args).code).toBe(2);
  });
});

describe("--base as a git ref", () => {
  const repo = path.join(dir, "repo");
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", "-C", repo, ...args], { encoding: "utf8" });
  const head = path.join(repo, "config", "team.yaml");
  execFileSync("mkdir", ["-p", path.dirname(head)]);
  git("init", "-q");
  git("commit", "-q", "--allow-empty", "-m", "empty");
  writeFileSync(head, EXAMPLE);
  git("add", ".");
  git("commit", "-q", "-m", "team");
  writeFileSync(head, edit("mentees: [nadia]", "mentees: [nadia, wes]"));

  test("HEAD is read with git show HEAD:<path of the head file in the repo>", () => {
    const r = run(["--base", "HEAD", "--head", head]);
    expect([r.code, r.err]).toEqual([0, ""]);
    expect(grantLines(r.out)).toEqual(["+ olga → wes-agent on dev-wes (mentor)  [recorded; line 34]"]);
    expect(r.out).toContain("`HEAD:config/team.yaml` →");
  });

  test("a ref where the file does not exist yet: every server is new", () => {
    const r = run(["--base", "HEAD~1", "--head", head, "--format", "json"]);
    expect(r.code).toBe(0);
    expect(r.err).toContain("does not exist: every server is new");
    expect(JSON.parse(r.out).summary).toMatchObject({ serversCreated: 4, grantsAdded: 9 });
  });

  test("a ref that does not exist: exit 1 and says so", () => {
    const r = run(["--base", "origin/nope", "--head", head]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('base: base "origin/nope" is neither a file nor a git ref');
  });

  test("an invalid team file at the ref: exit 1 with its errors", () => {
    writeFileSync(head, edit("role: senior", "role: seniour"));
    git("commit", "-q", "-am", "typo");
    writeFileSync(head, EXAMPLE);
    const r = run(["--base", "HEAD", "--head", head]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("base (HEAD:config/team.yaml): config/team.yaml:31:11 developers[1].role:");
  });
});

describe("properties", () => {
  const load = (text: string) => {
    const r = parseTeam(text);
    if (!r.ok) throw new Error("invalid generated team");
    return r.team;
  };
  const grantSet = (t: ReturnType<typeof load>) => new Set(allGrants(planTeam(t)).map((g) => `${g.server} ${g.human} ${g.target}`));

  test("applying the diff's grant changes to the base gives exactly the head's grants", () => {
    fc.assert(
      fc.property(arbTeamSpec, arbTeamSpec, (a, b) => {
        const [ta, tb] = [load(teamYaml(a)), load(teamYaml(b))];
        const d = diffPlans(planTeam(ta), planTeam(tb), ta, tb);
        const got = grantSet(ta);
        for (const s of d.servers) {
          for (const g of s.grants) {
            const k = `${s.server} ${g.human} ${g.target}`;
            if (g.op === "+") got.add(k);
            if (g.op === "-") got.delete(k);
          }
        }
        expect([...got].sort()).toEqual([...grantSet(tb)].sort());
        expect(diffPlans(planTeam(tb), planTeam(tb), tb, tb).empty).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  const forwardingMap = (t: ReturnType<typeof load>) =>
    new Map(planTeam(t).servers.flatMap((s) => s.humans.map((x) => [`${s.name} ${x.name}`, x.forwarding] as const)));
  // Two independent teams rarely share a person, so half the heads are the base with forwarding redrawn.
  const arbBaseHead = arbTeamSpec.chain((a) => {
    const redrawn = fc
      .array(fc.constantFrom<boolean | undefined>(undefined, false, true), {
        minLength: a.developers.length,
        maxLength: a.developers.length,
      })
      .map((f) => ({ ...a, developers: a.developers.map((d, i) => ({ ...d, forwarding: f[i] })) }));
    return fc.tuple(fc.constant(a), fc.oneof(arbTeamSpec, redrawn));
  });

  test("applying the diff's human and forwarding changes to the base gives exactly the head's forwarding, per server and human", () => {
    fc.assert(
      fc.property(arbBaseHead, ([a, b]) => {
        const [ta, tb] = [load(teamYaml(a)), load(teamYaml(b))];
        const d = diffPlans(planTeam(ta), planTeam(tb), ta, tb);
        const got = forwardingMap(ta);
        for (const s of d.servers) {
          for (const x of s.humans) {
            if (x.op === "+") got.set(`${s.server} ${x.human}`, x.forwarding);
            else got.delete(`${s.server} ${x.human}`);
          }
          for (const f of s.forwarding) {
            expect([f.from, f.to]).toEqual([got.get(`${s.server} ${f.human}`), !f.from]);
            got.set(`${s.server} ${f.human}`, f.to);
          }
        }
        const sorted = (m: Map<string, boolean>) => [...m].sort(([x], [y]) => cmp(x, y));
        expect(sorted(got)).toEqual(sorted(forwardingMap(tb)));
      }),
      { numRuns: 100 },
    );
  });
});
