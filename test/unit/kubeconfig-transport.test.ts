// Deadlines, retries and what is printed of the server URL: the pure rules, then the client against a
// local HTTP server that answers what each test asks for.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MAX_DURATION_MS, parseDuration } from "../../src/commands/duration.js";
import { formatDuration } from "../../src/render/time.js";
import { BlueGreenError, ExitCode, UsageError } from "../../src/errors.js";
import { connect } from "../../src/kube/client.js";
import { callDeadlineMs, parseRetryAfter, readRetryDelayMs, redactUrls, splitServerUrl } from "../../src/kube/transport.js";

describe("durations", () => {
  it("refuses what a timer cannot hold, and says the maximum (exit 2)", () => {
    expect(parseDuration("timeout", "596h")).toBe(596 * 3_600_000);
    expect(parseDuration("timeout", `${MAX_DURATION_MS}ms`)).toBe(MAX_DURATION_MS);
    for (const v of ["597h", `${MAX_DURATION_MS + 1}ms`, "9".repeat(400), "25000000s"]) {
      expect(() => parseDuration("request-timeout", v), v).toThrow(UsageError);
    }
    expect(() => parseDuration("request-timeout", "1000h")).toThrow('invalid duration for --request-timeout: "1000h" is longer than the maximum, 596h31m23.647s.');
    expect(() => parseDuration("timeout", "-5s")).toThrow('invalid duration for --timeout: "-5s" (use for example 30s, 2m or 1h).');
  });

  it("prints like kubectl", () => {
    expect([500, 2000, 1500, 90_000, 7_200_000, 0].map(formatDuration)).toEqual(["500ms", "2s", "1.5s", "1m30s", "2h", "0ms"]);
  });
});

describe("deadlines", () => {
  it("--request-timeout bounds every call (0: none); without it, writes still get 30s and reads none", () => {
    expect([callDeadlineMs("read", 2000), callDeadlineMs("write", 2000)]).toEqual([2000, 2000]);
    expect([callDeadlineMs("read", 0), callDeadlineMs("write", 0)]).toEqual([0, 0]);
    expect([callDeadlineMs("read", undefined), callDeadlineMs("write", undefined)]).toEqual([0, 30_000]);
  });
});

describe("read retries", () => {
  it("429, 500, 502, 503, 504 and broken connections: 250ms, 500ms, 1s, then give up (4 attempts)", () => {
    for (const status of [429, 500, 502, 503, 504]) expect(readRetryDelayMs({ status }, 1, 0), String(status)).toBe(250);
    expect([1, 2, 3, 4].map((n) => readRetryDelayMs({ networkCode: "ECONNRESET" }, n, 0))).toEqual([250, 500, 1000, undefined]);
    expect(readRetryDelayMs({ networkCode: "ECONNREFUSED" }, 1, 0)).toBe(250);
  });

  it("never on answers that will not change, nor on TLS failures", () => {
    for (const status of [400, 401, 403, 404, 409, 422, 501]) expect(readRetryDelayMs({ status }, 1, 0), String(status)).toBeUndefined();
    expect(readRetryDelayMs({ networkCode: "DEPTH_ZERO_SELF_SIGNED_CERT" }, 1, 0)).toBeUndefined();
    expect(readRetryDelayMs({}, 1, 0)).toBeUndefined();
  });

  it("Retry-After replaces the backoff, within the total budget", () => {
    expect(readRetryDelayMs({ status: 429, retryAfterMs: 3000 }, 1, 0)).toBe(3000);
    expect(readRetryDelayMs({ status: 503, retryAfterMs: 0 }, 1, 0)).toBe(0);
    expect(readRetryDelayMs({ status: 429, retryAfterMs: 60_000 }, 1, 0)).toBeUndefined();
    expect(readRetryDelayMs({ status: 503 }, 1, 14_900)).toBeUndefined();
  });

  it("Retry-After: seconds or an HTTP date", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("2", now)).toBe(2000);
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe("credentials in a server URL", () => {
  it("are taken out of the URL, and out of any text", () => {
    expect(splitServerUrl("https://alice:s%40cret@k.example:6443")).toEqual({ server: "https://k.example:6443", basic: { username: "alice", password: "s@cret" } });
    expect(splitServerUrl("https://k.example:6443/prefix")).toEqual({ server: "https://k.example:6443/prefix" });
    expect(redactUrls("GET https://alice:s3cret@k:6443/api and http://tok@x/y")).toBe("GET https://k:6443/api and http://x/y");
  });
});

// A local API server stand-in: each test sets `answer`; every request is counted.
let server: Server;
let base = "";
let requests: string[] = [];
let answer: (req: IncomingMessage, res: ServerResponse, n: number) => void = () => {};
const dir = mkdtempSync(path.join(tmpdir(), "bluegreen-transport-"));

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    answer(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  requests = [];
});

function client(requestTimeoutMs?: number) {
  const kubeconfig = path.join(dir, "kubeconfig.yaml");
  // Plain http (as behind `kubectl proxy`): no TLS to verify, and no credentials are sent.
  writeFileSync(
    kubeconfig,
    `clusters: [{name: local, cluster: {server: "${base}"}}]
users: [{name: u, user: {token: never-sent-over-http}}]
contexts: [{name: local, context: {cluster: local, user: u, namespace: ns}}]
current-context: local
`,
  );
  return connect({ kubeconfig, requestTimeoutMs }, {});
}

const json = (res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};
const status = (code: number, message: string) => ({ kind: "Status", apiVersion: "v1", status: "Failure", code, message });

async function failure(p: Promise<unknown>): Promise<BlueGreenError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BlueGreenError) return e;
    throw e;
  }
  throw new Error("expected a failure");
}

