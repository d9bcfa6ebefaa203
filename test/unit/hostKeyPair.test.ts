import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { encodeEd25519, generateHostKeyPair } from "../../src/ssh/hostKeyPair";

// The host key pair cloud servers get: OpenSSH itself must read the private key and
// derive exactly the public key we pin.

describe("ed25519 host key pairs in OpenSSH format", () => {
  test.each([1, 2, 3])("ssh-keygen reads generated pair #%i and derives the same public key", (n) => {
    const pair = generateHostKeyPair(`dev-${n} host key`);
    const dir = mkdtempSync(path.join(tmpdir(), "hostkey-"));
    try {
      const file = path.join(dir, "key");
      writeFileSync(file, pair.privateKey, { mode: 0o600 });
      const derived = execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).trim();
      expect(derived.split(" ").slice(0, 2).join(" ")).toBe(pair.publicKey);
      // The comment survives too (ssh-keygen -l prints it).
      expect(execFileSync("ssh-keygen", ["-l", "-f", file], { encoding: "utf8" })).toContain(`dev-${n} host key`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a fixed seed gives the same bytes (the encoding is deterministic)", () => {
    const seed = new Uint8Array(32).fill(7);
    const pub = new Uint8Array(32).fill(9);
    const a = encodeEd25519(seed, pub, "c", 42);
    expect(encodeEd25519(seed, pub, "c", 42)).toEqual(a);
    expect(a.publicKey).toBe(
      `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from("ssh-ed25519"), Buffer.from([0, 0, 0, 32]), Buffer.from(pub)]).toString("base64")}`,
    );
    expect(a.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END OPENSSH PRIVATE KEY-----\n$/);
  });

  test("two generated pairs differ", () => {
    expect(generateHostKeyPair("a").publicKey).not.toBe(generateHostKeyPair("a").publicKey);
  });
});
