import { describe, expect, it } from "vitest";
import { complete } from "../../src/commands/completion.js";
import type { Context } from "../../src/context.js";

// A context whose cluster answers with fixed names, as listDeployments/listNamespaces would.
const ctx = {
  env: {},
  kube: async () => ({
    namespace: "default",
    listNamespaces: async () => ["default", "blue-green", "prod"],
    listDeployments: async () =>
      ["myapp-v1", "myapp-v2", "shop-blue", "shop-green"].map((name) => ({
        metadata: { name, namespace: "default", labels: { app: name.split("-")[0]! } },
      })),
  }),
} as unknown as Context;

describe("completion", () => {
  it("completes commands, flags and fixed values", async () => {
    expect(await complete(ctx, ["p"])).toEqual(["promote"]);
    expect(await complete(ctx, ["promote", "myapp", "--w"])).toEqual(["--wait"]);
    expect(await complete(ctx, ["status", "-o", ""])).toEqual(["table", "wide", "json", "yaml"]);
    expect(await complete(ctx, ["promote", "x", "--dry-run", "s"])).toEqual(["server"]);
    expect(await complete(ctx, ["completion", ""])).toEqual(["bash", "zsh", "fish"]);
  });

  it("completes app names and namespaces from the cluster", async () => {
    expect(await complete(ctx, ["promote", ""])).toEqual(["myapp", "shop"]);
    expect(await complete(ctx, ["diff", "-n", "prod", "s"])).toEqual(["shop"]);
    expect(await complete(ctx, ["status", "-n", "b"])).toEqual(["blue-green"]);
    expect(await complete(ctx, ["promote", "myapp", ""])).toEqual([]);
  });
});
