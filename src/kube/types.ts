import type { Autoscaler, Deployment, EndpointSlice, EventRecord, Pod, ReplicaSet, Service } from "../bluegreen/model.js";
import type { RouterObject, RouterResource } from "../bluegreen/routers/types.js";

/** kubectl-style connection flags. */
export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
  /** --cluster: the kubeconfig cluster to use instead of the context's. */
  cluster?: string;
  /** --user: the kubeconfig user to use instead of the context's. */
  user?: string;
  namespace?: string;
  requestTimeoutMs?: number;
}

export interface WriteOptions {
  /** Server-side dry run: the API server validates and admits, and persists nothing. */
  dryRun?: boolean;
}

/** A GET through the API server's proxy to a pod or a Service: `pods/NAME[:PORT]/proxy/PATH`. */
export interface ProxyTarget {
  kind: "pod" | "service";
  name: string;
  /** Pod: a container port number or name; Service: a Service port number or name. None: the server picks. */
  port?: string;
  path: string;
  /** Query parameters. */
  query?: Record<string, string>;
}

/** What answered: the HTTP status (from the pod, or from the API server when it could not proxy) and a line of the body. */
export interface ProxyAnswer {
  status: number;
  message: string;
  /** The whole body, as text. */
  body?: string;
}

/** A verb on a resource, as SelfSubjectAccessReview and RBAC name it. */
export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
}

/** A collection to list and watch: a resource in a namespace (all namespaces when none), with a label selector. */
export interface Collection {
  resource: "deployments" | "services" | "replicasets" | "endpointslices" | RouterResource;
  namespace?: string;
  labelSelector?: string;
  /** metadata.name=NAME: one object. */
  fieldSelector?: string;
}

/** A list and the resourceVersion it was read at (to watch from). */
export interface Listed<T> {
  items: T[];
  resourceVersion: string;
}

/** One change seen by a watch (BOOKMARKs only move the resourceVersion on). */
export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";
  object: T;
}

/** The plugin's whole conversation with the API server. */
export interface KubeClient {
  /** The namespace from -n, else the context's, else "default". */
  readonly namespace: string;
  /** The kubeconfig context in use (as `kubectl config current-context` names it). */
  readonly contextName: string;
  /** The kubeconfig user name of the current context. */
  readonly kubeconfigUser: string;
  /** All namespaces when ns is undefined. */
  listDeployments(ns: string | undefined, labelSelector?: string): Promise<Deployment[]>;
  listServices(ns: string | undefined): Promise<Service[]>;
  listPods(ns: string, labelSelector: string): Promise<Pod[]>;
  /** All namespaces when ns is undefined. */
  listReplicaSets(ns: string | undefined, labelSelector?: string): Promise<ReplicaSet[]>;
  /** HorizontalPodAutoscalers (autoscaling/v2) of a namespace, or of every namespace. */
  listAutoscalers(ns: string | undefined): Promise<Autoscaler[]>;
  listEndpointSlices(ns: string, serviceName: string): Promise<Listed<EndpointSlice>>;
  /** A list read in pages (limit/continue) at one resourceVersion, retried like any read. */
  listAt<T>(what: Collection): Promise<Listed<T>>;
  /**
   * Watches from resourceVersion until the server ends the watch ("ended": watch again from the last
   * resourceVersion seen), the resourceVersion is too old ("expired": list again) or signal aborts ("ended").
   * Calls onEvent for each change; a failure to watch is thrown like any failed read.
   */
  watch<T>(what: Collection, resourceVersion: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<"ended" | "expired">;
  /**
   * Resolves at the first change to the collection after resourceVersion, or after maxMs, or when signal
   * aborts, or (after maxMs at most) when the watch fails: a wait for a signal that never throws.
   */
  changed(what: Collection, resourceVersion: string, maxMs: number, signal: AbortSignal): Promise<void>;
  listNamespaces(): Promise<string[]>;
  getDeployment(ns: string, name: string): Promise<Deployment>;
  getService(ns: string, name: string): Promise<Service>;
  /** true / false, or undefined when we may not ask. */
  namespaceExists(ns: string): Promise<boolean | undefined>;
  /** JSON merge patch; a metadata.resourceVersion in the patch makes it conditional. Never retried. */
  patchService(ns: string, name: string, patch: object, opts?: WriteOptions): Promise<Service>;
  /** Sets spec.replicas; with resourceVersion the write fails (409) if the Deployment changed since. Never retried. */
  scaleDeployment(ns: string, name: string, replicas: number, opts?: WriteOptions & { resourceVersion?: string }): Promise<Deployment>;
  /** JSON merge patch of a Deployment; a metadata.resourceVersion in the patch makes it conditional. Never retried. */
  patchDeployment(ns: string, name: string, patch: object, opts?: WriteOptions): Promise<Deployment>;
  /** A router of any kind (a Service, an HTTPRoute, an Ingress, …). */
  getRouter(ns: string, r: RouterResource, name: string): Promise<RouterObject>;
  /** JSON merge patch of a router; a metadata.resourceVersion in the patch makes it conditional. Never retried. */
  patchRouter(ns: string, r: RouterResource, name: string, patch: object, opts?: WriteOptions): Promise<RouterObject>;
  /**
   * The routers of a kind in a namespace (every namespace when undefined). None when the API server does not serve
   * the kind (its CRDs are not installed).
   */
  listRouters(ns: string | undefined, r: RouterResource): Promise<RouterObject[]>;
  /** One GET through the API server's proxy, within timeoutMs; any HTTP status is an answer, not an error. */
  proxyGet(ns: string, target: ProxyTarget, timeoutMs: number): Promise<ProxyAnswer>;
  createEvent(ns: string, event: EventRecord, now: Date): Promise<void>;
  /** The authenticated user: SelfSubjectReview where allowed, else the kubeconfig user. */
  whoAmI(): Promise<string>;
  /** Whether the user may do it (SelfSubjectAccessReview): true / false, or undefined when the server would not say. */
  canI(ns: string, a: ResourceAttributes): Promise<boolean | undefined>;
}
