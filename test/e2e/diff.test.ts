// diff against the real control plane: what users get if we promote.
import { describe, expect, it } from "vitest";
import { createApp, testNamespaces } from "./lib/apps.js";
import { bluegreen } from "./lib/cluster.js";

const ns = testNamespaces();

describe("diff", () => {
  it("shows the image change and the Service change, without noise, exit 1", async () => {
    const n = await ns("df-images");
    await createApp(n);
    const r = bluegreen(["diff", "myapp"], { namespace: n });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`--- myapp-v1 (version=v1, live)
+++ myapp-v2 (version=v2, idle)
@@ -18,7 +18,7 @@
         version: <slot>
     spec:
       containers:
-        - image: registry.example/myapp:v1
+        - image: registry.example/myapp:v2
           imagePullPolicy: IfNotPresent
           name: myapp
           ports:

Images: myapp: registry.example/myapp:v1 → registry.example/myapp:v2
Service myapp (live): selector version: v1 → v2
`);
  });

  it("exits 0 when the slots run the same thing, and -o json says so", async () => {
    const n = await ns("df-same");
    await createApp(n, { slots: [{ value: "v1", image: "1.0" }, { value: "v2", image: "1.0" }] });
    const r = bluegreen(["diff", "myapp"], { namespace: n });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("No differences between myapp-v1 and myapp-v2 (apart from the slot label).");
    expect(r.stdout).toContain("Service myapp (live): selector version: v1 → v2");
    const j = bluegreen(["diff", "myapp", "-o", "json"], { namespace: n });
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ kind: "BlueGreenDiff", differs: false, images: [], diff: "" });
  });
});
