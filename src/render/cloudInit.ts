import { USERNAME_RE } from "../team/schema";
import { authorizedKeyLine, looksPrivate, parsePublicKey, type SshPublicKey } from "../team/sshKeys";
import type { HostKeyPair } from "../ssh/hostKeyPair";
import { fill, template } from "./script";

// First-boot user data for cloud servers (templates/cloud-init/user-data.yaml). Pure: the
// values are checked here, because a bad one would produce a server nobody can reach
// (a mangled key) or a document cloud-init silently ignores (broken YAML).

/** What cloud-init needs to hand the server to the provisioner. */
export interface CloudInitSettings {
  /** The provisioner's account, created at first boot. */
  readonly adminUser: string;
  /** Its ssh public key (the stack's agent-runtime:adminPublicKey). */
  readonly adminPublicKey: string;
  /** The server's ssh host key pair (components/hostKey.ts): installed at first boot. */
  readonly hostKey: HostKeyPair;
}

/** The sudo rule cloud-init writes for the provisioner (cloud-init's `sudo:` format). */
export const ADMIN_SUDO_RULE = "ALL=(ALL) NOPASSWD:ALL";

/** Where the first-boot sshd drop-in lives; it sorts before 50-cloud-init.conf. */
export const BOOTSTRAP_SSHD_DROPIN = "/etc/ssh/sshd_config.d/00-agent-runtime-bootstrap.conf";

/** Throws unless the admin account and its key can go into user data; returns the key. */
export function checkAdminAccount(adminUser: string, adminPublicKey: string): SshPublicKey {
  if (!USERNAME_RE.test(adminUser) || adminUser === "root") {
    throw new Error(`admin user "${adminUser}" is not a Linux user name other than root`);
  }
  if (looksPrivate(adminPublicKey)) {
    throw new Error("config agent-runtime:adminPublicKey holds a PRIVATE key; set it from the .pub file");
  }
  const parsed = parsePublicKey(adminPublicKey.trim());
  if (!parsed.ok) throw new Error(`config agent-runtime:adminPublicKey: ${parsed.message} (${parsed.hint})`);
  return parsed.key;
}

/** `#cloud-config` user data: the admin account with the stack key, the pinned host key,
 *  no passwords, no root login. */
export function renderCloudInit(s: CloudInitSettings): string {
  const key = checkAdminAccount(s.adminUser, s.adminPublicKey);
  if (
    !/^ssh-ed25519 [A-Za-z0-9+/]+=*$/.test(s.hostKey.publicKey) ||
    !s.hostKey.privateKey.startsWith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
  ) {
    throw new Error("the server's host key pair is not an OpenSSH ed25519 pair");
  }
  // JSON strings are YAML double-quoted scalars: a key comment with ": " or "#" stays data.
  return fill(template("cloud-init/user-data.yaml"), {
    ADMIN_USER: JSON.stringify(s.adminUser),
    SUDO_RULE: JSON.stringify(ADMIN_SUDO_RULE),
    ADMIN_KEY: JSON.stringify(authorizedKeyLine(key)),
    HOST_PRIVATE_KEY: JSON.stringify(s.hostKey.privateKey),
    HOST_PUBLIC_KEY: JSON.stringify(s.hostKey.publicKey),
  });
}
