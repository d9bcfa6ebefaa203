import * as pulumi from "@pulumi/pulumi";
import { generateHostKeyPair } from "../src/ssh/hostKeyPair";

// A cloud server's ssh host key, generated once where `pulumi up` runs and kept in state
// (the private half as a secret): cloud-init installs it at first boot, and every
// connection pins the public half from the very first one — no trust on first use.
// A dynamic resource because the tls and random provider plugins can't be had here.

interface Outs {
  comment: string;
  privateKey: string;
  publicKey: string;
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { comment: string }) {
    const pair = generateHostKeyPair(inputs.comment);
    return { id: pair.publicKey.split(" ")[1]!.slice(-16), outs: { comment: inputs.comment, ...pair } satisfies Outs };
  },
  // Never regenerated in place: a new key means a new server identity (replace).
  async diff(_id: string, olds: Outs, news: { comment: string }) {
    return olds.comment === news.comment ? { changes: false } : { changes: true, replaces: ["comment"], deleteBeforeReplace: false };
  },
};

/** One server's ed25519 host key pair (see file comment). */
export class HostKey extends pulumi.dynamic.Resource {
  declare readonly privateKey: pulumi.Output<string>;
  declare readonly publicKey: pulumi.Output<string>;
  constructor(name: string, args: { comment: string }, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      { comment: args.comment, privateKey: undefined, publicKey: undefined },
      { ...opts, additionalSecretOutputs: ["privateKey"] },
    );
  }
}
