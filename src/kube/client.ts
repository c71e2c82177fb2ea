// The plugin's conversation with the API server (KubeClient): plain JSON over Node's http/https (./http.ts),
// authenticated as the kubeconfig says (./auth.ts, which takes client-node's exec plugin runner, and its whole
// KubeConfig only for auth-providers and proxy-url). The kubeconfig is read by kubectl's rules (./kubeconfig.ts).
import type { Autoscaler, Deployment, EndpointSlice, EventRecord, Pod, ReplicaSet, Service } from "../bluegreen/model.js";
import type { Agent } from "node:http";
import { ForbiddenError, NotFoundError, UnreachableError } from "../errors.js";
import type { RouterObject, RouterResource } from "../bluegreen/routers/types.js";
import { type Credentials, credentials } from "./auth.js";
import { apiFailure, toBlueGreenError } from "./errors.js";
import { body, type HttpAnswer, HttpError, json, send, stream } from "./http.js";
import {
  EmptyConfig,
  inClusterPossible,
  inClusterSelection,
  kubeconfigSources,
  loadKubeconfig,
  noKubeconfigError,
  type Selection,
  selectContext,
} from "./kubeconfig.js";
import {
  callDeadlineMs,
  DeadlineExceeded,
  networkCode,
  readRetryDelayMs,
  redactUrls,
  splitServerUrl,
} from "./transport.js";
import type { Collection, KubeClient, KubeOptions, Listed, ProxyAnswer, ProxyTarget, ResourceAttributes, WatchEvent, WriteOptions } from "./types.js";

type Trace = (line: string) => void;
type Env = Readonly<Record<string, string | undefined>>;

/** Loads the kubeconfig the way kubectl does and returns a client for its current (or given) context. */
export function connect(opts: KubeOptions, env: Env, trace?: Trace): KubeClient {
  const sel = select(opts, env);
  // Every TLS connection states rejectUnauthorized (./auth.ts), so NODE_TLS_REJECT_UNAUTHORIZED changes
  // nothing here (main.ts takes it out of the process's environment); exec credential plugins get it back in
  // theirs, as kubectl passes its own environment on.
  const tlsVar = env.NODE_TLS_REJECT_UNAUTHORIZED;
  if (tlsVar !== undefined && sel.user.exec) {
    sel.user.exec = { ...sel.user.exec, env: [{ name: "NODE_TLS_REJECT_UNAUTHORIZED", value: tlsVar }, ...(sel.user.exec.env ?? [])] };
  }
  return new Client(sel, opts, trace);
}

/** The context, cluster and user a command uses: kubeconfig files, else the pod's ServiceAccount. */
export function select(opts: KubeOptions, env: Env): Selection {
  const sources = kubeconfigSources(opts.kubeconfig, env);
  const { config, loaded } = loadKubeconfig(sources);
  try {
    return selectContext(config, opts);
  } catch (e) {
    if (!(e instanceof EmptyConfig)) throw e;
    // client-go: with no usable kubeconfig, a pod's ServiceAccount; else (unlike kubectl's localhost:8080) an error.
    if (inClusterPossible(env)) return inClusterSelection(env, opts.namespace);
    throw noKubeconfigError(sources, loaded);
  }
}

type Kind = "read" | "write";

type Query = Record<string, string | undefined>;

interface Call {
  method: "GET" | "POST" | "PATCH";
  path: string;
  query?: Query;
  /** JSON body; a merge patch for PATCH. */
  body?: object;
}

