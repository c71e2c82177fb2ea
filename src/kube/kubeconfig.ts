// kubectl's kubeconfig rules (client-go tools/clientcmd: loader.go, client_config.go, validation.go),
// without client-node: which files, how they merge, which context/cluster/user a command uses.
// client-node's own loader differs (duplicate names across files are an error, missing files in
// KUBECONFIG throw, tokenFile is ignored, relative paths only partly resolved), so we only hand it
// the result.
import { closeSync, existsSync, openSync, readFileSync, statSync } from "node:fs";
import { platform as osPlatform } from "node:os";
import path from "node:path";
import { load, YAML11_SCHEMA } from "js-yaml";
import { NotFoundError, UsageError } from "../errors.js";

/** A cluster stanza, relative paths already resolved against its file. */
interface KubeconfigCluster {
  server?: string;
  certificateAuthority?: string;
  certificateAuthorityData?: string;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
  proxyUrl?: string;
}

/** An exec credential plugin, as the kubeconfig states it. */
interface KubeconfigExec {
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  apiVersion?: string;
  [key: string]: unknown;
}

/** A user (AuthInfo) stanza, relative paths already resolved against its file. */
interface KubeconfigUser {
  clientCertificate?: string;
  clientCertificateData?: string;
  clientKey?: string;
  clientKeyData?: string;
  token?: string;
  tokenFile?: string;
  as?: string;
  asUid?: string;
  asGroups?: string[];
  asUserExtra?: Record<string, string[]>;
  username?: string;
  password?: string;
  authProvider?: { name: string; config?: Record<string, string> };
  exec?: KubeconfigExec;
}

interface KubeconfigContext {
  cluster?: string;
  user?: string;
  namespace?: string;
}

/** One kubeconfig file, or several merged. Maps keep file order. */
interface Kubeconfig {
  clusters: Map<string, KubeconfigCluster>;
  users: Map<string, KubeconfigUser>;
  contexts: Map<string, KubeconfigContext>;
  currentContext?: string;
}

/** The files to read: --kubeconfig alone, else the KUBECONFIG list, else ~/.kube/config. */
interface KubeconfigSources {
  files: string[];
  /** --kubeconfig: the file must exist. */
  explicit: boolean;
  /** Where the list came from, for messages. */
  origin: "--kubeconfig" | "KUBECONFIG" | "default";
}

type Env = Readonly<Record<string, string | undefined>>;

/** Which kubeconfig files kubectl reads, in precedence order (client-go NewDefaultClientConfigLoadingRules). */
export function kubeconfigSources(kubeconfig: string | undefined, env: Env, platform: NodeJS.Platform = osPlatform()): KubeconfigSources {
  if (kubeconfig) return { files: [kubeconfig], explicit: true, origin: "--kubeconfig" };
  const list = env.KUBECONFIG;
  if (list) {
    // filepath.SplitList, then the same path only once; empty entries are skipped when reading.
    const files = [...new Set(list.split(platform === "win32" ? ";" : ":"))].filter((f) => f !== "");
    return { files, explicit: false, origin: "KUBECONFIG" };
  }
  const home = homeDir(env, platform);
  return { files: home ? [path.join(home, ".kube", "config")] : [], explicit: false, origin: "default" };
}

// client-go util/homedir.HomeDir: $HOME on POSIX; on Windows the first of HOME, HOMEDRIVE+HOMEPATH,
// USERPROFILE that holds .kube\config, else the first one set.
function homeDir(env: Env, platform: NodeJS.Platform): string | undefined {
  if (platform !== "win32") return env.HOME || undefined;
  const drive = env.HOMEDRIVE && env.HOMEPATH ? path.join(env.HOMEDRIVE, env.HOMEPATH) : undefined;
  const candidates = [env.HOME, drive, env.USERPROFILE].filter((d): d is string => Boolean(d));
  return candidates.find((d) => existsSync(path.join(d, ".kube", "config"))) ?? [env.HOME, env.USERPROFILE, drive].find(Boolean);
}

/** The files read and the merged result; `missing` lists the files of the list that do not exist. */
interface LoadedKubeconfig {
  config: Kubeconfig;
  loaded: string[];
  missing: string[];
}

