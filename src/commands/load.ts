// Loading apps from the cluster: the Deployments and Services of a selection paired into apps, the one app a
// command names (or why it is not there), and the pods and ReplicaSets the commands read besides.
import type { AppSelection } from "./options.js";
import { type AppPair, type FoundRoute, deploymentSelector, findApps, formatSelector, selects } from "../bluegreen/pair.js";
import { ROUTER_KINDS, ROUTE_KINDS } from "../bluegreen/routers/index.js";
import type { Deployment, Labels, Pod, ReplicaSet, Service } from "../bluegreen/model.js";
import { ForbiddenError, NotFoundError } from "../errors.js";
import type { RouterKindName } from "../bluegreen/routers/types.js";
import { type AutoscalerView, autoscalerOf } from "../bluegreen/autoscaler.js";
import type { KubeClient } from "../kube/types.js";

/**
 * Lists the Deployments and Services of the selection (two requests) and pairs them into apps. Only when an app has
 * slot Services (one per slot, for routes to choose between) are the routes listed too (three more).
 */
export async function loadPairs(kube: KubeClient, sel: AppSelection): Promise<AppPair[]> {
  const ns = sel.allNamespaces ? undefined : kube.namespace;
  const [deployments, services] = await Promise.all([
    kube.listDeployments(ns, deploymentSelector(sel)),
    kube.listServices(ns),
  ]);
  const pairs = pairsOf(sel, ns, deployments, services);
  if (!pairs.some((p) => p.needsRoutes)) return pairs;
  const { routes, unreadable } = await loadRoutes(kube, ns);
  return pairsOf(sel, ns, deployments, services, routes, unreadable);
}

/**
 * The routes and Ingresses that may choose between slot Services, in a namespace (or all); a kind the user may not
 * list is named with why, so only the apps that need it say so.
 */
async function loadRoutes(kube: KubeClient, ns: string | undefined): Promise<{ routes: FoundRoute[]; unreadable: { kind: RouterKindName; why: string }[] }> {
  const lists = await Promise.all(
    ROUTE_KINDS.map((k) =>
      kube.listRouters(ns, ROUTER_KINDS[k].resource).then(
        (items) => ({ k, items, why: undefined }),
        (e: unknown) => {
          if (e instanceof ForbiddenError) return { k, items: [], why: `list ${ROUTER_KINDS[k].resource.plural}: forbidden` };
          throw e;
        },
      ),
    ),
  );
  return {
    routes: lists.flatMap(({ k, items }) => items.map((object) => ({ kind: k as FoundRoute["kind"], object }))),
    unreadable: lists.flatMap(({ k, why }) => (why ? [{ kind: k, why }] : [])),
  };
}

/** The apps of the selection among these Deployments and Services (those of namespace ns only, when given). */
export function pairsOf(
  sel: AppSelection,
  ns: string | undefined,
  deployments: Deployment[],
  services: Service[],
  routes?: FoundRoute[],
  unreadable: { kind: RouterKindName; why: string }[] = [],
): AppPair[] {
  // Only objects of the namespace asked for, whatever the server returned.
  const inScope = (o: { metadata: { namespace?: string } }) => ns === undefined || o.metadata.namespace === ns;
  return findApps(sel, deployments.filter(inScope), services.filter(inScope), sel.slotLabel, routes?.filter((r) => inScope(r.object)), sel.router, unreadable);
}

/** The ReplicaSets of the app's Deployments: the server's record of when each version appeared. */
export function loadReplicaSets(kube: KubeClient, sel: AppSelection, ns: string | undefined): Promise<ReplicaSet[]> {
  return kube.listReplicaSets(ns, deploymentSelector(sel));
}

