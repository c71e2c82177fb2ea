// The one place that imports @kubernetes/client-node. Loaded only by commands that talk to a
// cluster (see Context.kube), so --help, version and completion scripts start fast.
import {
  ApiException,
  AppsV1Api,
  AuthenticationV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  createConfiguration,
  DiscoveryV1Api,
  KubeConfig,
  type Middleware,
  PatchStrategy,
  ServerConfiguration,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { existsSync } from "node:fs";
import type { Deployment, EndpointSlice, EventRecord, Pod, ReplicaSet, Service } from "../bluegreen/model.js";
import { NotFoundError, UnreachableError } from "../errors.js";
import { toBlueGreenError } from "./errors.js";
import type { KubeClient, KubeOptions, WriteOptions } from "./types.js";

type Trace = (line: string) => void;

/** Loads the kubeconfig the way kubectl does and returns a client for its current (or given) context. */
export function connect(opts: KubeOptions, env: Readonly<Record<string, string | undefined>>, trace?: Trace): KubeClient {
  const kc = new KubeConfig();
  if (opts.kubeconfig) {
    if (!existsSync(opts.kubeconfig)) throw new NotFoundError(`kubeconfig file ${opts.kubeconfig} does not exist.`, "Check --kubeconfig.");
    kc.loadFromFile(opts.kubeconfig);
  } else {
    const files = (env.KUBECONFIG ?? "").split(process.platform === "win32" ? ";" : ":").filter((f) => f && existsSync(f));
    if (env.KUBECONFIG && files.length === 0) {
      throw new NotFoundError(`no kubeconfig file found at KUBECONFIG=${env.KUBECONFIG}.`, "Check the KUBECONFIG variable.");
    }
    kc.loadFromDefault();
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      throw new NotFoundError(`context "${opts.context}" does not exist in the kubeconfig.`, "List contexts with kubectl config get-contexts.");
    }
    kc.setCurrentContext(opts.context);
  }
  const ctx = kc.getContextObject(kc.getCurrentContext());
  const cluster = kc.getCurrentCluster();
  if (!ctx || !cluster || !kc.getCurrentContext()) {
    throw new UnreachableError("no current context in the kubeconfig.", "Set one with kubectl config use-context, or pass --context or --kubeconfig.");
  }
  return new Client(kc, cluster.server, opts, ctx.namespace, ctx.user, trace);
}

class Client implements KubeClient {
  readonly namespace: string;
  readonly contextName: string;
  readonly kubeconfigUser: string;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly discovery: DiscoveryV1Api;
  private readonly authn: AuthenticationV1Api;