/**
 * Reads and merges the files like client-go's ClientConfigLoadingRules.Load: missing files are skipped
 * (except --kubeconfig), the first file to define a cluster, user or context name wins it whole, and
 * current-context comes from the first file that sets one. Duplicate names across files are fine.
 */
export function loadKubeconfig(sources: KubeconfigSources): LoadedKubeconfig {
  const [explicit] = sources.explicit ? sources.files : [];
  if (explicit !== undefined && !existsSync(explicit)) {
    throw new NotFoundError(`kubeconfig file ${explicit} does not exist.`, "Check --kubeconfig.");
  }
  const configs: Kubeconfig[] = [];
  const loaded: string[] = [];
  const missing: string[] = [];
  for (const file of sources.files) {
    const text = readKubeconfigText(file);
    if (text === undefined) {
      missing.push(file);
      continue;
    }
    configs.push(parseKubeconfig(text, file));
    loaded.push(file);
  }
  return { config: mergeKubeconfigs(configs), loaded, missing };
}

function readKubeconfigText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new UsageError(`cannot read kubeconfig file ${file}: ${code ?? (e as Error).message}.`, "Fix the file, or point --kubeconfig or KUBECONFIG at another.");
  }
}

/** First wins for every name and for current-context (client-go merges maps forward, values backward). */
function mergeKubeconfigs(configs: Kubeconfig[]): Kubeconfig {
  const out: Kubeconfig = { clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const c of configs) {
    for (const [k, v] of c.clusters) if (!out.clusters.has(k)) out.clusters.set(k, v);
    for (const [k, v] of c.users) if (!out.users.has(k)) out.users.set(k, v);
    for (const [k, v] of c.contexts) if (!out.contexts.has(k)) out.contexts.set(k, v);
    if (!out.currentContext && c.currentContext) out.currentContext = c.currentContext;
  }
  return out;
}

class Invalid extends Error {}