/** Says why nothing was found: a missing namespace, or no Deployments with the label, and where the app may be instead. */
export async function notFound(kube: KubeClient, sel: AppSelection): Promise<NotFoundError> {
  const ns = kube.namespace;
  if (!sel.allNamespaces && (await kube.namespaceExists(ns)) === false) {
    return new NotFoundError(`namespace "${ns}" not found.`, "Check -n/--namespace, or the namespace of your kubeconfig context.");
  }
  const where = sel.allNamespaces ? "any namespace" : `namespace "${ns}"`;
  const what = sel.app !== undefined ? `app "${sel.app}" (no Deployment has label ${deploymentSelector(sel)})` : `no Deployments match ${deploymentSelector(sel)}`;
  const found = await lookElsewhere(kube, sel);
  return new NotFoundError(`${what} in ${where}.`, found.length ? found.join(" ") : "Check the app name and -n, or select it with --app-label KEY or -l SELECTOR.");
}

/** Label keys apps are commonly named by, for the hints. */
const APP_KEYS = ["app", "app.kubernetes.io/name", "app.kubernetes.io/instance", "k8s-app", "name"];

/**
 * Where an app that was not found may be (two more requests, each allowed to fail): the name under another
 * label key, as a Deployment's name, close to an app's name, or in other namespaces the user may list.
 */
export async function lookElsewhere(kube: KubeClient, sel: AppSelection): Promise<string[]> {
  if (sel.selector !== undefined) return [];
  const ns = kube.namespace;
  const hints: string[] = [];
  const here = sel.allNamespaces ? [] : await kube.listDeployments(ns).catch(() => [] as Deployment[]);
  const labelsOf = (d: Deployment) => ({ ...d.spec?.template?.metadata?.labels, ...d.metadata.labels });
  if (sel.app === undefined) {
    const keys = APP_KEYS.filter((k) => k !== sel.appLabel && here.some((d) => labelsOf(d)[k] !== undefined));
    const [key] = keys;
    if (key) hints.push(`${here.filter((d) => labelsOf(d)[key] !== undefined).length} Deployment(s) there have label ${key}: add --app-label ${key}.`);
    else if (here.length && !sel.allNamespaces) hints.push(`namespace "${ns}" has ${here.length} Deployment(s), none with label ${sel.appLabel}; name the label apps have with --app-label KEY.`);
    return hints;
  }
  const app = sel.app;
  const keys = [...new Set(here.flatMap((d) => Object.entries(labelsOf(d)).filter(([k, v]) => v === app && k !== sel.appLabel).map(([k]) => k)))].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  if (keys[0]) hints.push(`Deployments there have ${keys[0]}=${app}: add --app-label ${keys[0]}.`);
  const named = here.find((d) => d.metadata.name === app);
  if (named) {
    const owner = labelsOf(named)[sel.appLabel];
    hints.push(owner ? `deployment/${app} belongs to app "${owner}" (${sel.appLabel}=${owner}): name the app, not the Deployment.` : `deployment/${app} exists but has no label ${sel.appLabel}.`);
  }
  const apps = [...new Set(here.map((d) => labelsOf(d)[sel.appLabel]).filter((v): v is string => v !== undefined))];
  const close = apps.filter((a) => a !== app && editDistance(a, app) <= Math.max(1, Math.floor(app.length / 4))).sort();
  if (close.length) hints.push(`Did you mean ${close.map((a) => `"${a}"`).join(" or ")}?`);
  if (!sel.allNamespaces) {
    const elsewhere = await kube.listDeployments(undefined, deploymentSelector(sel)).catch(() => [] as Deployment[]);
    const namespaces = [...new Set(elsewhere.map((d) => d.metadata.namespace ?? "").filter((n) => n && n !== ns))].sort();
    if (namespaces.length) hints.push(`App "${app}" is in namespace ${namespaces.map((n) => `"${n}"`).join(", ")}: add -n ${namespaces[0]}.`);
  }
  return hints;
}

const rank = (key: string) => {
  const i = APP_KEYS.indexOf(key);
  return i < 0 ? APP_KEYS.length : i;
};

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    row = next;
  }
  return row[b.length] ?? 0;
}

/** The HPA of one slot (one list request); none when there is none, or when HPAs may not be listed. */
export async function slotAutoscaler(kube: KubeClient, d: Deployment): Promise<AutoscalerView | undefined> {
  return autoscalerOf(d, await kube.listAutoscalers(d.metadata.namespace ?? kube.namespace).catch(() => []));
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
