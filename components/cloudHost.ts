import * as pulumi from "@pulumi/pulumi";
import type { ServerSpec } from "../src/team/model";

export interface CloudHostArgs {
  readonly spec: Exclude<ServerSpec, { provider: "existing" }>;
  readonly owner: string;
  readonly team: string;
  readonly adminUser: string;
  readonly adminPublicKey: string;
  readonly allowFrom: readonly string[];
  readonly etPort: number;
}

/** A cloud VM for one developer. Not built yet: the cloud-servers issue is open. */
export function createCloudHost(name: string, args: CloudHostArgs, parent: pulumi.Resource): { address: pulumi.Output<string>; resources: pulumi.Resource[] } {
  throw new pulumi.ResourceError(`${name}: provider "${args.spec.provider}" is not implemented yet; use provider: existing`, parent);
}