/** Parses one kubeconfig file (YAML or JSON); relative file paths inside resolve against its directory. */
function parseKubeconfig(text: string, file: string): Kubeconfig {
  const base = path.dirname(path.resolve(file));
  try {
    const config: Kubeconfig = { clusters: new Map(), users: new Map(), contexts: new Map() };
    // An empty file (or only comments) is an empty config, as in client-go.
    if (text.split("\n").every((line) => /^\s*(#.*)?$/.test(line))) return config;
    let doc: unknown;
    try {
      // client-go reads kubeconfig YAML as YAML 1.1 (yes/no/on/off are booleans).
      doc = load(text, { schema: YAML11_SCHEMA });
    } catch (e) {
      throw new Invalid(`not valid YAML (${String((e as Error).message).split("\n")[0]})`);
    }
    if (doc === undefined || doc === null) return config;
    const root = obj(doc, "the document");
    if (root.kind !== undefined && root.kind !== "Config") throw new Invalid(`kind is ${JSON.stringify(root.kind)}, not Config`);
    config.currentContext = str(root["current-context"], "current-context");
    named(root.clusters, "clusters", "cluster", (name, c, at) => {
      config.clusters.set(name, {
        server: str(c.server, `${at}.server`),
        certificateAuthority: filePath(str(c["certificate-authority"], `${at}.certificate-authority`), base),
        certificateAuthorityData: str(c["certificate-authority-data"], `${at}.certificate-authority-data`),
        insecureSkipTlsVerify: bool(c["insecure-skip-tls-verify"], `${at}.insecure-skip-tls-verify`),
        tlsServerName: str(c["tls-server-name"], `${at}.tls-server-name`),
        proxyUrl: str(c["proxy-url"], `${at}.proxy-url`),
      });
    });
    named(root.users, "users", "user", (name, u, at) => {
      const exec = u.exec === undefined || u.exec === null ? undefined : (obj(u.exec, `${at}.exec`) as KubeconfigExec);
      if (exec) {
        exec.command = str(exec.command, `${at}.exec.command`) ?? "";
        // Only a command with a path separator is a file path; a bare name is looked up on PATH.
        if (exec.command.includes(path.sep)) exec.command = path.resolve(base, exec.command);
      }
      const provider = u["auth-provider"] === undefined || u["auth-provider"] === null ? undefined : obj(u["auth-provider"], `${at}.auth-provider`);
      config.users.set(name, {
        clientCertificate: filePath(str(u["client-certificate"], `${at}.client-certificate`), base),
        clientCertificateData: str(u["client-certificate-data"], `${at}.client-certificate-data`),
        clientKey: filePath(str(u["client-key"], `${at}.client-key`), base),
        clientKeyData: str(u["client-key-data"], `${at}.client-key-data`),
        token: str(u.token, `${at}.token`),
        tokenFile: filePath(str(u.tokenFile, `${at}.tokenFile`), base),
        as: str(u.as, `${at}.as`),
        asUid: str(u["as-uid"], `${at}.as-uid`),
        asGroups: u["as-groups"] === undefined || u["as-groups"] === null ? undefined : strList(u["as-groups"], `${at}.as-groups`),
        asUserExtra: u["as-user-extra"] === undefined || u["as-user-extra"] === null ? undefined : (obj(u["as-user-extra"], `${at}.as-user-extra`) as Record<string, string[]>),
        username: str(u.username, `${at}.username`),
        password: str(u.password, `${at}.password`),
        authProvider: provider ? { name: str(provider.name, `${at}.auth-provider.name`) ?? "", config: provider.config as Record<string, string> | undefined } : undefined,
        exec,
      });
    });
    named(root.contexts, "contexts", "context", (name, c, at) => {
      config.contexts.set(name, {
        cluster: str(c.cluster, `${at}.cluster`),
        user: str(c.user, `${at}.user`),
        namespace: str(c.namespace, `${at}.namespace`),
      });
    });
    return config;
  } catch (e) {
    if (e instanceof Invalid) {
      throw new UsageError(`kubeconfig file ${file} is invalid: ${e.message}.`, "Fix the file, or point --kubeconfig or KUBECONFIG at another.");
    }
    throw e;
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown, at: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Invalid(`${at} is not a mapping`);
  return v as Obj;
}

function str(v: unknown, at: string): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new Invalid(`${at} is not a string`);
  return v;
}

function strList(v: unknown, at: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new Invalid(`${at} is not a list of strings`);
  return v as string[];
}

// Quoted "yes"/"no" too: YAML 1.1 parsers differ on which spellings are booleans.
function bool(v: unknown, at: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "boolean") return v;
  if (typeof v === "string" && /^(y|Y|yes|Yes|YES|on|On|ON|true|True|TRUE)$/.test(v)) return true;
  if (typeof v === "string" && /^(n|N|no|No|NO|off|Off|OFF|false|False|FALSE)$/.test(v)) return false;
  throw new Invalid(`${at} is not true or false`);
}

function filePath(p: string | undefined, base: string): string | undefined {
  return p === undefined ? undefined : path.resolve(base, p);
}

// clusters/users/contexts are lists of {name, <kind>: {...}}; a name twice in one file is an error.
function named(list: unknown, key: string, kind: string, add: (name: string, v: Obj, at: string) => void): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw new Invalid(`${key} is not a list`);
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const entry = obj(item, `${key}[${i}]`);
    const name = str(entry.name, `${key}[${i}].name`);
    if (name === undefined) throw new Invalid(`${key}[${i}] has no name`);
    if (seen.has(name)) throw new Invalid(`${kind} "${name}" is defined twice`);
    seen.add(name);
    const body = entry[kind] === undefined || entry[kind] === null ? {} : obj(entry[kind], `${kind} "${name}"`);
    add(name, body, `${kind} "${name}"`);
  });
}

/** --context, --cluster, --user, -n: kubectl's overrides of the kubeconfig. */
export interface KubeconfigOverrides {
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
}

/** What one command connects with: the context, cluster and user chosen, and the namespace. */
export interface Selection {
  /** The context name (`kubectl config current-context`, or --context); "" when none is used. */
  contextName: string;
  clusterName: string;
  cluster: KubeconfigCluster & { server: string };
  /** "" when the context names no user (the requests are then anonymous, as with kubectl). */
  userName: string;
  user: KubeconfigUser;
  namespace: string;
}

