import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { exitCodesHelp } from "../../src/cli/help.js";
import { EXIT_CODE_MEANINGS, ExitCode } from "../../src/errors.js";
import { toBlueGreenError } from "../../src/kube/errors.js";
import { HttpError } from "../../src/kube/http.js";
import { CredentialError, DeadlineExceeded } from "../../src/kube/transport.js";

const api = (code: number, message: string, headers: Record<string, string> = {}) => new HttpError(code, { kind: "Status", message }, headers);

describe("API failures become one sentence and an exit code", () => {
  it.each([
    [403, ExitCode.forbidden, 'patch service/web: forbidden: services "web" is forbidden: User "viewer" cannot patch resource'],
    [404, ExitCode.notFound, 'patch service/web: services "web" not found.'],
    [409, ExitCode.conflict, "patch service/web: conflict: the object has been modified"],
    [422, ExitCode.refused, "patch service/web: the API server rejected it: denied"],
    [503, ExitCode.unreachable, "patch service/web: the API server did not answer in time (503): busy"],
    [500, ExitCode.unexpected, "patch service/web: HTTP 500: boom"],
    [429, ExitCode.unreachable, "patch service/web: the API server asked to slow down (429): too many requests"],
  ])("HTTP %i → exit %i", (code, exit, message) => {
    const body = {
      403: 'services "web" is forbidden: User "viewer" cannot patch resource',
      404: 'services "web" not found',
      409: "the object has been modified",
      422: "denied",
      503: "busy",
      500: "boom",
      429: "too many requests",
    }[code]!;
    const e = toBlueGreenError(api(code, body), "patch service/web", "https://k");
    expect(e.exitCode).toBe(exit);
    expect(e.message).toBe(message);
  });

  it("errors that do not prove the request failed are transient (408, 429, 5xx, network, timeouts); the others are not", () => {
    for (const code of [408, 429, 500, 502, 503, 504]) expect(toBlueGreenError(api(code, "x"), "patch service/web", "").transient, String(code)).toBe(true);
    for (const code of [400, 401, 403, 404, 409, 422]) expect(toBlueGreenError(api(code, "x"), "patch service/web", "").transient, String(code)).toBe(false);
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    expect(toBlueGreenError(reset, "patch service/web", "https://k").transient).toBe(true);
    expect(toBlueGreenError(new DeadlineExceeded(30_000, false), "patch service/web", "https://k").transient).toBe(true);
  });

  it("Retry-After is kept (milliseconds) and named in the hint", () => {
    const e = toBlueGreenError(api(429, "slow down", { "retry-after": "3" }), "list services", "https://k");
    expect([e.transient, e.retryAfterMs, e.hint]).toEqual([true, 3000, "Try again in 3s."]);
    expect(toBlueGreenError(api(503, "busy"), "list services", "https://k").retryAfterMs).toBeUndefined();
  });

  it("an expired deadline names the time and where it came from (exit 8), never 'HTTP 23'", () => {
    const flag = toBlueGreenError(new DeadlineExceeded(2000, true), "list deployments", "https://k");
    expect([flag.exitCode, flag.message]).toEqual([ExitCode.unreachable, "list deployments: the API server did not answer within 2s (--request-timeout)."]);
    expect(toBlueGreenError(new DeadlineExceeded(30_000, false), "patch service/web", "https://k").message).toBe(
      "patch service/web: the API server did not answer within 30s.",
    );
    // What AbortSignal.timeout() rejects a fetch with: a DOMException whose numeric code (23) is no HTTP status.
    const dom = new DOMException("The operation was aborted due to timeout", "TimeoutError");
    expect(dom.code).toBe(23);
    const e = toBlueGreenError(dom, "list deployments", "https://k");
    expect([e.exitCode, e.message, e.transient]).toEqual([ExitCode.unreachable, "list deployments: cannot reach the cluster at https://k: the request timed out.", true]);
  });

  it("an untrusted server certificate is a TLS error (exit 8), not transient", () => {
    const tls = Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    const e = toBlueGreenError(tls, "list deployments", "https://127.0.0.1:6443");
    expect([e.exitCode, e.transient, e.message]).toEqual([
      ExitCode.unreachable,
      false,
      "list deployments: cannot verify the certificate of the cluster at https://127.0.0.1:6443: DEPTH_ZERO_SELF_SIGNED_CERT (self-signed certificate).",
    ]);
  });

  it("credentials fail as forbidden (exit 7) with the plugin's first line", () => {
    const e = toBlueGreenError(new CredentialError("sso", "\nerror: token expired, run login\ntrace…"), "list deployments", "https://k");
    expect([e.exitCode, e.message]).toEqual([ExitCode.forbidden, 'list deployments: cannot get credentials for user "sso": error: token expired, run login.']);
  });

  it("never prints user:password@ of a URL", () => {
    const cred = new TypeError("Request cannot be constructed from a URL that includes credentials: https://alice:s3cret@k:6443/api");
    const e = toBlueGreenError(cred, "list services", "https://alice:s3cret@k:6443");
    expect(e.message).toBe("list services: Request cannot be constructed from a URL that includes credentials: https://k:6443/api");
    const refused = new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
    expect(toBlueGreenError(refused, "list services", "https://alice:s3cret@k:6443").message).not.toContain("s3cret");
  });

  it("401 says the credentials were not accepted", () => {
    const e = toBlueGreenError(api(401, "Unauthorized"), "list deployments", "https://k");
    expect([e.exitCode, e.message]).toEqual([ExitCode.forbidden, "list deployments: unauthorized: the cluster did not accept your credentials."]);
  });

  it("a refused connection or a timeout means unreachable (exit 8)", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" });
    expect(toBlueGreenError(refused, "list services", "https://127.0.0.1:6443").message).toBe(
      "list services: cannot reach the cluster at https://127.0.0.1:6443: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:6443).",
    );
    const timeout = Object.assign(new Error("The operation was aborted due to timeout"), { name: "TimeoutError" });
    const e = toBlueGreenError(timeout, "list services", "https://k");
    expect([e.exitCode, e.message]).toEqual([ExitCode.unreachable, "list services: cannot reach the cluster at https://k: the request timed out."]);
  });

  it("anything else is unexpected (exit 10)", () => {
    expect(toBlueGreenError(new Error("weird"), "get deployment/x", "").exitCode).toBe(ExitCode.unexpected);
  });
});

