import { describe, expect, test } from "vitest";
import { planTeam } from "../../src/plan/access";
import { breakSshd, breakSudoers, brokenSudoersLine } from "../../src/render/faults";
import { renderSshdDropIn, sshdDropIn, sshdScript } from "../../src/render/sshd";
import { rulesOf, sudoersFiles } from "../../src/render/sudoers";
import { loadTeamOrThrow } from "../../src/team/load";

// The test-only fault seams the lockout e2e tests rely on: each break is visible, names
// only what it breaks, and leaves every other render untouched.

const plan = planTeam(loadTeamOrThrow("team.yaml"));

describe("sudoers fault", () => {
  test("the broken line is the human's own rule to their own agent, runas list left open", () => {
    expect(brokenSudoersLine("marcus")).toBe("marcus ALL=(marcus-agent NOPASSWD ALL\n");
    expect(breakSudoers("# head\n", "olga")).toBe("# head\nolga ALL=(olga-agent NOPASSWD ALL\n");
  });

  test("on every server, only the listed human's file changes, and only by the broken line", () => {
    for (const s of plan.servers) {
      const good = sudoersFiles(s);
      for (const victim of Object.keys(good)) {
        const bad = sudoersFiles(s, [victim]);
        expect(Object.keys(bad)).toEqual(Object.keys(good));
        for (const [human, text] of Object.entries(bad)) {
          expect(text, `${s.name} ${human}`).toBe(human === victim ? good[human] + brokenSudoersLine(human) : good[human]);
        }
        // The broken line names only the victim: no other person's agent is ever written in.
        expect(rulesOf(bad[victim]!).split("\n").pop()).toBe(`${victim} ALL=(${victim}-agent NOPASSWD ALL`);
      }
    }
  });

  test("a human not on the server breaks nothing", () => {
    const s = plan.servers[0]!;
    expect(sudoersFiles(s, ["nobody-here"])).toEqual(sudoersFiles(s));
  });
});

describe("sshd fault", () => {
  test("appends a keyword sshd -t rejects, after the real drop-in", () => {
    expect(breakSshd("Port 22\n")).toBe("Port 22\nThisIsNotAnSshdKeyword yes\n");
    expect(sshdDropIn({ maxAuthTries: 7 }, true)).toBe(breakSshd(renderSshdDropIn({ maxAuthTries: 7 })));
    expect(sshdDropIn()).toBe(renderSshdDropIn());
  });

  test("the apply script carries the broken drop-in only when asked", () => {
    expect(sshdScript(undefined, "agent-runtime", true)).toMatch(/ThisIsNotAnSshdKeyword yes/);
    expect(sshdScript(undefined, "agent-runtime")).not.toMatch(/ThisIsNotAnSshdKeyword/);
  });
});
