// Fail closed on bad input: every name, selector and value is checked before any request, with one
// sentence and exit 2, and nothing on the cluster changes. And strings from the cluster cannot drive
// the terminal: control characters are escaped in human output (CVE-2021-25743), kept in JSON.
import { beforeAll, describe, expect, it } from "vitest";
import { createApp, testNamespaces } from "./lib/apps.js";
import { bluegreen, kubectlJson, kubectlOk } from "./lib/cluster.js";

const ns = testNamespaces();

const ESC = "\u001b";
const CSI = "\u009b";

/** Control characters (C0 but newline, DEL, C1) in the text. */
const controls = (s: string) =>
  [...s].filter((c) => {
    const n = c.codePointAt(0)!;
    return c !== "\n" && (n < 0x20 || (n >= 0x7f && n < 0xa0));
  });

/** stderr is exactly `error: <one sentence>.` and at most one hint line: no stack, no control characters. */
function expectOneSentence(stderr: string, what: string) {
  expect(stderr.endsWith("\n"), `${what}: ${JSON.stringify(stderr)}`).toBe(true);
  const lines = stderr.slice(0, -1).split("\n");
  expect(lines.length, `${what}: ${stderr}`).toBeGreaterThanOrEqual(1);
  expect(lines.length, `${what}: ${stderr}`).toBeLessThanOrEqual(2);
  expect(lines[0], what).toMatch(/^error: \S.*\.$/);
  if (lines[1] !== undefined) expect(lines[1], what).toMatch(/^\S.*[.?]$/);
  expect(stderr, what).not.toMatch(/\n\s+at |Error:|TypeError|ReferenceError|node:internal|\.cjs:\d+/);
  expect(controls(stderr), what).toEqual([]);
}

/** resourceVersion and selector of every Deployment and Service in the namespace. */
function fingerprint(namespace: string): Record<string, string> {
  const list: { items: { kind: string; metadata: { name: string; resourceVersion: string }; spec?: { selector?: unknown } }[] } = kubectlJson([
    "get",
    "deployments,services",
    "-n",
    namespace,
  ]);
  return Object.fromEntries(
    list.items.map((o) => [`${o.kind}/${o.metadata.name}`, `${o.metadata.resourceVersion} ${JSON.stringify(o.spec?.selector ?? null)}`]),
  );
}

interface Case {
  args: string[];
  /** Expected exit code (default 2). */
  code?: number;
  /** The first stderr line must match this. */
  error?: RegExp;
  /** Pass `-n <test namespace>` after the arguments (default true; false for the bad -n cases). */
  inNamespace?: boolean;
  /** --context for the helper: "" leaves it out (for the cases that give their own --context). */
  context?: string;
}

const long = "a".repeat(70);

