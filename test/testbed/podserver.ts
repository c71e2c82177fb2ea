// The test bed's pods, answering: one process that plays every pod of the cluster.
//
//   node test/testbed/podserver.ts --server https://127.0.0.1:PORT --ca CA --cert CERT --key KEY --ready FILE
//
// It runs inside the test bed's network namespace, where the whole pod CIDR is a local route on lo, so a
// socket bound to 0.0.0.0:PORT receives connections to every pod IP and sees the pod IP as its local address.
// It lists and watches all pods, listens on every TCP container port any pod declares, and answers each
// connection as the pod that owns the destination IP:
//
//   any request  → 200 with {"pod", "namespace", "labels", "image"} (the image of the container declaring the port)
//   pod annotation testbed.kubectl-bluegreen.io/http-status: "503"  → answers with that status
//   pod annotation testbed.kubectl-bluegreen.io/http-status-8080: "503" → that status on port 8080 only
//   pod annotation testbed.kubectl-bluegreen.io/delay-ms: "200"     → answers after that delay
//
// A connection to an IP no pod owns is reset, and when a pod goes away its open connections are reset: the
// process behind it is gone. An IP the watch has not reported yet gets a short grace (the pod may be newer than
// the last event seen). When FILE is given, it is written once the first list is served.
import { readFileSync, writeFileSync } from "node:fs";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import { request } from "node:https";
import type { Socket } from "node:net";

const ANNOTATION_STATUS = "testbed.kubectl-bluegreen.io/http-status";
const ANNOTATION_DELAY = "testbed.kubectl-bluegreen.io/delay-ms";
/** How long a connection to an IP not (yet) known waits for the watch before it is reset. */
const UNKNOWN_GRACE_MS = 2_000;

interface PodInfo {
  pod: string;
  namespace: string;
  labels: Record<string, string>;
  /** container image by declared TCP port */
  images: Map<number, string>;
  /** the answer's status by port; `status` for ports not listed */
  statusByPort: Map<number, number>;
  status: number;
  delayMs: number;
}

interface Args {
  server: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  ready?: string;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const need = (name: string): string => {
    const v = get(name);
    if (!v) {
      console.error(`podserver: --${name} is required`);
      process.exit(2);
    }
    return v;
  };
  return {
    server: need("server"),
    ca: readFileSync(need("ca")),
    cert: readFileSync(need("cert")),
    key: readFileSync(need("key")),
    ready: get("ready"),
  };
}

const args = parseArgs(process.argv.slice(2));

/** pod IP → the pod that owns it */
const byIp = new Map<string, PodInfo>();
/** pod IPs whose pod was deleted (connections to them are reset at once) */
const gone = new Set<string>();
/** open connections by local (pod) IP, to reset when the pod goes away */
const sockets = new Map<string, Set<Socket>>();
/** listening ports */
const servers = new Map<number, ReturnType<typeof createServer>>();
/** IP → callbacks waiting for it to appear */
const waiting = new Map<string, Array<() => void>>();

// biome-ignore lint/suspicious/noExplicitAny: a pod object straight from the API.
type Pod = any;

function localIp(socket: Socket): string {
  return (socket.localAddress ?? "").replace(/^::ffff:/, "");
}

function podInfo(pod: Pod): PodInfo {
  const ann: Record<string, string> = pod.metadata?.annotations ?? {};
  const images = new Map<number, string>();
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if ((p.protocol ?? "TCP") === "TCP" && typeof p.containerPort === "number") images.set(p.containerPort, c.image);
    }
  }
  const valid = (n: number) => (Number.isInteger(n) && n >= 100 && n <= 599 ? n : 500);
  const status = Number(ann[ANNOTATION_STATUS] ?? 200);
  const delayMs = Number(ann[ANNOTATION_DELAY] ?? 0);
  const statusByPort = new Map<number, number>();
  for (const [key, value] of Object.entries(ann)) {
    const port = key.startsWith(`${ANNOTATION_STATUS}-`) ? Number(key.slice(ANNOTATION_STATUS.length + 1)) : Number.NaN;
    if (Number.isInteger(port)) statusByPort.set(port, valid(Number(value)));
  }
  return {
    statusByPort,
    pod: pod.metadata.name,
    namespace: pod.metadata.namespace,
    labels: pod.metadata.labels ?? {},
    images,
    status: valid(status),
    delayMs: Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0,
  };
}

function ipsOf(pod: Pod): string[] {
  const ips = new Set<string>();
  if (pod.status?.podIP) ips.add(pod.status.podIP);
  for (const p of pod.status?.podIPs ?? []) if (p.ip) ips.add(p.ip);
  return [...ips];
}

/** Pods that run: they have an IP and have not finished. */
function serving(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && ipsOf(pod).length > 0;
}

// Which pod owns which IP, by pod key, so an update that changes or drops an IP is handled.
const ipsByPod = new Map<string, string[]>();

/** The pod with this key no longer owns ip: its connections are reset (unless another pod owns the IP now). */
function release(key: string, ip: string): void {
  const owner = byIp.get(ip);
  if (!owner || `${owner.namespace}/${owner.pod}` !== key) return;
  byIp.delete(ip);
  gone.add(ip);
  for (const s of sockets.get(ip) ?? []) s.resetAndDestroy();
  sockets.delete(ip);
}

