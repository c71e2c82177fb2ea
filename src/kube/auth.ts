// How requests authenticate and connect, from the kubeconfig selection: the TLS settings of the cluster and
// the credentials of the user. Certificates, tokens, tokenFile and basic auth need nothing but Node; an exec
// plugin runs through client-node's ExecAuth; an auth-provider or a proxy-url take client-node's whole
// KubeConfig (./full.ts), which is loaded only then: it costs start-up time no other user should pay.
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { createSecureContext } from "node:tls";
import type { Selection } from "./kubeconfig.js";
import { CredentialError } from "./transport.js";

/** What one request is sent with. */
interface Connection {
  agent: http.Agent;
  headers: Record<string, string>;
}

export interface Credentials {
  /** The agent and headers for the next request; a CredentialError when the user's credentials cannot be had. */
  prepare(): Promise<Connection>;
}

/** user:password@ taken out of the server URL (./transport.ts splitServerUrl). */
interface UrlCredentials {
  username: string;
  password: string;
}

// client-go's cached file token source: re-read after a minute less its 10s leeway.
const TOKEN_FILE_TTL_MS = 50_000;

/** The connection of a selection to `server` (its URL without credentials). */
export function credentials(sel: Selection, server: string, basic: UrlCredentials | undefined): Credentials {
  const plainHttp = server.startsWith("http:");
  const base = new BaseHeaders(sel, plainHttp, basic);
  if (sel.cluster.proxyUrl || (!plainHttp && sel.user.authProvider)) return new ClientNodeCredentials(sel, server, base);
  return new NodeCredentials(sel, plainHttp, base);
}

/** The headers kubectl sends whatever authenticates: impersonation, the URL's basic auth as a last resort. */
class BaseHeaders {
  constructor(
    private readonly sel: Selection,
    private readonly plainHttp: boolean,
    private readonly basic: UrlCredentials | undefined,
  ) {}

  apply(headers: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = { ...headers, "User-Agent": "kubectl-bluegreen", Accept: "application/json" };
    // kubectl sends credentials only over TLS.
    if (this.plainHttp) {
      delete out.Authorization;
      return out;
    }
    const u = this.sel.user;
    if (u.as) out["Impersonate-User"] = u.as;
    if (u.as && u.asUid) out["Impersonate-Uid"] = u.asUid;
    // user:password@ in the server URL: sent as basic auth when nothing else authenticates (as Go's HTTP client).
    if (this.basic && !out.Authorization) out.Authorization = basicAuth(this.basic.username, this.basic.password);
    return out;
  }
}

const basicAuth = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  if (data) return Buffer.from(data, "base64");
  return undefined;
}

/** Certificates, token, tokenFile, basic auth and exec plugins, over Node's own agents. */
class NodeCredentials implements Credentials {
  private agent?: { agent: http.Agent; cert?: string | Buffer; key?: string | Buffer };
  private readonly tokenFile: TokenFile;
  private exec?: Promise<ExecAuthLike>;

  constructor(
    private readonly sel: Selection,
    private readonly plainHttp: boolean,
    private readonly base: BaseHeaders,
  ) {
    this.tokenFile = new TokenFile(sel);
  }

  async prepare(): Promise<Connection> {
    const u = this.sel.user;
    const headers: Record<string, string> = {};
    let cert: string | Buffer | undefined;
    let key: string | Buffer | undefined;
    try {
      if (!this.plainHttp) {
        cert = fileOrData(u.clientCertificate, u.clientCertificateData);
        key = fileOrData(u.clientKey, u.clientKeyData);
        if (u.exec) {
          // client-node's ExecAuth: runs the plugin, caches its credential until it expires.
          this.exec ??= import("@kubernetes/client-node/dist/exec_auth.js").then((m) => new m.ExecAuth() as ExecAuthLike);
          const auth = await this.exec;
          const opts: { headers: Record<string, string>; cert?: string | Buffer; key?: string | Buffer } = { headers };
          await auth.applyAuthentication({ name: this.sel.userName || "user", exec: u.exec }, opts);
          cert = opts.cert ?? cert;
          key = opts.key ?? key;
        }
        if (u.token || this.tokenFile.used) headers.Authorization = `Bearer ${this.tokenFile.used ? this.tokenFile.token() : u.token}`;
        userPassword(this.sel, headers);
      }
    } catch (e) {
      throw new CredentialError(this.sel.userName, e instanceof Error ? e.message : String(e));
    }
    return { agent: this.agentFor(cert, key), headers: this.base.apply(headers) };
  }

