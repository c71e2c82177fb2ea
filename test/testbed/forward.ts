// Joins a TCP port on 127.0.0.1 and a unix socket, byte for byte, in either direction. The test bed runs one
// on each side of its network namespace: a unix socket lives in the filesystem, so it crosses the boundary.
//
//   node test/testbed/forward.ts tcp:127.0.0.1:PORT unix:/path/api.sock   listen on the first, connect to the second
//   node test/testbed/forward.ts unix:/path/api.sock tcp:127.0.0.1:PORT
//
// Only 127.0.0.1 is accepted for TCP, on either side.
import { rmSync } from "node:fs";
import { type Socket, connect, createServer } from "node:net";

type End = { kind: "tcp"; port: number } | { kind: "unix"; path: string };

function parse(spec: string | undefined): End {
  const tcp = /^tcp:127\.0\.0\.1:(\d+)$/.exec(spec ?? "");
  if (tcp) return { kind: "tcp", port: Number(tcp[1]) };
  if (spec?.startsWith("unix:") && spec.length > 5) return { kind: "unix", path: spec.slice(5) };
  console.error(`forward: expected tcp:127.0.0.1:PORT or unix:PATH, got ${spec ?? "nothing"}`);
  process.exit(2);
}

const from = parse(process.argv[2]);
const to = parse(process.argv[3]);

function dial(): Socket {
  // noDelay: an answer larger than a segment is sent whole, not held back until the client acknowledges its
  // start (Nagle's algorithm meeting delayed ACK: ~40 ms on every such answer).
  return to.kind === "tcp" ? connect({ port: to.port, host: "127.0.0.1", noDelay: true }) : connect(to.path);
}

const server = createServer({ pauseOnConnect: true, noDelay: true }, (client) => {
  const upstream = dial();
  const closeBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", closeBoth);
  upstream.on("error", closeBoth);
  upstream.once("connect", () => {
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
});

server.on("error", (err) => {
  console.error(`forward: ${err.message}`);
  process.exit(1);
});
if (from.kind === "tcp") server.listen(from.port, "127.0.0.1");
else {
  rmSync(from.path, { force: true });
  server.listen(from.path);
}
process.on("SIGTERM", () => process.exit(0));
