// The one place that imports @kubernetes/client-node. Loaded only by commands that talk to a
// cluster (see Context.kube), so --help, version and completion scripts start fast.
// The kubeconfig is read by kubectl's rules (./kubeconfig.ts); client-node authenticates (certificates,
// tokens, exec plugins, auth providers) and sends the requests.
import {
  AppsV1Api,
  AuthenticationV1Api,
  type Cluster,
  type ConfigurationOptions,
  type Context as ClientContext,
  CoreV1Api,
  createConfiguration,
  DiscoveryV1Api,
  KubeConfig,
  type Middleware,
  Observable,
  type ObservableMiddleware,
  PatchStrategy,
  type RequestContext,
  ServerConfiguration,
  setHeaderOptions,
  type User,
} from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import type https from "node:https";
import type { Deployment, EndpointSlice, EventRecord, Pod, ReplicaSet, Service } from "../bluegreen/model.js";
import { ForbiddenError, NotFoundError } from "../errors.js";
import { apiFailure, toBlueGreenError } from "./errors.js";
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
  CredentialError,
  callDeadlineMs,
  DeadlineExceeded,
  networkCode,
  readRetryDelayMs,
  redactUrls,
  splitServerUrl,
} from "./transport.js";
import type { KubeClient, KubeOptions, ProxyAnswer, ProxyTarget, WriteOptions } from "./types.js";

type Trace = (line: string) => void;
type Env = Readonly<Record<string, string | undefined>>;

