import type * as Aws from "@pulumi/aws";
import type * as Hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { awsTags, CANONICAL_OWNER, hcloudLabels, inboundPorts, splitCidrs, UBUNTU_AMI_NAME } from "../src/render/cloud";
import { checkAdminAccount, renderCloudInit } from "../src/render/cloudInit";
import type { ServerSpec } from "../src/team/model";
import { HostKey } from "./hostKey";

// The cloud SDKs are loaded when a cloud server is planned, not on every run: loading
// @pulumi/aws costs ~0.2 s of CPU before the program registers its first resource.
/* eslint-disable @typescript-eslint/no-require-imports */
const awsSdk = () => require("@pulumi/aws") as typeof Aws;
const hcloudSdk = () => require("@pulumi/hcloud") as typeof Hcloud;
/* eslint-enable @typescript-eslint/no-require-imports */

// The cloud VM under one DevServer: the machine, the firewall in front of it, and the
// first-boot user data that hands it to the provisioner. After that a cloud server is
// provisioned exactly like an existing host (remote steps over ssh), so this file only
// wires resources; the rule sets and label values are pure functions tested on their own.

/** Inputs of createCloudHost: one developer's cloud server, as plain values. */
export interface CloudHostArgs {
  /** Provider settings from team.yaml (aws or hcloud). */
  readonly spec: Exclude<ServerSpec, { provider: "existing" }>;
  /** The developer who owns the server (tag / label `developer`). */
  readonly owner: string;
  /** Team name (tag / label `team`). */
  readonly team: string;
  /** The provisioner's account, created by cloud-init. */
  readonly adminUser: string;
  /** The stack's public key for that account. */
  readonly adminPublicKey: string;
  /** CIDRs admitted to ssh and et; must not be empty. */
  readonly allowFrom: readonly string[];
  /** Eternal Terminal's port, opened next to ssh. */
  readonly etPort: number;
  /**
   * hcloud only: id of the team's one SshKey (createHcloudAdminKey). Hetzner refuses a
   * second key with the same fingerprint in a project, so a team with two hcloud servers
   * needs this. Defaults to a per-server key, which works for one server only.
   */
  readonly hcloudSshKeyId?: pulumi.Input<string>;
}

/** What DevServer needs from the machine. */
export interface CloudHost {
  address: pulumi.Output<string>;
  /** The host key cloud-init installs: every connection pins it from the first one. */
  hostKey: pulumi.Output<string>;
  resources: pulumi.Resource[];
}

/** The team's one hcloud SshKey, to pass as `hcloudSshKeyId` to every hcloud server. */
export function createHcloudAdminKey(
  name: string,
  publicKey: string,
  labels: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
): Hcloud.SshKey {
  return new (hcloudSdk().SshKey)(name, { publicKey, labels }, opts);
}

/** A cloud VM for one developer: machine, firewall, admin key, first-boot user data. */
export function createCloudHost(name: string, args: CloudHostArgs, parent: pulumi.Resource): CloudHost {
  if (args.allowFrom.length === 0) {
    throw new pulumi.ResourceError(
      `${name}: a cloud server needs at least one allowFrom CIDR (who may reach ssh on 22 and et on ${args.etPort}); ` +
        `add your office/VPN ranges to team.yaml under defaults.allowFrom`,
      parent,
    );
  }
  try {
    checkAdminAccount(args.adminUser, args.adminPublicKey);
  } catch (e) {
    throw new pulumi.ResourceError(`${name}: ${(e as Error).message}`, parent);
  }
  // allowFrom was validated with team.yaml (src/team/checks.ts): here it is only split.
  const cidrs = splitCidrs(args.allowFrom);
  const hostKey = new HostKey(`${name}-host-key`, { comment: `${name} host key` }, { parent });
  // A secret: it carries the host's private key.
  const userData = pulumi.secret(
    pulumi
      .all([hostKey.privateKey, hostKey.publicKey])
      .apply(([privateKey, publicKey]) =>
        renderCloudInit({ adminUser: args.adminUser, adminPublicKey: args.adminPublicKey, hostKey: { privateKey, publicKey } }),
      ),
  );
  const host =
    args.spec.provider === "aws"
      ? awsHost(name, args, args.spec, cidrs, userData, parent)
      : hcloudHost(name, args, args.spec, userData, parent);
  return { ...host, hostKey: hostKey.publicKey, resources: [hostKey, ...host.resources] };
}