  /** One keep-alive agent, made again only if an exec plugin hands out another client certificate. */
  private agentFor(cert: string | Buffer | undefined, key: string | Buffer | undefined): http.Agent {
    if (this.agent && sameBytes(this.agent.cert, cert) && sameBytes(this.agent.key, key)) return this.agent.agent;
    // The old agent is left to finish what it carries: requests may be in flight on it.
    const c = this.sel.cluster;
    const agent = this.plainHttp
      ? new http.Agent({ keepAlive: true })
      : new https.Agent({
          keepAlive: true,
          // One secure context for every connection (the agent would parse the CA, certificate and key again for each).
          secureContext: createSecureContext({ ca: fileOrData(c.certificateAuthority, c.certificateAuthorityData), cert, key }),
          servername: c.tlsServerName,
          // Stated on every connection: kubectl ignores NODE_TLS_REJECT_UNAUTHORIZED, and so do we.
          rejectUnauthorized: c.insecureSkipTlsVerify !== true,
        });
    this.agent = { agent, cert, key };
    return agent;
  }
}

/** kubeconfig `tokenFile` (used unless an exec plugin or auth-provider authenticates), re-read as client-go does. */
class TokenFile {
  readonly used: boolean;
  private cached?: { token: string; at: number };

  constructor(private readonly sel: Selection) {
    const u = sel.user;
    this.used = Boolean(u.tokenFile && !u.exec && !u.authProvider);
  }

  /** The file's token; the user's `token` (or the last one read) while the file cannot be read. */
  token(now = Date.now()): string {
    const file = this.sel.user.tokenFile ?? "";
    if (this.cached && now - this.cached.at < TOKEN_FILE_TTL_MS) return this.cached.token;
    try {
      const token = readFileSync(file, "utf8").trim();
      if (!token) throw new Error("it is empty");
      this.cached = { token, at: now };
      return token;
    } catch (e) {
      const last = this.cached?.token ?? this.sel.user.token;
      if (last) return last;
      throw new Error(`cannot read tokenFile ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}

/** username/password: basic auth, when nothing else set the Authorization header. */
function userPassword(sel: Selection, headers: Record<string, string>): void {
  const u = sel.user;
  if (u.username && !headers.Authorization) headers.Authorization = basicAuth(u.username, u.password ?? "");
}

interface ExecAuthLike {
  applyAuthentication(user: { name: string; exec: unknown }, opts: { headers: Record<string, string>; cert?: string | Buffer; key?: string | Buffer }): Promise<void>;
}

function sameBytes(a: string | Buffer | undefined, b: string | Buffer | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}

/** auth-provider and proxy-url: client-node's KubeConfig makes the agent and the Authorization header. */
class ClientNodeCredentials implements Credentials {
  private full?: Promise<{ prepare(): Promise<{ agent: http.Agent; headers: Record<string, string> }> }>;
  private readonly tokenFile: TokenFile;

  constructor(
    private readonly sel: Selection,
    private readonly server: string,
    private readonly base: BaseHeaders,
  ) {
    this.tokenFile = new TokenFile(sel);
  }

  async prepare(): Promise<Connection> {
    this.full ??= import("./full.js").then((m) => m.clientNodeConnection(this.sel, this.server));
    const full = await this.full;
    try {
      const { agent, headers } = await full.prepare();
      if (!this.server.startsWith("http:")) {
        if (this.tokenFile.used) headers.Authorization = `Bearer ${this.tokenFile.token()}`;
        userPassword(this.sel, headers);
      }
      return { agent, headers: this.base.apply(headers) };
    } catch (e) {
      throw new CredentialError(this.sel.userName, e instanceof Error ? e.message : String(e));
    }
  }
}
