// What a write depends on. Services and Deployments are written by others too (GitOps agents, external-dns,
// load-balancer controllers, the Deployment controller's status): a conflict caused only by what a step does
// not depend on is not a conflict, and the write is sent again on the fresh resourceVersion.
import type { Deployment, Service } from "./model.js";
import { canonicalJson } from "./record.js";

/** Our annotations (records, marks, the user's role annotation): every one a write of ours depends on. */
const OURS = "kubectl-bluegreen/";

const ours = (annotations: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => k.startsWith(OURS)));

/** What a write to a Service depends on: its selector and our annotations. */
export const serviceGuard = (s: Service): string => canonicalJson({ selector: s.spec?.selector ?? {}, annotations: ours(s.metadata.annotations) });

/** What a write to a Deployment depends on: its generation (any spec change), replicas and our annotations. */
export const deploymentGuard = (d: Deployment): string =>
  canonicalJson({ generation: d.metadata.generation ?? 0, replicas: d.spec?.replicas ?? 1, annotations: ours(d.metadata.annotations) });

/**
 * The field manager that last wrote a Service's selector value for the slot label (from metadata.managedFields),
 * or undefined when the Service was read without them or nobody owns the field.
 */
export function selectorWriter(s: Service, slotLabel: string): string | undefined {
  const owners = (s.metadata.managedFields ?? []).filter((m) => {
    const spec = m.fieldsV1?.["f:spec"] as Record<string, unknown> | undefined;
    const selector = spec?.["f:selector"] as Record<string, unknown> | undefined;
    return selector !== undefined && `f:${slotLabel}` in selector;
  });
  owners.sort((a, b) => (a.time ?? "").localeCompare(b.time ?? ""));
  return owners.at(-1)?.manager;
}
