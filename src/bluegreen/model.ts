/** The parts of Kubernetes objects the plugin reads, as the API server returns them. */

export type Labels = Record<string, string>;

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  labels?: Labels;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  /** Who last wrote which field (present on single reads; lists drop it). */
  managedFields?: ManagedFieldsEntry[];
}

/** One writer's entry in metadata.managedFields. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  time?: string;
  fieldsV1?: Record<string, unknown>;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

export interface Container {
  name: string;
  image?: string;
  env?: EnvVar[];
  ports?: { containerPort: number; name?: string }[];
}

export interface PodTemplate {
  metadata?: { labels?: Labels; annotations?: Record<string, string> };
  spec?: { containers: Container[]; initContainers?: Container[] };
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface Deployment {
  metadata: ObjectMeta;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Labels };
    template: PodTemplate;
    paused?: boolean;
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: Condition[];
  };
}

/** A ReplicaSet, as the Deployment controller keeps one per pod template (the server's record of versions). */
export interface ReplicaSet {
  metadata: ObjectMeta & { ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[] };
  spec?: { replicas?: number; template?: PodTemplate };
}

/** A HorizontalPodAutoscaler (autoscaling/v2): what it scales, and the range it keeps the replicas in. */
export interface Autoscaler {
  metadata: ObjectMeta;
  spec?: { scaleTargetRef: { kind: string; name: string; apiVersion?: string }; minReplicas?: number; maxReplicas: number };
  status?: { currentReplicas?: number; desiredReplicas?: number };
}

export interface Service {
  metadata: ObjectMeta;
  spec?: { selector?: Labels; type?: string; ports?: ServicePort[] };
}

interface ServicePort {
  name?: string;
  port: number;
  /** A number, or the name of a container port. */
  targetPort?: number | string;
}

interface Endpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  targetRef?: { kind?: string; name?: string; namespace?: string };
}

export interface EndpointSlice {
  metadata: ObjectMeta;
  endpoints?: Endpoint[];
}

export interface Pod {
  metadata: ObjectMeta;
  status?: { phase?: string; conditions?: Condition[] };
}

/** A Kubernetes Event, as promote and abort record it. */
export interface EventRecord {
  reason: string;
  message: string;
  type: "Normal" | "Warning";
  involved: { kind: string; name: string; namespace: string; uid?: string; apiVersion: string; resourceVersion?: string };
}

/** Name of an object, never undefined for objects read from the API server. */
export const nameOf = (o: { metadata: ObjectMeta }): string => o.metadata.name ?? "";
export const namespaceOf = (o: { metadata: ObjectMeta }): string => o.metadata.namespace ?? "";

// Names, namespaces and label values of lowercase letters, digits, '-' and '.' (nearly all of them) sort the same by
// code point as by localeCompare's root collation ('-' < '.' < digits < letters); comparing them directly spares
// the first localeCompare's collator set-up, about 20 ms of every status. Anything else is compared as before.
const PLAIN_NAME = /^[a-z0-9.-]*$/;

/** The plugin's one order of names and label values: localeCompare's, cheaply. */
export function compareNames(a: string, b: string): number {
  if (PLAIN_NAME.test(a) && PLAIN_NAME.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return a.localeCompare(b);
}
