import { helpers, HELPERS_DIR, renderScript } from "./script";

// The provisioner's own admin account and the shared helpers every other step sources:
// the first step on every server, run as the host's first user, and (on existing hosts
// only) the last step removed on destroy.

/** Create or update the admin account with the stack's public key, and install the shared
 *  helpers (templates/bootstrap/admin.sh). Carries the helpers itself: it installs them. */
export function adminScript(admin: string, publicKey: string): string {
  const h = helpers();
  return renderScript(
    "bootstrap/admin.sh",
    { AR_ADMIN: admin, AR_ADMIN_KEY: publicKey, AR_HELPERS: h.path, AR_HELPERS_TEXT: h.text },
    "inline",
  );
}

/** Remove the admin account again, and every version of the shared helpers with it
 *  (templates/bootstrap/remove-admin.sh): the last step of an offboarding. */
export function adminRemoveScript(admin: string): string {
  return renderScript("bootstrap/remove-admin.sh", { AR_ADMIN: admin, AR_HELPERS_DIR: HELPERS_DIR });
}
