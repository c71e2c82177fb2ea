import { describe, expect, it } from "vitest";
import { parse } from "../../src/cli/app.js";
import type { Invocation } from "../../src/commands/index.js";
import { parseDuration } from "../../src/commands/duration.js";
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
        verbose: false,
        noHeaders: true,
        selection: { app: "myapp", appLabel: "app", selector: undefined, slotLabel: undefined, allNamespaces: false },
      },
    });
  });

  it("reads -v at any level, as kubectl writes it, in one parse", async () => {
    const verbose = async (...argv: string[]) => {
      const i = await inv(...argv);
      return "global" in i && i.global.verbose;
    };
    expect(await verbose("status", "myapp")).toBe(false);
    for (const v of ["-v", "-vv", "-v=6", "--v=6"]) expect(await verbose("status", "myapp", v), v).toBe(true);
    expect(await verbose("promote", "myapp", "-v", "--to", "green")).toBe(true);
  });

  it("reads promote's flags", async () => {
    const i = await inv("promote", "myapp", "--to", "v2", "--min-ready", "2", "--wait", "--timeout", "2m", "--dry-run=server", "--slot-label", "track", "--app-label", "app.kubernetes.io/name");
    expect(i.command).toBe("promote");
    if (i.command !== "promote") return;
    expect(i.flags).toEqual({
      to: "v2",
      minReady: 2,
      wait: true,
      timeoutMs: 120_000,
      verifyTimeoutMs: 60_000,
      propagationDelayMs: 2_000,
      dryRun: "server",
      checks: { probes: [], probeTimeoutMs: 10_000, checkTimeoutMs: 120_000, preCheck: undefined, postCheck: undefined },
      scaleUp: false,
      scaleDownAfterMs: undefined,
    });
    expect(i.global.selection).toMatchObject({ app: "myapp", slotLabel: "track", appLabel: "app.kubernetes.io/name" });
  });

  it("takes -l instead of APP, -A for status", async () => {
    const i = await inv("status", "-l", "tier=web", "-A");
    expect(i.command === "status" && i.global.selection).toMatchObject({ selector: "tier=web", allNamespaces: true });
  });

  it("takes several apps for promote and abort, released together; refuses the flags that act on one app over time", async () => {
    expect(await inv("promote", "web", "api", "worker", "--to", "green")).toMatchObject({ command: "promote", group: { apps: ["web", "api", "worker"] }, flags: { to: "green" } });
    expect(await inv("abort", "web", "api")).toMatchObject({ command: "abort", group: { apps: ["web", "api"] } });
    expect(await inv("promote", "web")).not.toHaveProperty("apps");
    await expect(parse(["promote", "web", "web"], 100)).rejects.toThrow(new UsageError('app "web" is named twice.'));
    await expect(parse(["promote", "web", "api", "--steps", "10,100"], 100)).rejects.toThrow(new UsageError("--steps works on one app in one context at a time: promote them one by one to use it."));
    await expect(parse(["abort", "web", "api", "--scale-down"], 100)).rejects.toThrow(new UsageError("--scale-down works on one app in one context at a time: abort them one by one to use it."));
    await expect(parse(["promote", "web", "bad/name"], 100)).rejects.toBeInstanceOf(UsageError);
    await expect(parse(["deploy", "web", "api", "--image", "x:1"], 100)).rejects.toThrow(new UsageError('unexpected argument "api".'));
    await expect(parse(["promote", "web", "api", "-l", "tier=web"], 100)).rejects.toThrow(new UsageError("give either APP or -l/--selector, not both."));
  });

  it("takes --all -l, and several contexts, all or none or in waves", async () => {
    expect(await inv("promote", "--all", "-l", "team=shop")).toMatchObject({ command: "promote", group: { all: true }, global: { selection: { selector: "team=shop" } } });
    await expect(parse(["promote", "--all"], 100)).rejects.toThrow(new UsageError("--all needs -l SELECTOR: it promotes every app with a Deployment the selector matches."));
    await expect(parse(["abort", "web", "--all", "-l", "a=b"], 100)).rejects.toThrow(new UsageError("give either APP or --all -l SELECTOR, not both."));
    expect(await inv("promote", "web", "--context", "eu", "--context", "us")).toMatchObject({ group: { apps: ["web"], contexts: ["eu", "us"] } });
    expect(await inv("abort", "web", "api", "--contexts", "eu,us", "--context=asia")).toMatchObject({ group: { apps: ["web", "api"], contexts: ["asia", "eu", "us"] } });
    const one = await inv("promote", "web", "--contexts", "eu");
    expect(one).not.toHaveProperty("group");
    expect(one.command === "promote" && one.global.kube.context).toBe("eu");
    expect(await inv("promote", "web", "--contexts", "eu,us", "--waves", "--wave-pause", "30s", "--rollback", "all")).toMatchObject({ group: { contexts: ["eu", "us"], waves: { pauseMs: 30_000, rollback: "all" } } });
    expect(await inv("promote", "web", "--contexts", "eu,us", "--waves")).toMatchObject({ group: { waves: { pauseMs: 0, rollback: "failed" } } });
    await expect(parse(["promote", "web", "--waves"], 100)).rejects.toThrow(new UsageError("--waves needs two or more contexts (--context A --context B, or --contexts A,B)."));
    await expect(parse(["promote", "web", "--contexts", "eu,us", "--wave-pause", "1m"], 100)).rejects.toThrow(new UsageError("--wave-pause works with --waves."));
    await expect(parse(["promote", "web", "--contexts", "eu,us", "--waves", "--rollback", "some"], 100)).rejects.toThrow(new UsageError('invalid --rollback "some": use failed or all.'));
    await expect(parse(["promote", "web", "--contexts", "eu,eu"], 100)).rejects.toThrow(new UsageError('context "eu" is named twice.'));
    await expect(parse(["promote", "--contexts", "eu,us", "-l", "a=b"], 100)).rejects.toThrow(new UsageError("with several contexts, name the apps, or promote every app -l selects with --all -l SELECTOR."));
    await expect(parse(["promote", "web", "--contexts", "eu,us", "--wait"], 100)).rejects.toThrow(new UsageError("--wait works on one app in one context at a time: promote them one by one to use it."));
  });

  it("reads status and diff in several contexts", async () => {
    expect(await inv("status", "--context", "eu", "--context", "us")).toMatchObject({ command: "status", contexts: ["eu", "us"] });
    expect(await inv("status", "web", "api", "--contexts", "eu,us")).toMatchObject({ command: "status", contexts: ["eu", "us"], global: { selection: { apps: ["web", "api"] } } });
    expect(await inv("diff", "web", "--contexts", "eu,us")).toMatchObject({ command: "diff", contexts: ["eu", "us"], global: { selection: { app: "web" } } });
    const one = await inv("diff", "web", "--contexts", "eu");
    expect(one).not.toHaveProperty("contexts");
    expect(one.command === "diff" && one.global.kube.context).toBe("eu");
    await expect(parse(["status", "--contexts", "eu,us", "--watch"], 100)).rejects.toThrow(new UsageError("--watch follows one context: run one status --watch per context."));
    await expect(parse(["diff", "web", "--contexts", "eu,eu"], 100)).rejects.toThrow(new UsageError('context "eu" is named twice.'));
    await expect(parse(["status", "--contexts", "eu,"], 100)).rejects.toBeInstanceOf(UsageError);
  });

  it("reads a bare --dry-run (last or before a flag) as client, and a word after it as its value", async () => {
    const bare = await inv("promote", "myapp", "--dry-run", "--context", "eu");
    expect(bare.command === "promote" && [bare.flags.dryRun, bare.global.kube.context]).toEqual(["client", "eu"]);
    const server = await inv("promote", "myapp", "--dry-run", "server");
    expect(server.command === "promote" && server.flags.dryRun).toBe("server");
    const last = await inv("abort", "myapp", "--dry-run");
    expect(last.command === "abort" && last.flags.dryRun).toBe("client");
  });

  it("refuses bad input with a usage error", async () => {
    await expect(parse(["promote"], 100)).rejects.toThrow(new UsageError("missing APP: name the app, or select it with -l."));
    await expect(parse(["promote", "x", "--dry-run=maybe"], 100)).rejects.toThrow('invalid --dry-run value "maybe": use client or server.');
    await expect(parse(["status", "-o", "xml"], 100)).rejects.toThrow('unknown output format "xml": use one of table, wide, json, yaml.');
    await expect(parse(["status", "--frobnicate"], 100)).rejects.toThrow(new UsageError("unknown flag: --frobnicate."));
    await expect(parse(["promote", "x", "--min-ready", "0"], 100)).rejects.toThrow('--min-ready needs a whole number of at least 1, not "0".');
    await expect(parse(["explode"], 100)).rejects.toBeInstanceOf(UsageError);
    await expect(parse([], 100)).rejects.toBeInstanceOf(UsageError);
  });

  it("checks names, selectors and values before anything runs", async () => {
    const refuse = async (argv: string[], message: string | RegExp, hint = "See --help.") => {
      const e = await parse(argv, 100).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e, argv.join(" ")).toBeInstanceOf(UsageError);
      if (typeof message === "string") expect((e as UsageError).message, argv.join(" ")).toBe(message);
      else expect((e as UsageError).message, argv.join(" ")).toMatch(message);
      if (hint) expect((e as UsageError).hint, argv.join(" ")).toBe(hint);
    };
    const NS_HINT = "A namespace is a DNS-1123 label such as my-namespace; list them with kubectl get namespaces.";
    await refuse(["promote", "myapp", "-n", ".."], /^invalid namespace "\.\.": a lowercase RFC 1123 label/, NS_HINT);
    await refuse(["status", "--namespace=../kube-system"], /^invalid namespace "\.\.\/kube-system": /, NS_HINT);
    await refuse(["status", "-n", "a.b"], 'invalid namespace "a.b": must not contain dots.', NS_HINT);
    await refuse(["status", "-n", ""], "-n/--namespace must not be empty.", "Leave the flag out to use the namespace of your kubeconfig context.");
    await refuse(["status", "-n"], "-n/--namespace must not be empty.", "");
    await refuse(["promote", "x,app!=y"], /^invalid app name "x,app!=y": an app name is a label value: /, "");
    await refuse(["abort", ""], "APP must not be empty.", "Name the app, or select it with -l SELECTOR.");
    await refuse(["promote", "myapp", "--to", "v2 "], /^invalid slot value "v2 " for --to: /, "");
    await refuse(["promote", "myapp", "--to="], "--to must not be empty.", "");
    await refuse(["diff", "myapp", "--app-label", "a/b/c"], /^invalid label key "a\/b\/c" for --app-label: /, "");
    await refuse(["diff", "myapp", "--slot-label="], "--slot-label must not be empty.", "");
    await refuse(["status", "-l", "app in (a"], `invalid label selector "app in (a" for -l/--selector: found '', expected: ',' or ')'.`, "");
    await refuse(["status", "--context="], "--context must not be empty.", "Leave --context out to use the default.");
    await refuse(["status", "--kubeconfig", ""], "--kubeconfig must not be empty.", "");
    await refuse(["promote", "myapp", "--min-ready", "abc"], '--min-ready needs a whole number of at least 1, not "abc".');
    await refuse(["promote", "myapp", "--min-ready", "1.5"], '--min-ready needs a whole number of at least 1, not "1.5".');
    await refuse(["promote", "myapp", "--min-ready", "1e3"], '--min-ready needs a whole number of at least 1, not "1e3".');
    await refuse(["promote", "myapp", "--wait=bogus"], 'invalid value "bogus" for --wait: use true or false.');
    await refuse(["status", "-A=maybe"], 'invalid value "maybe" for -A: use true or false.');
    await refuse(["deploy", "myapp", "extra"], 'unexpected argument "extra".');
    await refuse(["promote", "myapp", "--", "extra"], 'unexpected argument "extra".');
    await refuse(["promote", "-myapp"], "unknown flag: -myapp.");
    await refuse(["promote", "myapp", "--verify-timeout", "-1s"], 'missing value for --verify-timeout: "-1s" reads as a flag.', "Write --verify-timeout=VALUE. See --help.");
    await refuse(["promote", "myapp", "--verify-timeout=-1s"], 'invalid duration for --verify-timeout: "-1s" (use for example 30s, 2m or 1h).');
    await refuse(["explode"], 'unknown command "explode": use status, promote, abort, deploy, scale-down, diff, version or completion.');
    await refuse(["-n", "x", "statu", "myapp"], 'unknown command "statu": use status, promote, abort, deploy, scale-down, diff, version or completion.', "Did you mean status? See --help.");
    await refuse(["completion", "tcsh"], 'unknown shell "tcsh": use bash, zsh or fish.');
    await refuse(["completion"], "missing SHELL: use bash, zsh or fish.");
  });

  it("leaves completion's half-typed words alone", async () => {
    expect(await inv("__complete", "promote", "--wait=bo", "-n", "..", "")).toEqual({ command: "__complete", words: ["promote", "--wait=bo", "-n", "..", ""] });
  });

  it("reads kubectl's boolean spellings and takes the last of a repeated flag", async () => {
    const i = await inv("promote", "myapp", "--wait=T", "-n", "a", "-n", "b");
    expect(i.command === "promote" && [i.flags.wait, i.global.kube.namespace]).toEqual([true, "b"]);
    const j = await inv("status", "-A=false", "--no-headers=1", "-l", "app in (a,b),!canary");
    expect(j.command === "status" && [j.global.selection.allNamespaces, j.global.noHeaders, j.global.selection.selector]).toEqual([false, true, "app in (a,b),!canary"]);
  });

  it("returns help text instead of printing it", async () => {
    const r = await parse(["promote", "--help"], 100);
    expect(r.inv).toBeUndefined();
    expect(r.help).toContain("  # Wait (up to --timeout) for the idle slot first\n  kubectl bluegreen promote myapp --wait\n");
    expect(r.help).toMatch(/6 {3}verification or a check after the switch \(--probe, --post-check\) failed/);
  });
});

