import * as pulumi from "@pulumi/pulumi";
import { runWithStdin } from "../src/childProcess";

// A script run where `pulumi up` runs, for the "ssh" executor (the "command" executor
// uses @pulumi/command's local.Command for the same scripts). Only `undo` is used today:
// pulling offboarding archives before a server's steps and machine go away.

/** Inputs of one local step: plain values. */
export interface LocalStepInputs {
  /** Script run with `bash -s` on create and update (may be empty). */
  script: pulumi.Input<string>;
  /** Script run with `bash -s` on delete (may be empty). */
  undo: pulumi.Input<string>;
  /** Extra environment for both (e.g. a key path). */
  environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

interface Props {
  script: string;
  undo: string;
  environment?: Record<string, string>;
  stdout?: string;
}

// Everything the provider uses is required inside the functions: the provider is
// serialized into the stack state and runs in a separate process.
async function runLocal(text: string, environment: Record<string, string> = {}): Promise<string> {
  if (!text) return "";
  const r = await runWithStdin("bash", ["-s"], text, environment);
  if (r.code !== 0) throw new Error(`local step: exit ${r.code}: ${r.err.trim() || r.out.trim()}`);
  return r.out;
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: Props) {
    const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
    return { id: randomUUID(), outs: { ...inputs, stdout: await runLocal(inputs.script, inputs.environment) } };
  },
  async diff(_id: string, olds: Props, news: Props) {
    const same = (k: keyof Props) => JSON.stringify(olds[k] ?? null) === JSON.stringify(news[k] ?? null);
    return { changes: !same("script") || !same("undo") || !same("environment"), replaces: [], deleteBeforeReplace: false };
  },
  async update(_id: string, _olds: Props, news: Props) {
    return { outs: { ...news, stdout: await runLocal(news.script, news.environment) } };
  },
  async delete(_id: string, props: Props) {
    // Shown by the engine as diagnostics (a delete keeps no outputs).
    const out = await runLocal(props.undo, props.environment);
    if (out.trim()) process.stderr.write(out);
  },
};

/** One script run on the machine running Pulumi (see file comment). */
export class LocalStep extends pulumi.dynamic.Resource {
  declare readonly stdout: pulumi.Output<string>;
  constructor(name: string, args: LocalStepInputs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { ...args, environment: args.environment ?? {}, stdout: undefined }, opts);
  }
}
