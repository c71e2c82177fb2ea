// Loading apps from the cluster: the Deployments and Services of a selection paired into apps, the one app a
// command names (or why it is not there), and the pods and ReplicaSets the commands read besides.
import type { AppSelection } from "./options.js";
import { type AppPair, deploymentSelector, findApps, formatSelector, selects } from "../bluegreen/pair.js";
import type { Deployment, Labels, Pod, ReplicaSet, Service } from "../bluegreen/model.js";
import { NotFoundError } from "../errors.js";
import type { KubeClient } from "../kube/types.js";

/** Lists the Deployments and Services of the selection (two requests) and pairs them into apps. */
export async function loadPairs(kube: KubeClient, sel: AppSelection): Promise<AppPair[]> {
  const ns = sel.allNamespaces ? undefined : kube.namespace;
  const [deployments, services] = await Promise.all([
    kube.listDeployments(ns, deploymentSelector(sel)),
    kube.listServices(ns),
  ]);
  return pairsOf(sel, ns, deployments, services);
}

/** The apps of the selection among these Deployments and Services (those of namespace ns only, when given). */
export function pairsOf(sel: AppSelection, ns: string | undefined, deployments: Deployment[], services: Service[]): AppPair[] {
  // Only objects of the namespace asked for, whatever the server returned.
  const inScope = (o: { metadata: { namespace?: string } }) => ns === undefined || o.metadata.namespace === ns;
  return findApps(sel, deployments.filter(inScope), services.filter(inScope), sel.slotLabel);
}

/** The ReplicaSets of the app's Deployments: the server's record of when each version appeared. */
export function loadReplicaSets(kube: KubeClient, sel: AppSelection, ns: string | undefined): Promise<ReplicaSet[]> {
  return kube.listReplicaSets(ns, deploymentSelector(sel));
}

/** Says why nothing was found: a missing namespace, or no Deployments with the label. */
export async function notFound(kube: KubeClient, sel: AppSelection): Promise<NotFoundError> {
  const ns = kube.namespace;
  if (!sel.allNamespaces && (await kube.namespaceExists(ns)) === false) {
    return new NotFoundError(`namespace "${ns}" not found.`, "Check -n/--namespace, or the namespace of your kubeconfig context.");
  }
  const where = sel.allNamespaces ? "any namespace" : `namespace "${ns}"`;
  const what = sel.app !== undefined ? `app "${sel.app}" (no Deployment has label ${deploymentSelector(sel)})` : `no Deployments match ${deploymentSelector(sel)}`;
  return new NotFoundError(`${what} in ${where}.`, "Check the app name and -n, or select it with --app-label KEY or -l SELECTOR.");
}

/** The one app the command names, or a not-found error. */
export async function loadPair(kube: KubeClient, sel: AppSelection): Promise<AppPair> {
  const [pair] = await loadPairs(kube, { ...sel, allNamespaces: false });
  if (!pair) throw await notFound(kube, sel);
  return pair;
}

const podReady = (p: Pod) =>
  !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");

/** Ready pods the selector picks (one list request). */
export async function readyPods(kube: KubeClient, ns: string, selector: Labels): Promise<Pod[]> {
  const pods = await kube.listPods(ns, formatSelector(selector));
  return pods.filter((p) => selects(selector, p.metadata.labels ?? {}) && podReady(p));
}
