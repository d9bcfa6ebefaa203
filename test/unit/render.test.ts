import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { planTeam, type Grant } from "../../src/plan/access";
import { renderAuditWatches } from "../../src/render/audit";
import { agentctlRemoveScript, agentctlScript } from "../../src/render/agentctl";
import { adminRemoveScript, adminScript } from "../../src/render/bootstrap";
import { helpersRemoveScript, helpersScript } from "../../src/render/helpers";
import { renderAgentAuditRules, renderEtCfg, runtimeRemoveScript, runtimeScript, sliceProperties } from "../../src/render/runtime";
import { fill, renderScript, shq } from "../../src/render/script";
import { sshdDropIn, sshdRemoveScript, sshdScript } from "../../src/render/sshd";
import { renderHumanSudoers, sudoersFiles, sudoersRemoveScript, sudoersRule, sudoersScript } from "../../src/render/sudoers";
import {
  agentScript,
  authorizedKeys,
  hopConfigScript,
  hopHostsLines,
  hopKeyScript,
  hopRemoveScript,
  humanScript,
  removeScript,
} from "../../src/render/users";
import { loadTeamOrThrow } from "../../src/team/load";

// Renders are pure: snapshot them, lint them, and check the properties that matter
// for safety (sudo targets, sshd first-value settings) on the text itself.

const plan = planTeam(loadTeamOrThrow("team.yaml"));
const nadia = plan.servers.find((s) => s.name === "dev-nadia")!;
const etRepo = {
  port: 2022,
  source: "apt-repo" as const,
  aptLine: "deb [signed-by=/etc/apt/keyrings/agent-runtime-et.asc] https://192.0.2.1/ ./",
  signingKey: "-----BEGIN PGP PUBLIC KEY BLOCK-----",
};

const scripts: Record<string, string> = {
  human: humanScript("nadia", authorizedKeys(nadia.humans.find((h) => h.name === "nadia")!)),
  agent: agentScript(nadia.agents[0]!),
  sudoers: sudoersScript("agent-runtime-user-marcus", sudoersFiles(nadia).marcus!),
  runtime: runtimeScript(etRepo),
  sshd: sshdScript(undefined, "agent-runtime"),
  sshdRemove: sshdRemoveScript(),
  admin: adminScript("agent-runtime", "ssh-ed25519 AAAA x"),
  adminRemove: adminRemoveScript("agent-runtime"),
  userRemove: removeScript("wes-agent"),
  sudoersRemove: sudoersRemoveScript("agent-runtime-user-marcus"),
  pullArchives: renderScript("gate/pull-archives.sh", {
    AR_HOST: "192.0.2.10",
    AR_PORT: 22,
    AR_USER: "agent-runtime",
    AR_HOST_KEY: "",
    AR_DEST: "/tmp/archives/dev-wes",
  }),
  humanForwarding: humanScript("olga", "ssh-ed25519 AAAA olga", true),
  hopKey: hopKeyScript("marcus"),
  hopConfig: hopConfigScript("marcus", [{ name: "dev-wes", address: "192.0.2.10", port: 22, hostKey: "ssh-ed25519 AAAA" }]),
  hopRemove: hopRemoveScript("marcus"),
  gate: renderScript("gate/wait-ssh.sh", {
    AR_HOST: "192.0.2.10",
    AR_PORT: 22,
    AR_USERS: "agent-runtime root",
    AR_HOST_KEY: "",
    AR_TRIES: 3,
    AR_WAIT: 1,
  }),
  runtimeRemove: runtimeRemoveScript(),
  agentctl: agentctlScript("dev-wes", "0".repeat(64)),
  agentctlRemove: agentctlRemoveScript(),
  helpers: helpersScript(),
  helpersRemove: helpersRemoveScript(),
};