  constructor(
    private readonly kc: KubeConfig,
    server: string,
    opts: KubeOptions,
    contextNamespace: string | undefined,
    user: string,
    private readonly trace?: Trace,
  ) {
    this.namespace = opts.namespace || contextNamespace || "default";
    this.contextName = kc.getCurrentContext();
    this.kubeconfigUser = user;
    const middleware: Middleware[] = [];
    const timeoutMs = opts.requestTimeoutMs;
    middleware.push({
      pre: (req) => {
        req.setHeaderParam("User-Agent", "kubectl-bluegreen");
        if (timeoutMs && timeoutMs > 0) req.setSignal(AbortSignal.timeout(timeoutMs));
        // -v: one line per request; never headers, so no token is printed.
        this.trace?.(`${req.getHttpMethod()} ${req.getUrl()}`);
        return Promise.resolve(req);
      },
      post: (res) => {
        this.trace?.(`  -> ${res.httpStatusCode}`);
        return Promise.resolve(res);
      },
    });
    const config = createConfiguration({
      baseServer: new ServerConfiguration(server, {}),
      authMethods: { default: kc },
      promiseMiddleware: middleware,
    });
    this.apps = new AppsV1Api(config);
    this.core = new CoreV1Api(config);
    this.discovery = new DiscoveryV1Api(config);
    this.authn = new AuthenticationV1Api(config);
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toBlueGreenError(e, what, this.kc.getCurrentCluster()?.server ?? "");
    }
  }

  listDeployments(ns: string | undefined, labelSelector?: string): Promise<Deployment[]> {
    return this.call("list deployments", async () => {
      const r = ns
        ? await this.apps.listNamespacedDeployment({ namespace: ns, labelSelector })
        : await this.apps.listDeploymentForAllNamespaces({ labelSelector });
      return r.items as Deployment[];
    });
  }

  listServices(ns: string | undefined): Promise<Service[]> {
    return this.call("list services", async () => {
      const r = ns ? await this.core.listNamespacedService({ namespace: ns }) : await this.core.listServiceForAllNamespaces({});
      return r.items as Service[];
    });
  }

  listPods(ns: string, labelSelector: string): Promise<Pod[]> {
    return this.call("list pods", async () => (await this.core.listNamespacedPod({ namespace: ns, labelSelector })).items as Pod[]);
  }

  listReplicaSets(ns: string, labelSelector?: string): Promise<ReplicaSet[]> {
    return this.call("list replicasets", async () => (await this.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector })).items as ReplicaSet[]);
  }

  listEndpointSlices(ns: string, serviceName: string): Promise<EndpointSlice[]> {
    return this.call(`list endpointslices for service/${serviceName}`, async () => {
      const r = await this.discovery.listNamespacedEndpointSlice({
        namespace: ns,
        labelSelector: `kubernetes.io/service-name=${serviceName}`,
      });
      return r.items as EndpointSlice[];
    });
  }

  listNamespaces(): Promise<string[]> {
    return this.call("list namespaces", async () => (await this.core.listNamespace({})).items.map((n) => n.metadata?.name ?? ""));
  }

  getDeployment(ns: string, name: string): Promise<Deployment> {
    return this.call(`get deployment/${name}`, async () => (await this.apps.readNamespacedDeployment({ namespace: ns, name })) as Deployment);
  }

  getService(ns: string, name: string): Promise<Service> {
    return this.call(`get service/${name}`, async () => (await this.core.readNamespacedService({ namespace: ns, name })) as Service);
  }

  async namespaceExists(ns: string): Promise<boolean | undefined> {
    try {
      await this.core.readNamespace({ name: ns });
      return true;
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return false;
      if (e instanceof ApiException && (e.code === 403 || e.code === 401)) return undefined;
      throw toBlueGreenError(e, `get namespace/${ns}`, "");
    }
  }

  patchService(ns: string, name: string, patch: object, opts: WriteOptions = {}): Promise<Service> {
    return this.call(`patch service/${name}`, async () => {
      const r = await this.core.patchNamespacedService(
        { namespace: ns, name, body: patch, fieldManager: "kubectl-bluegreen", dryRun: opts.dryRun ? "All" : undefined },
        mergePatch(),
      );
      return r as Service;
    });
  }

  scaleDeployment(ns: string, name: string, replicas: number, opts: WriteOptions & { resourceVersion?: string } = {}): Promise<Deployment> {
    // A resourceVersion in a merge patch makes the API server refuse it (409) if the object changed since.
    const body = opts.resourceVersion ? { metadata: { resourceVersion: opts.resourceVersion }, spec: { replicas } } : { spec: { replicas } };
    return this.call(`scale deployment/${name}`, async () => {
      const r = await this.apps.patchNamespacedDeployment(
        {
          namespace: ns,
          name,
          body,
          fieldManager: "kubectl-bluegreen",
          dryRun: opts.dryRun ? "All" : undefined,
        },
        mergePatch(),
      );
      return r as Deployment;
    });
  }

  async createEvent(ns: string, event: EventRecord, now: Date): Promise<void> {
    await this.call(`create event for ${event.involved.kind.toLowerCase()}/${event.involved.name}`, () =>
      this.core.createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { generateName: `${event.involved.name}.bluegreen.`, namespace: ns },
          involvedObject: event.involved,
          reason: event.reason,
          message: event.message,
          type: event.type,
          source: { component: "kubectl-bluegreen" },
          reportingComponent: "kubectl-bluegreen",
          reportingInstance: "kubectl-bluegreen",
          action: event.reason,
          firstTimestamp: now,
          lastTimestamp: now,
          eventTime: undefined,
          count: 1,
        },
      }),
    );
  }

  async whoAmI(): Promise<string> {
    try {
      const r = await this.authn.createSelfSubjectReview({ body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" } });
      return r.status?.userInfo?.username || this.kubeconfigUser;
    } catch {
      // Older servers, or a policy that forbids it: the kubeconfig user name is the honest fallback.
      return this.kubeconfigUser;
    }
  }
}

function mergePatch(): ConfigurationOptions {
  return setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
}

/** Context names of the kubeconfig (for completion). */
export function listContexts(kubeconfig: string | undefined): string[] {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  return kc.getContexts().map((c) => c.name);
}