function forget(key: string): void {
  for (const ip of ipsByPod.get(key) ?? []) release(key, ip);
  ipsByPod.delete(key);
}

function upsert(pod: Pod): void {
  const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
  if (!serving(pod)) {
    forget(key);
    return;
  }
  const info = podInfo(pod);
  const ips = ipsOf(pod);
  for (const old of ipsByPod.get(key) ?? []) {
    if (!ips.includes(old)) release(key, old);
  }
  ipsByPod.set(key, ips);
  for (const ip of ips) {
    byIp.set(ip, info);
    gone.delete(ip);
    for (const wake of waiting.get(ip) ?? []) wake();
    waiting.delete(ip);
  }
  for (const port of info.images.keys()) listen(port);
}

function answer(req: IncomingMessage, res: ServerResponse): void {
  const ip = localIp(req.socket);
  const info = byIp.get(ip);
  if (!info) {
    req.socket.resetAndDestroy();
    return;
  }
  const port = req.socket.localPort ?? 0;
  const body = `${JSON.stringify({ pod: info.pod, namespace: info.namespace, labels: info.labels, image: info.images.get(port) ?? "" })}\n`;
  const send = () => {
    if (res.destroyed) return;
    res.writeHead(info.statusByPort.get(port) ?? info.status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  req.resume();
  if (info.delayMs > 0) setTimeout(send, info.delayMs);
  else send();
}

function track(ip: string, socket: Socket): void {
  let set = sockets.get(ip);
  if (!set) {
    set = new Set();
    sockets.set(ip, set);
  }
  set.add(socket);
  socket.once("close", () => set.delete(socket));
}

function listen(port: number): void {
  if (servers.has(port)) return;
  const server = createServer({ keepAlive: true }, answer);
  // Connections are admitted here, before any byte is read: unknown IPs wait for the watch, gone ones are reset.
  server.on("connection", (socket: Socket) => {
    const ip = localIp(socket);
    socket.on("error", () => {});
    if (byIp.has(ip)) {
      track(ip, socket);
      return;
    }
    if (gone.has(ip)) {
      socket.resetAndDestroy();
      return;
    }
    socket.pause();
    const timer = setTimeout(() => {
      waiting.set(ip, (waiting.get(ip) ?? []).filter((f) => f !== wake));
      socket.resetAndDestroy();
    }, UNKNOWN_GRACE_MS);
    const wake = () => {
      clearTimeout(timer);
      track(ip, socket);
      socket.resume();
    };
    waiting.set(ip, [...(waiting.get(ip) ?? []), wake]);
  });
  server.on("error", (err) => {
    console.error(`podserver: cannot listen on port ${port}: ${err.message}`);
    servers.delete(port);
  });
  servers.set(port, server);
  server.listen(port, "0.0.0.0");
}

// ------------------------------------------------------------------------------------------------
// list and watch all pods

function get(path: string, onData?: (line: string) => void): Promise<{ status: number; body: string }> {
  const url = new URL(path, args.server);
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: args.ca, cert: args.cert, key: args.key, headers: { accept: "application/json" } }, (res) => {
      let body = "";
      let pending = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (!onData || res.statusCode !== 200) {
          body += chunk;
          return;
        }
        pending += chunk;
        let nl = pending.indexOf("\n");
        while (nl >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line) onData(line);
          nl = pending.indexOf("\n");
        }
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function list(): Promise<string> {
  const r = await get("/api/v1/pods");
  if (r.status !== 200) throw new Error(`listing pods: HTTP ${r.status}`);
  const body = JSON.parse(r.body);
  const seen = new Set<string>();
  for (const pod of body.items ?? []) {
    seen.add(`${pod.metadata.namespace}/${pod.metadata.name}`);
    upsert(pod);
  }
  for (const key of [...ipsByPod.keys()]) if (!seen.has(key)) forget(key);
  return body.metadata.resourceVersion;
}

async function run(): Promise<void> {
  let rv = "";
  let ready = false;
  for (;;) {
    try {
      if (!rv) rv = await list();
      if (!ready) {
        ready = true;
        if (args.ready) writeFileSync(args.ready, `${process.pid}\n`);
        console.error(`podserver: serving ${byIp.size} pods on ports ${[...servers.keys()].join(",") || "(none yet)"}`);
      }
      let expired = false;
      await get(`/api/v1/pods?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`, (line) => {
        const ev = JSON.parse(line);
        if (ev.type === "ERROR") {
          if (ev.object?.code === 410) expired = true;
          return;
        }
        if (ev.object?.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
        if (ev.type === "ADDED" || ev.type === "MODIFIED") upsert(ev.object);
        else if (ev.type === "DELETED") forget(`${ev.object.metadata.namespace}/${ev.object.metadata.name}`);
      });
      if (expired) rv = "";
    } catch (err) {
      console.error(`podserver: ${err instanceof Error ? err.message : String(err)}; retrying`);
      await sleep(500);
    }
  }
}

process.on("SIGTERM", () => process.exit(0));
run();
