import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { allGrants, planTeam, type TeamPlan } from "../../src/plan/access";
import { formatError } from "../../src/team/errors";
import { parseTeam } from "../../src/team/load";
import { fixedKey, teamYaml, type TeamSpec } from "./teamYaml";

// planTeam on hand-written teams: who is on which server, who may become which agent
// user (and why), and who hops where. Property tests live in planProperties.test.ts.

function plan(text: string): TeamPlan {
  const r = parseTeam(text);
  if (!r.ok) throw new Error(r.errors.map(formatError).join("\n"));
  return planTeam(r.team);
}

const grantRows = (p: TeamPlan) => allGrants(p).map((g) => [g.server, g.human, g.target, g.reason, g.ioLog]);
const humanRows = (p: TeamPlan) => p.servers.map((s) => [s.name, s.humans.map((h) => (h.hopFrom ? `${h.name}<${h.hopFrom}` : h.name))]);
// Who hops where: owners of a server that reach others, with the servers they reach.
const hopRows = (p: TeamPlan) => p.servers.filter((s) => s.hopsTo.length > 0).map((s) => ({ human: s.owner, from: s.name, to: s.hopsTo }));

describe("the example team (marcus lead, olga senior mentoring nadia, wes, nadia)", () => {
  const text = readFileSync(join(__dirname, "..", "..", "team.yaml"), "utf8");
  const p = plan(text);
  const lines = text.split("\n");
  const lineOf = (re: RegExp) => lines.findIndex((l) => re.test(l)) + 1;

  test("one server per person, each with only its owner's agent user", () => {
    expect(p.servers.map((s) => [s.name, s.owner, s.agents.map((a) => a.name)])).toEqual([
      ["dev-marcus", "marcus", ["marcus-agent"]],
      ["dev-nadia", "nadia", ["nadia-agent"]],
      ["dev-olga", "olga", ["olga-agent"]],
      ["dev-wes", "wes", ["wes-agent"]],
    ]);
  });

  test("grants: own agent for everyone, the lead everywhere, olga on nadia's server; others' sessions recorded", () => {
    expect(grantRows(p)).toEqual([
      ["dev-marcus", "marcus", "marcus-agent", "own", false],
      ["dev-nadia", "marcus", "nadia-agent", "lead", true],
      ["dev-nadia", "nadia", "nadia-agent", "own", false],
      ["dev-nadia", "olga", "nadia-agent", "mentor", true],
      ["dev-olga", "marcus", "olga-agent", "lead", true],
      ["dev-olga", "olga", "olga-agent", "own", false],
      ["dev-wes", "marcus", "wes-agent", "lead", true],
      ["dev-wes", "wes", "wes-agent", "own", false],
    ]);
  });

  test("humans per server; visitors hop in from their own server", () => {
    expect(humanRows(p)).toEqual([
      ["dev-marcus", ["marcus"]],
      ["dev-nadia", ["marcus<dev-marcus", "nadia", "olga<dev-olga"]],
      ["dev-olga", ["marcus<dev-marcus", "olga"]],
      ["dev-wes", ["marcus<dev-marcus", "wes"]],
    ]);
  });

  test("hops", () => {
    expect(hopRows(p)).toEqual([
      { human: "marcus", from: "dev-marcus", to: ["dev-nadia", "dev-olga", "dev-wes"] },
      { human: "olga", from: "dev-olga", to: ["dev-nadia"] },
    ]);
  });

  test("each grant points at the team.yaml line that causes it", () => {
    const src = (server: string, human: string) => allGrants(p).find((g) => g.server === server && g.human === human)!.source.line;
    expect(src("dev-wes", "marcus")).toBe(lineOf(/^\s+role: lead\b/));
    expect(src("dev-nadia", "olga")).toBe(lineOf(/^\s+mentees: \[nadia\]/));
    expect(src("dev-wes", "wes")).toBe(lineOf(/^\s+- name: wes$/));
  });

  test("limits: wes's override, defaults for the rest", () => {
    expect(p.servers.map((s) => [s.owner, s.agents[0]!.limits.memory, s.agents[0]!.limits.memoryHigh])).toEqual([
      ["marcus", "12G", "11059M"],
      ["nadia", "12G", "11059M"],
      ["olga", "12G", "11059M"],
      ["wes", "16G", "14745M"],
    ]);
  });

  test("keys: a visitor brings the same keys they use on their own server", () => {
    const keysOf = (server: string, human: string) =>
      p.servers
        .find((s) => s.name === server)!
        .humans.find((h) => h.name === human)!
        .keys.map((k) => k.fingerprint);
    expect(keysOf("dev-wes", "marcus")).toEqual(keysOf("dev-marcus", "marcus"));
    expect(keysOf("dev-wes", "marcus")).not.toEqual(keysOf("dev-wes", "wes"));
  });
});

