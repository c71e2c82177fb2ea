import { describe, expect, it } from "vitest";
import { parse } from "../../src/cli/app.js";
import { complete } from "../../src/commands/completion.js";
import { COMMAND_FLAGS, COMMANDS } from "../../src/commands/flags.js";
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
    expect(await complete(ctx, ["promote", "myapp", "--w"])).toEqual(["--wait", "--waves", "--wave-pause"]);
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

  it("offers version and completion only their own flags, as their help lists them", async () => {
    expect(await complete(ctx, ["version", "-"])).toEqual(["--client", "--output", "-o", "--help"]);
    expect(await complete(ctx, ["completion", "-"])).toEqual(["--help"]);
  });

  it("offers every flag of each command, and only flags its parser takes (one table for both)", async () => {
    for (const command of COMMANDS) {
      const offered = (await complete(ctx, [command, "--"])).filter((f) => f !== "--help");
      const own = Object.keys(COMMAND_FLAGS[command]).map((n) => `--${n}`);
      expect(offered, command).toEqual(expect.arrayContaining(own));
      for (const flag of offered) {
        // Every flag offered is one the command line accepts: never "unknown flag".
        const spec = flag.replace(/^--/, "");
        const value = ["wait", "no-wait", "scale-up", "scale-down", "all-namespaces", "no-headers", "watch", "client"].includes(spec) ? [] : spec === "dry-run" ? ["client"] : ["x"];
        const positional = command === "completion" ? ["bash"] : command === "version" ? [] : ["myapp"];
        const args = [command, ...positional, flag, ...value];
        const failure = await parse(args, 100).then(
          () => "",
          (e: Error) => e.message,
        );
        expect(failure, `${command} ${flag}`).not.toMatch(/unknown flag|unexpected argument/);
      }
    }
  });
});