describe("short flags as kubectl (pflag) reads them", () => {
  const global = async (...argv: string[]) => {
    const i = await inv(...argv);
    if (!("global" in i)) throw new Error(`no global options for ${argv.join(" ")}`);
    return { output: i.global.output, namespace: i.global.kube.namespace, selector: i.global.selection.selector, all: i.global.selection.allNamespaces, verbose: i.global.verbose, watch: i.command === "status" && i.watch };
  };
  const base = { output: "table", namespace: undefined, selector: undefined, all: false, verbose: false, watch: false };

  it("takes a value flag's value from the rest of the word, with or without a leading =", async () => {
    expect(await global("status", "-owide")).toEqual({ ...base, output: "wide" });
    expect(await global("status", "-oyaml")).toEqual({ ...base, output: "yaml" });
    expect(await global("status", "-o=json")).toEqual({ ...base, output: "json" });
    expect(await global("status", "-nprod")).toEqual({ ...base, namespace: "prod" });
    expect(await global("status", "-n=prod")).toEqual({ ...base, namespace: "prod" });
    expect(await global("status", "-lapp=web")).toEqual({ ...base, selector: "app=web" });
    expect(await global("status", "-l=app=web")).toEqual({ ...base, selector: "app=web" });
    expect(await global("status", "-lapp in (a,b),!canary")).toEqual({ ...base, selector: "app in (a,b),!canary" });
    expect(await global("promote", "myapp", "-oyaml", "--dry-run=client")).toMatchObject({ output: "yaml" });
    expect(await global("diff", "myapp", "-ojson")).toMatchObject({ output: "json" });
    expect(((await inv("version", "-ojson")) as { output?: string }).output).toBe("json");
  });

  it("reads booleans in a cluster one by one, and a value flag ends the cluster", async () => {
    expect(await global("status", "-Aw")).toEqual({ ...base, all: true, watch: true });
    expect(await global("status", "-wA")).toEqual({ ...base, all: true, watch: true });
    expect(await global("status", "-Aowide")).toEqual({ ...base, all: true, output: "wide" });
    expect(await global("status", "-Ao", "json")).toEqual({ ...base, all: true, output: "json" });
    expect(await global("status", "-Ao=yaml")).toEqual({ ...base, all: true, output: "yaml" });
    expect(await global("status", "-vnprod")).toEqual({ ...base, verbose: true, namespace: "prod" });
    expect(await global("status", "-Aw=false")).toEqual({ ...base, all: true, watch: false });
    expect(await global("status", "-v6")).toEqual({ ...base, verbose: true });
    expect((await parse(["status", "-Ah"], 100)).help).toMatch(/^kubectl bluegreen status/);
  });

  it("refuses what kubectl refuses, naming the flag", async () => {
    // -oA: the value is "A" (pflag), not -o followed by -A.
    await expect(parse(["status", "-oA"], 100)).rejects.toThrow('unknown output format "A": use one of table, wide, json, yaml.');
    // -o=: a value flag takes the rest of the word, "=" included, when nothing follows it.
    await expect(parse(["status", "-o="], 100)).rejects.toThrow('unknown output format "=": use one of table, wide, json, yaml.');
    await expect(parse(["status", "-nProd"], 100)).rejects.toThrow(/^invalid namespace "Prod"/);
    await expect(parse(["status", "-Aw=maybe"], 100)).rejects.toThrow('invalid value "maybe" for -w: use true or false.');
    await expect(parse(["promote", "myapp", "-Aw"], 100)).rejects.toThrow(new UsageError("unknown flag: -A."));
    await expect(parse(["status", "-xowide"], 100)).rejects.toThrow(new UsageError("unknown flag: -xowide."));
    // A word that is a flag's value is never read as flags.
    await expect(parse(["status", "--context", "-owide"], 100)).rejects.toThrow('missing value for --context: "-owide" reads as a flag.');
    expect(await global("status", "--", "-owide").catch((e: Error) => e.message)).toBe('unexpected argument "-owide".');
  });
});

