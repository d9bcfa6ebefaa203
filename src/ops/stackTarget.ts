import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { engineEnv, TOOLCHAIN_BIN } from "../sandbox/engine";
import { SANDBOX_STATE } from "../sandbox/sandbox";

// Which stack an operations command (drift, forget-server) works on: the sandbox's, or
// the team's stack in a project directory with whatever backend the person is logged in
// to (Pulumi Cloud, s3://, file://: the environment decides, as for `pulumi` itself).

export interface TargetOptions {
  /** The local sandbox's stack (`agent-runtime sandbox up`). */
  sandbox?: boolean;
  /** Project directory (holds Pulumi.yaml). Defaults to the current directory. */
  cwd?: string;
  /** Stack name. Defaults to the currently selected stack. */
  stack?: string;
}

/** An opened stack, plus how to run the `pulumi` CLI on it. */
export interface Target {
  stack: Stack;
  /** Runs `pulumi ARGS… --stack NAME` in the project directory; resolves with code and output. */
  pulumi(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Opens the stack `opts` names; throws naming the option to fix when there is none. */
export async function openTarget(opts: TargetOptions): Promise<Target> {
  const local = existsSync(path.join(TOOLCHAIN_BIN, "pulumi"));
  const pulumiCommand = local
    ? await PulumiCommand.get({ root: path.dirname(TOOLCHAIN_BIN), skipVersionCheck: true })
    : await PulumiCommand.get();
  let workDir: string;
  let envVars: Record<string, string>;
  let stackName = opts.stack;
  if (opts.sandbox) {
    const stateDir = path.join(SANDBOX_STATE, "engine");
    workDir = path.join(stateDir, "work");
    if (!existsSync(path.join(workDir, "Pulumi.yaml"))) throw new Error(`no sandbox stack in ${stateDir} (run: agent-runtime sandbox up)`);
    envVars = engineEnv(stateDir);
    stackName ??= "sandbox";
  } else {
    workDir = path.resolve(opts.cwd ?? process.cwd());
    if (!existsSync(path.join(workDir, "Pulumi.yaml"))) {
      throw new Error(`${workDir}: no Pulumi.yaml (run in the project directory, or pass --cwd DIR; --sandbox for the local sandbox)`);
    }
    envVars = {
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      ...(local ? { PATH: `${TOOLCHAIN_BIN}:${process.env.PATH ?? ""}` } : {}),
    };
  }
  if (envVars.PULUMI_HOME) process.env.PULUMI_HOME = envVars.PULUMI_HOME;
  const ws = await LocalWorkspace.create({ workDir, envVars, pulumiCommand, pulumiHome: envVars.PULUMI_HOME });
  if (!stackName) {
    const current = await ws.stack();
    if (!current) throw new Error(`${workDir}: no stack selected (pass --stack NAME)`);
    stackName = current.name;
  }
  const stack = await LocalWorkspace.selectStack({ stackName, workDir }, { envVars, pulumiCommand, pulumiHome: envVars.PULUMI_HOME });
  const name = stackName;
  return {
    stack,
    pulumi: (args) =>
      new Promise((resolve, reject) => {
        const child = spawn(pulumiCommand.command, [...args, "--stack", name, "--non-interactive"], {
          cwd: workDir,
          env: { ...process.env, ...envVars },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
      }),
  };
}

/** `--sandbox`, `--cwd DIR`, `--stack NAME` from a command's arguments; the rest is returned. */
export function parseTargetArgs(args: string[]): { target: TargetOptions; rest: string[] } {
  const target: TargetOptions = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--sandbox") target.sandbox = true;
    else if (a === "--cwd" || a === "--stack") {
      const v = args[++i];
      if (!v) throw new Error(`${a} needs a value`);
      if (a === "--cwd") target.cwd = v;
      else target.stack = v;
    } else rest.push(a);
  }
  return { target, rest };
}
