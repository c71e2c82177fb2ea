// A fault-injecting HTTPS proxy between the plugin (or kubectl) and the test bed's kube-apiserver, started
// in-process by an e2e test. Every answer a client gets is still the real API server's — unless a rule says
// to lose it, hold it back, or answer in the server's place.
//
//   const proxy = await startFaultProxy();              // 127.0.0.1:<random>, its own test CA
//   proxy.kubeconfig                                    // a kubeconfig for the plugin: context ADMIN_CONTEXT
//   const rule = proxy.addRule({ method: "PATCH", path: /\/services\/myapp$/, fault: "lose-reply" });
//   const r = await bluegreenAsync(["promote", "myapp"], { namespace: ns, kubeconfig: proxy.kubeconfig });
//   await kubectlAsync(["get", "svc"], { kubeconfig: proxy.kubeconfig, env: proxy.env }); // kubectl: also env
//   await rule.waitForFault();                          // the PATCH was applied, and its reply lost
//   await proxy.close();
//
// Rules are tried oldest first. Each rule counts the requests that match it (method, path, query) from the
// moment it is added; it applies its fault to the matches numbered nth … nth+times-1 (defaults 1 and 1; times
// may be Infinity). The first rule that applies a fault to a request decides it; the others only count it.
//
// Faults:
//   lose-reply       forward, read the API server's whole answer (so the change is made), then cut the
//                    client's connection without sending a byte of it
//   delay ms         forward, hold the answer back ms before sending it
//   status code      answer with a Kubernetes Status of that code (and Retry-After: retryAfter seconds) without
//                    forwarding. client-go retries 429 and 5xx only when Retry-After is set.
//   hold             read the whole request, keep it until the test calls release() (forward it: even if the
//                    client has gone since, as a request already on the wire would be) or drop() (cut the
//                    client's connection, forward nothing); waitForHeld() resolves once a request is held
//   reset            cut the client's connection without forwarding
//
// Everything else is piped both ways without buffering, so watches stream. Upstream, the proxy authenticates
// with the credentials of the admin context of KUBECONFIG (the test bed's: its admin client certificate) and verifies
// the API server with its CA; whatever credential a client sends the proxy is dropped.
//
// The proxy runs on this process's event loop: go through it only with asynchronous helpers (kubectlAsync,
// bluegreenAsync, bluegreenChild). The synchronous kubectl()/bluegreen() block the loop and would hang; they
// are fine for direct reads of the test bed (KUBECONFIG), which bypass the proxy.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ADMIN_CONTEXT, KUBECONFIG } from "./cluster.js";

const run = promisify(execFile);

/** Which requests a rule (or waitForRequest) is about. Every given part must match. */
export interface RequestMatch {
  /** HTTP method(s), any case: "PATCH", ["PUT", "PATCH"] */
  method?: string | readonly string[];
  /** the URL path without the query: a RegExp (/\/services\/myapp$/) or the exact path */
  path?: RegExp | string;
  /** the query: "watch=true&fieldSelector" (each key present; with =value, equal to it) or a predicate */
  query?: string | ((query: URLSearchParams) => boolean);
}

/** The name of a fault. */
export type FaultKind = "lose-reply" | "delay" | "status" | "hold" | "reset";

/** What a rule does to the requests it picks. */
export type Fault =
  | { fault: "lose-reply" }
  | { fault: "delay"; ms: number }
  | { fault: "status"; status: number; retryAfter?: number; message?: string }
  | { fault: "hold" }
  | { fault: "reset" };

/** A rule: which requests, which of them (nth, times), and the fault. */
export type RuleSpec = RequestMatch &
  Fault & {
    /** the first match (1-based, counted since the rule was added) that gets the fault; default 1 */
    nth?: number;
    /** how many matches in a row, from nth, get the fault; default 1; Infinity for all */
    times?: number;
  };

