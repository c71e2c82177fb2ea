// deploy on a pod with a sidecar and an init container, against the real control plane: what the live slot's
// template brings beyond the flags is said before the write, --env goes to the container the new version is
// in, the version label follows the image tag, and --set-label sets a pod template label but never a
// selector's.
import { describe, expect, it } from "vitest";
import { serviceYaml, testNamespaces } from "./lib/apps.js";
import { type RunResult, apply, bluegreen, kubectlJson, waitForRollout } from "./lib/cluster.js";

const ns = testNamespaces();

/** Exit 0, or fail showing what the plugin said. */
const expectOk = (r: RunResult) => expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
const R = "registry.example";

interface Slot {
  color: string;
  version: string;
  labels?: Record<string, string>;
  env: Record<string, string>;
  memory: string;
  proxy: string;
}

function ordersYaml(s: Slot): string {
  const labels = JSON.stringify({ app: "orders", color: s.color });
  const podLabels = JSON.stringify({ app: "orders", color: s.color, "app.kubernetes.io/version": s.version, ...s.labels });
  const env = JSON.stringify(Object.entries(s.env).map(([name, value]) => ({ name, value })));
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders-${s.color}
  labels: ${labels}
spec:
  replicas: 2
  selector:
    matchLabels: ${labels}
  template:
    metadata:
      labels: ${podLabels}
    spec:
      initContainers:
        - name: migrate
          image: ${R}/orders-migrate:${s.version}
      containers:
        - name: orders
          image: ${R}/orders:${s.version}
          env: ${env}
          resources: { requests: { memory: ${s.memory} } }
        - name: sidecar
          image: ${R}/proxy:${s.proxy}
`;
}

/**
 * orders-blue (live, behind Service orders: 1.1, proxy 2.0, label team=shop) and orders-green (idle: 1.0, its
 * own proxy 1.9, FEATURE_X and a smaller memory request); both carry app.kubernetes.io/version = the image tag.
 */
async function orders(n: string): Promise<void> {
  apply(
    n,
    [
      ordersYaml({ color: "blue", version: "1.1", labels: { team: "shop" }, env: { LOG_LEVEL: "info" }, memory: "256Mi", proxy: "2.0" }),
      ordersYaml({ color: "green", version: "1.0", env: { LOG_LEVEL: "info", FEATURE_X: "enabled" }, memory: "128Mi", proxy: "1.9" }),
      serviceYaml("orders", { app: "orders", color: "blue" }),
    ].join("---\n"),
  );
  for (const c of ["blue", "green"]) await waitForRollout(n, `orders-${c}`);
}

interface Container {
  name: string;
  image: string;
  env?: { name: string; value: string }[];
}
interface Template {
  metadata: { labels: Record<string, string> };
  spec: { containers: Container[]; initContainers: Container[] };
}
const templateOf = (n: string, d: string): Template => kubectlJson(["get", "deployment", d, "-n", n]).spec.template;
/** Each container's image and env, as NAME=VALUE. */
const containersOf = (t: Template) =>
  Object.fromEntries(
    [...t.spec.initContainers, ...t.spec.containers].map((c) => [c.name, { image: c.image, env: (c.env ?? []).map((e) => `${e.name}=${e.value}`) }]),
  );
/** resourceVersions of every Deployment and Service of the namespace: equal before and after means nothing was written. */
const versions = (n: string) =>
  ["deployments", "services"].flatMap((k) => kubectlJson(["get", k, "-n", n]).items.map((o: { metadata: { name: string; resourceVersion: string } }) => `${k}/${o.metadata.name}@${o.metadata.resourceVersion}`));
/** The +/- lines of the unified diff in a text (not its ---/+++ headers). */
const diffLines = (text: string) => text.split("\n").filter((l) => /^[-+] /.test(l));

/** What the live template brings beyond `--image orders=…:1.2 --env LOG_LEVEL=warn`, as diff shows it. */
const EXTRA_DIFF = [
  "+        team: shop",
  "-            - name: FEATURE_X",
  "-              value: enabled",
  "-              memory: 128Mi",
  "+              memory: 256Mi",
  `-        - image: ${R}/proxy:1.9`,
  `+        - image: ${R}/proxy:2.0`,
  `-        - image: ${R}/orders-migrate:1.0`,
  `+        - image: ${R}/orders-migrate:1.1`,
];
const EXTRA_CHANGES = [
  "env of container orders: FEATURE_X removed",
  'resources of container orders: {"requests":{"memory":"128Mi"}} → {"requests":{"memory":"256Mi"}}',
  `image of container sidecar: ${R}/proxy:1.9 → ${R}/proxy:2.0`,
  `image of init container migrate: ${R}/orders-migrate:1.0 → ${R}/orders-migrate:1.1`,
  "pod template label team=shop added",
];
const NOTE = "note: deployment/orders-green also takes from the live slot's template (deployment/orders-blue) what the flags do not name (--from idle keeps its own):\n";

describe("deploy with a sidecar and an init container", () => {
  it("says before the write what else the live template changes; --env reaches the app container only; the version label follows the tag", async () => {
    const n = await ns("dp-extra");
    await orders(n);
    const r = bluegreen(["deploy", "orders", "--image", `orders=${R}/orders:1.2`, "--env", "LOG_LEVEL=warn"], { namespace: n });
    expectOk(r);
    // On stderr, before the write: the note, then exactly the differences the flags did not name.
    expect(r.stderr).toContain(NOTE);
    expect(r.stderr.indexOf(NOTE)).toBeLessThan(r.stderr.indexOf("deployment.apps/orders-green updated\n"));
    expect(diffLines(r.stderr)).toEqual(EXTRA_DIFF);
    expect(r.stdout).toBe(
      [
        `deployment.apps/orders-green image of container orders: ${R}/orders:1.0 → ${R}/orders:1.2`,
        "deployment.apps/orders-green env of container orders: LOG_LEVEL=warn (was info)",
        "deployment.apps/orders-green pod template label app.kubernetes.io/version: 1.0 → 1.2",
        ...EXTRA_CHANGES.map((c) => `deployment.apps/orders-green ${c} (from the live slot's template)`),
        `app orders: color=green (idle) rolled out with orders=${R}/orders:1.2, sidecar=${R}/proxy:2.0, migrate=${R}/orders-migrate:1.1; color=blue stays live; context admin, namespace ${n}`,
        "",
      ].join("\n"),
    );
    const t = templateOf(n, "orders-green");
    expect(containersOf(t)).toEqual({
      migrate: { image: `${R}/orders-migrate:1.1`, env: [] },
      orders: { image: `${R}/orders:1.2`, env: ["LOG_LEVEL=warn"] },
      sidecar: { image: `${R}/proxy:2.0`, env: [] },
    });
    expect(t.metadata.labels).toEqual({ app: "orders", color: "green", "app.kubernetes.io/version": "1.2", team: "shop" });
    // The live slot is untouched.
    expect(templateOf(n, "orders-blue").metadata.labels["app.kubernetes.io/version"]).toBe("1.1");
  });

  it("--dry-run and -o json list the same extra changes and write nothing", async () => {
    const n = await ns("dp-extra-dry");
    await orders(n);
    const before = versions(n);
    const args = ["deploy", "orders", "--image", `orders=${R}/orders:1.2`, "--env", "LOG_LEVEL=warn"];
    const dry = bluegreen([...args, "--dry-run"], { namespace: n });
    expectOk(dry);
    expect(dry.stderr).toContain(NOTE);
    expect(diffLines(dry.stderr)).toEqual(EXTRA_DIFF);
    expect(dry.stdout).toContain(
      [
        "  Changes:",
        `    image of container orders: ${R}/orders:1.0 → ${R}/orders:1.2`,
        "    env of container orders: LOG_LEVEL=warn (was info)",
        "    pod template label app.kubernetes.io/version: 1.0 → 1.2",
        "  Also from the live slot's template, not named:",
        ...EXTRA_CHANGES.map((c) => `    ${c}`),
        "",
      ].join("\n"),
    );
    const json = bluegreen([...args, "--dry-run=server", "-o", "json"], { namespace: n });
    expectOk(json);
    expect(json.stderr).toContain(NOTE);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ kind: "BlueGreenDeploy", result: "would-be-deployed", dryRun: "server", extraChanges: EXTRA_CHANGES });
    expect(diffLines(doc.extraDiff)).toEqual(EXTRA_DIFF);
    expect(versions(n)).toEqual(before);
  });

  it("--env CONTAINER:NAME=VALUE and --set-label; the slot label and selector labels are refused (exit 2), nothing changed", async () => {
    const n = await ns("dp-labels");
    await orders(n);
    const before = versions(n);
    const cases: [string[], number, string | RegExp][] = [
      [["--set-label", "color=red"], 2, "error: --set-label color=red would change the slot label color, which must not change.\n"],
      [["--set-label", "app=billing"], 2, "error: --set-label app=billing would change label app of the selector of deployment/orders-green, which must not change.\n"],
      [["--set-label", "Bad Key=x"], 2, /^error: invalid --set-label "Bad Key=x": key: /],
      [["--env", "LOG_LEVEL=warn"], 2, /^error: deployment\/orders-green has 2 containers \(orders, sidecar\) and no --image names one of them, so --env LOG_LEVEL=warn must name its container\.\nWrite --env CONTAINER:NAME=VALUE\.\n$/],
      [["--env", "nosuch:X=1"], 3, /^error: deployment\/orders-green has no container named nosuch; its containers are orders, sidecar, migrate\.\n/],
    ];
    for (const [flags, code, error] of cases) {
      const r = bluegreen(["deploy", "orders", "--from", "idle", ...flags], { namespace: n });
      expect(r.code, `${flags.join(" ")}: ${r.stderr}`).toBe(code);
      if (typeof error === "string") expect(r.stderr).toBe(error);
      else expect(r.stderr).toMatch(error);
    }
    expect(versions(n)).toEqual(before);

    // From the idle template (nothing else comes along): a sidecar variable, a label, and the version label following 1.3.
    const r = bluegreen(["deploy", "orders", "--from", "idle", "--image", `orders=${R}/orders:1.3`, "--env", "sidecar:PROXY_MODE=strict", "--set-label", "team=payments"], {
      namespace: n,
    });
    expectOk(r);
    expect(r.stderr).not.toContain("note:");
    const t = templateOf(n, "orders-green");
    expect(containersOf(t)).toEqual({
      migrate: { image: `${R}/orders-migrate:1.0`, env: [] },
      orders: { image: `${R}/orders:1.3`, env: ["LOG_LEVEL=info", "FEATURE_X=enabled"] },
      sidecar: { image: `${R}/proxy:1.9`, env: ["PROXY_MODE=strict"] },
    });
    expect(t.metadata.labels).toEqual({ app: "orders", color: "green", "app.kubernetes.io/version": "1.3", team: "payments" });
  });
});
