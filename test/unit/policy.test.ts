import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import * as checks from "../../policy/checks";
import { planTeam } from "../../src/plan/access";
import { renderScript, shq } from "../../src/render/script";
import { sshdDropIn } from "../../src/render/sshd";
import { SUDO_DEFAULTS_FILE, renderSudoDefaults, sudoersFileName, sudoersFiles, sudoersScript } from "../../src/render/sudoers";
import { agentScript } from "../../src/render/users";
import { openStack, TOOLCHAIN_BIN } from "../../src/sandbox/engine";
import { sandboxTeamYaml } from "../../src/sandbox/sandboxTeam";
import { loadTeamOrThrow } from "../../src/team/load";
import { AGENT_SUFFIX } from "../../src/team/schema";
import { fixedKey } from "./teamYaml";

// The policy pack's checks on the real renders (they must pass) and on hand-made
// violations (each must be caught), then the pack itself under the real engine.

const ROOT = path.join(__dirname, "..", "..");
const plan = planTeam(loadTeamOrThrow(path.join(ROOT, "team.yaml")));
const sshdStep = (conf: string, dropin = "00-agent-runtime.conf") =>
  renderScript("sshd/apply.sh", { AR_CONTENT: conf, AR_ADMIN: "agent-runtime" }).replace(
    "/sshd_config.d/00-agent-runtime.conf",
    `/sshd_config.d/${dropin}`,
  );

describe("the real renders pass every check", () => {
  test("sudoers files of every human on every server", () => {
    for (const s of plan.servers) {
      for (const [human, content] of Object.entries(sudoersFiles(s))) {
        const script = sudoersScript(sudoersFileName(human), content);
        expect(checks.stepKind(`${s.name}-sudoers-${human}`, script)).toBe("sudoers");
        expect(checks.sudoersStepViolations(script)).toEqual([]);
      }
    }
    expect(checks.sudoersStepViolations(sudoersScript(SUDO_DEFAULTS_FILE, renderSudoDefaults()))).toEqual([]);
  });

  test("every agent user step", () => {
    for (const a of plan.servers.flatMap((s) => s.agents)) {
      expect(checks.stepKind(`dev-${a.owner}-agent-${a.name}`, agentScript(a))).toBe("agent");
      expect(checks.agentLimitViolations(agentScript(a))).toEqual([]);
    }
  });

  test("the sshd step", () => {
    expect(checks.stepKind("dev-wes-sshd", sshdStep(sshdDropIn()))).toBe("sshd");
    expect(checks.sshdStepViolations(sshdStep(sshdDropIn()))).toEqual([]);
  });

  test("the suffix is the schema's", () => expect(checks.AGENT_SUFFIX).toBe(AGENT_SUFFIX));
});

describe("finding the steps", () => {
  test.each([
    ["command:remote:Command", { stdin: "x" }, "x"],
    ["pulumi-nodejs:dynamic:Resource", { script: "y" }, "y"],
    ["hcloud:index/server:Server", { script: "z" }, undefined],
  ])("%s → its script", (type, props, want) => expect(checks.stepScript(type, props)).toBe(want));

  test.each([
    ["dev-wes-sudoers-marcus", undefined, "sudoers"],
    ["dev-wes-agent-wes-agent", undefined, "agent"],
    ["dev-wes-sshd", undefined, "sshd"],
    ["dev-wes-user-marcus", undefined, undefined],
    // The header wins: a renamed sudoers step is still checked, a human step named like an agent one is not.
    ["renamed", "#!/bin/bash\n# agent-runtime: templates/sudoers/install.sh\n", "sudoers"],
    ["dev-bob-agent-x-agent", "# agent-runtime: templates/users/human.sh\n", undefined],
  ])("%s (%j) → %s", (name, script, kind) => expect(checks.stepKind(name, script)).toBe(kind));

  test("scriptVar reads back any value renderScript wrote", () => {
    fc.assert(
      fc.property(fc.string(), (v) => {
        expect(checks.scriptVar(`X=1\nAR_V=${shq(v)}\nrest`, "AR_V")).toEqual({ ok: true, value: v });
      }),
    );
  });

  test.each([
    ["missing", "AR_X='1'\n", /does not set AR_V/],
    ["twice", "AR_V='1'\nAR_V='2'\n", /sets AR_V 2 times/],
    ["not a literal", 'AR_V="$(id)"\n', /not a single-quoted literal/],
  ])("scriptVar: %s", (_what, script, message) => {
    const r = checks.scriptVar(script, "AR_V");
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(message);
  });
});