/** One request the proxy received. Fields fill in as it goes; done once it is over. */
export interface LoggedRequest {
  /** 1-based, in arrival order */
  seq: number;
  /** arrival */
  time: Date;
  method: string;
  /** path and query, as the client sent them */
  url: string;
  path: string;
  query: URLSearchParams;
  /** the rule that applied a fault to it, and that fault */
  rule?: number;
  fault?: FaultKind;
  /** the API server's status code, when forwarded and answered */
  upstreamStatus?: number;
  /** the status code the client got (undefined when it got none) */
  status?: number;
  /** the proxy cut the client's connection (reset, lose-reply, drop, or a failure mid-reply) */
  cut: boolean;
  /** the client's connection closed before its reply was complete */
  clientGone: boolean;
  /** what went wrong on the proxy's side, if anything */
  error?: string;
  done: boolean;
}

/** A request held by a "hold" rule. */
export interface HeldRequest {
  request: LoggedRequest;
  /** Forwards it (no-op once released or dropped). */
  release(): void;
  /** Cuts the client's connection without forwarding (no-op once released or dropped). */
  drop(): void;
}

/** A rule in force; see RuleSpec. */
export interface FaultRule {
  readonly id: number;
  readonly spec: RuleSpec;
  /** requests that matched it so far */
  readonly matched: number;
  /** requests it applied its fault to so far */
  readonly applied: number;
  /**
   * Resolves with the n-th request (default 1st) this rule faulted, once the fault is in effect: the connection
   * cut (reset, lose-reply: after the API server answered), the status sent, the delayed reply begun, or the
   * request held. Rejects after timeoutMs (default 60 s) with the request log.
   */
  waitForFault(n?: number, timeoutMs?: number): Promise<LoggedRequest>;
  /** For hold rules: resolves when the n-th request (default 1st) is held, whole, in the proxy. */
  waitForHeld(n?: number, timeoutMs?: number): Promise<HeldRequest>;
  /** Forwards every request this rule holds now. */
  release(): void;
  /** Cuts every request this rule holds now, forwarding none. */
  drop(): void;
  /** Stops the rule; requests it still holds are released. */
  remove(): void;
}

/** A running proxy. */
export interface FaultProxy {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** the proxy's test CA (PEM), for raw clients */
  readonly ca: string;
  /** path of a kubeconfig for the proxy: one context, ADMIN_CONTEXT ("admin"), current, namespace default */
  readonly kubeconfig: string;
  /** environment for kubectl through the proxy: its discovery cache in the proxy's temp dir, not ~/.kube/cache */
  readonly env: Record<string, string>;
  /** every request so far, oldest first */
  readonly requests: readonly LoggedRequest[];
  addRule(spec: RuleSpec): FaultRule;
  /** Removes every rule (held requests are released). */
  clearRules(): void;
  /** Resolves with the next request matching `match` to arrive (on arrival). Rejects after timeoutMs (default 60 s). */
  waitForRequest(match: RequestMatch, timeoutMs?: number): Promise<LoggedRequest>;
  /** Resolves when a logged request is over (done). Rejects after timeoutMs (default 60 s). */
  waitForDone(request: LoggedRequest, timeoutMs?: number): Promise<LoggedRequest>;
  /** Requests so far that match. */
  find(match: RequestMatch): LoggedRequest[];
  /** The request log, one line a request, for assertion messages. */
  formatLog(): string;
  /** Stops listening, cuts every connection (held requests are dropped), deletes the temp files. */
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** kubeconfig whose context gives the API server and the credentials used upstream; default KUBECONFIG */
  kubeconfig?: string;
  /** default ADMIN_CONTEXT */
  context?: string;
}

const DEFAULT_WAIT_MS = 60_000;

// Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own business on each side; authorization is the
// client's dummy credential.
const NOT_FORWARDED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

function forwardable(raw: string[], drop: (name: string) => boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (NOT_FORWARDED.has(name) || drop(name)) continue;
    const prev = out[name];
    out[name] = prev === undefined ? raw[i + 1] : [...(Array.isArray(prev) ? prev : [prev]), raw[i + 1]];
  }
  return out;
}

