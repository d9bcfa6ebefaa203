import { PolicyPack, type ReportViolation, type ResourceValidationArgs } from "@pulumi/policy";
import {
  agentLimitViolations,
  sshdStepViolations,
  stepKind,
  stepScript,
  sudoersStepViolations,
  worldOpenIngress,
  type StepKind,
} from "./checks";

// agent-runtime's guard rails, enforced by the engine on every preview and up
// (`pulumi preview --policy-pack policy`): the checks live in checks.ts as pure
// functions; this file only selects the resources each one applies to. Scripts that
// are still unknown during a preview (they wait for a cloud address) are checked at up.

/** Run `check` on the script of every step of `kind` (both executors). */
function onSteps(kind: StepKind, check: (script: string) => string[]) {
  return (args: ResourceValidationArgs, report: ReportViolation) => {
    let script: string | undefined;
    try {
      script = stepScript(args.type, args.props);
    } catch (unknownDuringPreview) {
      // Reading a value unknown during preview throws; the engine then reports "can't run during
      // preview". Only steps of this kind (by name) deserve that note; for the rest it's noise.
      if (stepKind(args.name, undefined) === kind) throw unknownDuringPreview;
      return;
    }
    if (script === undefined || stepKind(args.name, script) !== kind) return;
    for (const message of check(script)) report(`${args.name}: ${message}`);
  };
}

/** The pack: three mandatory policies on the rendered steps, one advisory on cloud firewalls. */
export const pack = new PolicyPack("agent-runtime", {
  policies: [
    {
      name: "sudoers-agent-targets-only",
      description:
        "Every sudoers rule targets agent users only: never root, never a human user (checked in each -sudoers- step's content).",
      enforcementLevel: "mandatory",
      validateResource: onSteps("sudoers", sudoersStepViolations),
    },
    {
      name: "agent-users-have-limits",
      description: "Every agent user step sets a finite CPUQuota, MemoryMax and TasksMax on its user slice.",
      enforcementLevel: "mandatory",
      validateResource: onSteps("agent", agentLimitViolations),
    },
    {
      name: "sshd-hardened",
      description:
        "The sshd drop-in sorts first and carries keys-only, no root login, DenyUsers *-agent and DisableForwarding for *-agent.",
      enforcementLevel: "mandatory",
      validateResource: onSteps("sshd", sshdStepViolations),
    },
    {
      name: "firewall-not-world-open",
      description:
        "Cloud firewalls and security groups admit ssh/et from allowFrom ranges, not 0.0.0.0/0 or ::/0 (team.yaml allowWorld opts in).",
      enforcementLevel: "advisory",
      validateResource: (args, report) => {
        for (const message of worldOpenIngress(args.type, args.props)) report(`${args.name}: ${message}`);
      },
    },
  ],
});
