import { renderScript } from "./script";

// The provisioner's own admin account: the first step on every server, run as the
// host's first user, and (on existing hosts only) the last step removed on destroy.
// Both scripts carry the shared helpers inline: they run before the lib step installs
// them, and after it removed them. (Their text changes only with these templates or
// common.sh: on an existing host whose first user is root, sshd refuses that login once
// hardened, so an admin step that must run again fails there — README "Performance".)

/** Create or update the admin account with the stack's public key (templates/bootstrap/admin.sh). */
export function adminScript(admin: string, publicKey: string): string {
  return renderScript("bootstrap/admin.sh", { AR_ADMIN: admin, AR_ADMIN_KEY: publicKey }, "inline");
}

/** Remove the admin account again (templates/bootstrap/remove-admin.sh). */
export function adminRemoveScript(admin: string): string {
  return renderScript("bootstrap/remove-admin.sh", { AR_ADMIN: admin }, "inline");
}