/** True when a request (method, path, query) matches. */
export function matches(m: RequestMatch, method: string, pathname: string, query: URLSearchParams): boolean {
  if (m.method !== undefined) {
    const want = typeof m.method === "string" ? [m.method] : m.method;
    if (!want.some((w) => w.toUpperCase() === method.toUpperCase())) return false;
  }
  if (m.path !== undefined) {
    if (typeof m.path === "string") {
      if (m.path !== pathname) return false;
    } else {
      m.path.lastIndex = 0; // a /g or /y RegExp keeps state between tests
      if (!m.path.test(pathname)) return false;
    }
  }
  if (m.query !== undefined) {
    if (typeof m.query === "function") return m.query(query);
    for (const [k, v] of new URLSearchParams(m.query)) {
      if (!query.has(k)) return false;
      if (v !== "" && query.get(k) !== v) return false;
    }
  }
  return true;
}

function describeMatch(m: RequestMatch): string {
  const method = m.method === undefined ? "*" : typeof m.method === "string" ? m.method : m.method.join("|");
  const p = m.path === undefined ? "*" : String(m.path);
  const q = m.query === undefined ? "" : typeof m.query === "string" ? ` ?${m.query}` : " ?<predicate>";
  return `${method} ${p}${q}`;
}

function formatRequest(r: LoggedRequest): string {
  const t = r.time.toISOString().slice(11, 23);
  const parts = [`#${r.seq}`, t, r.method, r.url];
  if (r.fault) parts.push(`[${r.fault} by rule ${r.rule}]`);
  if (r.upstreamStatus !== undefined) parts.push(`upstream=${r.upstreamStatus}`);
  if (r.status !== undefined) parts.push(`status=${r.status}`);
  if (r.cut) parts.push("cut");
  if (r.clientGone) parts.push("client-gone");
  if (r.error) parts.push(`error=${JSON.stringify(r.error)}`);
  if (!r.done) parts.push("(in progress)");
  return parts.join(" ");
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Expired",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

/** The Status body a kube-apiserver sends with an error code. */
function statusBody(code: number, message: string, retryAfter?: number): string {
  const status: Record<string, unknown> = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: REASONS[code] ?? "Unknown",
    code,
  };
  if (retryAfter !== undefined) status.details = { retryAfterSeconds: retryAfter };
  return JSON.stringify(status);
}

