import { createInterface } from "node:readline/promises";
import { checkDrift, driftTable, REPAIR_MARKER, type DriftReport } from "../ops/drift";
import { describeForget, planForget, provedUnreachable, serverAddresses } from "../ops/forgetServer";
import { resourcesOf, stepsOf, type StateResource } from "../ops/stackState";
import { openTarget, parseTargetArgs, type Target } from "../ops/stackTarget";
import { engineErrorLines } from "../sandbox/sandbox";

// `agent-runtime forget-server` and `agent-runtime drift`: arguments in, text out. The
// logic lives in src/ops/. Both work on the stack in the current directory (or --cwd,
// --stack) with the backend you are logged in to, or on the sandbox's (--sandbox).

const TARGET_HELP = "[--sandbox | --cwd DIR] [--stack NAME]";

/** `forget-server SERVER [--yes]`: drop a dead server's steps from the state. */
export async function forgetServerCommand(args: string[]): Promise<number> {
  const { target: to, rest } = parseTargetArgs(args);
  const yes = rest.includes("--yes");
  const server = rest.find((a) => !a.startsWith("--"));
  if (!server) {
    console.error(`usage: agent-runtime forget-server SERVER [--yes] ${TARGET_HELP}`);
    return 2;
  }
  const target = await openTarget(to);
  const resources = resourcesOf(await target.stack.exportStack());
  planForget(resources, server); // names the servers that have steps when this one has none
  // After an `up` that moved the server but could not undo its old steps, there are two
  // addresses: only the one that is gone is forgotten.
  let dead: { host: string; port: number } | undefined;
  let answered = "";
  for (const a of serverAddresses(resources, server)) {
    console.error(`forget-server: probing ${a.host}:${a.port} (3 tries, 3 s each) …`);
    const r = await provedUnreachable(a.host, a.port);
    if (r) answered ||= r;
    else dead ??= a;
  }
  if (!dead) {
    console.error(
      `forget-server: ${server}: ${answered}. Only a server that is gone may be forgotten: while it answers, ` +
        `let \`pulumi up\` undo its steps there (or cut it off first if it must not be touched).`,
    );
    return 1;
  }
  const plan = planForget(resources, server, dead);
  console.log(`${plan.host}:${plan.port} does not answer (3 tries): ${server} is gone.`);
  console.log(describeForget(plan));
  if (!yes) {
    if (!process.stdin.isTTY) {
      console.error("forget-server: not a terminal, nothing dropped: pass --yes to confirm from a script");
      return 1;
    }
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`Type ${server} to drop these steps from the state: `);
    rl.close();
    if (answer.trim() !== server) {
      console.error("forget-server: not confirmed, nothing dropped");
      return 1;
    }
  }
  if (plan.pendingDeletes === 0) {
    // Pulumi's own command: it refuses anything unsafe (e.g. a resource that still has children).
    const r = await target.pulumi(["state", "delete", "--yes", "--target-dependents", ...plan.steps]);
    if (r.code !== 0) {
      console.error(`forget-server: pulumi state delete failed (exit ${r.code}), state unchanged:\n${r.stderr.trim()}`);
      return 1;
    }
  } else {
    // Old copies share their URN with the live steps on the new host, which a URN cannot
    // tell apart: drop exactly those copies through the Automation API (export, import;
    // the engine checks the result's integrity on import).
    const exported = (await target.stack.exportStack()) as unknown as { deployment: { resources: StateResource[] } };
    exported.deployment.resources = exported.deployment.resources.filter((r) => !plan.drops(r));
    await target.stack.importStack(exported as never);
  }
  const after = resourcesOf(await target.stack.exportStack());
  const remaining = after.filter((r) => plan.drops(r)).map((r) => r.urn);
  if (remaining.length) {
    console.error(`forget-server: still in the state after pulumi state delete:\n  ${remaining.join("\n  ")}`);
    return 1;
  }
  console.log(
    `Dropped ${plan.steps.length + plan.dependents.length} steps. Next: point ${server} in team.yaml at the new host ` +
      `(host and hostKey), then run pulumi up: it provisions the new host from scratch.`,
  );
  return 0;
}

/** `drift [--json] [--repair] [--key FILE]`: compare managed files on every server with what the last up wrote. */
export async function driftCommand(args: string[]): Promise<number> {
  const { target: to, rest } = parseTargetArgs(args);
  const json = rest.includes("--json");
  const repair = rest.includes("--repair");
  const keyAt = rest.indexOf("--key");
  const keyPath = keyAt >= 0 ? rest[keyAt + 1] : undefined;
  if (keyAt >= 0 && !keyPath) {
    console.error(`usage: agent-runtime drift [--json] [--repair] [--key FILE] ${TARGET_HELP}`);
    return 2;
  }
  const target = await openTarget(to);
  const steps = stepsOf(resourcesOf(await target.stack.exportStack()));
  const report = await checkDrift(steps, { keyPath });
  if (!repair || report.findings.length === 0) {
    print(report, json);
    return report.unreachable.length ? 2 : report.findings.length ? 1 : 0;
  }
  if (!json) console.log(`${driftTable(report)}\n\nrepairing ${new Set(report.findings.map((f) => f.step)).size} steps …`);
  const repaired = await repairDrift(target, report, keyPath);
  print(repaired, json);
  return repaired.unreachable.length ? 2 : repaired.findings.length ? 1 : 0;
}

function print(r: DriftReport, json: boolean): void {
  if (json) console.log(JSON.stringify(r, null, 2));
  else if (r.findings.length === 0 && r.unreachable.length === 0)
    console.log(`no drift: ${r.checked} managed files as agent-runtime wrote them`);
  else console.log(driftTable(r));
}

/** Mark exactly the drifted steps as changed in the state, then `pulumi up --target` them:
 *  each runs its idempotent script again (an update), which rewrites the file through the
 *  same gates (visudo, sshd -t). Then check again. */
async function repairDrift(target: Target, report: DriftReport, keyPath?: string): Promise<DriftReport> {
  const exported = (await target.stack.exportStack()) as unknown as { deployment: { resources: StateResource[] } };
  const urns = new Set<string>();
  const names = new Set(report.findings.map((f) => f.step));
  for (const r of exported.deployment.resources) {
    if (!names.has(r.urn.split("::").pop()!)) continue;
    for (const props of [r.inputs, r.outputs]) {
      if (!props) continue;
      if (typeof props.script === "string") props.script = REPAIR_MARKER;
      if (typeof props.stdin === "string") props.stdin = REPAIR_MARKER;
    }
    urns.add(r.urn);
  }
  await target.stack.importStack(exported as never);
  try {
    await target.stack.up({ target: [...urns], onOutput: (s) => process.stderr.write(s) });
  } catch (err) {
    throw new Error(`drift --repair: pulumi up --target of the drifted steps failed:\n${engineErrorLines(err)}`);
  }
  const steps = stepsOf(resourcesOf(await target.stack.exportStack()));
  return checkDrift(steps, { keyPath, servers: [...new Set(report.findings.map((f) => f.server))] });
}