/** No cluster is chosen at all: client-go's "empty config", where kubectl looks for an in-cluster config. */
export class EmptyConfig extends Error {}

const FIX = "Fix the kubeconfig, or pick another with --kubeconfig or KUBECONFIG.";

/**
 * Picks context, cluster and user like client-go's DirectClientConfig (getContext, getCluster,
 * getAuthInfo, ConfirmUsable) and checks what kubectl checks before it connects. Throws EmptyConfig
 * when no cluster is chosen at all.
 */
export function selectContext(config: Kubeconfig, o: KubeconfigOverrides): Selection {
  const contextName = o.context || config.currentContext || "";
  const ctx = contextName ? config.contexts.get(contextName) : undefined;
  if (contextName && !ctx) {
    if (o.context) throw new NotFoundError(`context "${contextName}" does not exist in the kubeconfig.`, "List contexts with kubectl config get-contexts.");
    throw new NotFoundError(`the kubeconfig's current context "${contextName}" does not exist.`, "Set one with kubectl config use-context, or pass --context.");
  }
  const clusterName = o.cluster || ctx?.cluster || "";
  const userName = o.user || ctx?.user || "";
  if (o.cluster && !config.clusters.has(o.cluster)) throw new NotFoundError(`cluster "${o.cluster}" does not exist in the kubeconfig.`, "List clusters with kubectl config get-clusters.");
  if (o.user && !config.users.has(o.user)) throw new NotFoundError(`user "${o.user}" does not exist in the kubeconfig.`, "List users with kubectl config get-users.");
  const cluster = config.clusters.get(clusterName);
  if (!cluster) {
    if (!contextName) throw new EmptyConfig();
    // client-go would fall back to http://localhost:8080 here; a clear error is kinder.
    if (!clusterName) throw new NotFoundError(`context "${contextName}" names no cluster.`, FIX);
    throw new NotFoundError(`cluster "${clusterName}" of context "${contextName}" does not exist in the kubeconfig.`, FIX);
  }
  // A user name the kubeconfig does not define means no credentials, as in client-go.
  const user = config.users.get(userName) ?? {};
  checkCluster(clusterName, cluster);
  checkUser(userName, user);
  return {
    contextName,
    clusterName,
    cluster: cluster as KubeconfigCluster & { server: string },
    userName,
    user,
    namespace: o.namespace || ctx?.namespace || "default",
  };
}

// client-go validateClusterInfo, plus the TLS config check kubectl meets before its first request.
function checkCluster(name: string, c: KubeconfigCluster): void {
  if (!c.server) throw new UsageError(`cluster "${name}" in the kubeconfig has no server.`, FIX);
  if (c.certificateAuthority && c.certificateAuthorityData) {
    throw new UsageError(`cluster "${name}" in the kubeconfig has both certificate-authority and certificate-authority-data.`, FIX);
  }
  if (c.insecureSkipTlsVerify && (c.certificateAuthority || c.certificateAuthorityData)) {
    throw new UsageError(`cluster "${name}" in the kubeconfig has both a certificate authority and insecure-skip-tls-verify.`, FIX);
  }
  if (c.certificateAuthority) readable(c.certificateAuthority, `certificate-authority of cluster "${name}"`);
}