// Values numbered from 1, and promises for the n-th one to come.
class Sequence<T> {
  readonly items: T[] = [];
  private waiters: { n: number; resolve: (v: T) => void }[] = [];
  push(v: T): void {
    this.items.push(v);
    const n = this.items.length;
    const due = this.waiters.filter((w) => w.n === n);
    this.waiters = this.waiters.filter((w) => w.n !== n);
    for (const w of due) w.resolve(v);
  }
  nth(n: number, timeoutMs: number, what: () => string): Promise<T> {
    if (this.items.length >= n) return Promise.resolve(this.items[n - 1]);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(what()));
      }, timeoutMs);
      const waiter = {
        n,
        resolve: (v: T) => {
          clearTimeout(timer);
          resolve(v);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

interface Held {
  held: HeldRequest;
  decide: (forward: boolean) => void;
}

class Rule implements FaultRule {
  matched = 0;
  readonly faulted = new Sequence<LoggedRequest>();
  readonly holding = new Set<Held>();
  private readonly heldSeq = new Sequence<HeldRequest>();
  removed = false;

  constructor(
    readonly id: number,
    readonly spec: RuleSpec,
    private readonly proxy: ProxyServer,
  ) {
    const { nth = 1, times = 1 } = spec;
    if (!Number.isInteger(nth) || nth < 1) throw new Error(`rule ${describeMatch(spec)}: nth must be an integer >= 1, not ${nth}`);
    if (!(times >= 1)) throw new Error(`rule ${describeMatch(spec)}: times must be >= 1, not ${times}`);
  }

  get applied(): number {
    return this.faulted.items.length;
  }

  /** Counts a matching request; true when this one gets the fault. */
  take(): boolean {
    this.matched++;
    const { nth = 1, times = 1 } = this.spec;
    return this.matched >= nth && this.matched < nth + times;
  }

  hold(held: Held): void {
    this.holding.add(held);
    this.heldSeq.push(held.held);
  }

  waitForFault(n = 1, timeoutMs = DEFAULT_WAIT_MS): Promise<LoggedRequest> {
    return this.faulted.nth(n, timeoutMs, () => `${this.describe()}: fault #${n} not applied within ${timeoutMs} ms\n${this.proxy.formatLog()}`);
  }

  waitForHeld(n = 1, timeoutMs = DEFAULT_WAIT_MS): Promise<HeldRequest> {
    if (this.spec.fault !== "hold") return Promise.reject(new Error(`${this.describe()} is not a hold rule`));
    return this.heldSeq.nth(n, timeoutMs, () => `${this.describe()}: no request #${n} held within ${timeoutMs} ms\n${this.proxy.formatLog()}`);
  }

  release(): void {
    for (const h of [...this.holding]) h.held.release();
  }

  drop(): void {
    for (const h of [...this.holding]) h.held.drop();
  }

  remove(): void {
    this.removed = true;
    this.proxy.rules = this.proxy.rules.filter((r) => r !== this);
    this.release();
  }

  describe(): string {
    const { nth = 1, times = 1 } = this.spec;
    return `rule ${this.id} (${this.spec.fault} on ${describeMatch(this.spec)}, nth ${nth}, times ${times})`;
  }
}

export interface Upstream {
  url: URL;
  agent: https.Agent;
  token?: string;
}

class ProxyServer implements FaultProxy {
  rules: Rule[] = [];
  readonly requests: LoggedRequest[] = [];
  private nextRule = 1;
  private requestWaiters: { match: RequestMatch; resolve: (r: LoggedRequest) => void }[] = [];
  private readonly doneWaiters = new Map<LoggedRequest, (() => void)[]>();
  private readonly sockets = new Set<Socket>();
  private closed = false;
  url = "";
  readonly env: Record<string, string>;

  constructor(
    private readonly server: https.Server,
    private readonly upstream: Upstream,
    readonly ca: string,
    readonly kubeconfig: string,
    private readonly dir: string,
  ) {
    this.env = { KUBECACHEDIR: path.join(dir, "kube-cache") };
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    server.on("tlsClientError", () => {}); // a client that gives up mid-handshake is not our concern
    server.on("request", (req, res) => this.handle(req, res));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  addRule(spec: RuleSpec): FaultRule {
    const rule = new Rule(this.nextRule++, spec, this);
    this.rules.push(rule);
    return rule;
  }

  clearRules(): void {
    for (const r of [...this.rules]) r.remove();
  }

  waitForRequest(match: RequestMatch, timeoutMs = DEFAULT_WAIT_MS): Promise<LoggedRequest> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requestWaiters = this.requestWaiters.filter((w) => w !== waiter);
        reject(new Error(`no request ${describeMatch(match)} arrived within ${timeoutMs} ms\n${this.formatLog()}`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (r: LoggedRequest) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      this.requestWaiters.push(waiter);
    });
  }

  waitForDone(request: LoggedRequest, timeoutMs = DEFAULT_WAIT_MS): Promise<LoggedRequest> {
    if (request.done) return Promise.resolve(request);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`request #${request.seq} not done within ${timeoutMs} ms\n${this.formatLog()}`)), timeoutMs);
      const list = this.doneWaiters.get(request) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve(request);
      });
      this.doneWaiters.set(request, list);
    });
  }

  find(match: RequestMatch): LoggedRequest[] {
    return this.requests.filter((r) => matches(match, r.method, r.path, r.query));
  }

  formatLog(): string {
    return `fault proxy ${this.url}: ${this.requests.length} request(s)\n${this.requests.map((r) => `  ${formatRequest(r)}`).join("\n")}`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.rules) r.drop();
    this.rules = [];
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.upstream.agent.destroy();
    await stopped;
    await rm(this.dir, { recursive: true, force: true });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? "/";
    const parsed = new URL(url, "https://proxy.invalid");
    const entry: LoggedRequest = {
      seq: this.requests.length + 1,
      time: new Date(),
      method: req.method ?? "GET",
      url,
      path: parsed.pathname,
      query: parsed.searchParams,
      cut: false,
      clientGone: false,
      done: false,
    };
    this.requests.push(entry);
    const x = new Exchange(entry, req, res, () => {
      const waiters = this.doneWaiters.get(entry) ?? [];
      this.doneWaiters.delete(entry);
      for (const w of waiters) w();
    });

    let rule: Rule | undefined;
    for (const r of this.rules) {
      if (matches(r.spec, entry.method, entry.path, entry.query) && r.take() && !rule) rule = r;
    }
    const due = this.requestWaiters.filter((w) => matches(w.match, entry.method, entry.path, entry.query));
    this.requestWaiters = this.requestWaiters.filter((w) => !due.includes(w));
    for (const w of due) w.resolve(entry);
    if (!rule) {
      this.forward(x);
      return;
    }
    entry.rule = rule.id;
    entry.fault = rule.spec.fault;
    const fired = () => rule.faulted.push(entry);
    const spec = rule.spec;
    switch (spec.fault) {
      case "reset":
        x.cut();
        fired();
        return;
      case "status": {
        const body = statusBody(spec.status, spec.message ?? `${spec.status} injected by the e2e fault proxy (rule ${rule.id})`, spec.retryAfter);
        req.resume(); // the request body goes nowhere
        req.on("end", () => {
          if (res.destroyed) return;
          const headers: http.OutgoingHttpHeaders = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
          if (spec.retryAfter !== undefined) headers["retry-after"] = String(spec.retryAfter);
          res.writeHead(spec.status, headers);
          res.end(body);
          entry.status = spec.status;
          fired();
        });
        return;
      }
      case "delay":
        this.forward(x, async (upRes) => {
          await new Promise((resolve) => setTimeout(resolve, spec.ms));
          fired();
          this.reply(x, upRes);
        });
        return;
      case "lose-reply":
        // The request reaches the API server whatever the client does meanwhile.
        x.pin();
        this.forward(x, (upRes) => {
          upRes.resume();
          upRes.on("end", () => {
            x.cut();
            fired();
            x.unpin();
          });
        });
        return;
      case "hold":
        this.hold(x, rule, fired);
        return;
    }
  }

  // Reads the whole request, then waits for release (forward) or drop (cut).
  private hold(x: Exchange, rule: Rule, fired: () => void): void {
    const chunks: Buffer[] = [];
    x.pin();
    x.req.on("data", (c: Buffer) => chunks.push(c));
    x.req.on("error", () => {});
    x.req.on("aborted", () => {
      x.entry.error = "the client went away before sending the whole request";
      x.unpin();
    });
    x.req.on("end", () => {
      if (this.closed) {
        x.cut();
        x.unpin();
        return;
      }
      let decided = false;
      const held: Held = {
        held: {
          request: x.entry,
          release: () => held.decide(true),
          drop: () => held.decide(false),
        },
        decide: (forward) => {
          if (decided) return;
          decided = true;
          rule.holding.delete(held);
          if (forward) {
            this.forward(x, undefined, Buffer.concat(chunks)); // still pinned: it goes through even if the client has gone
          } else {
            x.cut();
            x.unpin();
          }
        },
      };
      rule.hold(held);
      fired();
      // A rule removed while the body was still arriving does not keep its last request.
      if (rule.removed) held.held.release();
    });
  }

  /**
   * Sends the request upstream: the client's body streamed, or `body` when it was read already (a held request).
   * onResponse decides what to do with the answer; default: reply. An exchange that is not pinned is abandoned
   * when its client goes away (a real API server sees the connection close too); a pinned one goes through.
   */
  private forward(x: Exchange, onResponse?: (upRes: http.IncomingMessage) => void, body?: Buffer): void {
    const headers = forwardable(x.req.rawHeaders, (n) => n === "authorization" || (body !== undefined && n === "content-length"));
    if (body !== undefined) headers["content-length"] = String(body.length);
    if (this.upstream.token) headers.authorization = `Bearer ${this.upstream.token}`;
    const up = this.upstream.url;
    const upReq = https.request({
      protocol: up.protocol,
      hostname: up.hostname,
      port: up.port,
      method: x.entry.method,
      path: `${up.pathname.replace(/\/$/, "")}${x.entry.url}`,
      headers,
      agent: this.upstream.agent,
    });
    const failed = (why: string) => {
      if (x.entry.error === undefined) x.entry.error = why;
      if (x.res.headersSent || x.entry.fault === "lose-reply") x.cut();
      else if (!x.res.destroyed) {
        const msg = statusBody(502, `fault proxy: ${why}`);
        x.res.writeHead(502, { "content-type": "application/json", "content-length": Buffer.byteLength(msg) });
        x.res.end(msg);
        x.entry.status = 502;
      }
      x.unpin();
    };
    upReq.on("error", (e) => failed(`upstream: ${e.message}`));
    upReq.on("response", (upRes) => {
      x.entry.upstreamStatus = upRes.statusCode;
      upRes.on("error", (e) => failed(`upstream reply: ${e.message}`));
      (onResponse ?? ((r) => this.reply(x, r)))(upRes);
    });
    x.res.on("close", () => {
      if (!x.res.writableFinished && !x.pinned) upReq.destroy();
    });
    if (body !== undefined) upReq.end(body);
    else x.req.pipe(upReq);
  }

  // Streams the API server's answer to the client (or, for a pinned exchange whose client has gone, nowhere).
  private reply(x: Exchange, upRes: http.IncomingMessage): void {
    upRes.on("end", () => x.unpin());
    if (x.res.destroyed) {
      upRes.resume();
      return;
    }
    x.res.on("close", () => {
      if (!x.res.writableFinished) upRes.resume(); // drain what the client will never get
    });
    const status = upRes.statusCode ?? 502;
    x.res.writeHead(status, upRes.statusMessage, forwardable(upRes.rawHeaders, () => false));
    x.entry.status = status;
    upRes.pipe(x.res);
  }
}

