import { describe, expect, it } from "vitest";
import { ExitCode } from "../../src/errors.js";
import { toBlueGreenError } from "../../src/kube/errors.js";

const api = (code: number, message: string) => Object.assign(new Error(`HTTP-Code: ${code}`), { code, body: { kind: "Status", message } });

describe("API failures become one sentence and an exit code", () => {
  it.each([
    [403, ExitCode.forbidden, 'patch service/web: forbidden: services "web" is forbidden: User "viewer" cannot patch resource'],
    [404, ExitCode.notFound, 'patch service/web: services "web" not found.'],
    [409, ExitCode.conflict, "patch service/web: conflict: the object has been modified"],
    [422, ExitCode.refused, "patch service/web: the API server rejected it: denied"],
    [503, ExitCode.unreachable, "patch service/web: the API server did not answer in time (503): busy"],
    [500, ExitCode.unexpected, "patch service/web: HTTP 500: boom"],
  ])("HTTP %i → exit %i", (code, exit, message) => {
    const body = { 403: 'services "web" is forbidden: User "viewer" cannot patch resource', 404: 'services "web" not found', 409: "the object has been modified", 422: "denied", 503: "busy", 500: "boom" }[code]!;
    const e = toBlueGreenError(api(code, body), "patch service/web", "https://k");
    expect(e.exitCode).toBe(exit);
    expect(e.message).toBe(message);
  });

  it("401 says the credentials were not accepted", () => {
    const e = toBlueGreenError(api(401, "Unauthorized"), "list deployments", "https://k");
    expect([e.exitCode, e.message]).toEqual([ExitCode.forbidden, "list deployments: unauthorized: the cluster did not accept your credentials."]);
  });

  it("a refused connection or a timeout means unreachable (exit 8)", () => {
    const refused = new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" }) });
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