// Each case names the app of the test namespace (myapp, ready to promote) wherever it can, so that
// a check that went missing would reach the cluster and could change it.
const CASES: Case[] = [
  // -n/--namespace: a DNS-1123 label. ".." would be resolved away as a URL dot segment.
  { args: ["promote", "myapp", "-n", ".."], inNamespace: false, error: /^error: invalid namespace "\.\.": a lowercase RFC 1123 label /m },
  { args: ["status", "myapp", "-n", ".."], inNamespace: false, error: /^error: invalid namespace "\.\."/ },
  { args: ["status", "-n", "."], inNamespace: false, error: /^error: invalid namespace "\."/ },
  { args: ["promote", "myapp", "-n", "../kube-system"], inNamespace: false, error: /^error: invalid namespace "\.\.\/kube-system"/ },
  { args: ["abort", "myapp", "--namespace=default/../kube-system"], inNamespace: false, error: /^error: invalid namespace / },
  { args: ["promote", "myapp", "-n", "Foo"], inNamespace: false, error: /^error: invalid namespace "Foo"/ },
  { args: ["promote", "myapp", "-n", "a.b"], inNamespace: false, error: /^error: invalid namespace "a\.b": must not contain dots\.$/ },
  { args: ["promote", "myapp", "-n", ""], inNamespace: false, error: /^error: -n\/--namespace must not be empty\.$/ },
  { args: ["diff", "myapp", "-n", "%2e%2e"], inNamespace: false, error: /^error: invalid namespace "%2e%2e"/ },
  { args: ["status", "-n", "x".repeat(64)], inNamespace: false, error: /^error: invalid namespace "x{64}": must be no more than 63 bytes\.$/ },
  // APP: a label value, pasted into a label selector.
  { args: ["promote", "x,app!=y"], error: /^error: invalid app name "x,app!=y": an app name is a label value: / },
  { args: ["promote", "myapp,version=v1"], error: /^error: invalid app name "myapp,version=v1"/ },
  { args: ["abort", "myapp,app"], error: /^error: invalid app name / },
  { args: ["promote", "my app"], error: /^error: invalid app name "my app"/ },
  { args: ["diff", "myapp)"], error: /^error: invalid app name / },
  { args: ["promote", long], error: /^error: invalid app name "a{70}": an app name is a label value: must be no more than 63 bytes\.$/ },
  { args: ["promote", "--", "-myapp"], error: /^error: unexpected argument "-myapp"\.$/ },
  { args: ["promote", "-myapp"], error: /^error: unknown flag: -myapp\.$/ },
  { args: ["promote", ""], error: /^error: APP must not be empty\.$/ },
  { args: ["status", `myapp${ESC}[31m`], error: /^error: invalid app name "myapp\^\[\[31m"/ },
  // -l/--selector: Kubernetes selector syntax, keys and values validated.
  { args: ["promote", "-l", "app=myapp,,version=v2"], error: /^error: invalid label selector "app=myapp,,version=v2" for -l\/--selector: found ',', expected: identifier after ','\.$/ },
  { args: ["promote", "-l", "app=myapp,"], error: /^error: invalid label selector "app=myapp," / },
  { args: ["status", "-l", ""], error: /^error: -l\/--selector must not be empty\.$/ },
  { args: ["status", "-l", "app in (myapp"], error: /^error: invalid label selector / },
  { args: ["abort", "-l", "app notin myapp"], error: /^error: invalid label selector / },
  { args: ["promote", "-l", "=myapp"], error: /^error: invalid label selector / },
  { args: ["promote", "-l", "app=my app"], error: /^error: invalid label selector / },
  { args: ["diff", "-l", "a/b/c=myapp"], error: /^error: invalid label selector "a\/b\/c=myapp" for -l\/--selector: invalid label key / },
  { args: ["promote", "-l", "app=-myapp"], error: /^error: invalid label selector .*invalid label value "-myapp" for key "app"/ },
  { args: ["status", "-l", "!"], error: /^error: invalid label selector "!"/ },
  // Label keys.
  { args: ["promote", "myapp", "--app-label", "app name"], error: /^error: invalid label key "app name" for --app-label: / },
  { args: ["promote", "myapp", "--app-label", ""], error: /^error: --app-label must not be empty\.$/ },
  { args: ["status", "myapp", "--app-label", "Example.com/app"], error: /^error: invalid label key "Example\.com\/app" for --app-label: prefix part / },
  { args: ["promote", "myapp", "--slot-label", "version=v2"], error: /^error: invalid label key "version=v2" for --slot-label: / },
  { args: ["abort", "myapp", "--slot-label", "/version"], error: /^error: invalid label key "\/version" for --slot-label: prefix part must be non-empty\.$/ },
  // --to: a slot value.
  { args: ["promote", "myapp", "--to", "v2,app!=x"], error: /^error: invalid slot value "v2,app!=x" for --to: / },
  { args: ["promote", "myapp", "--to", ""], error: /^error: --to must not be empty\.$/ },
  { args: ["promote", "myapp", "--to", "v2 "], error: /^error: invalid slot value "v2 " for --to: / },
  // Durations, numbers, choices.
  { args: ["promote", "myapp", "--timeout", "abc"], error: /^error: invalid duration for --timeout: "abc"/ },
  { args: ["promote", "myapp", "--verify-timeout", "-1s"], error: /^error: missing value for --verify-timeout: "-1s" reads as a flag\.$/ },
  { args: ["promote", "myapp", "--verify-timeout=-1s"], error: /^error: invalid duration for --verify-timeout: "-1s"/ },
  { args: ["abort", "myapp", "--timeout", "5x"], error: /^error: invalid duration for --timeout: "5x"/ },
  { args: ["status", "myapp", "--request-timeout", "soon"], error: /^error: invalid duration for --request-timeout: "soon"/ },
  { args: ["promote", "myapp", "--min-ready", "0"], error: /^error: --min-ready needs a whole number of at least 1, not "0"\.$/ },
  { args: ["promote", "myapp", "--min-ready", "abc"], error: /^error: --min-ready needs a whole number of at least 1, not "abc"\.$/ },
  { args: ["promote", "myapp", "--min-ready", "1.5"], error: /^error: --min-ready needs a whole number/ },
  { args: ["promote", "myapp", "--dry-run=bogus"], error: /^error: invalid --dry-run value "bogus": use client or server\.$/ },
  { args: ["abort", "myapp", "--dry-run", "maybe"], error: /^error: invalid --dry-run value "maybe"/ },
  { args: ["promote", "myapp", "--wait=bogus"], error: /^error: invalid value "bogus" for --wait: use true or false\.$/ },
  { args: ["status", "myapp", "-o", "bogus"], error: /^error: unknown output format "bogus": use one of table, wide, json, yaml\.$/ },
  // Flags, commands and arguments.
  { args: ["promote", "myapp", "--frobnicate"], error: /^error: unknown flag: --frobnicate\.$/ },
  { args: ["abort", "myapp", "--wait"], error: /^error: unknown flag: --wait\.$/ },
  { args: ["explode", "myapp"], error: /^error: unknown command "explode": use status, promote, abort, deploy, scale-down, diff, version or completion\.$/ },
  { args: ["promte", "myapp"], error: /^error: unknown command "promte"/ },
  { args: ["promote"], error: /^error: missing APP: name the app, or select it with -l\.$/ },
  { args: ["promote", "myapp", "-l", "app=myapp"], error: /^error: give either APP or -l\/--selector, not both\.$/ },
  { args: ["deploy", "myapp", "extra"], error: /^error: unexpected argument "extra"\.$/ },
  { args: ["promote", "myapp", "myapp"], error: /^error: app "myapp" is named twice\.$/ },
  { args: ["diff", "myapp", "myapp"], error: /^error: app "myapp" is named twice\.$/ },
  { args: ["completion", "tcsh"], error: /^error: unknown shell "tcsh": use bash, zsh or fish\.$/ },
  // Connection flags: empty is refused, not read as "use the default".
  { args: ["promote", "myapp", "--context", ""], context: "", error: /^error: --context must not be empty\.$/ },
  { args: ["promote", "myapp", "--kubeconfig", ""], error: /^error: --kubeconfig must not be empty\.$/ },
  // Not usage errors, but expected failures all the same: one sentence, nothing changed.
  { args: ["promote", "myapp", "--context", "nope"], context: "", code: 3, error: /^error: context "nope" does not exist in the kubeconfig\.$/ },
  { args: ["promote", "myapp", "--kubeconfig", "/nonexistent/kubeconfig"], code: 3, error: /^error: kubeconfig file \/nonexistent\/kubeconfig does not exist\.$/ },
  { args: ["promote", "nosuchapp"], code: 3, error: /^error: app "nosuchapp" \(no Deployment has label app=nosuchapp\)/ },
  { args: ["promote", "myapp", "--to", "v9"], code: 3 },
  // Several apps, one missing: the whole group is refused (a dry run too), not planned for the apps that exist.
  { args: ["abort", "myapp", "maybe", "--dry-run"], code: 3, error: /^error: cannot abort 2 apps together: app maybe refuses \(maybe: app "maybe" \(no Deployment has label app=maybe\)/ },
  { args: ["promote", "myapp", "maybe", "--dry-run=server"], code: 3, error: /^error: cannot promote 2 apps together: app maybe refuses/ },
];

describe("bad input changes nothing", () => {
  let n: string;
  beforeAll(async () => {
    n = await ns("bad-input");
    await createApp(n);
  });

  it(`refuses ${CASES.length} bad command lines with one sentence and the right exit code`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    const before = fingerprint(n);
    expect(Object.keys(before).sort()).toEqual(["Deployment/myapp-v1", "Deployment/myapp-v2", "Service/myapp"]);
    for (const c of CASES) {
      const what = `kubectl bluegreen ${c.args.map((a) => JSON.stringify(a)).join(" ")}`;
      const r = bluegreen(c.args, { namespace: c.inNamespace === false ? undefined : n, context: c.context });
      expect(r.code, `${what}: ${r.stderr}`).toBe(c.code ?? 2);
      expectOneSentence(r.stderr, what);
      if (c.error) expect(r.stderr.split("\n")[0], what).toMatch(c.error);
      if ((c.code ?? 2) === 2) {
        expect(r.stdout, what).toBe("");
        expect(r.stderr.split("\n")[1], what).toMatch(/\S/);
      }
      expect(fingerprint(n), `${what} changed the cluster`).toEqual(before);
    }
  });

  it("the same command lines, made valid, do change things (so the check above can fail)", () => {
    const before = fingerprint(n);
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    expect(r.code, r.stderr).toBe(0);
    const after = fingerprint(n);
    expect(after["Service/myapp"]).not.toBe(before["Service/myapp"]);
    expect(after["Service/myapp"]).toContain('"version":"v2"');
  });
});

