// An ed25519 ssh host key pair in the formats sshd and cloud-init take: the private key
// as an unencrypted "openssh-key-v1" PEM block (what `ssh-keygen -t ed25519 -N ''`
// writes; PROTOCOL.key in OpenSSH's sources), the public key as a known_hosts/
// authorized_keys line. Import-free on purpose: the generating dynamic provider is
// serialized into stack state with the functions it calls.

/** A host key pair: `privateKey` is a secret, `publicKey` is what clients pin. */
export interface HostKeyPair {
  privateKey: string;
  publicKey: string;
}

/** Encode a raw ed25519 key (32-byte seed, 32-byte public key) for OpenSSH. `checkint`
 *  is the 32-bit value OpenSSH repeats to detect a wrong passphrase (any value). */
export function encodeEd25519(seed: Uint8Array, pub: Uint8Array, comment: string, checkint: number): HostKeyPair {
  const u32 = (n: number) => Buffer.from([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  const str = (b: Uint8Array | string) => {
    const buf = typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b);
    return Buffer.concat([u32(buf.length), buf]);
  };
  const type = "ssh-ed25519";
  const pubBlob = Buffer.concat([str(type), str(pub)]);
  let priv = Buffer.concat([
    u32(checkint),
    u32(checkint),
    str(type),
    str(pub),
    str(Buffer.concat([Buffer.from(seed), Buffer.from(pub)])),
    str(comment),
  ]);
  // Padded with 1, 2, 3, … to the cipher's block size (8 for "none").
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const blob = Buffer.concat([
    Buffer.from("openssh-key-v1\0", "binary"),
    str("none"),
    str("none"),
    str(""),
    u32(1),
    str(pubBlob),
    str(priv),
  ]);
  const lines = blob.toString("base64").match(/.{1,70}/g) ?? [];
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `${type} ${pubBlob.toString("base64")}`,
  };
}

/** A new random ed25519 host key pair (Node's crypto). */
export function generateHostKeyPair(comment: string): HostKeyPair {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const crypto = require("node:crypto") as typeof import("node:crypto");
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519");
  const jwkPriv = privateKey.export({ format: "jwk" });
  const jwkPub = publicKey.export({ format: "jwk" });
  const seed = Buffer.from(jwkPriv.d!, "base64url");
  const pub = Buffer.from(jwkPub.x!, "base64url");
  return encodeEd25519(seed, pub, comment, crypto.randomBytes(4).readUInt32BE(0));
}
