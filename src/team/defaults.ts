// Every default of team.yaml in one place (the README's reference table mirrors this file).

/** Server settings used when neither the developer nor `defaults.server.<provider>` sets them. */
export const SERVER_DEFAULTS = {
  aws: { instanceType: "m7i.2xlarge", volumeSize: 100 },
  hcloud: { serverType: "cpx41", image: "ubuntu-24.04", location: "fsn1" },
  existing: { port: 22, adminUser: "root" },
} as const;

/** Agent limits used when team.yaml has no `defaults.limits`. */
export const LIMIT_DEFAULTS = { cpu: 4, memory: "8G", tasks: 4096 } as const;

/** MemoryHigh defaults to this fraction of MemoryMax, so reclaim starts before the OOM killer. */
export const MEMORY_HIGH_FRACTION = 0.9;

/** Eternal Terminal's port. */
export const ET_PORT = 2022;
