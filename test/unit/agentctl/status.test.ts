import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import rulesFile from "../../../src/agentctl/status-rules.json";
import { compileRules, detectStatus, region, statusLabel, type PaneSnapshot } from "../../../src/agentctl/status";

// The status rules (src/agentctl/status-rules.json) on captured panes of each agent:
// test/fixtures/panes/<agent>/<case>.pane, a header (title, dead, activity age,
// expected state) and the screen text.

const DIR = path.join(__dirname, "../../fixtures/panes");
const rules = compileRules(rulesFile);

function loadPane(file: string): { pane: PaneSnapshot; expect: string } {
  const text = readFileSync(file, "utf8");
  const cut = text.indexOf("\n---\n");
  const head = Object.fromEntries(
    text
      .slice(0, cut)
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
  );
  return {
    pane: { title: head.title ?? "", text: text.slice(cut + 5), dead: head.dead === "true", activityAgeSeconds: Number(head.activity) },
    expect: head.expect!,
  };
}

const agents = readdirSync(DIR).sort();
const cases = agents.flatMap((a) => readdirSync(path.join(DIR, a)).map((f) => [a, f.replace(/\.pane$/, "")] as const));

describe("status rules on captured panes", () => {
  test("every agent has the busy, permission, prompt and exited captures (and an API error where the agent has an API)", () => {
    expect(agents).toEqual(["aider", "claude", "codex", "gemini", "shell"]);
    for (const a of agents) {
      const have = readdirSync(path.join(DIR, a)).map((f) => f.replace(/\.pane$/, ""));
      expect(have).toEqual(
        expect.arrayContaining(
          a === "shell" ? ["busy", "permission", "prompt", "exited"] : ["busy", "permission", "prompt", "api-error", "exited"],
        ),
      );
    }
  });

  test.each(cases)("%s/%s", (agent, name) => {
    const { pane, expect: want } = loadPane(path.join(DIR, agent, `${name}.pane`));
    expect(detectStatus(rules, agent, pane).state).toBe(want);
  });

  test("a rule for one agent never decides another's state", () => {
    const { pane } = loadPane(path.join(DIR, "claude", "busy.pane"));
    // Claude's spinner line means nothing for aider: its own rules (and activity) decide.
    expect(detectStatus(rules, "aider", { ...pane, activityAgeSeconds: 120 }).state).toBe("idle");
  });

  test("an unknown agent gets the common rules and activity", () => {
    const base: PaneSnapshot = { title: "", text: "building…\n", dead: false, activityAgeSeconds: 1 };
    expect(detectStatus(rules, "my-own-agent", base).state).toBe("running");
    expect(detectStatus(rules, "my-own-agent", { ...base, activityAgeSeconds: 400 })).toMatchObject({ state: "idle", idleSeconds: 400 });
    expect(detectStatus(rules, "my-own-agent", { ...base, text: "Overwrite? [y/N] " }).state).toBe("waiting");
  });

  test("a frozen spinner is not running: rules with activityWithinSeconds lapse", () => {
    const { pane } = loadPane(path.join(DIR, "claude", "busy.pane"));
    expect(detectStatus(rules, "claude", pane)).toMatchObject({ state: "running", rule: "claude#2" });
    expect(detectStatus(rules, "claude", { ...pane, activityAgeSeconds: 31 }).state).toBe("idle");
  });
});

describe("regions", () => {
  const pane: PaneSnapshot = { title: "T", text: "a\n\nb\nc\n╭──╮\n│ > │\n╰──╯\nfoot\n\n", dead: false, activityAgeSeconds: 0 };
  test.each([
    [{ region: "title" as const }, "T"],
    [{ region: "tail" as const, lines: 2 }, "╰──╯\nfoot"],
    [{ region: "above-box" as const, lines: 2 }, "b\nc"],
    [{ region: "screen" as const }, "a\nb\nc\n╭──╮\n│ > │\n╰──╯\nfoot"],
  ])("%o", (rule, want) => expect(region(rule, pane)).toBe(want));
  test("above-box without a box is the tail", () => {
    expect(region({ region: "above-box", lines: 1 }, { ...pane, text: "x\ny\n" })).toBe("y");
  });
});

describe("rule file validation", () => {
  test("a bad pattern is named by its place", () => {
    const bad = {
      schema_version: 1,
      busyWithinSeconds: 5,
      agents: { x: { rules: [{ state: "idle", region: "tail", pattern: "(", priority: 1 }] } },
    };
    expect(() => compileRules(bad)).toThrow(/^status-rules\.json agents\.x\.rules\[0\]\.pattern: /);
  });
  test("an unknown state or field is refused", () => {
    const bad = {
      schema_version: 1,
      busyWithinSeconds: 5,
      agents: { x: { rules: [{ state: "busy", region: "tail", pattern: "a", priority: 1 }] } },
    };
    expect(() => compileRules(bad)).toThrow(/agents\.x\.rules\.0\.state/);
    expect(() => compileRules({ ...bad, extra: 1 })).toThrow();
  });
});

test.each([
  [{ state: "waiting" as const, idleSeconds: 3 }, "waiting for input"],
  [{ state: "idle" as const, idleSeconds: 59 }, "idle for 59s"],
  [{ state: "idle" as const, idleSeconds: 3720 }, "idle for 1h 2m"],
  [{ state: "exited" as const, idleSeconds: 0, exitStatus: 2 }, "exited (2)"],
  [{ state: "running" as const, idleSeconds: 0 }, "running"],
])("label %o", (s, want) => expect(statusLabel(s)).toBe(want));
