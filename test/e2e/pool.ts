// Which host pool this test run owns. Two runs at once (a developer's and a helper's)
// must not tear down each other's hosts: give each its own pool and subnet.
/** Pool name (default "test"; the sandbox CLI uses "sandbox"). */
export const POOL = process.env.AGENT_RUNTIME_TEST_POOL ?? "test";
/** First three octets of the pool's /24 (default 10.213.2; sandbox uses 10.213.1). */
export const SUBNET = process.env.AGENT_RUNTIME_TEST_SUBNET ?? "10.213.2";
/** Debian release of the hosts: the e2e-trixie project sets trixie (vitest.config.ts),
 *  scripts/hostpool.sh reads the same variable. */
export const SUITE = process.env.AGENT_RUNTIME_ROOTFS_SUITE ?? "bookworm";
