// The stack's provisioner key arrives as a secret (OpenSSH private key). Its public half
// is read from the key file's unencrypted header, so no tool or passphrase is needed and
// the private part is never parsed or copied.

/** `ssh-ed25519 AAAA… comment` for an OpenSSH-format private key, or an error message. */
export function publicKeyOfPrivate(
  privateKey: string,
  comment = "agent-runtime-provisioner",
): { ok: true; publicKey: string } | { ok: false; message: string } {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]+?)-----END OPENSSH PRIVATE KEY-----/.exec(privateKey);
  if (!m)
    return {
      ok: false,
      message: 'not an OpenSSH private key (expected "-----BEGIN OPENSSH PRIVATE KEY-----"; create one with ssh-keygen -t ed25519)',
    };
  const raw = Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
  const magic = "openssh-key-v1\0";
  if (raw.subarray(0, magic.length).toString("latin1") !== magic) return { ok: false, message: "not an openssh-key-v1 key" };
  let off = magic.length;
  const str = () => {
    const len = raw.readUInt32BE(off);
    const v = raw.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    return v;
  };
  try {
    str(); // cipher
    str(); // kdf
    str(); // kdf options
    const count = raw.readUInt32BE(off);
    off += 4;
    if (count !== 1) return { ok: false, message: `expected one key in the file, found ${count}` };
    const blob = str();
    const typeLen = blob.readUInt32BE(0);
    const type = blob.subarray(4, 4 + typeLen).toString("latin1");
    return { ok: true, publicKey: `${type} ${blob.toString("base64")} ${comment}` };
  } catch {
    return { ok: false, message: "the OpenSSH private key is truncated" };
  }
}
