import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { compareDrift, driftCheckScript, driftTable } from "../../src/ops/drift";
import { describeForget, planForget } from "../../src/ops/forgetServer";
import { dependentsOf, managedFiles, scriptVars, sliceDropIn, stepsOf, type StateResource } from "../../src/ops/stackState";
import { planTeam } from "../../src/plan/access";
import { helpersScript } from "../../src/render/helpers";
import { helpers, template } from "../../src/render/script";
import { sshdScript } from "../../src/render/sshd";
import { sudoersFiles, sudoersScript } from "../../src/render/sudoers";
import { agentScript, authorizedKeys, humanScript } from "../../src/render/users";
import { loadTeamOrThrow } from "../../src/team/load";

// The pure halves of `drift` and `forget-server`: reading the exported state, the files
// each step wrote, the check script and its comparison, what forget-server drops.

const plan = planTeam(loadTeamOrThrow("team.yaml"));
const nadia = plan.servers.find((s) => s.name === "dev-nadia")!;
const P = "urn:pulumi:e2e::agent-runtime::";
const conn = { host: "10.0.0.5", port: 22, user: "agent-runtime", keyPath: "/k", hostKey: "ssh-ed25519 AAAA" };
const located = (s: string) => `AR_WHERE='dev-nadia (agent-runtime@10.0.0.5:22)'\n${s}`;

/** A small exported state: AgentRuntime > DevServer dev-nadia (sshd) and ServerAccess dev-nadia-access (users, sudoers). */
function state(): StateResource[] {
  const rt = `${P}agent-runtime:index:AgentRuntime::acme`;
  const ds = `${P}agent-runtime:index:AgentRuntime$agent-runtime:index:DevServer::dev-nadia`;
  const acc = `${P}agent-runtime:index:AgentRuntime$agent-runtime:index:ServerAccess::dev-nadia-access`;
  const step = (parent: string, name: string, script: string, deps: string[] = []): StateResource => ({
    urn: `${P}x$pulumi-nodejs:dynamic:Resource::${name}`,
    type: "pulumi-nodejs:dynamic:Resource",
    custom: true,
    parent,
    inputs: { ...conn, script: located(script), undo: "" },
    dependencies: deps,
  });
  const human = step(acc, "dev-nadia-user-nadia", humanScript("nadia", authorizedKeys(nadia.humans.find((h) => h.name === "nadia")!)));
  const marcusHop = step(acc, "dev-marcus-hopkey-marcus", "", []);
  marcusHop.parent = `${P}x$agent-runtime:index:ServerAccess::dev-marcus-access`;
  return [
    { urn: rt, type: "agent-runtime:index:AgentRuntime", custom: false },
    { urn: ds, type: "agent-runtime:index:DevServer", custom: false, parent: rt },
    { urn: acc, type: "agent-runtime:index:ServerAccess", custom: false, parent: rt },
    { urn: marcusHop.parent, type: "agent-runtime:index:ServerAccess", custom: false, parent: rt },
    step(ds, "dev-nadia-sshd", sshdScript(undefined, "agent-runtime")),
    step(ds, "dev-nadia-agent-nadia-agent", agentScript(nadia.agents[0]!)),
    human,
    step(acc, "dev-nadia-sudoers-marcus", sudoersScript("agent-runtime-user-marcus", sudoersFiles(nadia).marcus!), [
      human.urn,
      marcusHop.urn,
    ]),
    marcusHop,
  ];
}

describe("stack state", () => {
  test("script variables read back exactly as rendered (quotes, newlines)", () => {
    const content = "it's\nmulti 'line'\n";
    expect(scriptVars(sudoersScript("f", content))).toMatchObject({ AR_FILE: "f", AR_CONTENT: content });
  });

  test("steps belong to the server of their DevServer or ServerAccess", () => {
    expect(stepsOf(state()).map((s) => `${s.server} ${s.name}`)).toEqual([
      "dev-nadia dev-nadia-sshd",
      "dev-nadia dev-nadia-agent-nadia-agent",
      "dev-nadia dev-nadia-user-nadia",
      "dev-nadia dev-nadia-sudoers-marcus",
      "dev-marcus dev-marcus-hopkey-marcus",
    ]);
  });

  test("managed files: the four kinds, with the exact content the scripts write", () => {
    const files = managedFiles(stepsOf(state()));
    expect(files.map((f) => `${f.kind} ${f.path} ${f.mode} ${f.owner}`)).toEqual([
      "sshd drop-in /etc/ssh/sshd_config.d/00-agent-runtime.conf 644 root:root",
      "slice drop-in /etc/systemd/system/user-$UID.slice.d/50-agent-runtime.conf 644 root:root",
      "authorized_keys /etc/ssh/agent-runtime/authorized_keys/nadia 644 root:root",
      "sudoers /etc/sudoers.d/agent-runtime-user-marcus 440 root:root",
    ]);
    expect(files[3]!.content).toBe(`${sudoersFiles(nadia).marcus!}\n`);
  });

  test("managed files: the shared helpers the lib step installs (a repair re-runs that step)", () => {
    const admin: StateResource = {
      urn: `${P}x$pulumi-nodejs:dynamic:Resource::dev-nadia-lib`,
      type: "pulumi-nodejs:dynamic:Resource",
      custom: true,
      parent: `${P}agent-runtime:index:AgentRuntime$agent-runtime:index:DevServer::dev-nadia`,
      inputs: { ...conn, script: located(helpersScript()), undo: "" },
    };
    const files = managedFiles(stepsOf([...state(), admin])).filter((f) => f.step === "dev-nadia-lib");
    expect(files).toEqual([
      {
        step: "dev-nadia-lib",
        server: "dev-nadia",
        kind: "shared helpers",
        path: helpers().path,
        content: helpers().text,
        mode: "644",
        owner: "root:root",
      },
    ]);
  });

  test("the slice drop-in is the heredoc of templates/users/agent.sh", () => {
    const vars = Object.fromEntries(
      ["AR_AGENT", "AR_OWNER", "AR_CPU_QUOTA", "AR_MEMORY_HIGH", "AR_MEMORY_MAX", "AR_TASKS_MAX"].map((k) => [k, `$${k}`]),
    );
    expect(template("users/agent.sh")).toContain(`<<CONF\n${sliceDropIn(vars)}CONF\n`);
  });

  test("dependents are found transitively", () => {
    const s = state();
    const hop = s.find((r) => r.urn.endsWith("dev-marcus-hopkey-marcus"))!.urn;
    expect(dependentsOf(s, [hop]).map((u) => u.split("::").pop())).toEqual(["dev-nadia-sudoers-marcus"]);
  });
});

