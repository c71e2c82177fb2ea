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

/**
 * What a write to a Deployment depends on: its spec (template, replicas, strategy) and our annotations. Not its
 * generation: the API server bumps a Deployment's generation for any change to its annotations too.
 */
export const deploymentGuard = (d: Deployment): string => canonicalJson({ spec: d.spec ?? {}, annotations: ours(d.metadata.annotations) });

/**
 * The field manager that last wrote a Service's selector value for the slot label (from metadata.managedFields),
 * or undefined when the Service was read without them or nobody owns the field.
 */
export function selectorWriter(s: Service, slotLabel: string): string | undefined {
  const owners = (s.metadata.managedFields ?? []).filter((m) => {
    const spec = m.fieldsV1?.["f:spec"] as Record<string, unknown> | undefined;
    const selector = spec?.["f:selector"] as Record<string, unknown> | undefined;
    // A Service's selector is an atomic map: its writer owns it whole (`f:selector: {}`); a granular map lists keys.
    return selector !== undefined && (Object.keys(selector).length === 0 || `f:${slotLabel}` in selector);
  });
  owners.sort((a, b) => (a.time ?? "").localeCompare(b.time ?? ""));
  return owners.at(-1)?.manager;
}
