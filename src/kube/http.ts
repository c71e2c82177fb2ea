// One HTTP request to the API server, over Node's own http/https: what the plugin sends and receives is JSON,
// so it needs no generated API classes, models or serializer. Credentials and the connection (TLS, proxy)
// come from ./auth.ts.
import http from "node:http";
import https from "node:https";

/** A non-2xx answer: the HTTP status, the body (a Status object when the server sent JSON) and the headers. */
export class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly body: unknown,
    readonly headers: http.IncomingHttpHeaders,
  ) {
    super(`HTTP ${code}`);
    this.name = "HttpError";
  }
}

interface HttpRequest {
  method: "GET" | "POST" | "PATCH";
  /** The full URL, query included. */
  url: URL;
  headers: Record<string, string>;
  agent: http.Agent;
  body?: string;
  signal: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** Sends one request and reads the whole answer, whatever its status. Rejects with the signal's reason when aborted. */
export function send(req: HttpRequest): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const { signal } = req;
    if (signal.aborted) return reject(signal.reason);
    const mod = req.url.protocol === "http:" ? http : https;
    const headers = { ...req.headers, ...(req.body !== undefined ? { "Content-Length": String(Buffer.byteLength(req.body)) } : {}) };
    const r = mod.request(req.url, { method: req.method, headers, agent: req.agent });
    const onAbort = () => r.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    signal.addEventListener("abort", onAbort, { once: true });
    const fail = (e: unknown) => {
      signal.removeEventListener("abort", onAbort);
      reject(signal.aborted ? signal.reason : e);
    };
    r.on("error", fail);
    r.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", fail);
      res.on("aborted", () => fail(Object.assign(new Error("the connection closed before the answer was complete"), { code: "ECONNRESET" })));
      res.on("end", () => {
        signal.removeEventListener("abort", onAbort);
        if (!res.complete) return fail(Object.assign(new Error("the connection closed before the answer was complete"), { code: "ECONNRESET" }));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") });
      });
    });
    r.end(req.body);
  });
}

/** The answer's body as JSON (a Status object on failure), else its text. */
export function body(a: HttpAnswer): unknown {
  if (!/\bjson\b/i.test(String(a.headers["content-type"] ?? ""))) return a.text;
  try {
    return JSON.parse(a.text);
  } catch {
    return a.text;
  }
}

/** The parsed JSON of a 2xx answer; an HttpError otherwise. */
export function json<T>(a: HttpAnswer): T {
  if (a.status < 200 || a.status > 299) throw new HttpError(a.status, body(a), a.headers);
  return JSON.parse(a.text) as T;
}

/**
 * A watch: one request whose answer is a stream of JSON lines. Calls onLine for each; resolves when the server
 * ends the stream (its timeoutSeconds), rejects with an HttpError when refused, with the signal's reason when
 * aborted, or with the network error.
 */
export function stream(req: HttpRequest, onLine: (value: unknown) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const { signal } = req;
    if (signal.aborted) return reject(signal.reason);
    const mod = req.url.protocol === "http:" ? http : https;
    const r = mod.request(req.url, { method: "GET", headers: req.headers, agent: req.agent });
    // Settled here, with the signal's reason; the request is then destroyed without an error of its own (an error
    // passed to destroy can surface later on the socket, after every listener of ours has had its answer).
    const onAbort = () => {
      finish(signal.reason);
      r.destroy();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    let settled = false;
    const finish = (e?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (e === undefined) resolve();
      else reject(signal.aborted ? signal.reason : e);
    };
    r.on("error", finish);
    r.on("response", (res) => {
      if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", finish);
        res.on("end", () => {
          const a = { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") };
          finish(new HttpError(a.status, body(a), a.headers));
        });
        return;
      }
      let buffered = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffered += chunk;
        for (let nl = buffered.indexOf("\n"); nl >= 0 && !settled; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          try {
            onLine(JSON.parse(line));
          } catch (e) {
            r.destroy();
            return finish(e);
          }
        }
      });
      res.on("error", finish);
      res.on("end", () => finish());
      res.on("close", () => finish(res.complete ? undefined : Object.assign(new Error("the watch connection closed"), { code: "ECONNRESET" })));
    });
    r.end();
  });
}