// One request and its reply, and when it is over: its client connection closed, and nothing pinned to it
// (a held request, or a forwarded one that must reach the API server whatever the client does).
class Exchange {
  pinned = false;
  private resClosed = false;

  constructor(
    readonly entry: LoggedRequest,
    readonly req: http.IncomingMessage,
    readonly res: http.ServerResponse,
    private readonly onDone: () => void,
  ) {
    res.on("close", () => {
      if (!res.writableFinished && !entry.cut) entry.clientGone = true;
      this.resClosed = true;
      this.settle();
    });
  }

  pin(): void {
    this.pinned = true;
  }

  unpin(): void {
    this.pinned = false;
    this.settle();
  }

  cut(): void {
    this.entry.cut = true;
    this.req.socket.destroy();
  }

  private settle(): void {
    if (this.entry.done || !this.resClosed || this.pinned) return;
    this.entry.done = true;
    this.onDone();
  }
}

interface KubeconfigView {
  clusters?: { cluster: { server: string; "certificate-authority-data"?: string; "insecure-skip-tls-verify"?: boolean; "tls-server-name"?: string } }[];
  users?: { user: { "client-certificate-data"?: string; "client-key-data"?: string; token?: string } }[];
}

// The API server and admin credentials from a kubeconfig context (the test bed's: the admin client certificate).
export async function upstreamOf(kubeconfig: string, context: string, keepAlive = false): Promise<Upstream> {
  const { stdout } = await run("kubectl", ["config", "view", "--raw", "--flatten", "--minify", "--context", context, "-o", "json", "--kubeconfig", kubeconfig]);
  const view = JSON.parse(stdout) as KubeconfigView;
  const cluster = view.clusters?.[0]?.cluster;
  const user = view.users?.[0]?.user ?? {};
  if (!cluster?.server) throw new Error(`fault proxy: no server for context ${context} in ${kubeconfig}`);
  const b64 = (s: string | undefined) => (s ? Buffer.from(s, "base64") : undefined);
  const cert = b64(user["client-certificate-data"]);
  const key = b64(user["client-key-data"]);
  if (!(cert && key) && !user.token) {
    throw new Error(`fault proxy: context ${context} in ${kubeconfig} has neither a client certificate nor a token to use upstream`);
  }
  // By default one connection a request: no idle connection the API server might close just as a PATCH goes out on it.
  const agent = new https.Agent({
    keepAlive,
    ca: b64(cluster["certificate-authority-data"]),
    cert,
    key,
    servername: cluster["tls-server-name"],
    rejectUnauthorized: !cluster["insecure-skip-tls-verify"],
  });
  return { url: new URL(cluster.server), agent, token: user.token };
}