describe("help that copies cleanly", () => {
  const help = async (width: number, ...argv: string[]) => (await parse([...argv, "--help"], width)).help ?? "";
  // Indented lines that name the plugin: the examples (the usage line starts at column 0).
  const commandLines = (text: string) => text.split("\n").filter((l) => l.startsWith("  ") && l.includes("kubectl bluegreen"));

  it("never wraps an example: each command line is whole on a line of its own, whatever the width", async () => {
    const long = "kubectl bluegreen deploy myapp --image web=web:v3 --image sidecar=proxy:2 --replicas 1";
    for (const width of [40, 80, 200]) {
      const text = await help(width, "deploy");
      expect(text.split("\n"), `width ${width}`).toContain(`  ${long}`);
      for (const command of ["status", "promote", "abort", "deploy", "scale-down", "diff", "version", "completion"]) {
        const lines = commandLines(await help(width, command));
        expect(lines.length, `${command} at ${width}`).toBeGreaterThan(0);
        // A line that starts an example ends it: the next line is blank, a comment or the end of the section.
        for (const l of lines) expect(l, `${command} at ${width}`).toMatch(/^ {2}(kubectl bluegreen|source <\(kubectl bluegreen) \S/);
      }
    }
    expect(await help(40, "promote")).toContain("\n  kubectl bluegreen promote myapp --probe 8080/healthz --post-check ./smoke.sh\n");
    expect(await help(40)).toContain("\n  kubectl bluegreen promote myapp --probe /healthz --scale-down-after 10m\n");
  });

  it("lists for version and completion only their own flags; they take kubectl's cluster flags and ignore them", async () => {
    const flagsOf = (text: string) => [...text.matchAll(/^ {2}(?:-\w, )? *(--[\w-]+|-\w)\b/gm)].map((m) => m[1]);
    expect(flagsOf(await help(100, "version"))).toEqual(["--client", "--output", "--help"]);
    expect(flagsOf(await help(100, "completion"))).toEqual(["--help"]);
    for (const command of ["version", "completion"]) expect(await help(100, command), command).not.toMatch(/Cluster flags:|App selection:/);
    expect(await help(100, "status")).toMatch(/Cluster flags:[\s\S]*--kubeconfig[\s\S]*App selection:[\s\S]*--selector/);
    expect((await inv("version", "--context", "prod", "-n", "shop", "-ojson")).command).toBe("version");
    expect((await inv("completion", "bash", "--kubeconfig", "/k")).command).toBe("completion");
    await expect(parse(["version", "-l", "app=web"], 100)).rejects.toThrow(new UsageError("unknown flag: -l."));
    await expect(parse(["completion", "bash", "--app-label=x"], 100)).rejects.toThrow(new UsageError("unknown flag: --app-label."));
  });

  it("wraps the rest to the width, the exit codes with a hanging indent", async () => {
    for (const width of [60, 100]) {
      const text = await help(width, "promote");
      const tail = text.slice(text.indexOf("Exit codes"));
      for (const l of tail.split("\n")) expect(l.length, l).toBeLessThanOrEqual(width);
      expect(tail, `width ${width}`).toMatch(/\n {2}5 {3}conflict: /);
      // Continuation lines are indented under the meaning, never at the code's column.
      expect(tail.split("\n").slice(1).filter((l) => l !== "" && !/^ {2}\d+ +\S/.test(l)).every((l) => /^ {6}\S/.test(l)), `width ${width}`).toBe(true);
    }
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
