import type { Invocation } from "../cli/app.js";
import type { Context } from "../context.js";

/** Runs a parsed command line. Command modules load on demand, so --help and version stay light. */
export async function runInvocation(ctx: Context, inv: Invocation): Promise<number> {
  switch (inv.command) {
    case "status":
      return (await import("./status.js")).status(ctx, inv.global, inv.watch);
    case "promote":
      return (await import("./promote.js")).promote(ctx, inv.global, inv.flags);
    case "abort":
      return (await import("./abort.js")).abort(ctx, inv.global, inv.flags);
    case "deploy":
      return (await import("./deploy.js")).deploy(ctx, inv.global, inv.flags);
    case "scale-down":
      return (await import("./scale-down.js")).scaleDown(ctx, inv.global, inv.flags);
    case "diff":
      return (await import("./diff.js")).diff(ctx, inv.global);
    case "version":
      return (await import("./version.js")).version(ctx, inv.output);
    case "completion":
      return (await import("./completion.js")).completionScript(ctx, inv.shell);
    case "__complete":
      return (await import("./completion.js")).completeCommand(ctx, inv.words);
  }
}