function awsHost(
  name: string,
  args: CloudHostArgs,
  spec: Extract<ServerSpec, { provider: "aws" }>,
  cidrs: { ipv4: string[]; ipv6: string[] },
  userData: pulumi.Output<string>,
  parent: pulumi.Resource,
): Omit<CloudHost, "hostKey"> {
  const tags = awsTags(name, args.team, args.owner);
  // Looked up, not pinned: each region has its own AMI id for the same image.
  const ami = awsSdk().ec2.getAmiOutput(
    { owners: [CANONICAL_OWNER], mostRecent: true, filters: [{ name: "name", values: [UBUNTU_AMI_NAME] }] },
    { parent },
  );
  const group = new (awsSdk().ec2.SecurityGroup)(
    `${name}-security-group`,
    {
      description: `agent-runtime dev server ${name}: ssh and et from allowFrom`,
      // Inline rules make the group authoritative: a rule added by hand is removed on the next up.
      ingress: inboundPorts(args.etPort).map((port) => ({
        protocol: "tcp",
        fromPort: port,
        toPort: port,
        cidrBlocks: cidrs.ipv4,
        ipv6CidrBlocks: cidrs.ipv6,
        description: port === 22 ? "ssh" : "eternal terminal",
      })),
      egress: [
        { protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"], description: "all outbound" },
      ],
      tags,
    },
    { parent },
  );
  const key = new (awsSdk().ec2.KeyPair)(`${name}-admin-key`, { publicKey: args.adminPublicKey, tags }, { parent });
  const instance = new (awsSdk().ec2.Instance)(
    `${name}-instance`,
    {
      ami: ami.id,
      instanceType: spec.instanceType,
      keyName: key.keyName,
      vpcSecurityGroupIds: [group.id],
      associatePublicIpAddress: true,
      userData,
      // IMDSv2 only: a process on the box (an agent) can't read credentials with a plain GET.
      metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
      rootBlockDevice: { volumeType: "gp3", volumeSize: spec.volumeSize, encrypted: true, deleteOnTermination: true },
      volumeTags: tags,
      tags,
    },
    {
      parent,
      // A developer's server is never replaced behind their back: a newer Ubuntu AMI, a
      // re-rendered user data (acts at first boot only) or a re-created key pair changes
      // nothing on a running machine, so none of them may trigger a replacement.
      ignoreChanges: ["ami", "userData", "keyName"],
    },
  );
  return { address: instance.publicIp, resources: [group, key, instance] };
}

function hcloudHost(
  name: string,
  args: CloudHostArgs,
  spec: Extract<ServerSpec, { provider: "hcloud" }>,
  userData: pulumi.Output<string>,
  parent: pulumi.Resource,
): Omit<CloudHost, "hostKey"> {
  const labels = hcloudLabels(args.team, args.owner);
  const firewall = new (hcloudSdk().Firewall)(
    `${name}-firewall`,
    {
      labels,
      // Inbound only: with no "out" rules Hetzner allows all outbound traffic.
      rules: inboundPorts(args.etPort).map((port) => ({
        direction: "in",
        protocol: "tcp",
        port: String(port),
        sourceIps: [...args.allowFrom],
        description: port === 22 ? "ssh" : "eternal terminal",
      })),
    },
    { parent },
  );
  // With an ssh key Hetzner sets no root password (and mails none); cloud-init's
  // disable_root turns the key on root into a refusal.
  const ownKey =
    args.hcloudSshKeyId === undefined ? createHcloudAdminKey(`${name}-admin-key`, args.adminPublicKey, labels, { parent }) : undefined;
  const server = new (hcloudSdk().Server)(
    `${name}-server`,
    {
      serverType: spec.serverType,
      image: spec.image,
      location: spec.location,
      sshKeys: [ownKey ? ownKey.id : args.hcloudSshKeyId!],
      // Attached at creation: the server is never reachable without the firewall.
      firewallIds: [firewall.id.apply((id) => Number(id))],
      publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
      labels,
      userData,
    },
    {
      parent,
      // Both only act at creation and would force a replacement (destroying the
      // developer's disk): moving to a shared team key or editing the template must not.
      ignoreChanges: ["userData", "sshKeys"],
    },
  );
  return { address: server.ipv4Address, resources: [firewall, ...(ownKey ? [ownKey] : []), server] };
}