describe("the exit-code table", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Exit codes"), readme.indexOf("\n## ", readme.indexOf("## Exit codes") + 1));
  // | code | meaning |, with the README's `code` marks taken out.
  const rows = [...section.matchAll(/^\| (\d+) \| (.*) \|$/gm)].map((m) => [Number(m[1]), (m[2] ?? "").replaceAll("`", "")]);

  it("has a meaning for every exit code, and no other", () => {
    expect(Object.keys(EXIT_CODE_MEANINGS).map(Number)).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
  });

  it("README says what errors.ts says, code by code", () => {
    expect(rows).toEqual(Object.entries(EXIT_CODE_MEANINGS).map(([code, meaning]) => [Number(code), meaning]));
  });

  it("--help says it too, wrapped", () => {
    const help = exitCodesHelp(100).split("\n").slice(1);
    expect(help.every((l) => l.length <= 100)).toBe(true);
    const byCode = help.join("\n").split(/\n(?= {2}\d)/).map((entry) => {
      const m = /^ {2}(\d+)\s+([\s\S]*)$/.exec(entry);
      return [Number(m?.[1]), (m?.[2] ?? "").replace(/\n\s+/g, " ")];
    });
    expect(byCode).toEqual(Object.entries(EXIT_CODE_MEANINGS).map(([code, meaning]) => [Number(code), meaning]));
  });
});
