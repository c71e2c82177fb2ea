// Other writers of the objects the plugin writes, run in the test's own process against the test bed's API
// server (admin credentials): an annotator that writes a foreign annotation on a period, as GitOps agents,
// external-dns, load-balancer controllers and meshes do, and a reverting controller that puts a Service's
// selector back whenever it changes, as Argo CD's self-heal or Flux do to a field Git owns.
//
// They run on this process's event loop: drive the plugin with the asynchronous helpers (bluegreenAsync,
// kubectlAsync) while they run; a synchronous kubectl() or bluegreen() pauses them.
import { setTimeout as sleep } from "node:timers/promises";
import https from "node:https";
import { ADMIN_CONTEXT, KUBECONFIG } from "./cluster.js";
import { type Upstream, upstreamOf } from "./faultproxy.js";

/** A writer running in the background. */
export interface Writer {
  /** Writes the API server accepted so far. */
  readonly writes: number;
  /** Failed requests (the first few), to show when a test fails. */
  readonly errors: string[];
  /** Stops it and waits for its last request. */
  stop(): Promise<void>;
}

/** An object the plugin writes: "services/myapp" or "deployments/myapp-v2". */
export type ObjectRef = `services/${string}` | `deployments/${string}`;

let upstream: Promise<Upstream> | undefined;

const pathOf = (ns: string, ref: ObjectRef): string =>
  ref.startsWith("services/") ? `/api/v1/namespaces/${ns}/${ref}` : `/apis/apps/v1/namespaces/${ns}/${ref}`;

/** The parts of an answer the writers read: a Service, or a Status. */
interface Answer {
  message?: string;
  spec?: { selector?: Record<string, string> };
}

/** One request to the API server; resolves with its status and parsed body. */
async function send(method: "GET" | "PATCH", path: string, body?: unknown, fieldManager?: string): Promise<{ status: number; body: Answer | undefined }> {
  upstream ??= upstreamOf(KUBECONFIG, ADMIN_CONTEXT, true);
  const up = await upstream;
  const query = fieldManager ? `?fieldManager=${encodeURIComponent(fieldManager)}` : "";
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/merge-patch+json";
  if (up.token) headers.authorization = `Bearer ${up.token}`;
  return new Promise((resolve, reject) => {
    const req = https.request({ host: up.url.hostname, port: up.url.port, method, path: `${path}${query}`, headers, agent: up.agent }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        text += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Answer) : undefined }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Runs step every everyMs until stopped; step returns whether it wrote. */
function loop(everyMs: number, step: () => Promise<boolean>): Writer {
  let stopped = false;
  const state = { writes: 0, errors: [] as string[] };
  const done = (async () => {
    while (!stopped) {
      try {
        if (await step()) state.writes++;
      } catch (e) {
        if (state.errors.length < 5) state.errors.push(String(e));
      }
      await sleep(everyMs);
    }
  })();
  return {
    get writes() {
      return state.writes;
    },
    get errors() {
      return state.errors;
    },
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/**
 * Annotates each object every everyMs with a counter (`gitops.example/tick`), unconditionally, as a controller
 * with no stake in the selector or replicas does.
 */
export function startAnnotator(ns: string, refs: ObjectRef[], everyMs: number): Writer {
  let tick = 0;
  return loop(everyMs, async () => {
    tick++;
    let ok = true;
    for (const ref of refs) {
      const r = await send("PATCH", pathOf(ns, ref), { metadata: { annotations: { "gitops.example/tick": String(tick) } } });
      if (r.status !== 200) throw new Error(`PATCH ${ref}: ${r.status} ${r.body?.message ?? ""}`);
      ok &&= r.status === 200;
    }
    return ok;
  });
}

/**
 * A controller that owns a Service's selector: every everyMs it reads the Service and, when the selector differs
 * from `selector`, writes it back (as field manager `manager`). `writes` counts the reverts.
 */
export function startReverter(ns: string, service: string, selector: Record<string, string>, manager: string, everyMs = 20): Writer {
  const path = pathOf(ns, `services/${service}`);
  return loop(everyMs, async () => {
    const r = await send("GET", path);
    const now: Record<string, string> = r.body?.spec?.selector ?? {};
    if (Object.entries(selector).every(([k, v]) => now[k] === v)) return false;
    const w = await send("PATCH", path, { spec: { selector } }, manager);
    if (w.status !== 200) throw new Error(`PATCH services/${service}: ${w.status} ${w.body?.message ?? ""}`);
    return true;
  });
}