describe("rendered scripts", () => {
  // shellcheck comes from scripts/setup.sh; a missing linter fails here rather than skipping.
  test.each(Object.keys(scripts))("%s passes shellcheck (warnings and errors)", (name) => {
    const r = spawnSync("shellcheck", ["-x", "-s", "bash", "-S", "warning", "-"], { input: scripts[name], encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  test("the PAM hook passes shellcheck", () => {
    execFileSync("shellcheck", ["-S", "warning", "templates/pam/agent-scope.sh"]);
  });

  test.each(Object.keys(scripts))("%s parses with bash -n", (name) => {
    const r = spawnSync("bash", ["-n"], { input: scripts[name], encoding: "utf8" });
    expect(r.stderr).toBe("");
  });

  test("variables are quoted so values cannot break out", () => {
    const evil = "x'; rm -rf / #";
    const text = renderScript("users/remove.sh", { AR_USER: evil });
    const r = spawnSync("bash", ["-c", `${text.split("\n").find((l) => l.startsWith("AR_USER="))}; printf %s "$AR_USER"`], {
      encoding: "utf8",
    });
    expect(r.stdout).toBe(evil);
    expect(shq("a'b")).toBe(`'a'\\''b'`);
  });

  test("a variable name that is not AR_* is refused", () => {
    expect(() => renderScript("users/remove.sh", { USER: "x" })).toThrow(/AR_NAME/);
  });

  test("fill refuses missing and unused placeholders", () => {
    expect(() => fill("{{A}}", {})).toThrow(/\{\{A\}\}/);
    expect(() => fill("{{A}}", { A: 1, B: 2 })).toThrow(/B/);
  });
});

describe("sudoers renders", () => {
  test("example team: marcus on dev-nadia (snapshot)", () => {
    expect(sudoersFiles(nadia).marcus).toMatchSnapshot();
  });

  test("own agent is not recorded; someone else's is", () => {
    const files = sudoersFiles(nadia);
    expect(files.nadia).not.toMatch(/log_input/);
    expect(files.marcus).toMatch(/^Defaults:marcus log_input, log_output$/m);
    expect(files.olga).toMatch(/^olga ALL=\(nadia-agent\) NOPASSWD: ALL$/m);
  });

  test("every rule line in every file targets exactly one agent user", () => {
    for (const s of plan.servers) {
      for (const text of Object.values(sudoersFiles(s))) {
        const rules = text.split("\n").filter((l) => /ALL=/.test(l));
        expect(rules.length).toBeGreaterThan(0);
        for (const r of rules) expect(r).toMatch(/^[a-z_][a-z0-9_-]* ALL=\([a-z_][a-z0-9_-]*-agent\) NOPASSWD: ALL$/);
      }
    }
  });

  test("a rule to a human user or root is refused at render time", () => {
    const g: Grant = { server: "dev-wes", human: "marcus", target: "wes", reason: "lead", source: { line: 1, path: "x" }, ioLog: true };
    expect(() => sudoersRule(g)).toThrow(/refusing/);
    expect(() => sudoersRule({ ...g, target: "root" })).toThrow(/refusing/);
    expect(() => renderHumanSudoers("dev-wes", "nobody", [g])).toThrow(/no grant/);
  });

  test("test seam: a broken file is broken", () => {
    expect(sudoersFiles(nadia, ["olga"]).olga).toMatch(/^olga ALL=\(olga-agent NOPASSWD ALL$/m);
  });
});

describe("sshd drop-in", () => {
  const text = sshdDropIn();
  test("snapshot", () => expect(text).toMatchSnapshot());
  test("global settings come before the Match block (Match applies to the rest of the file)", () => {
    const lines = text.split("\n").filter((l) => l && !l.startsWith("#"));
    const match = lines.findIndex((l) => l.startsWith("Match "));
    for (const k of [
      "PasswordAuthentication no",
      "PermitRootLogin no",
      "KbdInteractiveAuthentication no",
      "X11Forwarding no",
      "LogLevel VERBOSE",
    ]) {
      const i = lines.indexOf(k);
      expect(i, k).toBeGreaterThanOrEqual(0);
      expect(i, k).toBeLessThan(match);
    }
    // Everything after the first Match is inside a Match block.
    expect(lines.slice(match).every((l) => l.startsWith("Match ") || l.startsWith("    "))).toBe(true);
  });
  test("forwarding opt-in comes first: sshd keeps the first DisableForwarding it reads", () => {
    const lines = text.split("\n").filter((l) => l && !l.startsWith("#"));
    const opt = lines.indexOf("Match Group agent-runtime-forward");
    const humans = lines.indexOf("Match Group agent-runtime-humans");
    expect(opt).toBeGreaterThan(0);
    expect(opt).toBeLessThan(humans);
    expect(lines[opt + 1]).toBe("    DisableForwarding no");
    expect(lines.slice(humans + 1, humans + 3)).toEqual([
      "    AuthorizedKeysFile /etc/ssh/agent-runtime/authorized_keys/%u",
      "    DisableForwarding yes",
    ]);
  });
});

describe("hop renders", () => {
  test("one `name address port [hostkey]` line per target, in plan order, no trailing blank", () => {
    const hosts = hopHostsLines([
      { name: "dev-wes", address: "192.0.2.10", port: 22, hostKey: "ssh-ed25519 AAAA" },
      { name: "dev-nadia", address: "192.0.2.11", port: 2222, hostKey: "" },
      { name: "dev-olga", address: "192.0.2.12", port: 22 },
    ]);
    expect(hosts).toBe("dev-wes 192.0.2.10 22 ssh-ed25519 AAAA\ndev-nadia 192.0.2.11 2222\ndev-olga 192.0.2.12 22");
    expect(scripts.hopConfig).toContain(`AR_HOSTS=${shq("dev-wes 192.0.2.10 22 ssh-ed25519 AAAA")}`);
  });
});

describe("runtime renders", () => {
  test("et.cfg carries the port and telemetry off", () => {
    expect(renderEtCfg(2345)).toMatch(/^port = 2345$/m);
    expect(renderEtCfg(2345)).toMatch(/^telemetry = 0$/m);
  });
  test("slice properties from limits", () => {
    expect(sliceProperties({ cpu: 1.5, memory: "4G", memoryHigh: "3G", tasks: 512 })).toEqual({
      CPUQuota: "150%",
      MemoryHigh: "3G",
      MemoryMax: "4G",
      TasksMax: "512",
    });
  });
  test("audit rules: watches and per-agent execve keys (strict render)", () => {
    expect(renderAuditWatches()).toMatchSnapshot();
    const rules = renderAgentAuditRules("wes-agent", "wes")
      .split("\n")
      .filter((l) => l.startsWith("-"));
    expect(rules).toEqual([
      "-a always,exit -F arch=b64 -S execve,execveat -F uid=wes-agent -k agent-exec-wes-agent",
      "-a always,exit -F arch=b32 -S execve,execveat -F uid=wes-agent -k agent-exec-wes-agent",
    ]);
    for (const l of renderAuditWatches()
      .split("\n")
      .filter((x) => x.startsWith("-"))) {
      expect(l).toMatch(/^-w \/\S+ -p wa -k agent-runtime-[a-z]+$/);
    }
  });
});

// The admin step runs as the host's first user, often root, whom the hardened sshd then
// refuses: if its script text changes (it carries templates/bootstrap/*.sh and common.sh
// inline), every existing stack's next `up` re-runs it, can't log in, and fails on every
// such host. Changing these hashes is a breaking change: give the admin step a migration
// first (see src/render/bootstrap.ts), then update them.
test("the admin step's scripts are frozen: a change would re-run them as a login sshd now refuses", () => {
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  expect(sha(adminScript("agent-runtime", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey agent-runtime"))).toBe(
    "11d5c69bc970297c15ba5c8c09e2462fe92c41d64bfccef9d7bf2435d762bd7b",
  );
  expect(sha(adminRemoveScript("agent-runtime"))).toBe("34c5315c52b7d18b7d7772d80b9005b51ded3238004bb670d24f41228bc6d7de");
});