describe("other shapes", () => {
  const team = (developers: TeamSpec["developers"]) => plan(teamYaml({ team: "acme", developers }));
  const k = (n: number) => [fixedKey(n)];

  test.each<[string, TeamSpec["developers"], (string | boolean)[][], { human: string; from: string; to: string[] }[]]>([
    ["a team of one", [{ name: "solo", keys: k(1) }], [["dev-solo", "solo", "solo-agent", "own", false]], []],
    [
      "two leads reach each other's agent user",
      [
        { name: "ana", role: "lead", keys: k(1) },
        { name: "bo", role: "lead", keys: k(2) },
      ],
      [
        ["dev-ana", "ana", "ana-agent", "own", false],
        ["dev-ana", "bo", "ana-agent", "lead", true],
        ["dev-bo", "ana", "bo-agent", "lead", true],
        ["dev-bo", "bo", "bo-agent", "own", false],
      ],
      [
        { human: "ana", from: "dev-ana", to: ["dev-bo"] },
        { human: "bo", from: "dev-bo", to: ["dev-ana"] },
      ],
    ],
    [
      "a senior may mentor the lead and another senior; a senior without mentees reaches no one",
      [
        { name: "lea", role: "lead", keys: k(1) },
        { name: "sam", role: "senior", keys: k(2), mentees: ["lea", "tia"] },
        { name: "tia", role: "senior", keys: k(3) },
      ],
      [
        ["dev-lea", "lea", "lea-agent", "own", false],
        ["dev-lea", "sam", "lea-agent", "mentor", true],
        ["dev-sam", "lea", "sam-agent", "lead", true],
        ["dev-sam", "sam", "sam-agent", "own", false],
        ["dev-tia", "lea", "tia-agent", "lead", true],
        ["dev-tia", "sam", "tia-agent", "mentor", true],
        ["dev-tia", "tia", "tia-agent", "own", false],
      ],
      [
        { human: "lea", from: "dev-lea", to: ["dev-sam", "dev-tia"] },
        { human: "sam", from: "dev-sam", to: ["dev-lea", "dev-tia"] },
      ],
    ],
  ])("%s", (_, developers, grants, hopList) => {
    const p = team(developers);
    expect(grantRows(p)).toEqual(grants);
    expect(hopRows(p)).toEqual(hopList);
  });
});

describe("forwarding", () => {
  const k = (n: number) => [fixedKey(n)];
  const rows = (p: TeamPlan) => p.servers.map((s) => [s.name, s.humans.map((h) => `${h.name}${h.forwarding ? "+fwd" : ""}`)]);

  test("off unless set: the example team has no forwarding anywhere", () => {
    const p = plan(readFileSync(join(__dirname, "..", "..", "team.yaml"), "utf8"));
    expect(p.servers.flatMap((s) => s.humans).every((h) => h.forwarding === false)).toBe(true);
  });

  test("a person's forwarding goes with them to every server they reach, and to no one else", () => {
    const p = plan(
      teamYaml({
        team: "acme",
        developers: [
          { name: "lea", role: "lead", keys: k(1), forwarding: true },
          { name: "sam", role: "senior", keys: k(2), mentees: ["tia"], forwarding: false },
          { name: "tia", keys: k(3) },
          { name: "uma", keys: k(4), forwarding: true },
        ],
      }),
    );
    expect(rows(p)).toEqual([
      ["dev-lea", ["lea+fwd"]],
      ["dev-sam", ["lea+fwd", "sam"]],
      ["dev-tia", ["lea+fwd", "sam", "tia"]],
      ["dev-uma", ["lea+fwd", "uma+fwd"]],
    ]);
  });
});
