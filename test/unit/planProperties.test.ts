import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { agentUser, allGrants, planTeam, serverName, type TeamPlan } from "../../src/plan/access";
import { formatError } from "../../src/team/errors";
import { parseTeam } from "../../src/team/load";
import { arbTeamSpec, entryAt, teamYaml, type TeamSpec } from "./teamYaml";

// Properties of planTeam over random valid teams, each written out as team.yaml text and
// loaded with parseTeam, so the source lines are real lines of a real file.

function load(text: string) {
  const r = parseTeam(text);
  if (!r.ok) throw new Error(`generated team rejected:\n${r.errors.map(formatError).join("\n")}\n---\n${text}`);
  return r.team;
}
const planOf = (spec: TeamSpec) => planTeam(load(teamYaml(spec)));

/** The plan without `source` (line numbers and paths move when the file is reordered). */
function withoutSources(p: TeamPlan) {
  return { ...p, servers: p.servers.map((s) => ({ ...s, grants: s.grants.map(({ source: _, ...g }) => g) })) };
}

describe("planTeam properties", () => {
  test("(a) no grant targets a human user or root: only the server owner's agent user", () => {
    fc.assert(
      fc.property(arbTeamSpec, (spec) => {
        const names = new Set(spec.developers.map((d) => d.name));
        const p = planOf(spec);
        for (const s of p.servers) {
          expect(s.agents.map((a) => a.name)).toEqual([agentUser(s.owner)]);
          for (const g of s.grants) {
            expect(g.server).toBe(s.name);
            // Exactly the owner's agent user, so never root and never a human user: humans
            // are people from team.yaml (checked below), and no person is named *-agent.
            expect(g.target).toBe(`${s.owner}-agent`);
            expect(names.has(g.human)).toBe(true);
          }
          for (const h of s.humans) expect(names.has(h.name), `human user ${h.name} on ${s.name}`).toBe(true);
        }
      }),
    );
  });

  test("(b) every grant traces to its line of team.yaml", () => {
    fc.assert(
      fc.property(arbTeamSpec, (spec) => {
        const text = teamYaml(spec);
        const lines = text.split("\n");
        const index = new Map(spec.developers.map((d, i) => [d.name, i]));
        for (const g of allGrants(planTeam(load(text)))) {
          const owner = g.server.replace(/^dev-/, "");
          const line = lines[g.source.line - 1]!.trim();
          const i = index.get(g.human)!;
          if (g.reason === "own") {
            expect([g.human, line, g.source.path]).toEqual([owner, `- name: ${owner}`, `developers[${i}]`]);
          } else if (g.reason === "lead") {
            expect([line, g.source.path]).toEqual(["role: lead", `developers[${i}].role`]);
          } else {
            const j = spec.developers[i]!.mentees!.indexOf(owner);
            expect([line, g.source.path]).toEqual([`- ${owner}`, `developers[${i}].mentees[${j}]`]);
          }
          // …and that line sits inside the entry of the person who gets the grant.
          expect(entryAt(text, g.source.line)).toBe(g.human);
        }
      }),
    );
  });

  test("(c) the plan does not depend on the order of developers (or of mentees) in the file", () => {
    const arb = arbTeamSpec.chain((spec) =>
      fc.tuple(
        fc.constant(spec),
        fc.shuffledSubarray([...spec.developers.keys()], { minLength: spec.developers.length }),
        fc.tuple(...spec.developers.map((d) => fc.shuffledSubarray(d.mentees ?? [], { minLength: d.mentees?.length ?? 0 }))),
      ),
    );
    fc.assert(
      fc.property(arb, ([spec, shuffled, mentees]) => {
        const reordered = shuffled.map((i) => {
          const d = spec.developers[i]!;
          return d.mentees ? { ...d, mentees: mentees[i]! } : d;
        });
        const a = planOf(spec);
        const b = planOf({ ...spec, developers: reordered });
        expect(withoutSources(b)).toEqual(withoutSources(a));
      }),
    );
  });

  test("(d) removing one mentee removes exactly that grant (and the visit it implied)", () => {
    const arb = arbTeamSpec
      .filter((s) => s.developers.some((d) => (d.mentees ?? []).length > 0))
      .chain((spec) => {
        const seniors = spec.developers.flatMap((d, i) => ((d.mentees ?? []).length > 0 ? [i] : []));
        return fc
          .constantFrom(...seniors)
          .chain((i) => fc.tuple(fc.constant(spec), fc.constant(i), fc.nat(spec.developers[i]!.mentees!.length - 1)));
      });
    fc.assert(
      fc.property(arb, ([spec, i, j]) => {
        const senior = spec.developers[i]!;
        const mentee = senior.mentees![j]!;
        const developers = spec.developers.map((d, k) => (k === i ? { ...d, mentees: d.mentees!.filter((m) => m !== mentee) } : d));
        const before = withoutSources(planOf(spec));
        const after = withoutSources(planOf({ ...spec, developers }));

        const key = (g: { server: string; human: string }) => `${g.server} ${g.human}`;
        const gone = before.servers
          .flatMap((s) => s.grants)
          .filter((g) => !after.servers.flatMap((s) => s.grants).some((h) => key(h) === key(g)));
        const added = after.servers
          .flatMap((s) => s.grants)
          .filter((g) => !before.servers.flatMap((s) => s.grants).some((h) => key(h) === key(g)));
        expect(gone).toEqual([
          { server: serverName(mentee), human: senior.name, target: agentUser(mentee), reason: "mentor", ioLog: true },
        ]);
        expect(added).toEqual([]);

        // Everything else is unchanged: the same plan minus that grant, that visitor, that hop.
        const expected = {
          ...before,
          servers: before.servers.map((s) => ({
            ...s,
            grants: s.grants.filter((g) => !(s.owner === mentee && g.human === senior.name)),
            humans: s.humans.filter((h) => !(s.owner === mentee && h.name === senior.name)),
            hopsTo: s.hopsTo.filter((t) => !(s.owner === senior.name && t === serverName(mentee))),
          })),
        };
        expect(after).toEqual(expected);
      }),
    );
  });

  test("(e) resources grow linearly: humans = people + non-own grants; one server and one agent per person", () => {
    fc.assert(
      fc.property(arbTeamSpec, (spec) => {
        const p = planOf(spec);
        const n = spec.developers.length;
        const leads = spec.developers.filter((d) => d.role === "lead").length;
        const mentorships = spec.developers.reduce((sum, d) => sum + (d.mentees ?? []).length, 0);
        // Independent count: every lead visits every other server, every mentorship one server.
        const visits = spec.developers.reduce((sum, d) => sum + leads - (d.role === "lead" ? 1 : 0), 0) + mentorships;
        const humans = p.servers.reduce((sum, s) => sum + s.humans.length, 0);
        const nonOwn = allGrants(p).filter((g) => g.reason !== "own").length;
        expect(nonOwn).toBe(visits);
        expect(humans).toBe(n + nonOwn);
        expect(p.servers.length).toBe(n);
        expect(p.servers.reduce((sum, s) => sum + s.agents.length, 0)).toBe(n);
      }),
    );
  });

  test("(f) forwarding follows the person onto every server they reach, and only them", () => {
    fc.assert(
      fc.property(arbTeamSpec, (spec) => {
        const wants = new Map(spec.developers.map((d) => [d.name, d.forwarding === true]));
        for (const s of planOf(spec).servers) {
          for (const h of s.humans) expect([s.name, h.name, h.forwarding]).toEqual([s.name, h.name, wants.get(h.name)]);
        }
      }),
    );
  });
});