// A throw-away CA and a serving certificate for 127.0.0.1, signed by it.
async function makeCerts(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const f = (n: string) => path.join(dir, n);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", ["req", "-x509", "-new", ...ec, "-keyout", f("ca.key"), "-out", f("ca.crt"), "-days", "2", "-subj", "/CN=bluegreen-e2e-fault-proxy-ca"]);
  await run("openssl", ["req", "-new", ...ec, "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=127.0.0.1"]);
  await writeFile(f("server.ext"), "subjectAltName=IP:127.0.0.1\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
  await run("openssl", ["x509", "-req", "-in", f("server.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("server.crt"), "-days", "2", "-extfile", f("server.ext")]);
  const [ca, cert, key] = await Promise.all(["ca.crt", "server.crt", "server.key"].map((n) => readFile(f(n), "utf8")));
  return { ca, cert, key };
}

/** Starts a fault proxy in front of the API server of the test bed kubeconfig's admin context. */
export async function startFaultProxy(opts: FaultProxyOptions = {}): Promise<FaultProxy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "bluegreen-faultproxy-"));
  try {
    const [upstream, certs] = await Promise.all([upstreamOf(opts.kubeconfig ?? KUBECONFIG, opts.context ?? ADMIN_CONTEXT), makeCerts(dir)]);
    // keepAliveTimeout 0: the proxy never closes an idle client connection, which would race with the next request
    // on it (a client cannot safely retry a PATCH that met a closing connection).
    const server = https.createServer({ cert: certs.cert, key: certs.key, ALPNProtocols: ["http/1.1"], keepAliveTimeout: 0 });
    const kubeconfig = path.join(dir, "kubeconfig");
    const proxy = new ProxyServer(server, upstream, certs.ca, kubeconfig, dir);
    await proxy.listen();
    // JSON is YAML: kubectl and @kubernetes/client-node read it alike.
    const config = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "fault-proxy", cluster: { server: proxy.url, "certificate-authority-data": Buffer.from(certs.ca).toString("base64") } }],
      users: [{ name: "fault-proxy", user: { token: "ignored-by-the-fault-proxy" } }],
      contexts: [{ name: ADMIN_CONTEXT, context: { cluster: "fault-proxy", user: "fault-proxy", namespace: "default" } }],
      "current-context": ADMIN_CONTEXT,
    };
    await writeFile(kubeconfig, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    return proxy;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