/** Loads the kubeconfig the way kubectl does and returns a client for its current (or given) context. */
export function connect(opts: KubeOptions, env: Env, trace?: Trace): KubeClient {
  const sel = select(opts, env);
  // Every TLS connection states rejectUnauthorized (PluginKubeConfig), so NODE_TLS_REJECT_UNAUTHORIZED changes
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

const TOKEN_FILE_PROVIDER = "kubectl-bluegreen/token-file";
// client-go's cached file token source: re-read after a minute less its 10s leeway.
const TOKEN_FILE_TTL_MS = 50_000;

/** kubeconfig `tokenFile` (client-node reads only a `token-file` key, once): re-read as client-go does. */
class TokenFileAuth {
  private cached?: { token: string; at: number };

  constructor(
    private readonly file: string,
    /** The user's `token`, used while the file cannot be read. */
    private readonly fallback: string | undefined,
  ) {}

  isAuthProvider(user: User): boolean {
    return (user.authProvider as { name?: string } | undefined)?.name === TOKEN_FILE_PROVIDER;
  }

  async applyAuthentication(_user: User, opts: https.RequestOptions): Promise<void> {
    opts.headers = { ...opts.headers, Authorization: `Bearer ${this.token()}` };
  }

  private token(now = Date.now()): string {
    if (this.cached && now - this.cached.at < TOKEN_FILE_TTL_MS) return this.cached.token;
    try {
      const token = readFileSync(this.file, "utf8").trim();
      if (!token) throw new Error("it is empty");
      this.cached = { token, at: now };
      return token;
    } catch (e) {
      const last = this.cached?.token ?? this.fallback;
      if (last) return last;
      throw new Error(`cannot read tokenFile ${this.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}

/** client-node's KubeConfig with TLS verification decided by the kubeconfig alone, and credential failures named. */
class PluginKubeConfig extends KubeConfig {
  constructor(private readonly userName: string) {
    super();
  }

  override createDispatcherOptions(cluster: Cluster | null, agentOptions: https.AgentOptions) {
    // client-node sets rejectUnauthorized only to turn verification off; left unset, Node.js takes it from
    // NODE_TLS_REJECT_UNAUTHORIZED, which kubectl ignores. Plain http:// (kubectl proxy) has no TLS to verify.
    const plainHttp = cluster?.server.startsWith("http:") ?? false;
    const c = cluster && plainHttp ? { ...cluster, skipTLSVerify: true } : cluster;
    return super.createDispatcherOptions(c, { ...agentOptions, rejectUnauthorized: !c?.skipTLSVerify });
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    try {
      await super.applySecurityAuthentication(context);
    } catch (e) {
      throw new CredentialError(this.userName, e instanceof Error ? e.message : String(e));
    }
  }
}

/** The selection as client-node's KubeConfig; only the chosen context, cluster and user. */
function toKubeConfig(sel: Selection, server: string): PluginKubeConfig {
  const kc = new PluginKubeConfig(sel.userName);
  const c = sel.cluster;
  const cluster: Cluster = {
    name: sel.clusterName || "cluster",
    server,
    caFile: c.certificateAuthority,
    caData: c.certificateAuthorityData,
    skipTLSVerify: c.insecureSkipTlsVerify === true,
    tlsServerName: c.tlsServerName,
    proxyUrl: c.proxyUrl,
  };
  const u = sel.user;
  const userName = sel.userName || "user";
  // kubectl sends credentials only over TLS.
  const secure = !server.startsWith("http:");
  let user: User = { name: userName };
  if (secure) {
    const tokenFile = u.tokenFile && !u.exec && !u.authProvider;
    user = {
      name: userName,
      certFile: u.clientCertificate,
      certData: u.clientCertificateData,
      keyFile: u.clientKey,
      keyData: u.clientKeyData,
      token: tokenFile ? undefined : u.token,
      username: u.username,
      password: u.password,
      impersonateUser: u.as,
      authProvider: tokenFile ? { name: TOKEN_FILE_PROVIDER, config: {} } : u.authProvider,
      exec: u.exec,
    };
    if (tokenFile) kc.addAuthenticator(new TokenFileAuth(u.tokenFile!, u.token));
  }
  const context: ClientContext = { name: sel.contextName || "context", cluster: cluster.name, user: userName, namespace: sel.namespace };
  kc.loadFromOptions({ clusters: [cluster], users: [user], contexts: [context], currentContext: context.name });
  return kc;
}

type Kind = "read" | "write";

class Client implements KubeClient {
  readonly namespace: string;
  readonly contextName: string;
  readonly kubeconfigUser: string;
  private readonly server: string;
  private readonly requestTimeoutMs?: number;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly discovery: DiscoveryV1Api;
  private readonly authn: AuthenticationV1Api;

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
    const kc = toKubeConfig(sel, server);
    const impersonateUid = sel.user.as ? sel.user.asUid : undefined;
    const middleware: Middleware[] = [
      {
        pre: (req) => {
          req.setHeaderParam("User-Agent", "kubectl-bluegreen");
          const headers = req.getHeaders();
          const hasAuth = Object.keys(headers).some((k) => k.toLowerCase() === "authorization");
          if (basic && !hasAuth && !server.startsWith("http:")) {
            req.setHeaderParam("Authorization", `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString("base64")}`);
          }
          if (impersonateUid) req.setHeaderParam("Impersonate-Uid", impersonateUid);
          // -v: one line per request; never headers, so no token is printed.
          trace?.(`${req.getHttpMethod()} ${redactUrls(req.getUrl())}`);
          return Promise.resolve(req);
        },
        post: (res) => {
          trace?.(`  -> ${res.httpStatusCode}`);
          return Promise.resolve(res);
        },
      },
    ];
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

  /**
   * One API call under one deadline (--request-timeout, else DEFAULT_WRITE_TIMEOUT_MS for writes), with
   * reads retried on 429/5xx/connection errors. Writes are never retried here: the caller settles a write
   * whose outcome is unknown (a transient error) by reading the object back.
   */
  private async call<T>(what: string, kind: Kind, fn: (options: ConfigurationOptions<ObservableMiddleware>) => Promise<T>, deadlineMs?: number): Promise<T> {
    const limitMs = deadlineMs ?? callDeadlineMs(kind, this.requestTimeoutMs);
    const deadline = new AbortController();
    const timer = limitMs > 0 ? setTimeout(() => deadline.abort(new DeadlineExceeded(limitMs, this.requestTimeoutMs !== undefined)), limitMs) : undefined;
    const options: ConfigurationOptions<ObservableMiddleware> = {
      // Per-call options hold observable middleware (client-node passes them to its Observable API).
      middleware: [
        {
          pre: (req) => {
            req.setSignal(deadline.signal);
            return new Observable(Promise.resolve(req));
          },
          post: (res) => new Observable(Promise.resolve(res)),
        },
      ],
      middlewareMergeStrategy: "append",
    };
    const started = Date.now();
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn(options);
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

  listDeployments(ns: string | undefined, labelSelector?: string): Promise<Deployment[]> {
    return this.call("list deployments", "read", async (o) => {
      const r = ns
        ? await this.apps.listNamespacedDeployment({ namespace: ns, labelSelector }, o)
        : await this.apps.listDeploymentForAllNamespaces({ labelSelector }, o);
      return r.items as Deployment[];
    });
  }

  listServices(ns: string | undefined): Promise<Service[]> {
    return this.call("list services", "read", async (o) => {
      const r = ns ? await this.core.listNamespacedService({ namespace: ns }, o) : await this.core.listServiceForAllNamespaces({}, o);
      return r.items as Service[];
    });
  }

  listPods(ns: string, labelSelector: string): Promise<Pod[]> {
    return this.call("list pods", "read", async (o) => (await this.core.listNamespacedPod({ namespace: ns, labelSelector }, o)).items as Pod[]);
  }

  listReplicaSets(ns: string | undefined, labelSelector?: string): Promise<ReplicaSet[]> {
    return this.call("list replicasets", "read", async (o) => {
      const r = ns
        ? await this.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector }, o)
        : await this.apps.listReplicaSetForAllNamespaces({ labelSelector }, o);
      return r.items as ReplicaSet[];
    });
  }

  listEndpointSlices(ns: string, serviceName: string): Promise<EndpointSlice[]> {
    return this.call(`list endpointslices for service/${serviceName}`, "read", async (o) => {
      const r = await this.discovery.listNamespacedEndpointSlice({ namespace: ns, labelSelector: `kubernetes.io/service-name=${serviceName}` }, o);
      return r.items as EndpointSlice[];
    });
  }

  listNamespaces(): Promise<string[]> {
    return this.call("list namespaces", "read", async (o) => (await this.core.listNamespace({}, o)).items.map((n) => n.metadata?.name ?? ""));
  }

  getDeployment(ns: string, name: string): Promise<Deployment> {
    return this.call(`get deployment/${name}`, "read", async (o) => (await this.apps.readNamespacedDeployment({ namespace: ns, name }, o)) as Deployment);
  }

  getService(ns: string, name: string): Promise<Service> {
    return this.call(`get service/${name}`, "read", async (o) => (await this.core.readNamespacedService({ namespace: ns, name }, o)) as Service);
  }

  async namespaceExists(ns: string): Promise<boolean | undefined> {
    try {
      await this.call(`get namespace/${ns}`, "read", (o) => this.core.readNamespace({ name: ns }, o));
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      if (e instanceof ForbiddenError) return undefined;
      throw e;
    }
  }

  patchService(ns: string, name: string, patch: object, opts: WriteOptions = {}): Promise<Service> {
    return this.call(`patch service/${name}`, "write", async (o) => {
      const r = await this.core.patchNamespacedService(
        { namespace: ns, name, body: patch, fieldManager: "kubectl-bluegreen", dryRun: opts.dryRun ? "All" : undefined },
        mergePatch(o),
      );
      return r as Service;
    });
  }

  patchDeployment(ns: string, name: string, patch: object, opts: WriteOptions = {}): Promise<Deployment> {
    return this.call(`patch deployment/${name}`, "write", async (o) => {
      const r = await this.apps.patchNamespacedDeployment(
        { namespace: ns, name, body: patch, fieldManager: "kubectl-bluegreen", dryRun: opts.dryRun ? "All" : undefined },
        mergePatch(o),
      );
      return r as Deployment;
    });
  }

  proxyGet(ns: string, target: ProxyTarget, timeoutMs: number): Promise<ProxyAnswer> {
    const name = target.port ? `${target.name}:${target.port}` : target.name;
    // One attempt (a "write" is never retried), bounded by the probe's own timeout. An HTTP status, the pod's or
    // the API server's, is an answer; only a failure to get one is an error.
    return this.call(
      `get ${target.kind}s/${name}/proxy${target.path}`,
      "write",
      async (o) => {
        try {
          const r =
            target.kind === "pod"
              ? await this.core.connectGetNamespacedPodProxyWithHttpInfo({ namespace: ns, name, path: target.path }, o)
              : await this.core.connectGetNamespacedServiceProxyWithHttpInfo({ namespace: ns, name, path: target.path }, o);
          return { status: r.httpStatusCode, message: firstLine(typeof r.data === "string" ? r.data : "") };
        } catch (e) {
          const api = apiFailure(e);
          if (api) return { status: api.code, message: firstLine(api.message) };
          throw e;
        }
      },
      timeoutMs,
    );
  }

  scaleDeployment(ns: string, name: string, replicas: number, opts: WriteOptions & { resourceVersion?: string } = {}): Promise<Deployment> {
    // A resourceVersion in a merge patch makes the API server refuse it (409) if the object changed since.
    const body = opts.resourceVersion ? { metadata: { resourceVersion: opts.resourceVersion }, spec: { replicas } } : { spec: { replicas } };
    return this.call(`scale deployment/${name}`, "write", async (o) => {
      const r = await this.apps.patchNamespacedDeployment(
        { namespace: ns, name, body, fieldManager: "kubectl-bluegreen", dryRun: opts.dryRun ? "All" : undefined },
        mergePatch(o),
      );
      return r as Deployment;
    });
  }

  async createEvent(ns: string, event: EventRecord, now: Date): Promise<void> {
    await this.call(`create event for ${event.involved.kind.toLowerCase()}/${event.involved.name}`, "write", (o) =>
      this.core.createNamespacedEvent(
        {
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
        },
        o,
      ),
    );
  }

  async whoAmI(): Promise<string> {
    try {
      // A POST that stores nothing: bounded and retried like a read.
      const r = await this.call("create selfsubjectreview", "read", (o) =>
        this.authn.createSelfSubjectReview({ body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" } }, o),
      );
      return r.status?.userInfo?.username || this.kubeconfigUser;
    } catch {
      // Older servers, or a policy that forbids it: the kubeconfig user name is the honest fallback.
      return this.kubeconfigUser;
    }
  }
}

const firstLine = (text: string): string => text.trim().split("\n")[0]?.slice(0, 200) ?? "";

function mergePatch(o: ConfigurationOptions<ObservableMiddleware>): ConfigurationOptions<ObservableMiddleware> {
  return setHeaderOptions("Content-Type", PatchStrategy.MergePatch, o);
}

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
