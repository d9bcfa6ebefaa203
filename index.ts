import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { AgentRuntime } from "./components/agentRuntime";
import type { Executor } from "./components/executor";
import { allGrants, planTeam } from "./src/plan/access";
import { publicKeyOfPrivate } from "./src/team/adminKey";
import type { Faults } from "./src/render/faults";
import { buildAgentctl } from "./src/agentctl/build";
import { ARCHIVE_DIR_DEFAULT } from "./src/team/defaults";
import { loadTeamOrThrow } from "./src/team/load";
import { leanSdk, plainStacks } from "./src/program/lean";

// Stack traces without ts-node's source mapping now, and none once the team is planned
// (src/program/lean.ts, README "Performance"; AGENT_RUNTIME_DEBUG=1 keeps them).
plainStacks();

// The only place that reads stack config; everything below gets plain values.
const config = new pulumi.Config();
const teamFile = config.get("teamFile") ?? "team.yaml";
// An invalid team.yaml stops the program here, before any resource exists, with every error.
const team = loadTeamOrThrow(path.resolve(teamFile), teamFile);
const plan = planTeam(team);

// The public half is needed as a plain value (user data, authorized_keys): it is set
// next to the secret and checked against it, so a mismatched pair fails before any step.
const adminPublicKey = config.require("adminPublicKey");
// The executor, decided here once: "command" (default: @pulumi/command remote.Command with
// the key from the encrypted config) or "ssh" (the same scripts over the system ssh client
// with a key file; sandbox, tests; see components/executor.ts).
const executorName = config.get("executor") ?? "command";
let executor: Executor;
switch (executorName) {
  case "command":
    executor = { kind: "command", privateKey: config.requireSecret("adminPrivateKey").apply((key) => checkKeyPair(key, adminPublicKey)) };
    break;
  case "ssh":
    executor = { kind: "ssh", keyPath: config.require("adminKeyPath") };
    break;
  default:
    throw new Error(`config agent-runtime:executor: "${executorName}" is not "command" or "ssh"`);
}

// Offboarding archives are copied here before a server's users (and cloud machine) go.
const archiveDir = path.resolve(config.get("archiveDir") ?? ARCHIVE_DIR_DEFAULT);

// From here on the SDK's per-resource stack traces and debug messages are off.
leanSdk();
const runtime = new AgentRuntime(team.name, {
  plan,
  admin: { publicKey: adminPublicKey },
  executor,
  et: team.et,
  allowFrom: team.allowFrom,
  archiveDir,
  // Built on every run from this checkout (never committed); the step is keyed on its hash.
  agentctl: buildAgentctl(),
  faults: config.getObject<Faults>("testFaults"),
});

/** Per server: address, runtime status, ~/.ssh/config blocks and et commands per human. */
export const servers = runtime.servers;
/** Who may become which agent user where, and the team.yaml line that says so. */
export const access = allGrants(plan).map((g) => ({
  server: g.server,
  human: g.human,
  target: g.target,
  reason: g.reason,
  line: g.source.line,
  recorded: g.ioLog,
}));

function checkKeyPair(privateKey: string, publicKey: string): string {
  const r = publicKeyOfPrivate(privateKey);
  if (!r.ok) throw new Error(`config agent-runtime:adminPrivateKey: ${r.message}`);
  const blob = (k: string) => k.trim().split(/\s+/).slice(0, 2).join(" ");
  if (blob(r.publicKey) !== blob(publicKey)) {
    throw new Error(
      "config agent-runtime:adminPublicKey is not the public half of agent-runtime:adminPrivateKey (set it from the same key's .pub file)",
    );
  }
  return privateKey;
}