describe("forget-server plan", () => {
  test("drops the server's steps, names the address and the dependents elsewhere", () => {
    const p = planForget(state(), "dev-marcus");
    expect(p).toMatchObject({ host: "10.0.0.5", port: 22 });
    expect(p.steps.map((u) => u.split("::").pop())).toEqual(["dev-marcus-hopkey-marcus"]);
    expect(p.dependents.map((u) => u.split("::").pop())).toEqual(["dev-nadia-sudoers-marcus"]);
    expect(describeForget(p)).toMatch(/1 steps on other servers depend on them[\s\S]*- dev-nadia-sudoers-marcus/);
  });

  test("after an up that failed on the dead host: only the old copies there are dropped", () => {
    const s = state();
    const sshd = s.find((r) => r.urn.endsWith("::dev-nadia-sshd"))!;
    const oldCopy: StateResource = { ...sshd, delete: true, inputs: { ...sshd.inputs, host: "10.0.0.9" } };
    s.push(oldCopy);
    const p = planForget(s, "dev-nadia", { host: "10.0.0.9", port: 22 });
    expect(p).toMatchObject({ host: "10.0.0.9", pendingDeletes: 1, steps: [sshd.urn], dependents: [] });
    expect(s.filter((r) => p.drops(r))).toEqual([oldCopy]);
    expect(describeForget(p)).toMatch(/1 of them old copies left by an up that could not undo them/);
  });

  test("a server without steps is an error naming the servers that have some", () => {
    expect(() => planForget(state(), "dev-wes")).toThrow(/no steps for "dev-wes" \(servers with steps: dev-marcus, dev-nadia\)/);
  });
});

describe("drift check", () => {
  const files = managedFiles(stepsOf(state()));

  test("the check script is valid bash and only reads", () => {
    const script = driftCheckScript(files);
    expect(spawnSync("bash", ["-n"], { input: script }).status).toBe(0);
    expect(script).not.toMatch(/\b(rm|mv|cp|install|chmod|chown|tee|sed -i)\b|(^|[^0-9])>[^&]/m);
  });

  test("the check script runs: missing files are reported as missing", () => {
    const r = spawnSync("bash", ["-s"], { input: driftCheckScript(files), encoding: "utf8" });
    expect(r.stdout).toMatch(/^0 missing$/m);
    expect(r.stdout).toMatch(/^1 (nouser|missing)$/m);
  });

  test("comparison: equal, changed content, wrong mode, missing, link", () => {
    const hash = (s: string) => require("node:crypto").createHash("sha256").update(s).digest("hex") as string;
    const out = [
      `0 file ${hash(files[0]!.content)} 644 root:root`,
      `1 file ${hash("CPUQuota=1000%")} 644 root:root`,
      `2 file ${hash(files[2]!.content)} 666 root:root`,
      "3 link",
    ].join("\n");
    const found = compareDrift(files, out);
    expect(found.map((f) => `${f.step}: ${f.problem}`)).toEqual([
      "dev-nadia-agent-nadia-agent: content differs from what agent-runtime wrote",
      "dev-nadia-user-nadia: mode/owner 666 root:root, expected 644 root:root",
      "dev-nadia-sudoers-marcus: replaced by a symbolic link",
    ]);
    expect(found[0]!.path).toBe("/etc/systemd/system/user-<uid of nadia-agent>.slice.d/50-agent-runtime.conf");
    expect(compareDrift(files, "0 missing")[0]!.problem).toBe("missing");
    expect(driftTable({ checked: 4, findings: found, unreachable: [] }).split("\n")[0]).toMatch(/^SERVER +FILE +KIND +STEP +PROBLEM$/);
  });
});