describe("sudoers", () => {
  test.each([
    "# comment",
    "Defaults use_pty",
    "Defaults:marcus log_input, log_output",
    "marcus ALL=(wes-agent) NOPASSWD: ALL",
    "marcus ALL=(wes-agent, nadia-agent) NOPASSWD: ALL",
    "Cmnd_Alias X = /bin/true",
  ])("allowed: %s", (line) => expect(checks.sudoersViolations(line)).toEqual([]));

  test.each([
    ["marcus ALL=(root) NOPASSWD: ALL", /targets root/],
    ["marcus ALL=(ALL) NOPASSWD: ALL", /targets root/],
    ["marcus ALL=(ALL:ALL) ALL", /targets root/],
    ["marcus ALL=(#0) ALL", /targets root/],
    ["marcus ALL=NOPASSWD: ALL", /no runas list, so it runs as root/],
    ["marcus ALL=(wes) NOPASSWD: ALL", /targets the human user "wes"/],
    ["marcus ALL=(wes-agent, wes) NOPASSWD: ALL", /targets the human user "wes"/],
    ["marcus ALL=(wes-agent:sudo) NOPASSWD: ALL", /may run as group "sudo"/],
    ["marcus ALL=(%sudo) ALL", /not a plain user name/],
    ["marcus ALL=(!wes-agent) ALL", /not a plain user name/],
    ["wes-agent ALL=(wes-agent) ALL", /targets itself/],
    ["marcus ALL=(wes-agent) ALL, (root) ALL", /more than one runas/],
    ["marcus ALL=(wes-agent) ALL : ALL = ALL", /more than one runas/],
    ["marcus ALL=(wes-agent) \\\n  NOPASSWD: ALL, (root) ALL", /more than one runas/],
    ["Runas_Alias R = root\nmarcus ALL=(wes-agent) ALL", /Runas_Alias/],
    ["#include /etc/sudoers.d/other", /includes other files/],
    ["@includedir /tmp", /includes other files/],
    ["marcus", /not a rule this policy can read/],
  ])("violation: %j", (content, message) => {
    expect(checks.sudoersViolations(content).join("\n")).toMatch(message);
  });

  test("a step whose content cannot be found is a violation", () => {
    expect(checks.sudoersStepViolations("# agent-runtime: templates/sudoers/install.sh\necho hi\n")).toEqual([
      "sudoers step: the script does not set AR_CONTENT",
    ]);
  });
});

