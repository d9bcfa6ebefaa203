import { renderScript } from "./script";

// The provisioner's own admin account: the first step on every server, run as the
// host's first user, and (on existing hosts only) the last step removed on destroy.

/** Create or update the admin account with the stack's public key (templates/bootstrap/admin.sh). */
export function adminScript(admin: string, publicKey: string): string {
  return renderScript("bootstrap/admin.sh", { AR_ADMIN: admin, AR_ADMIN_KEY: publicKey });
}

/** Remove the admin account again (templates/bootstrap/remove-admin.sh). */
export function adminRemoveScript(admin: string): string {
  return renderScript("bootstrap/remove-admin.sh", { AR_ADMIN: admin });
}
