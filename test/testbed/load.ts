// A steady stream of HTTP requests to one URL, each recorded as a line of JSON. Runs inside the test bed's
// network namespace (scripts/testbed.sh exec -- node test/testbed/load.ts …), until SIGTERM or SIGINT; then
// it waits for the requests in flight and exits.
//
//   --url URL            what to GET (e.g. http://CLUSTER_IP/)
//   --out FILE           where the lines go (default: stdout)
//   --rate N             requests started per second (default 100)
//   --keepalive N        keep N connections open and spread the requests over them (default: a new connection
//                        for every request)
//   --conn-requests M    with --keepalive, close a connection after M requests and open a new one (default 50)
//   --timeout-ms MS      a request that takes longer fails (default 5000)
//   --host HOST          the Host header to send (default: the URL's), e.g. for a gateway's host-based routes
//                        (--url http://10.1.0.1:8000/ --host app.example)
//   --stdin              also stop when stdin closes (so a helper started by a test ends with the test's process)
//
// Each line: {"t0": start, "t1": end (ms since the epoch), "conn": connection number, "connT0": when
// that connection was opened, "status": HTTP status or 0, "pod", "labels" (from the pod's answer), "error"}.
// A request fails when it errs, times out, or answers anything but 2xx.
import { createWriteStream } from "node:fs";
import { Agent, request } from "node:http";
import type { Socket } from "node:net";

function opt(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const url = opt("url");
if (!url) {
  console.error("load: --url is required");
  process.exit(2);
}
const rate = Number(opt("rate") ?? 100);
const keepalive = Number(opt("keepalive") ?? 0);
const connRequests = Number(opt("conn-requests") ?? 50);
const timeoutMs = Number(opt("timeout-ms") ?? 5000);
const host = opt("host");
const outFile = opt("out");
const out = outFile ? createWriteStream(outFile) : process.stdout;

// The wall clock, as the tests and the benchmark read it in other processes (a monotonic clock plus each
// process's own time origin can differ between processes by as much as the wall clock was stepped).
const now = () => Date.now();

/** One kept-alive connection: an agent of one socket, retired after connRequests requests. */
interface Lane {
  agent: Agent;
  conn: number;
  connT0: number;
  used: number;
}

let connCounter = 0;
const lanes: Lane[] = [];

function newLane(): Lane {
  return { agent: new Agent({ keepAlive: true, maxSockets: 1 }), conn: ++connCounter, connT0: now(), used: 0 };
}

for (let i = 0; i < keepalive; i++) lanes.push(newLane());

let inFlight = 0;
let sent = 0;
let failed = 0;
let stopping = false;

function record(line: Record<string, unknown>): void {
  out.write(`${JSON.stringify(line)}\n`);
}

function fire(): void {
  const t0 = now();
  let lane: Lane | undefined;
  let conn: number;
  let connT0: number;
  if (keepalive > 0) {
    const i = sent % keepalive;
    lane = lanes[i];
    if (lane.used >= connRequests) {
      // Retire it once its last requests are done; the next ones go over a new connection.
      const old = lane.agent;
      setTimeout(() => old.destroy(), timeoutMs);
      lane = newLane();
      lanes[i] = lane;
    }
    lane.used++;
    conn = lane.conn;
    connT0 = lane.connT0;
  } else {
    conn = ++connCounter;
    connT0 = t0;
  }
  sent++;
  inFlight++;
  let done = false;
  const finish = (status: number, body: string, error?: string) => {
    if (done) return;
    done = true;
    inFlight--;
    let pod: string | undefined;
    let labels: Record<string, string> | undefined;
    try {
      const parsed = JSON.parse(body);
      pod = parsed.pod;
      labels = parsed.labels;
    } catch {
      // not a pod's answer
    }
    const ok = !error && status >= 200 && status < 300;
    if (!ok) failed++;
    record({ t0, t1: now(), conn, connT0, status, pod, labels, ...(error ? { error } : {}) });
    if (stopping && inFlight === 0) end();
  };
  const req = request(url as string, { agent: lane ? lane.agent : false, timeout: timeoutMs, ...(host ? { headers: { host } } : {}) }, (res) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (c: string) => {
      body += c;
    });
    res.on("end", () => finish(res.statusCode ?? 0, body));
    res.on("error", (e) => finish(res.statusCode ?? 0, body, e.message));
  });
  if (!lane) req.setHeader("connection", "close");
  req.on("socket", (s: Socket) => s.setNoDelay(true));
  req.on("timeout", () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
  req.on("error", (e: NodeJS.ErrnoException) => finish(0, "", e.code ?? e.message));
  req.end();
}

const timer = setInterval(fire, 1000 / rate);

function end(): void {
  console.error(`load: ${sent} requests, ${failed} failed`);
  out.end(() => process.exit(0));
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  for (const l of lanes) setTimeout(() => l.agent.destroy(), timeoutMs);
  if (inFlight === 0) end();
  else setTimeout(end, timeoutMs + 1000);
}

process.on("SIGTERM", stop);
process.on("SIGINT", stop);
if (process.argv.includes("--stdin")) {
  process.stdin.on("end", stop);
  process.stdin.on("error", stop);
  process.stdin.resume();
}