const seg = encodeURIComponent;
/** kubectl apply's copy of the whole object, in an annotation: dropped from listed objects. */
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
/** Objects per page of a list (kubectl's --chunk-size default). */
const LIST_PAGE = 500;
/** How long the server keeps one watch open before the plugin watches again (from the last resourceVersion). */
const WATCH_SECONDS = 300;
const apps = (ns: string | undefined, resource: string) => (ns ? `/apis/apps/v1/namespaces/${seg(ns)}/${resource}` : `/apis/apps/v1/${resource}`);
const core = (ns: string | undefined, resource: string) => (ns ? `/api/v1/namespaces/${seg(ns)}/${resource}` : `/api/v1/${resource}`);
/** The path of a resource of any group: /api/v1/… for the core group, /apis/GROUP/VERSION/… otherwise. */
const resourcePath = (r: RouterResource, ns: string | undefined, rest = "") => {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return `${base}${ns ? `/namespaces/${seg(ns)}` : ""}/${r.plural}${rest ? `/${rest}` : ""}`;
};
/** "endpointslices", "httproutes": a collection's resource, for messages. */
const collectionName = (c: Collection) => (typeof c.resource === "object" ? c.resource.plural : c.resource);
/** "httproute/web": how kubectl names an object of a resource. */
const singular = (r: RouterResource) => r.kind.toLowerCase();

class Client implements KubeClient {
  readonly namespace: string;
  readonly contextName: string;
  readonly kubeconfigUser: string;
  private readonly server: string;
  private readonly requestTimeoutMs?: number;
  private readonly credentials: Credentials;

  constructor(
    sel: Selection,
    opts: KubeOptions,
    private readonly trace?: Trace,
  ) {
    this.namespace = sel.namespace;
    this.contextName = sel.contextName;
    this.kubeconfigUser = sel.userName;
    this.requestTimeoutMs = opts.requestTimeoutMs;
    // user:password@ in the server URL: never printed; sent as basic auth when nothing else authenticates (as Go's HTTP client).
    const { server, basic } = splitServerUrl(sel.cluster.server.replace(/\/$/, ""));
    this.server = server;
    this.credentials = credentials(sel, server, basic);
  }

