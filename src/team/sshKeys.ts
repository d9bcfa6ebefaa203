import { createHash } from "node:crypto";

/** Public key algorithms OpenSSH accepts in authorized_keys (and we accept in team.yaml). */
export const SSH_KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
] as const;

/** A parsed ssh public key: algorithm, base64 blob, optional comment. */
export interface SshPublicKey {
  type: string;
  blob: string;
  comment: string;
  /** OpenSSH-style fingerprint, `SHA256:…`; what diffs and errors show instead of key text. */
  fingerprint: string;
}

/** Result of parsing one key: the key, or a message that never echoes the key text. */
export type ParsedKey = { ok: true; key: SshPublicKey } | { ok: false; message: string; hint: string };

const PRIVATE_KEY_MARKERS = [/PRIVATE KEY/, /^-----BEGIN /, /^b3BlbnNzaC1rZXktdjE/, /^PuTTY-User-Key-File/];

/** True when the text looks like a private key (PEM, OpenSSH, or PuTTY), pasted where a public one belongs. */
export function looksPrivate(text: string): boolean {
  const t = text.trim();
  return PRIVATE_KEY_MARKERS.some((re) => re.test(t));
}

/** The fingerprint `ssh-keygen -lf` prints for this blob. */
export function fingerprint(blobBase64: string): string {
  const digest = createHash("sha256").update(Buffer.from(blobBase64, "base64")).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

/** Parse one authorized_keys-style line (no options prefix). Never includes the input in messages. */
export function parsePublicKey(text: string): ParsedKey {
  if (looksPrivate(text)) {
    return {
      ok: false,
      message: "this is a PRIVATE key; it must never be in team.yaml (the key text is not shown here)",
      hint: "remove it now, treat it as leaked and rotate it; paste the contents of the .pub file instead",
    };
  }
  const hint = 'expected one line like "ssh-ed25519 AAAAC3Nza… name@laptop" (the contents of ~/.ssh/id_ed25519.pub)';
  if (/[\r\n]/.test(text.trim())) return { ok: false, message: "an ssh public key is a single line", hint };
  const parts = text.trim().split(/\s+/);
  const [type, blob] = parts;
  const comment = parts.slice(2).join(" ");
  if (!type || !blob) return { ok: false, message: "not an ssh public key", hint };
  if (!(SSH_KEY_TYPES as readonly string[]).includes(type)) {
    return { ok: false, message: `unsupported key type "${type.slice(0, 40)}"`, hint: `use one of ${SSH_KEY_TYPES.join(", ")}` };
  }
  // A second "type AAAA…" pair in the comment: two keys pasted on one line (the second would be silently dropped).
  if (parts.some((p, k) => k >= 2 && (SSH_KEY_TYPES as readonly string[]).includes(p) && /^AAAA/.test(parts[k + 1] ?? ""))) {
    return { ok: false, message: "two keys on one line", hint: "list each key as its own sshKeys entry" };
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return { ok: false, message: "the key data is not base64", hint };
  const raw = Buffer.from(blob, "base64");
  // The blob starts with a length-prefixed copy of the algorithm name; a mismatch means a truncated or mangled key.
  const len = raw.length >= 4 ? raw.readUInt32BE(0) : -1;
  const inner = len > 0 && len + 4 <= raw.length ? raw.subarray(4, 4 + len).toString("latin1") : "";
  if (inner !== type) return { ok: false, message: `the key data does not encode a ${type} key (truncated or mangled)`, hint };
  if (type === "ssh-ed25519" && raw.length !== 51) {
    return { ok: false, message: "the ssh-ed25519 key data has the wrong length (truncated or mangled)", hint };
  }
  return { ok: true, key: { type, blob, comment, fingerprint: fingerprint(blob) } };
}

/** The authorized_keys line for a key (comment kept; it is how people recognise their keys). */
export function authorizedKeyLine(key: SshPublicKey): string {
  return key.comment ? `${key.type} ${key.blob} ${key.comment}` : `${key.type} ${key.blob}`;
}
