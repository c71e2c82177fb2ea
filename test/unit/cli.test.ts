import { describe, expect, it } from "vitest";
import { type Invocation, parse } from "../../src/cli/app.js";
import { parseDuration } from "../../src/cli/duration.js";
import { UsageError } from "../../src/errors.js";

const inv = async (...argv: string[]): Promise<Invocation> => (await parse(argv, 100)).inv!;

describe("command line parsing", () => {
  it("maps kubectl's global flags", async () => {
    const i = await inv("status", "myapp", "-n", "shop", "--context", "prod", "--kubeconfig", "/k", "--request-timeout", "5s", "-o", "json", "--no-headers");
    expect(i).toEqual({
      command: "status",
      watch: false,
      global: {
        kube: { kubeconfig: "/k", context: "prod", namespace: "shop", requestTimeoutMs: 5000 },
        output: "json",
        noHeaders: true,
        selection: { app: "myapp", appLabel: "app", selector: undefined, slotLabel: undefined, allNamespaces: false },
      },
    });
  });

  it("reads promote's flags", async () => {
    const i = await inv("promote", "myapp", "--to", "v2", "--min-ready", "2", "--wait", "--timeout", "2m", "--dry-run=server", "--slot-label", "track", "--app-label", "app.kubernetes.io/name");
    expect(i.command).toBe("promote");
    if (i.command !== "promote") return;
    expect(i.flags).toEqual({ to: "v2", minReady: 2, wait: true, timeoutMs: 120_000, verifyTimeoutMs: 60_000, dryRun: "server" });
    expect(i.global.selection).toMatchObject({ app: "myapp", slotLabel: "track", appLabel: "app.kubernetes.io/name" });
  });

  it("takes -l instead of APP, -A for status", async () => {
    const i = await inv("status", "-l", "tier=web", "-A");
    expect(i.command === "status" && i.global.selection).toMatchObject({ selector: "tier=web", allNamespaces: true });
  });

  it("refuses bad input with a usage error", async () => {
    await expect(parse(["promote"], 100)).rejects.toThrow(new UsageError("missing APP: name the app, or select it with -l."));
    await expect(parse(["promote", "x", "--dry-run=maybe"], 100)).rejects.toThrow('invalid --dry-run value "maybe": use client or server.');
    await expect(parse(["status", "-o", "xml"], 100)).rejects.toThrow('unknown output format "xml": use one of table, wide, json, yaml.');
    await expect(parse(["status", "--frobnicate"], 100)).rejects.toThrow("Unknown argument: frobnicate");
    await expect(parse(["promote", "x", "--min-ready", "0"], 100)).rejects.toThrow('--min-ready needs a whole number of at least 1, not "0".');
    await expect(parse(["explode"], 100)).rejects.toBeInstanceOf(UsageError);
    await expect(parse([], 100)).rejects.toBeInstanceOf(UsageError);
  });

  it("returns help text instead of printing it", async () => {
    const r = await parse(["promote", "--help"], 100);
    expect(r.inv).toBeUndefined();
    expect(r.help).toMatch(/kubectl bluegreen promote myapp --wait +Wait/);
    expect(r.help).toMatch(/6 {3}verification failed after the switch/);
  });
});

describe("parseDuration", () => {
  it("accepts kubectl durations", () => {
    expect(["30s", "2m", "1h30m", "500ms", "10", "0"].map((d) => parseDuration("t", d))).toEqual([30_000, 120_000, 5_400_000, 500, 10_000, 0]);
  });
  it("rejects nonsense", () => {
    expect(() => parseDuration("timeout", "soon")).toThrow('invalid duration for --timeout: "soon" (use for example 30s, 2m or 1h).');
    expect(() => parseDuration("timeout", "5x")).toThrow(UsageError);
  });
});