describe("the client", () => {
  it("retries a read until it succeeds, honouring Retry-After", async () => {
    answer = (req, res, n) => {
      expect(req.headers.authorization).toBeUndefined();
      if (n === 1) return json(res, 503, status(503, "busy"), { "retry-after": "0" });
      if (n === 2) return json(res, 429, status(429, "slow down"), { "retry-after": "0" });
      json(res, 200, { kind: "ServiceList", items: [{ metadata: { name: "web" } }] });
    };
    const items = await client().listServices("ns");
    expect(items.map((s) => s.metadata.name)).toEqual(["web"]);
    expect(requests).toEqual(Array(3).fill("GET /api/v1/namespaces/ns/services?limit=500"));
  });

  it("gives up after 4 attempts with a transient error", async () => {
    answer = (_req, res) => json(res, 503, status(503, "busy"), { "retry-after": "0" });
    const e = await failure(client().getService("ns", "web"));
    expect([e.exitCode, e.message, e.transient, requests.length]).toEqual([ExitCode.unreachable, "get service/web: the API server did not answer in time (503): busy", true, 4]);
  });

  it("does not retry an answer that will not change", async () => {
    answer = (_req, res) => json(res, 404, status(404, 'services "web" not found'));
    const e = await failure(client().getService("ns", "web"));
    expect([e.exitCode, e.message, requests.length]).toEqual([ExitCode.notFound, 'get service/web: services "web" not found.', 1]);
  });

  it("never retries a write: its outcome is unknown, the caller reads back", async () => {
    answer = (_req, res) => json(res, 503, status(503, "busy"), { "retry-after": "0" });
    const e = await failure(client().patchService("ns", "web", { spec: { selector: { v: "2" } } }));
    expect([e.exitCode, e.transient, e.retryAfterMs, requests]).toEqual([ExitCode.unreachable, true, 0, ["PATCH /api/v1/namespaces/ns/services/web?fieldManager=kubectl-bluegreen"]]);
  });

  it("a conditional scale is a merge patch carrying the resourceVersion", async () => {
    let body = "";
    answer = (req, res) => {
      req.setEncoding("utf8");
      req.on("data", (d: string) => {
        body += d;
      });
      req.on("end", () => {
        expect(req.headers["content-type"]).toBe("application/merge-patch+json");
        json(res, 409, status(409, "the object has been modified"));
      });
    };
    const e = await failure(client().scaleDeployment("ns", "web-v1", 0, { resourceVersion: "42" }));
    expect(JSON.parse(body)).toEqual({ metadata: { resourceVersion: "42" }, spec: { replicas: 0 } });
    expect([e.exitCode, e.transient, requests.length]).toEqual([ExitCode.conflict, false, 1]);
  });

  it("--request-timeout bounds a call that gets no answer: exit 8, one sentence", async () => {
    answer = () => {}; // never answers
    const started = Date.now();
    const e = await failure(client(300).listDeployments("ns", "app=web"));
    expect([e.exitCode, e.message, e.transient]).toEqual([ExitCode.unreachable, "list deployments: the API server did not answer within 300ms (--request-timeout).", true]);
    expect(Date.now() - started).toBeLessThan(2000);
    const w = await failure(client(300).patchService("ns", "web", {}));
    expect(w.message).toBe("patch service/web: the API server did not answer within 300ms (--request-timeout).");
  });

  it("a read broken mid-connection is retried", async () => {
    answer = (req, res, n) => {
      if (n === 1) return req.socket.destroy();
      json(res, 200, { kind: "DeploymentList", items: [] });
    };
    expect(await client().listDeployments("ns")).toEqual([]);
    expect(requests.length).toBe(2);
  });

  it("lists in pages of 500 at the first page's resourceVersion, without managedFields or kubectl apply's copy", async () => {
    answer = (req, res) => {
      const u = new URL(req.url ?? "", base);
      const page = u.searchParams.get("continue") ?? "0";
      const next = { "0": "a", a: "b", b: "" }[page];
      json(res, 200, {
        kind: "DeploymentList",
        metadata: { resourceVersion: `rv-${page}`, continue: next },
        items: [
          {
            metadata: {
              name: `web-${page}`,
              managedFields: [{ manager: "kubectl" }],
              annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", "kubectl-bluegreen/last-deploy": "x" },
            },
          },
        ],
      });
    };
    const l = await client().listAt<{ metadata: { name: string; managedFields?: unknown } }>({ resource: "deployments", namespace: "ns", labelSelector: "app=web" });
    const kept = { "kubectl-bluegreen/last-deploy": "x" };
    expect(l.items.map((d) => d.metadata)).toEqual([
      { name: "web-0", annotations: kept },
      { name: "web-a", annotations: kept },
      { name: "web-b", annotations: kept },
    ]);
    expect(l.resourceVersion).toBe("rv-0");
    expect(requests).toEqual([
      "GET /apis/apps/v1/namespaces/ns/deployments?labelSelector=app%3Dweb&limit=500",
      "GET /apis/apps/v1/namespaces/ns/deployments?labelSelector=app%3Dweb&limit=500&continue=a",
      "GET /apis/apps/v1/namespaces/ns/deployments?labelSelector=app%3Dweb&limit=500&continue=b",
    ]);
  });

  it("a continue token that expired (410) starts the list again", async () => {
    answer = (req, res, n) => {
      const cont = new URL(req.url ?? "", base).searchParams.get("continue");
      if (cont && n === 2) return json(res, 410, status(410, "The provided continue parameter is too old"));
      json(res, 200, { kind: "ServiceList", metadata: { resourceVersion: `rv-${n}`, continue: cont ? "" : "next" }, items: [{ metadata: { name: cont ? "b" : "a" } }] });
    };
    const items = await client().listServices("ns");
    expect(items.map((x) => x.metadata.name)).toEqual(["a", "b"]);
    expect(requests.length).toBe(4);
  });

  it("a watch delivers each change and says when its resourceVersion expired", async () => {
    answer = (req, res) => {
      const u = new URL(req.url ?? "", base);
      expect([u.searchParams.get("watch"), u.searchParams.get("allowWatchBookmarks")]).toEqual(["1", "true"]);
      res.writeHead(200, { "content-type": "application/json" });
      if (u.searchParams.get("resourceVersion") === "old") {
        res.end(`${JSON.stringify({ type: "ERROR", object: status(410, "too old resource version") })}\n`);
        return;
      }
      res.write(`${JSON.stringify({ type: "ADDED", object: { metadata: { name: "a", resourceVersion: "5" } } })}\n{"type":"BOOK`);
      res.end(`MARK","object":{"metadata":{"resourceVersion":"6"}}}\n${JSON.stringify({ type: "DELETED", object: { metadata: { name: "a", resourceVersion: "7" } } })}\n`);
    };
    const seen: string[] = [];
    const what = { resource: "services", namespace: "ns" } as const;
    const end = await client().watch<{ metadata: { name?: string; resourceVersion: string } }>(what, "4", (e) => seen.push(`${e.type} ${e.object.metadata.resourceVersion}`), new AbortController().signal);
    expect([end, seen]).toEqual(["ended", ["ADDED 5", "BOOKMARK 6", "DELETED 7"]]);
    expect(await client().watch(what, "old", () => seen.push("never"), new AbortController().signal)).toBe("expired");
    expect(seen.length).toBe(3);
  });

  it("changed() returns at the first change, long before its limit", async () => {
    answer = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`${JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "2" } } })}\n`);
      setTimeout(() => res.write(`${JSON.stringify({ type: "MODIFIED", object: { metadata: { name: "s", resourceVersion: "3" } } })}\n`), 50);
    };
    const started = Date.now();
    await client().changed({ resource: "endpointslices", namespace: "ns", labelSelector: "kubernetes.io/service-name=web" }, "1", 20_000, new AbortController().signal);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(requests).toEqual(["GET /apis/discovery.k8s.io/v1/namespaces/ns/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb&watch=1&resourceVersion=1&allowWatchBookmarks=true&timeoutSeconds=300"]);
  });
});