// client-go validateAuthInfo.
function checkUser(name: string, u: KubeconfigUser): void {
  if (u.clientCertificate && u.clientCertificateData) throw new UsageError(`user "${name}" in the kubeconfig has both client-certificate and client-certificate-data.`, FIX);
  if (u.clientKey && u.clientKeyData) throw new UsageError(`user "${name}" in the kubeconfig has both client-key and client-key-data.`, FIX);
  if ((u.clientCertificate || u.clientCertificateData) && !u.clientKey && !u.clientKeyData) {
    throw new UsageError(`user "${name}" in the kubeconfig has a client certificate but no client-key.`, FIX);
  }
  if (u.token && (u.username || u.password)) throw new UsageError(`user "${name}" in the kubeconfig has both a token and a username/password; only one is allowed.`, FIX);
  if (u.exec && !u.exec.command) throw new UsageError(`user "${name}" in the kubeconfig has an exec plugin without a command.`, FIX);
  if (u.exec && u.authProvider) throw new UsageError(`user "${name}" in the kubeconfig has both an exec plugin and an auth-provider.`, FIX);
  // Impersonating a user without the groups asked for would act with other rights than kubectl: refuse.
  if (u.asGroups?.length || (u.asUserExtra && Object.keys(u.asUserExtra).length > 0)) {
    throw new UsageError(`user "${name}" in the kubeconfig impersonates groups or extra fields (as-groups, as-user-extra), which kubectl-bluegreen does not support.`, FIX);
  }
  if (u.clientCertificate) readable(u.clientCertificate, `client-certificate of user "${name}"`);
  if (u.clientKey) readable(u.clientKey, `client-key of user "${name}"`);
  // Without a token, kubectl needs the token file now; with one, the file only refreshes it.
  if (u.tokenFile && !u.token) readable(u.tokenFile, `tokenFile of user "${name}"`);
}

function readable(file: string, what: string): void {
  try {
    closeSync(openSync(file, "r"));
    if (statSync(file).isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "unreadable";
    throw new NotFoundError(`cannot read the ${what}: ${file} (${code}).`, FIX);
  }
}

/** In-cluster config is possible (client-go inClusterClientConfig.Possible). */
export function inClusterPossible(env: Env, tokenPath = SERVICEACCOUNT_TOKEN): boolean {
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) return false;
  try {
    return !statSync(tokenPath).isDirectory();
  } catch {
    return false;
  }
}

const SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const SERVICEACCOUNT_TOKEN = `${SERVICEACCOUNT_DIR}/token`;

/** The in-cluster connection: the pod's ServiceAccount (client-go rest.InClusterConfig). */
export function inClusterSelection(env: Env, namespaceFlag: string | undefined): Selection {
  // Called only when inClusterPossible(env): both variables are set.
  const host = env.KUBERNETES_SERVICE_HOST ?? "";
  const hostPort = host.includes(":") ? `[${host}]:${env.KUBERNETES_SERVICE_PORT}` : `${host}:${env.KUBERNETES_SERVICE_PORT}`;
  let namespace = namespaceFlag || env.POD_NAMESPACE;
  if (!namespace) {
    try {
      namespace = readFileSync(`${SERVICEACCOUNT_DIR}/namespace`, "utf8").trim();
    } catch {
      // No namespace file: "default", as client-go.
    }
  }
  const ca = `${SERVICEACCOUNT_DIR}/ca.crt`;
  return {
    contextName: "",
    clusterName: "in-cluster",
    cluster: { server: `https://${hostPort}`, certificateAuthority: existsSync(ca) ? ca : undefined },
    userName: "in-cluster",
    user: { tokenFile: SERVICEACCOUNT_TOKEN },
    namespace: namespace || "default",
  };
}

/** The sentence for "no kubeconfig to use", naming where we looked. */
export function noKubeconfigError(sources: KubeconfigSources, loaded: string[]): NotFoundError {
  if (loaded.length > 0) {
    return new NotFoundError("the kubeconfig has no current context.", "Set one with kubectl config use-context, or pass --context.");
  }
  const hint = "Point KUBECONFIG or --kubeconfig at a kubeconfig file, or create ~/.kube/config.";
  if (sources.origin === "KUBECONFIG" && sources.files.length === 0) return new NotFoundError("no kubeconfig found: KUBECONFIG names no file.", hint);
  if (sources.origin === "KUBECONFIG") return new NotFoundError(`no kubeconfig found: no file of KUBECONFIG exists (${sources.files.join(", ")}).`, hint);
  if (sources.files.length === 0) return new NotFoundError("no kubeconfig found: KUBECONFIG and HOME are not set.", hint);
  return new NotFoundError(`no kubeconfig found: ${sources.files[0]} does not exist and KUBECONFIG is not set.`, hint);
}
