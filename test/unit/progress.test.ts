// The lines a switch prints while traffic moves: one line a phase in a log, a countdown on a terminal.
import { describe, expect, it } from "vitest";
import type { Context } from "../../src/context.js";
import { progress } from "../../src/commands/progress.js";
import { fitLine, phaseLine, switchedLine } from "../../src/render/progress.js";

const verify = { phase: "verify", services: ["myapp"], to: "v2", timeoutMs: 60_000 } as const;

describe("switch progress lines", () => {
  it("says each Service's switch as kubectl says a mutation", () => {
    expect(switchedLine("service/myapp", "version", "v1", "v2")).toBe("service/myapp switched: version v1 → v2");
  });

  it("verification: one line in a log, the endpoints and the time left on a terminal", () => {
    expect(phaseLine({ ...verify, leftMs: 60_000 }, false)).toBe("verifying: waiting up to 1m for every endpoint of service/myapp to be on v2 (Ctrl-C switches back)");
    expect(phaseLine({ ...verify, services: ["web", "api"], timeoutMs: 3000, leftMs: 3000 }, false)).toBe(
      "verifying: waiting up to 3s for every endpoint of service/web, service/api to be on v2 (Ctrl-C switches back)",
    );
    expect(phaseLine({ ...verify, leftMs: 11_200, endpoints: { total: 3, onTarget: 2, readyOnTarget: 2 } }, true)).toBe("verifying: 2 of 3 endpoints on v2 (12s left; Ctrl-C switches back)");
    expect(phaseLine({ ...verify, leftMs: 30_000, endpoints: { total: 6, onTarget: 3, readyOnTarget: 1 } }, true)).toBe("verifying: 3 of 6 endpoints on v2, 1 ready (30s left; Ctrl-C switches back)");
    expect(phaseLine({ ...verify, leftMs: 30_000, endpoints: { total: 1, onTarget: 0, readyOnTarget: 0 } }, true)).toBe("verifying: 0 of 1 endpoint on v2 (30s left; Ctrl-C switches back)");
    expect(phaseLine({ ...verify, leftMs: 30_000, endpoints: { total: 0, onTarget: 0, readyOnTarget: 0 } }, true)).toBe("verifying: no endpoints yet (30s left; Ctrl-C switches back)");
    // Time up: never a negative count.
    expect(phaseLine({ ...verify, leftMs: -40, endpoints: { total: 3, onTarget: 2, readyOnTarget: 2 } }, true)).toBe("verifying: 2 of 3 endpoints on v2 (0s left; Ctrl-C switches back)");
    expect(phaseLine({ ...verify, leftMs: 90_000 }, true)).toBe("verifying: reading the endpoints of service/myapp (1m30s left; Ctrl-C switches back)");
    expect(phaseLine({ ...verify, leftMs: 5000, retrying: "list endpointslices for service/myapp: the API server answered 503" }, true)).toBe(
      "verifying: list endpointslices for service/myapp: the API server answered 503; retrying (5s left; Ctrl-C switches back)",
    );
  });

  it("the propagation delay: a countdown on a terminal, its one line otherwise", () => {
    expect(phaseLine({ phase: "propagate", delayMs: 8000, leftMs: 8000 }, false)).toBe("waiting 8s for kube-proxy and load balancers (Ctrl-C switches back)");
    expect(phaseLine({ phase: "propagate", delayMs: 8000, leftMs: 4100 }, true)).toBe("waiting 8s for kube-proxy and load balancers (5s left; Ctrl-C switches back)");
    expect(phaseLine({ phase: "propagate", delayMs: 1500, leftMs: 1500 }, true)).toBe("waiting 1.5s for kube-proxy and load balancers (2s left; Ctrl-C switches back)");
  });

  it("what a terminal keeps once verified", () => {
    expect(phaseLine({ phase: "verified", to: "v2", endpoints: { total: 3, onTarget: 3, readyOnTarget: 3 }, delayMs: 8000 }, true)).toBe(
      "verified: 3 endpoints, all on v2; waited 8s for kube-proxy and load balancers",
    );
    expect(phaseLine({ phase: "verified", to: "green", endpoints: { total: 1, onTarget: 1, readyOnTarget: 1 }, delayMs: 0 }, true)).toBe("verified: 1 endpoint, all on green");
    expect(phaseLine({ phase: "verified", to: "v2", endpoints: { total: 3, onTarget: 3, readyOnTarget: 2 }, delayMs: 0 }, true)).toBe("verified: 3 endpoints, all on v2 (2 ready)");
  });

  it("probes: Ctrl-C switches back only after the switch", () => {
    expect(phaseLine({ phase: "probe", when: "before", answered: 1, total: 3 }, true)).toBe("probing before the switch: 1 of 3 answered");
    expect(phaseLine({ phase: "probe", when: "after", answered: 0, total: 1 }, true)).toBe("probing after the switch: 0 of 1 answered (Ctrl-C switches back)");
  });

  it("cuts a line to the terminal's width, so that it can be rewritten in place", () => {
    expect(fitLine("waiting 8s", 80)).toBe("waiting 8s");
    expect(fitLine("0123456789", 11)).toBe("0123456789");
    expect(fitLine("0123456789", 10)).toBe("01234567…");
    expect(fitLine("v1 → v2 → v3", 8)).toBe("v1 → v…");
    // Wide characters count twice.
    expect(fitLine("名前名前名前", 8)).toBe("名前名…");
  });
});

/** A context whose stderr is collected, on a terminal `columns` wide or not. */
function capture(errIsTTY: boolean, columns = 80): { ctx: Context; err: () => string } {
  let err = "";
  const io = {
    out: () => {},
    err: (t: string) => {
      err += t;
    },
    errIsTTY,
    color: false,
    columns,
    unicode: true,
  };
  return { ctx: { io } as unknown as Context, err: () => err };
}

describe("progress", () => {
  it("rewrites one line on a terminal, and ends it", () => {
    const { ctx, err } = capture(true);
    const p = progress(ctx);
    p.update("waiting 8s (8s left)");
    p.update("waiting 8s (8s left)");
    p.update("waiting 8s (7s left)");
    p.done();
    expect(err()).toBe("\r\u001b[2Kwaiting 8s (8s left)\r\u001b[2Kwaiting 8s (7s left)\n");
  });

  it("prints each new text as a line otherwise", () => {
    const { ctx, err } = capture(false);
    const p = progress(ctx);
    p.update("verifying");
    p.update("verifying");
    p.update("waiting 8s");
    p.done();
    expect(err()).toBe("verifying\nwaiting 8s\n");
  });

  it("keeps a rewritten line within the terminal's width, and escapes what the cluster said", () => {
    const { ctx, err } = capture(true, 20);
    const p = progress(ctx);
    p.update("verifying: service/a\u001b[31m has no ready endpoints");
    p.done();
    expect(err()).toBe("\r\u001b[2Kverifying: service…\n");
  });
});
