import type { AbortFlags } from "./abort.js";
import type { DeployFlags } from "./deploy.js";
import type { GlobalOptions, OutputFormat } from "./options.js";
import type { PromoteFlags } from "./promote.js";
import type { ScaleDownFlags } from "./scale-down.js";
import type { Context } from "../context.js";
import type { GroupSpec } from "../bluegreen/group.js";

/** What a parsed command line asks for; handed to a runner so parsing is testable on its own. */
export type Invocation =
  | { command: "status"; global: GlobalOptions; watch: boolean; contexts?: string[] }
  | { command: "promote"; global: GlobalOptions; flags: PromoteFlags; group?: GroupSpec }
  | { command: "abort"; global: GlobalOptions; flags: AbortFlags; group?: GroupSpec }
  | { command: "diff"; global: GlobalOptions; apps?: string[]; contexts?: string[] }
  | { command: "deploy"; global: GlobalOptions; flags: DeployFlags }
  | { command: "scale-down"; global: GlobalOptions; flags: ScaleDownFlags }
  | { command: "version"; output: OutputFormat; client: boolean; global: GlobalOptions }
  | { command: "completion"; shell: "bash" | "zsh" | "fish" }
  | { command: "__complete"; words: string[] };

/** Runs one Invocation: runInvocation below, or a test's own. */
export type Runner = (ctx: Context, inv: Invocation) => Promise<number>;

/** The API client, for Context.kube: loaded on demand, from this module's bundle (see scripts/build.mjs). */
export const kubeClient = () => import("../kube/client.js");

/**
 * Runs a parsed command line. Command modules load on demand, so --help and version stay light; in the built CLI
 * this module and everything it loads are a bundle of their own, compiled only when a command runs.
 */
export async function runInvocation(ctx: Context, inv: Invocation): Promise<number> {
  switch (inv.command) {
    case "status":
      return (await import("./status.js")).status(ctx, inv.global, inv.watch, inv.contexts);
    case "promote":
      if (inv.group) return (await import("./group.js")).switchGroup(ctx, inv.global, inv.group, "promote", inv.flags);
      return (await import("./promote.js")).promote(ctx, inv.global, inv.flags);
    case "abort":
      if (inv.group) return (await import("./group.js")).switchGroup(ctx, inv.global, inv.group, "abort", inv.flags);
      return (await import("./abort.js")).abort(ctx, inv.global, inv.flags);
    case "deploy":
      return (await import("./deploy.js")).deploy(ctx, inv.global, inv.flags);
    case "scale-down":
      return (await import("./scale-down.js")).scaleDown(ctx, inv.global, inv.flags);
    case "diff":
      return (await import("./diff.js")).diff(ctx, inv.global, inv.apps, inv.contexts);
    case "version":
      return (await import("./version.js")).version(ctx, inv.output);
    case "completion":
      return (await import("./completion.js")).completionScript(ctx, inv.shell);
    case "__complete":
      return (await import("./completion.js")).completeCommand(ctx, inv.words);
  }
}
