import type { GlobalOptions, PromoteFlags } from "../cli/app.js";
import type { Context } from "../context.js";
import { type SwitchPlan, planPromote } from "../bluegreen/plan.js";
import { NotFoundError, RefusedError } from "../errors.js";
import type { KubeClient } from "../kube/types.js";
import { renderData } from "../render/data.js";
import { renderPlan, switchDocument } from "../render/plan.js";
import { loadPair, requireWellFormed } from "./common.js";
import { applyWrites, checkTarget, recordEvents, switchAndVerify, waitForTarget } from "./switch.js";

async function plan(ctx: Context, kube: KubeClient, g: GlobalOptions, f: PromoteFlags, by: string) {
  const pair = await loadPair(kube, g.selection);
  requireWellFormed(pair);
  const p = planPromote(pair, { to: f.to, minReady: f.minReady, by, now: ctx.clock.now() });
  if (p.kind === "unknown-slot") throw new NotFoundError(`${p.message}.`, "Name one of the app's slots with --to.");
  return p;
}

/** Prints the outcome of a switch: `service/NAME switched` lines, or the document for -o json|yaml. */
export function reportSwitch(ctx: Context, g: GlobalOptions, p: SwitchPlan, result: string, dryRun?: "client" | "server"): void {
  if (g.output === "json" || g.output === "yaml") {
    ctx.io.out(renderData(g.output, switchDocument(p, result, dryRun)));
    return;
  }
  const suffix = dryRun ? ` (${dryRun} dry run)` : "";
  for (const w of p.writes) ctx.io.out(`service/${w.service} switched: ${p.slotLabel} ${w.from} → ${w.to}${suffix}\n`);
  ctx.io.out(`${result}\n`);
}

/** Prints why nothing needed doing (promote or abort, exit 0), or its document for -o json|yaml. */
export function reportNoop(ctx: Context, g: GlobalOptions, message: string): void {
  if (g.output === "json" || g.output === "yaml") ctx.io.out(renderData(g.output, { kind: "BlueGreenSwitch", result: "noop", message }));
  else ctx.io.out(`${message}\n`);
}

/** promote APP: preflight, switch, verify, record. */
export async function promote(ctx: Context, g: GlobalOptions, f: PromoteFlags): Promise<number> {
  const kube = await ctx.kube(g.kube);
  const by = await kube.whoAmI();
  let p = await plan(ctx, kube, g, f, by);
  if (p.kind === "noop") {
    reportNoop(ctx, g, p.message);
    return 0;
  }
  let blockers = await checkTarget(kube, p, p.to.deployment);
  if (blockers.length && f.wait && !f.dryRun) {
    await waitForTarget(ctx, kube, p, f.timeoutMs);
    // Plan again on fresh objects: the Services may have changed while we waited.
    p = await plan(ctx, kube, g, f, by);
    if (p.kind === "noop") {
      reportNoop(ctx, g, p.message);
      return 0;
    }
    blockers = await checkTarget(kube, p, p.to.deployment);
  }
  if (f.dryRun) {
    if (g.output !== "json" && g.output !== "yaml") ctx.io.out(renderPlan(p, { dryRun: f.dryRun, verifyTimeoutMs: f.verifyTimeoutMs, blockers }));
    if (blockers.length) throw refused(p, blockers);
    if (f.dryRun === "server") await applyWrites(kube, p, true);
    reportSwitch(ctx, g, p, `app ${p.app} would be promoted to ${p.slotLabel}=${p.to.value}; nothing changed`, f.dryRun);
    return 0;
  }
  if (blockers.length) throw refused(p, blockers);
  await switchAndVerify(ctx, kube, p, f.verifyTimeoutMs);
  await recordEvents(ctx, kube, p);
  reportSwitch(ctx, g, p, `app ${p.app} promoted: ${p.slotLabel}=${p.to.value} is live (was ${p.from.value})`);
  return 0;
}

function refused(p: SwitchPlan, blockers: string[]): RefusedError {
  return new RefusedError(
    `cannot promote app ${p.app} to ${p.slotLabel}=${p.to.value}: ${blockers.join("; ")}; nothing changed.`,
    `Wait for it (kubectl rollout status deployment/${p.to.deployment.metadata.name} -n ${p.namespace}), or run promote with --wait.`,
  );
}
