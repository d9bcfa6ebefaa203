import * as pulumi from "@pulumi/pulumi";
import { runWithStdin } from "../src/childProcess";
import { knownHostsPattern, sshClientOptions } from "../src/ssh/clientOptions";
import { sshMuxDir, sshMuxOptions } from "../src/ssh/mux";

// The "ssh" executor: the same rendered scripts and the same create / update / replace /
// delete semantics as @pulumi/command's remote.Command, run through the system ssh
// client by a dynamic provider. It exists because the command provider plugin cannot be
// built on machines whose Go module proxy doesn't serve it (see README "Toolchain"):
// the sandbox and the end-to-end tests use it so that the real engine still drives
// real hosts. Host keys are pinned (StrictHostKeyChecking=yes), as remote.Command does
// with connection.hostKey. Teams with the command plugin use executor "command" (the
// default). Which one runs is decided once (components/executor.ts).

/** Inputs of one ssh step. All plain values: the key is a file path, never key text. */
export interface SshStepInputs {
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  user: pulumi.Input<string>;
  /** Private key file on the machine running Pulumi. */
  keyPath: pulumi.Input<string>;
  /** Pinned host key line ("ssh-ed25519 AAAA…"); empty = accept on first use. */
  hostKey: pulumi.Input<string>;
  /** Script run as `sudo -n bash -s` on create and update. */
  script: pulumi.Input<string>;
  /** Script run on delete (optional). */
  undo?: pulumi.Input<string>;
  /** Any change replaces the step (undo on the old inputs, script on the new). */
  triggers?: pulumi.Input<pulumi.Input<string>[]>;
  /** Connection attempts before giving up (1 s apart). */
  tries?: pulumi.Input<number>;
  /** What a reviewer should see in a preview (not run). */
  summary?: pulumi.Input<string>;
  /** A local file sent ahead of the script, as $AR_PAYLOAD (see executor.ts Payload). */
  payloadPath?: pulumi.Input<string>;
  payloadSha256?: pulumi.Input<string>;
}

interface Props {
  host: string;
  port: number;
  user: string;
  keyPath: string;
  hostKey: string;
  script: string;
  undo?: string;
  triggers?: string[];
  tries?: number;
  summary?: string;
  payloadPath?: string;
  payloadSha256?: string;
  stdout?: string;
}

// Everything the provider uses is required inside the functions: the provider is
// serialized into the stack state and runs in a separate process.
async function runOverSsh(p: Props, script: string, withPayload = false): Promise<string> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const fs = require("node:fs") as typeof import("node:fs");
  let input: string | Buffer = script;
  if (withPayload && p.payloadPath) {
    const { createHash } = require("node:crypto") as typeof import("node:crypto");
    const data = fs.readFileSync(p.payloadPath);
    const sha = createHash("sha256").update(data).digest("hex");
    if (sha !== p.payloadSha256)
      throw new Error(`${p.payloadPath} changed since the program ran (sha256 ${sha}, expected ${p.payloadSha256}): run again`);
    // bash reads a script from a pipe byte by byte, so the first line's `head` takes
    // exactly the payload's bytes and the script carries on after them.
    const head = `AR_PAYLOAD=$(mktemp) && AR_PAYLOAD_TEMP=1 && head -c ${data.length} >"$AR_PAYLOAD" || exit 1\n`;
    input = Buffer.concat([Buffer.from(head), data, Buffer.from(script)]);
  }
  const os = require("node:os") as typeof import("node:os");
  const path = require("node:path") as typeof import("node:path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-runtime-ssh-"));
  try {
    const known = path.join(dir, "known_hosts");
    fs.writeFileSync(known, p.hostKey ? `${knownHostsPattern(p.host, p.port)} ${p.hostKey}\n` : "");
    const args = [
      ...sshClientOptions({ hostKeyFile: known, strict: !!p.hostKey, keyPath: p.keyPath, port: p.port }),
      // One connection per server for the run: later steps skip the handshake (src/ssh/mux.ts).
      ...sshMuxOptions(sshMuxDir(), p),
      `${p.user}@${p.host}`,
      "sudo -n bash -s",
    ];
    let last = "";
    for (let attempt = 1; attempt <= (p.tries ?? 3); attempt++) {
      const r = await runWithStdin("ssh", args, input);
      if (r.code === 0) return r.out;
      last = `${p.user}@${p.host}:${p.port}: exit ${r.code}: ${r.err.trim() || r.out.trim()}`;
      if (/Host key verification failed|IDENTIFICATION HAS CHANGED/.test(r.err)) {
        throw new Error(
          `${p.host}:${p.port} presented a host key that does not match the pinned one; nothing was run there (${r.err.trim().split("\n").pop()})`,
        );
      }
      // 255 = ssh itself failed (not up yet, refused); a script failure is final.
      if (r.code !== 255) break;
      await new Promise((res) => setTimeout(res, 1000));
    }
    throw new Error(last);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: Props) {
    const stdout = await runOverSsh(inputs, inputs.script, true);
    const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
    return { id: randomUUID(), outs: { ...inputs, stdout } };
  },
  async diff(_id: string, olds: Props, news: Props) {
    const same = (k: keyof Props) => JSON.stringify(olds[k] ?? null) === JSON.stringify(news[k] ?? null);
    const replaces = same("triggers") ? [] : ["triggers"];
    const changed = (["host", "port", "user", "keyPath", "hostKey", "script", "undo", "tries", "summary", "payloadSha256"] as const).filter(
      (k) => !same(k),
    );
    return { changes: replaces.length > 0 || changed.length > 0, replaces, deleteBeforeReplace: false };
  },
  async update(_id: string, _olds: Props, news: Props) {
    return { outs: { ...news, stdout: await runOverSsh(news, news.script, true) } };
  },
  async delete(_id: string, props: Props) {
    if (!props.undo) return;
    // A delete has no outputs to keep: its report (e.g. what a revoked person may have
    // left running) goes to the provider's stderr, which the engine shows as diagnostics.
    const out = await runOverSsh(props, props.undo);
    if (out.trim()) process.stderr.write(out);
  },
};

/** One provisioning step run over the system ssh client (see file comment). */
export class SshStep extends pulumi.dynamic.Resource {
  declare readonly stdout: pulumi.Output<string>;
  constructor(name: string, args: SshStepInputs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      {
        ...args,
        undo: args.undo ?? "",
        triggers: args.triggers ?? [],
        tries: args.tries ?? 3,
        summary: args.summary ?? "",
        payloadPath: args.payloadPath ?? "",
        payloadSha256: args.payloadSha256 ?? "",
        stdout: undefined,
      },
      opts,
    );
  }
}