  /** The URL, agent and headers of a request. */
  private async prepare(c: Call): Promise<{ url: URL; agent: Agent; headers: Record<string, string> }> {
    const url = new URL(this.server + c.path);
    for (const [k, v] of Object.entries(c.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const { agent, headers } = await this.credentials.prepare();
    if (c.body !== undefined) headers["Content-Type"] = c.method === "PATCH" ? "application/merge-patch+json" : "application/json";
    // -v: one line per request; never headers, so no token is printed.
    this.trace?.(`${c.method} ${redactUrls(url.href)}`);
    return { url, agent, headers };
  }

  /** One request, one attempt: the answer whatever its status, or a network error, or the signal's reason. */
  private async send(c: Call, signal: AbortSignal): Promise<HttpAnswer> {
    const { url, agent, headers } = await this.prepare(c);
    const answer = await send({ method: c.method, url, headers, agent, body: c.body === undefined ? undefined : JSON.stringify(c.body), signal });
    this.trace?.(`  -> ${answer.status}`);
    return answer;
  }

  /**
   * One API call under one deadline (--request-timeout, else DEFAULT_WRITE_TIMEOUT_MS for writes), with
   * reads retried on 429/5xx/connection errors. Writes are never retried here: the caller settles a write
   * whose outcome is unknown (a transient error) by reading the object back.
   */
  private async call<T>(what: string, kind: Kind, fn: (signal: AbortSignal) => Promise<T>, deadlineMs?: number): Promise<T> {
    const limitMs = deadlineMs ?? callDeadlineMs(kind, this.requestTimeoutMs);
    const deadline = new AbortController();
    const timer = limitMs > 0 ? setTimeout(() => deadline.abort(new DeadlineExceeded(limitMs, this.requestTimeoutMs !== undefined)), limitMs) : undefined;
    const started = Date.now();
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn(deadline.signal);
        } catch (e) {
          const err = toBlueGreenError(e, what, this.server);
          if (kind === "write" || deadline.signal.aborted) throw err;
          const api = apiFailure(e);
          const delay = readRetryDelayMs({ status: api?.code, networkCode: networkCode(e), retryAfterMs: api?.retryAfterMs }, attempt, Date.now() - started);
          if (delay === undefined || (limitMs > 0 && Date.now() - started + delay >= limitMs)) throw err;
          this.trace?.(`  retrying in ${delay}ms: ${err.message}`);
          await sleep(delay, deadline.signal);
          if (deadline.signal.aborted) throw toBlueGreenError(deadline.signal.reason, what, this.server);
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** A call whose 2xx answer is JSON. */
  private request<T>(what: string, kind: Kind, c: Call): Promise<T> {
    return this.call(what, kind, async (signal) => json<T>(await this.send(c, signal)));
  }

  private async list<T>(what: string, path: string, query: Query = {}): Promise<T[]> {
    return (await this.pages<T>(what, path, query)).items;
  }

  /**
   * A list in pages of LIST_PAGE (as kubectl's --chunk-size), all at the first page's resourceVersion; each page
   * a read of its own (retried alone). A continue token that expires mid-way (410) starts the list again.
   */
  private async pages<T>(what: string, path: string, query: Query): Promise<Listed<T>> {
    for (let round = 1; ; round++) {
      const items: T[] = [];
      let resourceVersion = "";
      let cont: string | undefined;
      let expired = false;
      do {
        const token = cont;
        const page = await this.call(what, "read", async (signal) => {
          const a = await this.send({ method: "GET", path, query: { ...query, limit: String(LIST_PAGE), continue: token } }, signal);
          if (a.status === 410 && token !== undefined) return undefined;
          return json<{ metadata?: { resourceVersion?: string; continue?: string }; items?: T[] }>(a);
        });
        if (!page) {
          expired = true;
          break;
        }
        for (const item of page.items ?? []) {
          // Never read, and often the largest parts of an object (kubectl apply's copy of the whole object): not kept.
          // The plugin writes by patches only, so what it does not keep it cannot remove from the server.
          const m = (item as { metadata?: { managedFields?: unknown; annotations?: Record<string, string> } }).metadata;
          if (m) {
            delete m.managedFields;
            if (m.annotations) delete m.annotations[LAST_APPLIED];
          }
          items.push(item);
        }
        resourceVersion ||= page.metadata?.resourceVersion ?? "";
        cont = page.metadata?.continue || undefined;
      } while (cont);
      if (!expired) return { items, resourceVersion };
      if (round >= 3) throw transientError(`${what}: the list changed faster than it could be read in pages (its continue token expired 3 times).`);
    }
  }

  private collectionPath(c: Collection): string {
    if (typeof c.resource === "object") return resourcePath(c.resource, c.namespace);
    if (c.resource === "endpointslices") return c.namespace ? `/apis/discovery.k8s.io/v1/namespaces/${seg(c.namespace)}/endpointslices` : "/apis/discovery.k8s.io/v1/endpointslices";
    return c.resource === "services" ? core(c.namespace, c.resource) : apps(c.namespace, c.resource);
  }

  listAt<T>(c: Collection): Promise<Listed<T>> {
    return this.pages<T>(`list ${collectionName(c)}`, this.collectionPath(c), { labelSelector: c.labelSelector, fieldSelector: c.fieldSelector });
  }

  async watch<T>(c: Collection, resourceVersion: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<"ended" | "expired"> {
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    let expired = false;
    try {
      const query = { labelSelector: c.labelSelector, fieldSelector: c.fieldSelector, watch: "1", resourceVersion, allowWatchBookmarks: "true", timeoutSeconds: String(WATCH_SECONDS) };
      const { url, agent, headers } = await this.prepare({ method: "GET", path: this.collectionPath(c), query });
      await stream({ method: "GET", url, agent, headers, signal: stop.signal }, (line) => {
        const e = line as { type?: string; object?: { code?: number } };
        if (e.type === "ERROR") {
          // A Status: 410 Gone when resourceVersion is older than the server keeps.
          if (e.object?.code === 410) expired = true;
          throw new HttpError(e.object?.code ?? 500, e.object, {});
        }
        if (e.type === "ADDED" || e.type === "MODIFIED" || e.type === "DELETED" || e.type === "BOOKMARK") onEvent(e as WatchEvent<T>);
      });
      return expired ? "expired" : "ended";
    } catch (e) {
      if (expired || (e instanceof HttpError && e.code === 410)) return "expired";
      if (signal.aborted || stop.signal.aborted) return "ended";
      this.trace?.(`  watch ${collectionName(c)} ended: ${e instanceof Error ? e.message : String(e)}`);
      throw toBlueGreenError(e, `watch ${collectionName(c)}`, this.server);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  async changed(c: Collection, resourceVersion: string, maxMs: number, signal: AbortSignal): Promise<void> {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => stop.abort(), maxMs);
    try {
      await this.watch(c, resourceVersion, (e) => e.type !== "BOOKMARK" && stop.abort(), stop.signal);
    } catch {
      // No watch (refused, broken): the caller reads again after maxMs, as it would without one.
      await sleep(maxMs, stop.signal);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  private patch<T>(what: string, path: string, body: object, opts: WriteOptions): Promise<T> {
    return this.request<T>(what, "write", { method: "PATCH", path, body, query: { fieldManager: "kubectl-bluegreen", dryRun: opts.dryRun ? "All" : undefined } });
  }

  listDeployments(ns: string | undefined, labelSelector?: string): Promise<Deployment[]> {
    return this.list("list deployments", apps(ns, "deployments"), { labelSelector });
  }

  listServices(ns: string | undefined): Promise<Service[]> {
    return this.list("list services", core(ns, "services"));
  }

  listPods(ns: string, labelSelector: string): Promise<Pod[]> {
    return this.list("list pods", core(ns, "pods"), { labelSelector });
  }

  listReplicaSets(ns: string | undefined, labelSelector?: string): Promise<ReplicaSet[]> {
    return this.list("list replicasets", apps(ns, "replicasets"), { labelSelector });
  }

  listAutoscalers(ns: string | undefined): Promise<Autoscaler[]> {
    return this.list("list horizontalpodautoscalers", ns ? `/apis/autoscaling/v2/namespaces/${seg(ns)}/horizontalpodautoscalers` : "/apis/autoscaling/v2/horizontalpodautoscalers");
  }

  listEndpointSlices(ns: string, serviceName: string): Promise<Listed<EndpointSlice>> {
    return this.pages(`list endpointslices for service/${serviceName}`, `/apis/discovery.k8s.io/v1/namespaces/${seg(ns)}/endpointslices`, {
      labelSelector: `kubernetes.io/service-name=${serviceName}`,
    });
  }

  async listNamespaces(): Promise<string[]> {
    return (await this.list<{ metadata?: { name?: string } }>("list namespaces", "/api/v1/namespaces")).map((n) => n.metadata?.name ?? "");
  }

  getDeployment(ns: string, name: string): Promise<Deployment> {
    return this.request(`get deployment/${name}`, "read", { method: "GET", path: apps(ns, `deployments/${seg(name)}`) });
  }

  getService(ns: string, name: string): Promise<Service> {
    return this.request(`get service/${name}`, "read", { method: "GET", path: core(ns, `services/${seg(name)}`) });
  }

  async namespaceExists(ns: string): Promise<boolean | undefined> {
    try {
      await this.request(`get namespace/${ns}`, "read", { method: "GET", path: `/api/v1/namespaces/${seg(ns)}` });
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      if (e instanceof ForbiddenError) return undefined;
      throw e;
    }
  }

  patchService(ns: string, name: string, patch: object, opts: WriteOptions = {}): Promise<Service> {
    return this.patch(`patch service/${name}`, core(ns, `services/${seg(name)}`), patch, opts);
  }

  patchDeployment(ns: string, name: string, patch: object, opts: WriteOptions = {}): Promise<Deployment> {
    return this.patch(`patch deployment/${name}`, apps(ns, `deployments/${seg(name)}`), patch, opts);
  }

  getRouter(ns: string, r: RouterResource, name: string): Promise<RouterObject> {
    return this.request(`get ${singular(r)}/${name}`, "read", { method: "GET", path: resourcePath(r, ns, seg(name)) });
  }

  patchRouter(ns: string, r: RouterResource, name: string, patch: object, opts: WriteOptions = {}): Promise<RouterObject> {
    return this.patch(`patch ${singular(r)}/${name}`, resourcePath(r, ns, seg(name)), patch, opts);
  }

  async listRouters(ns: string | undefined, r: RouterResource): Promise<RouterObject[]> {
    try {
      return await this.list(`list ${r.plural}`, resourcePath(r, ns));
    } catch (e) {
      // The kind is not served here (no Gateway API CRDs): there are none.
      if (e instanceof NotFoundError) return [];
      throw e;
    }
  }

  proxyGet(ns: string, target: ProxyTarget, timeoutMs: number): Promise<ProxyAnswer> {
    const name = target.port ? `${target.name}:${target.port}` : target.name;
    // One attempt (a "write" is never retried), bounded by the probe's own timeout. An HTTP status, the pod's or
    // the API server's, is an answer; only a failure to get one is an error.
    return this.call(
      `get ${target.kind}s/${name}/proxy${target.path}`,
      "write",
      async (signal) => {
        // The path after proxy/, as kubectl get --raw sends it (the `path` query parameter only earns a redirect).
        const path = core(ns, `${target.kind}s/${seg(name)}/proxy${encodeURI(target.path.startsWith("/") ? target.path : `/${target.path}`)}`);
        const a = await this.send({ method: "GET", path, query: target.query }, signal);
        if (a.status >= 200 && a.status <= 299) return { status: a.status, message: firstLine(a.text), body: a.text };
        const api = apiFailure(new HttpError(a.status, body(a), a.headers));
        return { status: a.status, message: firstLine(api?.message ?? a.text), body: a.text };
      },
      timeoutMs,
    );
  }

  scaleDeployment(ns: string, name: string, replicas: number, opts: WriteOptions & { resourceVersion?: string } = {}): Promise<Deployment> {
    // A resourceVersion in a merge patch makes the API server refuse it (409) if the object changed since.
    const body = opts.resourceVersion ? { metadata: { resourceVersion: opts.resourceVersion }, spec: { replicas } } : { spec: { replicas } };
    return this.patch(`scale deployment/${name}`, apps(ns, `deployments/${seg(name)}`), body, opts);
  }

  async createEvent(ns: string, event: EventRecord, now: Date): Promise<void> {
    const at = now.toISOString();
    await this.request(`create event for ${event.involved.kind.toLowerCase()}/${event.involved.name}`, "write", {
      method: "POST",
      path: core(ns, "events"),
      body: {
        apiVersion: "v1",
        kind: "Event",
        metadata: { generateName: `${event.involved.name}.bluegreen.`, namespace: ns },
        involvedObject: event.involved,
        reason: event.reason,
        message: event.message,
        type: event.type,
        source: { component: "kubectl-bluegreen" },
        reportingComponent: "kubectl-bluegreen",
        reportingInstance: "kubectl-bluegreen",
        action: event.reason,
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      },
    });
  }

  async canI(ns: string, a: ResourceAttributes): Promise<boolean | undefined> {
    try {
      // A POST that stores nothing: bounded and retried like a read.
      const r = await this.request<{ status?: { allowed?: boolean } }>(`create selfsubjectaccessreview for ${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ""}`, "read", {
        method: "POST",
        path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes: { namespace: ns, verb: a.verb, group: a.group, resource: a.resource, ...(a.subresource ? { subresource: a.subresource } : {}) } },
        },
      });
      return r.status?.allowed === true;
    } catch (e) {
      // A policy that forbids asking, or an API server without the API: the write itself will tell.
      if (e instanceof ForbiddenError || e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  async whoAmI(): Promise<string> {
    try {
      // A POST that stores nothing: bounded and retried like a read.
      const r = await this.request<{ status?: { userInfo?: { username?: string } } }>("create selfsubjectreview", "read", {
        method: "POST",
        path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
      });
      return r.status?.userInfo?.username || this.kubeconfigUser;
    } catch {
      // Older servers, or a policy that forbids it: the kubeconfig user name is the honest fallback.
      return this.kubeconfigUser;
    }
  }
}

function transientError(message: string): UnreachableError {
  const e = new UnreachableError(message);
  e.transient = true;
  return e;
}

const firstLine = (text: string): string => text.trim().split("\n")[0]?.slice(0, 200) ?? "";

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Context names of the kubeconfig, by kubectl's rules (for completion); none when it cannot be read. */
export function listContexts(kubeconfig: string | undefined, env: Env): string[] {
  try {
    return [...loadKubeconfig(kubeconfigSources(kubeconfig, env)).config.contexts.keys()];
  } catch {
    return [];
  }
}
