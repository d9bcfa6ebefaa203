import { createHash } from "node:crypto";
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { beforeAll, describe, expect, test } from "vitest";
import type * as CloudHostModule from "../../components/cloudHost";
import { HCLOUD_LABEL_VALUE_RE, hcloudLabels, hcloudLabelValue, inboundPorts, splitCidrs } from "../../src/render/cloud";
import { BOOTSTRAP_SSHD_DROPIN, renderCloudInit, type CloudInitSettings } from "../../src/render/cloudInit";
import { encodeEd25519 } from "../../src/ssh/hostKeyPair";
import { arbName, fixedKey } from "./teamYaml";

// createCloudHost under pulumi.runtime.setMocks (the aws/hcloud plugins can't be had
// here): which resources, with which inputs. The user data is a pure render, tested as text.

interface Rec {
  type: string;
  name: string;
  inputs: Record<string, any>;
}
const recs: Rec[] = [];
const invokes: { token: string; inputs: Record<string, any> }[] = [];
const num = (s: string) => parseInt(createHash("sha256").update(s).digest("hex").slice(0, 6), 16);
// Internal to the SDK, but the one way to know every registration reached the mock monitor.
const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
const promiseOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

let cloud: typeof CloudHostModule;
beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        recs.push({ type: a.type, name: a.name, inputs: a.inputs });
        const extra: Record<string, unknown> = {};
        if (a.type === "hcloud:index/server:Server") extra.ipv4Address = `203.0.113.${(num(a.name) % 250) + 1}`;
        if (a.type === "aws:ec2/instance:Instance") extra.publicIp = `198.51.100.${(num(a.name) % 250) + 1}`;
        if (a.type === "aws:ec2/keyPair:KeyPair") extra.keyName = `${a.name}-kp`;
        // The generated host key (components/hostKey.ts), fixed here.
        if (a.name.endsWith("-host-key")) Object.assign(extra, HOST);
        // hcloud ids are integers; the server takes firewall ids as numbers.
        return { id: String(num(a.name)), state: { ...a.inputs, ...extra } };
      },
      call: (a) => {
        invokes.push({ token: a.token, inputs: a.inputs });
        if (a.token === "aws:ec2/getAmi:getAmi") return { ...a.inputs, id: "ami-0123456789abcdef0" };
        throw new Error(`unexpected invoke ${a.token}`);
      },
    },
    "agent-runtime",
    "test",
    false,
  );
  cloud = await import("../../components/cloudHost");
});

const ADMIN_KEY = fixedKey(200, "agent-runtime-provisioner");
/** A fixed host key pair, as the HostKey resource would generate one. */
const HOST = encodeEd25519(new Uint8Array(32).fill(5), new Uint8Array(32).fill(6), "dev-wes host key", 1);
const SIG = pulumi.runtime.specialSigKey;
/** User data carries the host's private key: the mock sees it wrapped as a secret. */
const unwrap = (v: any): any => (v && typeof v === "object" && v[SIG] === pulumi.runtime.specialSecretSig ? v.value : v);
const init = (s: Omit<CloudInitSettings, "hostKey">) => renderCloudInit({ ...s, hostKey: HOST });
const base = { owner: "wes", team: "acme", adminUser: "agent-runtime", adminPublicKey: ADMIN_KEY, etPort: 2022 };
const HCLOUD = { provider: "hcloud" as const, serverType: "cpx41", image: "ubuntu-24.04", location: "fsn1" };
const AWS = { provider: "aws" as const, instanceType: "m7i.2xlarge", volumeSize: 120 };

class Parent extends pulumi.ComponentResource {
  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("test:index:Parent", name, {}, opts);
  }
}

/** Resource options as children see them: a parent's transformations run for every child. */
const seenOpts: { type: string; name: string; opts: pulumi.ResourceOptions }[] = [];
const watchOpts: pulumi.ResourceTransformation = (a) => {
  if (a.type !== "test:index:Parent") seenOpts.push({ type: a.type, name: a.name, opts: a.opts });
  return undefined;
};

/** Build one host under a fresh parent and return what the mock monitor saw. */
async function build(name: string, args: CloudHostModule.CloudHostArgs) {
  recs.length = 0;
  invokes.length = 0;
  seenOpts.length = 0;
  const host = cloud.createCloudHost(name, args, new Parent(`${name}-parent`, { transformations: [watchOpts] }));
  const address = await promiseOf(host.address);
  await settings.waitForRPCs();
  const byType = (t: string) => recs.filter((r) => r.type === t);
  const optsOf = (t: string) => seenOpts.filter((o) => o.type === t).map((o) => o.opts);
  return { host, address, recs: [...recs], invokes: [...invokes], byType, optsOf };
}