/** JSON for a kubectl -p argument: kubectl reads it as YAML, which refuses raw DEL and C1 characters. */
const patchArg = (v: unknown) => JSON.stringify(v).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

describe("terminal safety", () => {
  const by = `mallory${ESC}[31m${ESC}]0;pwned\u0007${CSI}2J\r`;
  const image = `registry.example/myapp:v2${ESC}[31m${CSI}x`;
  let n: string;

  beforeAll(async () => {
    n = await ns("term-safe");
    await createApp(n);
    const rec = {
      format: 2,
      id: "0123456789abcdef",
      state: "verified",
      action: "promote",
      slotLabel: "version",
      from: "v2",
      to: "v1",
      at: "2026-01-01T00:00:00Z",
      by,
      fromDeployment: "myapp-v2",
      toDeployment: "myapp-v1",
      fromTemplate: "0000000000000000",
      toTemplate: "0000000000000000",
      fromReplicas: 3,
      services: { myapp: "live" },
    };
    const history = [{ action: "promote", from: "v2", to: "v1", at: rec.at, by }, { action: "abort", from: "v1", to: "v2", at: rec.at, by: `eve${CSI}\n` }];
    // JSON escapes the control characters on the way in; the API server stores them raw.
    kubectlOk(["patch", "service", "myapp", "-n", n, "--type=merge", "-p", patchArg({
      metadata: { annotations: { "kubectl-bluegreen/last-switch": JSON.stringify(rec), "kubectl-bluegreen/history": JSON.stringify(history) } },
    })]);
    kubectlOk(["patch", "deployment", "myapp-v2", "-n", n, "--type=json", "-p", patchArg([{ op: "replace", path: "/spec/template/spec/containers/0/image", value: image }])]);
    const stored = kubectlJson(["get", "deployment", "myapp-v2", "-n", n]).spec.template.spec.containers[0].image;
    expect(stored).toBe(image);
    const annotation = kubectlJson(["get", "service", "myapp", "-n", n]).metadata.annotations["kubectl-bluegreen/last-switch"];
    expect(JSON.parse(annotation).by).toBe(by);
  });

  it("status escapes what the cluster says; json keeps it", () => {
    const screen = bluegreen(["status", "myapp", "-o", "wide"], { namespace: n });
    expect(screen.code, screen.stderr).toBeLessThanOrEqual(1);
    expect(screen.stdout).toContain("by mallory^[[31m^[]0;pwned\\x07\\u009b2J\\r");
    expect(screen.stdout).toContain("registry.example/myapp:v2^[[31m\\u009bx");
    expect(screen.stdout).toContain("by eve\\u009b\\n");
    expect(screen.stdout).not.toContain(ESC);
    expect(screen.stdout).not.toContain(CSI);
    expect(controls(screen.stdout)).toEqual([]);

    const all = bluegreen(["status", "-o", "wide"], { namespace: n });
    expect(all.stdout).toContain("v2=registry.example/myapp:v2^[[31m\\u009bx");
    expect(controls(all.stdout)).toEqual([]);

    const json = bluegreen(["status", "myapp", "-o", "json"], { namespace: n });
    expect(controls(json.stdout)).toEqual([]);
    const item = JSON.parse(json.stdout).items[0];
    expect(item.lastSwitch.by).toBe(by);
    expect(item.slots.find((s: { slot: string }) => s.slot === "v2").images).toEqual([image]);
    expect(item.history[1].by).toBe(`eve${CSI}\n`);
  });

  it("diff escapes the images; json keeps them", () => {
    const d = bluegreen(["diff", "myapp"], { namespace: n });
    expect(d.code, d.stderr).toBe(1);
    expect(d.stdout).toContain("Images: myapp: registry.example/myapp:v1 → registry.example/myapp:v2^[[31m\\u009bx");
    expect(controls(d.stdout)).toEqual([]);
    const j = bluegreen(["diff", "myapp", "-o", "json"], { namespace: n });
    expect(controls(j.stdout)).toEqual([]);
    expect(JSON.parse(j.stdout).images).toEqual([{ container: "myapp", from: "registry.example/myapp:v1", to: image }]);
  });
});
