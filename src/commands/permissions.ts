// Every permission a plan needs, asked of the API server (SelfSubjectAccessReview) before the plan's first
// write: a refusal up front, with nothing changed, instead of a 403 after traffic moved.
import { ForbiddenError } from "../errors.js";
import type { KubeClient } from "../kube/types.js";
import { type Need, canIText, needText } from "../bluegreen/permissions.js";

/**
 * Asks for every need at once. Throws ForbiddenError (exit 7) naming each missing required permission;
 * returns a warning for each missing optional one. A server that will not say (the review itself is
 * forbidden) is not a refusal: the writes will tell.
 */
export async function requirePermissions(kube: KubeClient, ns: string, needs: Need[], doing: string): Promise<string[]> {
  const answers = await Promise.all(needs.map(async (n) => ({ n, allowed: await kube.canI(ns, n) })));
  const missing = answers.filter((a) => a.allowed === false && !a.n.without).map((a) => a.n);
  const [first] = missing;
  if (first) {
    const list = missing.map((n) => `${needText(n)} (${n.why})`).join(", ");
    throw new ForbiddenError(
      `cannot ${doing}: your credentials (context ${kube.contextName}) may not ${list} in namespace ${ns}; nothing changed.`,
      `Ask for a Role that grants ${missing.length === 1 ? "it" : "them"} (the README's "Permissions" lists what each command needs); check with kubectl auth can-i ${canIText(first)} -n ${ns}.`,
    );
  }
  return answers.flatMap((a) => (a.allowed === false && a.n.without ? [`your credentials may not ${needText(a.n)} in namespace ${ns}: ${a.n.without}`] : []));
}