describe("cloud-init user data", () => {
  const text = init({ adminUser: "agent-runtime", adminPublicKey: ADMIN_KEY });
  const doc = parse(text);

  test("renders to the snapshot", () => {
    expect(text).toMatchSnapshot();
  });

  test("is a #cloud-config document with exactly the bootstrap keys", () => {
    expect(text.split("\n")[0]).toBe("#cloud-config");
    expect(Object.keys(doc).sort()).toEqual([
      "disable_root",
      "ssh_deletekeys",
      "ssh_genkeytypes",
      "ssh_keys",
      "ssh_pwauth",
      "users",
      "write_files",
    ]);
    expect(doc.ssh_pwauth).toBe(false);
    expect(doc.disable_root).toBe(true);
  });

  test("installs exactly the generated host key: the image's are deleted, no other type is made", () => {
    expect(doc.ssh_deletekeys).toBe(true);
    expect(doc.ssh_genkeytypes).toEqual([]);
    expect(doc.ssh_keys).toEqual({ ed25519_private: HOST.privateKey, ed25519_public: HOST.publicKey });
  });

  test("creates only the admin account (no distro default user), with the stack key and passwordless sudo", () => {
    expect(doc.users).toEqual([
      {
        name: "agent-runtime",
        gecos: "agent-runtime provisioner",
        shell: "/bin/bash",
        lock_passwd: true,
        sudo: "ALL=(ALL) NOPASSWD:ALL",
        ssh_authorized_keys: [ADMIN_KEY],
      },
    ]);
  });

  test("writes one sshd drop-in, sorting before 50-cloud-init.conf, that turns passwords and root login off", () => {
    expect(doc.write_files).toHaveLength(1);
    const f = doc.write_files[0];
    expect(f.path).toBe(BOOTSTRAP_SSHD_DROPIN);
    // sshd reads `Include /etc/ssh/sshd_config.d/*.conf` in glob (byte) order and keeps the
    // first value, so the rendered name itself must sort before cloud-init's drop-in.
    const dir = f.path.slice(0, f.path.lastIndexOf("/"));
    const file = f.path.slice(f.path.lastIndexOf("/") + 1);
    expect(dir).toBe("/etc/ssh/sshd_config.d");
    expect(file).toMatch(/^[^/]+\.conf$/);
    expect(Buffer.compare(Buffer.from(file), Buffer.from("50-cloud-init.conf")), file).toBe(-1);
    expect(f.permissions).toBe("0644");
    const settings = (f.content as string).split("\n").filter((l) => l && !l.startsWith("#"));
    expect(settings).toEqual(["PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin no"]);
  });

  test("a key comment with YAML syntax stays data", () => {
    const key = fixedKey(201, "ops: #1 [laptop]");
    expect(parse(init({ adminUser: "ops", adminPublicKey: key })).users[0].ssh_authorized_keys).toEqual([key]);
  });

  test.each([
    ["root", ADMIN_KEY, /not a Linux user name other than root/],
    ["Bad User", ADMIN_KEY, /not a Linux user name/],
    ["agent-runtime", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----", /PRIVATE key/],
    ["agent-runtime", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGarbage", /adminPublicKey/],
  ])("refuses admin user %j with a bad key or name", (user, key, message) => {
    expect(() => init({ adminUser: user, adminPublicKey: key })).toThrow(message);
  });
});

describe("pure rule helpers (no mocks)", () => {
  test("inbound ports are ssh and et, once each", () => {
    expect(inboundPorts(2022)).toEqual([22, 2022]);
    expect(inboundPorts(22)).toEqual([22]);
  });

  // Non-CIDRs never get here: validate rejects them (test/fixtures/invalid/69-allowfrom-not-cidr.yaml).
  test("allowFrom splits by family, keeping order", () => {
    expect(splitCidrs(["198.51.100.0/24", "2001:db8::/32", "203.0.113.7/32"])).toEqual({
      ipv4: ["198.51.100.0/24", "203.0.113.7/32"],
      ipv6: ["2001:db8::/32"],
    });
  });

  test("every team and user name becomes a valid hcloud label value (property)", () => {
    const team = fc.stringMatching(/^[a-z][a-z0-9-]{0,39}$/);
    const user = fc.oneof(arbName, fc.stringMatching(/^[a-z_][a-z0-9_-]{0,26}$/));
    fc.assert(
      fc.property(team, user, (t, u) => {
        for (const v of Object.values(hcloudLabels(t, u))) expect(v).toMatch(HCLOUD_LABEL_VALUE_RE);
      }),
    );
    expect(hcloudLabelValue("wes_")).toBe("wes");
    expect(hcloudLabelValue("acme-dev")).toBe("acme-dev");
  });
});

describe("hcloud (mocks)", () => {
  test("firewall admits only tcp 22 and the et port, only from allowFrom", async () => {
    const r = await build("dev-wes", { ...base, spec: HCLOUD, allowFrom: ["198.51.100.0/24", "2001:db8::/32"] });
    const [fw] = r.byType("hcloud:index/firewall:Firewall");
    expect(r.byType("hcloud:index/firewall:Firewall")).toHaveLength(1);
    expect(fw!.name).toBe("dev-wes-firewall");
    expect(fw!.inputs.rules).toEqual([
      { direction: "in", protocol: "tcp", port: "22", sourceIps: ["198.51.100.0/24", "2001:db8::/32"], description: "ssh" },
      { direction: "in", protocol: "tcp", port: "2022", sourceIps: ["198.51.100.0/24", "2001:db8::/32"], description: "eternal terminal" },
    ]);
  });

  test("server: type, image, location, admin key, firewall, labels, user data; address is its IPv4", async () => {
    const r = await build("dev-wes", { ...base, spec: HCLOUD, allowFrom: ["198.51.100.0/24"] });
    expect(r.recs.map((x) => [x.type, x.name]).sort()).toEqual([
      ["hcloud:index/firewall:Firewall", "dev-wes-firewall"],
      ["hcloud:index/server:Server", "dev-wes-server"],
      ["hcloud:index/sshKey:SshKey", "dev-wes-admin-key"],
      ["pulumi-nodejs:dynamic:Resource", "dev-wes-host-key"],
      ["test:index:Parent", "dev-wes-parent"],
    ]);
    const server = r.byType("hcloud:index/server:Server")[0]!.inputs;
    const key = r.byType("hcloud:index/sshKey:SshKey")[0]!;
    const fw = r.byType("hcloud:index/firewall:Firewall")[0]!;
    expect(key.inputs.publicKey).toBe(ADMIN_KEY);
    expect(server).toMatchObject({ serverType: "cpx41", image: "ubuntu-24.04", location: "fsn1" });
    expect(server.sshKeys).toEqual([String(num("dev-wes-admin-key"))]);
    expect(server.firewallIds).toEqual([num("dev-wes-firewall")]);
    expect(server.labels).toEqual({ team: "acme", developer: "wes", "managed-by": "agent-runtime" });
    expect(fw.inputs.labels).toEqual(server.labels);
    expect(unwrap(server.userData)).toBe(init({ adminUser: "agent-runtime", adminPublicKey: ADMIN_KEY }));
    expect(server.userData[SIG]).toBe(pulumi.runtime.specialSecretSig);
    expect(r.address).toBe(`203.0.113.${(num("dev-wes-server") % 250) + 1}`);
  });

  test("creation-only inputs never replace the server (user data, ssh keys); everything is parented", async () => {
    const r = await build("dev-wes", { ...base, spec: HCLOUD, allowFrom: ["198.51.100.0/24"] });
    expect(r.optsOf("hcloud:index/server:Server").map((o) => o.ignoreChanges)).toEqual([["userData", "sshKeys"]]);
    expect(seenOpts.map((o) => o.name).sort()).toEqual(["dev-wes-admin-key", "dev-wes-firewall", "dev-wes-host-key", "dev-wes-server"]);
    expect(seenOpts.every((o) => o.opts.parent !== undefined)).toBe(true);
  });

  test("a team-wide key id replaces the per-server key (Hetzner refuses duplicate fingerprints)", async () => {
    const r = await build("dev-wes", { ...base, spec: HCLOUD, allowFrom: ["198.51.100.0/24"], hcloudSshKeyId: "4242" });
    expect(r.byType("hcloud:index/sshKey:SshKey")).toEqual([]);
    expect(r.byType("hcloud:index/server:Server")[0]!.inputs.sshKeys).toEqual(["4242"]);
  });
});

describe("aws (mocks)", () => {
  test("security group: tcp 22 and et from allowFrom, IPv4 and IPv6 apart; all egress", async () => {
    const r = await build("dev-nadia", {
      ...base,
      owner: "nadia",
      spec: AWS,
      allowFrom: ["198.51.100.0/24", "2001:db8::/32", "203.0.113.9/32"],
    });
    const groups = r.byType("aws:ec2/securityGroup:SecurityGroup");
    expect(groups.map((g) => g.name)).toEqual(["dev-nadia-security-group"]);
    const rule = (port: number, description: string) => ({
      protocol: "tcp",
      fromPort: port,
      toPort: port,
      cidrBlocks: ["198.51.100.0/24", "203.0.113.9/32"],
      ipv6CidrBlocks: ["2001:db8::/32"],
      description,
    });
    expect(groups[0]!.inputs.ingress).toEqual([rule(22, "ssh"), rule(2022, "eternal terminal")]);
    expect(groups[0]!.inputs.egress).toEqual([
      { protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"], description: "all outbound" },
    ]);
  });

  test("instance: looked-up Ubuntu 24.04 AMI, IMDSv2, encrypted gp3 root of the configured size, key pair, tags, user data", async () => {
    const r = await build("dev-nadia", { ...base, owner: "nadia", spec: AWS, allowFrom: ["198.51.100.0/24"] });
    expect(r.invokes).toEqual([
      {
        token: "aws:ec2/getAmi:getAmi",
        inputs: {
          owners: ["099720109477"],
          mostRecent: true,
          filters: [{ name: "name", values: ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"] }],
        },
      },
    ]);
    const [inst] = r.byType("aws:ec2/instance:Instance");
    const i = inst!.inputs;
    const tags = { Name: "dev-nadia", team: "acme", developer: "nadia", "managed-by": "agent-runtime" };
    expect(inst!.name).toBe("dev-nadia-instance");
    expect(i.ami).toBe("ami-0123456789abcdef0");
    expect(i.instanceType).toBe("m7i.2xlarge");
    expect(i.metadataOptions).toMatchObject({ httpTokens: "required", httpEndpoint: "enabled" });
    expect(i.rootBlockDevice).toMatchObject({ volumeType: "gp3", volumeSize: 120, encrypted: true });
    expect(i.vpcSecurityGroupIds).toEqual([String(num("dev-nadia-security-group"))]);
    expect(i.keyName).toBe("dev-nadia-admin-key-kp");
    expect(i.tags).toEqual(tags);
    expect(unwrap(i.userData)).toBe(init({ adminUser: "agent-runtime", adminPublicKey: ADMIN_KEY }));
    const [kp] = r.byType("aws:ec2/keyPair:KeyPair");
    expect(kp!.inputs).toMatchObject({ publicKey: ADMIN_KEY, tags });
    expect(r.byType("aws:ec2/securityGroup:SecurityGroup")[0]!.inputs.tags).toEqual(tags);
    expect(r.address).toBe(`198.51.100.${(num("dev-nadia-instance") % 250) + 1}`);
  });

  test("a newer AMI, new user data or a new key pair never replaces the instance", async () => {
    const r = await build("dev-nadia", { ...base, owner: "nadia", spec: AWS, allowFrom: ["198.51.100.0/24"] });
    expect(r.optsOf("aws:ec2/instance:Instance").map((o) => o.ignoreChanges)).toEqual([["ami", "userData", "keyName"]]);
    expect(seenOpts.map((o) => o.name).sort()).toEqual([
      "dev-nadia-admin-key",
      "dev-nadia-host-key",
      "dev-nadia-instance",
      "dev-nadia-security-group",
    ]);
  });
});

describe("allowFrom", () => {
  const thrown = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    return undefined;
  };

  test.each([HCLOUD, AWS])("an empty list is refused for %o with a ResourceError naming defaults.allowFrom", (spec) => {
    const err = thrown(() => cloud.createCloudHost("dev-wes", { ...base, spec, allowFrom: [] }, new Parent(`p-empty-${spec.provider}`)));
    expect(err).toBeInstanceOf(pulumi.ResourceError);
    expect((err as Error).message).toMatch(
      /dev-wes: a cloud server needs at least one allowFrom CIDR.*team\.yaml under defaults\.allowFrom/,
    );
  });
});
