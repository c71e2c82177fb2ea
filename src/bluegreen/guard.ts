// What a write depends on. Services and Deployments are written by others too (GitOps agents, external-dns,
// load-balancer controllers, the Deployment controller's status): a conflict caused only by what a step does
// not depend on is not a conflict, and the write is sent again on the fresh resourceVersion.
import type { Deployment, Service } from "./model.js";
import { canonicalJson } from "./record.js";
import type { RouterKind, RouterObject, Routing } from "./routers/types.js";

/** Our annotations (records, marks, the user's role annotation): every one a write of ours depends on. */
const OURS = "kubectl-bluegreen/";

/** A route's header preview rule is written by deploy and promote beside a switch, never in its way. */
const PREVIEW = "kubectl-bluegreen/preview-rule";

const ours = (annotations: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => k.startsWith(OURS) && k !== PREVIEW));

/** What a write to a Service depends on: its selector and our annotations. */
export const serviceGuard = (s: Service): string => canonicalJson({ selector: s.spec?.selector ?? {}, annotations: ours(s.metadata.annotations) });

/** What a switch of a router depends on: what its kind says (the selector, the backendRefs, the backends) and our annotations. */
export const routerGuard = (kind: RouterKind, o: RouterObject, r: Routing): string => canonicalJson({ switch: kind.guard(o, r), annotations: ours(o.metadata.annotations) });

/** Whether only our annotations differ between two readings of a router (the switch itself is the same). */
export const sameSwitch = (kind: RouterKind, a: RouterObject, b: RouterObject, r: Routing): boolean => kind.guard(a, r) === kind.guard(b, r);

/**
 * What a write to a Deployment depends on: its spec (template, replicas, strategy) and our annotations. Not its
 * generation: the API server bumps a Deployment's generation for any change to its annotations too.
 */
export const deploymentGuard = (d: Deployment): string => canonicalJson({ spec: d.spec ?? {}, annotations: ours(d.metadata.annotations) });
