import { helpers, HELPERS_DIR, renderScript } from "./script";

// The lib step: installs the shared helpers (templates/lib/common.sh) once per server for
// every other step to source (templates/lib/load.sh). Its own scripts carry them, since
// they run before the helpers exist and after they are gone.

/** Install the helpers at their hashed path (templates/lib/install.sh). */
export function helpersScript(): string {
  const h = helpers();
  return renderScript("lib/install.sh", { AR_HELPERS: h.path, AR_HELPERS_TEXT: h.text }, "inline");
}

/** Remove every version, unless other agent-runtime files are still installed (templates/lib/remove.sh). */
export function helpersRemoveScript(): string {
  return renderScript("lib/remove.sh", { AR_HELPERS_DIR: HELPERS_DIR }, "inline");
}
