// Permissions checked before the first write: a ServiceAccount whose Role lacks one permission at a time,
// against the real API server's RBAC. Each missing one is exit 7 naming it, with nothing changed.
import { describe, expect, it } from "vitest";
import { createApp, selectorOf, testNamespaces } from "./lib/apps.js";
import { EXTERNAL_CLUSTER, type RunResult, apply, bluegreen, kubeconfigFor, kubectl, kubectlJson, kubectlOk, waitFor } from "./lib/cluster.js";

const ns = testNamespaces();
const show = (r: RunResult) => `exit ${r.code}\n${r.stdout}${r.stderr}`;
/** resourceVersions of every Deployment and Service of the namespace: equal before and after means nothing was written. */
const versions = (n: string) =>
  ["deployments", "services"].flatMap((k) => kubectlJson(["get", k, "-n", n]).items.map((o: { metadata: { name: string; resourceVersion: string } }) => `${k}/${o.metadata.name}@${o.metadata.resourceVersion}`));

/** Every permission the plugin uses, one rule each, named as kubectl auth can-i names them. */
const RULES: Record<string, { apiGroups: string[]; resources: string[]; verbs: string[] }> = {
  reads: { apiGroups: ["apps"], resources: ["deployments", "replicasets"], verbs: ["get", "list", "watch"] },
  "core reads": { apiGroups: [""], resources: ["services", "pods"], verbs: ["get", "list", "watch"] },
  "list endpointslices.discovery.k8s.io": { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
  "patch services": { apiGroups: [""], resources: ["services"], verbs: ["patch"] },
  "patch deployments.apps": { apiGroups: ["apps"], resources: ["deployments"], verbs: ["patch"] },
  "get pods/proxy": { apiGroups: [""], resources: ["pods/proxy"], verbs: ["get"] },
  "get services/proxy": { apiGroups: [""], resources: ["services/proxy"], verbs: ["get"] },
  "create events": { apiGroups: [""], resources: ["events"], verbs: ["create"] },
};

/**
 * The tutorial app in a new namespace, and a kubeconfig (context "releaser") for a ServiceAccount whose Role
 * holds every rule but `without`; returns once the API server's authorizer says so.
 */
async function releaser(prefix: string, without: string): Promise<{ n: string; kubeconfig: string }> {
  const n = await ns(prefix);
  await createApp(n);
  const rules = Object.entries(RULES).filter(([name]) => name !== without).map(([, r]) => r);
  apply(
    n,
    JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "releaser" } },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "releaser" }, rules },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "releaser" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "releaser" },
        subjects: [{ kind: "ServiceAccount", name: "releaser", namespace: n }],
      },
      ],
    }),
  );
  const [verb, resource] = without.split(" ");
  const as = `system:serviceaccount:${n}:releaser`;
  await waitFor(`RBAC of ${as}`, () => kubectl(["auth", "can-i", "patch", "services", "-n", n, "--as", as]).stdout.trim() === (without === "patch services" ? "no" : "yes"));
  if (verb && resource) {
    // can-i reads TYPE/NAME: a subresource goes in its own flag.
    const [type = "", sub] = resource.split("/");
    const args = ["auth", "can-i", verb, type, ...(sub ? ["--subresource", sub] : []), "-n", n, "--as", as];
    await waitFor(`RBAC denies ${without}`, () => kubectl(args).stdout.trim() === "no");
  }
  const token = kubectlOk(["create", "token", "releaser", "-n", n]).trim();
  const kubeconfig = kubeconfigFor("releaser", { token }, n);
  return { n, kubeconfig };
}

/** "get pods/proxy" as kubectl auth can-i takes it. */
const canI = (need: string) => need.replace(/^(\S+) ([^/]+)\/(\S+)$/, "$1 $2 --subresource $3");
const refused = (n: string, command: string, need: string, why: string) =>
  `error: cannot ${command}: your credentials (context releaser) may not ${need} (${why}) in namespace ${n}; nothing changed.\n` +
  `Ask for a Role that grants it (the README's "Permissions" lists what each command needs); check with kubectl auth can-i ${canI(need)} -n ${n}.\n`;

describe.skipIf(EXTERNAL_CLUSTER)("a missing permission refuses before the first write (exit 7, nothing changed)", () => {
  const cases: [string, string[], string, string][] = [
    ["patch services", ["promote", "myapp"], "promote app myapp", "to switch the Services and record the switch"],
    ["get services/proxy", ["promote", "myapp", "--probe", "8080/"], "promote app myapp", "to probe the Services after the switch"],
    ["get pods/proxy", ["promote", "myapp", "--probe", "8080/"], "promote app myapp", "to probe the target's pods before the switch"],
    ["patch deployments.apps", ["promote", "myapp", "--scale-down-after", "3s"], "promote app myapp", "to scale the old slot down"],
    ["list endpointslices.discovery.k8s.io", ["promote", "myapp"], "promote app myapp", "to verify the switch"],
  ];
  for (const [need, args, command, why] of cases) {
    it(`without ${need}: ${args.slice(1).join(" ")}`, async () => {
      const { n, kubeconfig } = await releaser("perm", need);
      const before = versions(n);
      const r = bluegreen(args, { kubeconfig, context: "" });
      expect(r.code, show(r)).toBe(7);
      expect(r.stderr).toBe(refused(n, command, need, why));
      expect(versions(n)).toEqual(before);
      expect(selectorOf(n, "myapp").version).toBe("v1");
    });
  }

  it("without patch deployments.apps: scale-down", async () => {
    const { n, kubeconfig } = await releaser("perm-sd", "patch deployments.apps");
    expect(bluegreen(["promote", "myapp", "--propagation-delay", "0s"], { namespace: n }).code).toBe(0);
    const before = versions(n);
    const r = bluegreen(["scale-down", "myapp", "--delay", "0s"], { kubeconfig, context: "" });
    expect(r.code, show(r)).toBe(7);
    expect(r.stderr).toBe(refused(n, "scale down deployment/myapp-v1", "patch deployments.apps", "to scale the old slot down"));
    expect(versions(n)).toEqual(before);
  });

  it("without patch deployments.apps: deploy", async () => {
    const { n, kubeconfig } = await releaser("perm-dp", "patch deployments.apps");
    const before = versions(n);
    const r = bluegreen(["deploy", "myapp", "--image", "myapp=registry.example/myapp:v3"], { kubeconfig, context: "" });
    expect(r.code, show(r)).toBe(7);
    expect(r.stderr).toContain(refused(n, "deploy into deployment/myapp-v2", "patch deployments.apps", "to write the new version into the idle slot"));
    expect(versions(n)).toEqual(before);
  });

  it("without create events: promote switches, and warns that no Event will be left", async () => {
    const { n, kubeconfig } = await releaser("perm-ev", "create events");
    const r = bluegreen(["promote", "myapp", "--propagation-delay", "0s"], { kubeconfig, context: "" });
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toContain(`warning: your credentials may not create events in namespace ${n}: no Event will be left\n`);
    expect(selectorOf(n, "myapp").version).toBe("v2");
  });

  it("--dry-run says what is missing as a promote would", async () => {
    const { n, kubeconfig } = await releaser("perm-dry", "patch services");
    const r = bluegreen(["promote", "myapp", "--dry-run"], { kubeconfig, context: "" });
    expect(r.code, show(r)).toBe(7);
    expect(r.stderr).toContain(refused(n, "promote app myapp", "patch services", "to switch the Services and record the switch"));
  });
});