describe("agent limits", () => {
  const good = agentScript(plan.servers[0]!.agents[0]!);
  test.each([
    [
      "CPUQuota unlimited",
      (s: string) => s.replace(/^AR_CPU_QUOTA='[^']*'/m, "AR_CPU_QUOTA='infinity'"),
      /CPUQuota "infinity" is not a percentage/,
    ],
    ["CPUQuota zero", (s: string) => s.replace(/^AR_CPU_QUOTA='[^']*'/m, "AR_CPU_QUOTA='0%'"), /CPUQuota "0%"/],
    ["MemoryMax missing", (s: string) => s.replace(/^AR_MEMORY_MAX='[^']*'\n/m, ""), /MemoryMax: the script does not set AR_MEMORY_MAX/],
    ["TasksMax infinity", (s: string) => s.replace(/^AR_TASKS_MAX='[^']*'/m, "AR_TASKS_MAX='infinity'"), /TasksMax "infinity"/],
    ["TasksMax never written", (s: string) => s.replace(/^TasksMax=\$AR_TASKS_MAX$/m, ""), /never writes TasksMax=\$AR_TASKS_MAX/],
    ["no [Slice] drop-in", (s: string) => s.replace(/^\[Slice\]$/m, ""), /no \[Slice\] drop-in/],
  ])("%s", (_what, mutate, message) => {
    const bad = mutate(good);
    expect(bad).not.toBe(good);
    expect(checks.agentLimitViolations(bad).join("\n")).toMatch(message);
  });
});

describe("sshd", () => {
  const conf = sshdDropIn();
  const swap = (from: RegExp, to: string) => {
    const next = conf.replace(from, to);
    if (next === conf) throw new Error(`${String(from)} not in the drop-in`);
    return next;
  };
  test.each([
    ["password login", swap(/^PasswordAuthentication no$/m, "PasswordAuthentication yes"), /passwordauthentication must be "no"/],
    ["root login", swap(/^PermitRootLogin no$/m, "PermitRootLogin prohibit-password"), /permitrootlogin must be "no"/],
    ["first value wins", `PasswordAuthentication yes\n${conf}`, /passwordauthentication must be "no".*got "yes"/],
    ["no DenyUsers", swap(/^DenyUsers .*$/m, ""), /DenyUsers must include \*-agent/],
    [
      "forwarding into agents",
      swap(/(Match User \*-agent\n\s+)DisableForwarding yes/, "$1DisableForwarding no"),
      /must set disableforwarding yes \(got "no"\)/,
    ],
    [
      "human keys from the home",
      swap(/AuthorizedKeysFile \/etc\/ssh\/agent-runtime\/authorized_keys\/%u/, "AuthorizedKeysFile .ssh/authorized_keys"),
      /agent-runtime-humans must set authorizedkeysfile/,
    ],
    [
      "no human Match block",
      swap(/^Match Group agent-runtime-humans$/m, "Match Group nobody"),
      /no "Match Group agent-runtime-humans" block/,
    ],
    ["no agent Match block", swap(/^Match User \*-agent$/m, "Match User nobody"), /no "Match User \*-agent" block/],
    [
      "a Match that loosens",
      `${conf}Match Address 10.0.0.0/8\n    PasswordAuthentication yes\n`,
      /"Match Address 10.0.0.0\/8" sets passwordauthentication yes/,
    ],
  ])("%s", (_what, bad, message) => expect(checks.sshdStepViolations(sshdStep(bad)).join("\n")).toMatch(message));

  test("a drop-in that sorts after 50-cloud-init.conf", () => {
    expect(checks.sshdStepViolations(sshdStep(conf, "60-agent-runtime.conf")).join("\n")).toMatch(/must be \/etc\/ssh\/sshd_config.d\/0N-/);
  });
});

describe("firewalls open to the world (advisory)", () => {
  test.each([
    [
      "hcloud:index/firewall:Firewall",
      { rules: [{ direction: "in", protocol: "tcp", port: "22", sourceIps: ["198.51.100.0/24", "0.0.0.0/0"] }] },
      ["inbound tcp port 22 admits 0.0.0.0/0 (the whole internet)"],
    ],
    ["hcloud:index/firewall:Firewall", { rules: [{ direction: "out", protocol: "tcp", port: "any", destinationIps: ["0.0.0.0/0"] }] }, []],
    [
      "aws:ec2/securityGroup:SecurityGroup",
      {
        ingress: [{ fromPort: 22, toPort: 22, cidrBlocks: ["198.51.100.0/24"], ipv6CidrBlocks: ["::/0"] }],
        egress: [{ cidrBlocks: ["0.0.0.0/0"] }],
      },
      ["ingress port 22 admits ::/0 (the whole internet)"],
    ],
    ["aws:ec2/securityGroup:SecurityGroup", { ingress: [{ fromPort: 22, toPort: 22, cidrBlocks: ["198.51.100.0/24"] }] }, []],
    [
      "aws:ec2/securityGroupRule:SecurityGroupRule",
      { type: "ingress", fromPort: 0, toPort: 65535, cidrBlocks: ["0.0.0.0/0"] },
      ["ingress ports 0-65535 admits 0.0.0.0/0 (the whole internet)"],
    ],
    ["aws:ec2/securityGroupRule:SecurityGroupRule", { type: "egress", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }, []],
    [
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      { fromPort: 2022, toPort: 2022, cidrIpv4: "0.0.0.0/0" },
      ["ingress port 2022 admits 0.0.0.0/0 (the whole internet)"],
    ],
  ])("%s %j", (type, props, want) => expect(checks.worldOpenIngress(type, props)).toEqual(want));
});

// The pack under the real engine: a preview of the example team on fake existing hosts
// (TEST-NET addresses; a preview never connects), once clean and once with a broken
// sudoers line injected through the program's test seam. The toolchain comes from
// scripts/setup.sh; a missing engine fails here rather than skipping.
describe("the pack under the real engine (pulumi preview --policy-pack policy/analyzer.sh)", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "policy-engine-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const people = plan.servers.map((s) => s.owner);

  async function preview(faults: object): Promise<string> {
    expect(existsSync(path.join(TOOLCHAIN_BIN, "pulumi")), `no pulumi in ${TOOLCHAIN_BIN}: run scripts/setup.sh`).toBe(true);
    const key = path.join(dir, "admin");
    if (!existsSync(key)) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "policy-test", "-f", key]);
    const pub = readFileSync(`${key}.pub`, "utf8").trim();
    const teamFile = path.join(dir, "team.yaml");
    writeFileSync(
      teamFile,
      sandboxTeamYaml(readFileSync(path.join(ROOT, "team.yaml"), "utf8"), {
        hosts: people.map((owner, i) => ({ name: `dev-${owner}`, address: `192.0.2.${10 + i}`, hostPublicKey: pub })),
        personKeys: Object.fromEntries(people.map((p, i) => [p, fixedKey(i + 1, `${p}@test`)])),
      }),
    );
    const stack = await openStack({
      stateDir: path.join(dir, "engine"),
      stackName: "policy",
      config: { teamFile, executor: "ssh", adminKeyPath: key, adminPublicKey: pub, testFaults: JSON.stringify(faults) },
    });
    try {
      const r = await stack.preview({ policyPacks: [path.join(ROOT, "policy", "analyzer.sh")] });
      return `ok\n${r.stdout}`;
    } catch (e) {
      return `failed\n${(e as Error).message}`;
    }
  }

  test("the example team passes", async () => {
    const out = await preview({});
    expect(out).toMatch(/^ok\n/);
    expect(out).toMatch(/✅ agent-runtime@v0\.1\.0/);
  }, 180_000);

  test("a sudoers line that runs as root fails the preview", async () => {
    const out = await preview({ sudoers: ["marcus"] });
    expect(out).toMatch(/^failed\n/);
    expect(out).toMatch(/\[mandatory\] {2}sudoers-agent-targets-only .*dev-wes-sudoers-marcus/);
    // The fault (src/render/faults.ts) breaks marcus's own rule to his own agent.
    expect(out).toContain(
      'dev-wes-sudoers-marcus: sudoers line 6 "marcus ALL=(marcus-agent NOPASSWD ALL": no runas list, so it runs as root',
    );
  }, 180_000);
});
