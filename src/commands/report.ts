// Printing a switch: the plan for --dry-run, a no-op, or the Outcome, and the exit code it earns.
import type { GlobalOptions } from "./options.js";
import type { Context } from "../context.js";
import type { SwitchPlan } from "../bluegreen/plan.js";
import { type Outcome, exitCodeOf } from "../bluegreen/outcome.js";
import { BlueGreenError } from "../errors.js";
import type { KubeClient } from "../kube/types.js";
import { checkTarget, dryRunWrites, execute, refusal } from "./execute.js";
import { requirePermissions } from "./permissions.js";
import { switchNeeds } from "../bluegreen/permissions.js";
import { dataFormat, renderData } from "../render/data.js";
import { escapeTerminal } from "../render/escape.js";
import { DONE, type PlanRenderOptions, renderPlan, switchDocument } from "../render/plan.js";
import { switchedLine } from "../render/progress.js";


/** Prints the plan for --dry-run (human output only; -o json|yaml prints the result document). */
function reportPlan(ctx: Context, g: GlobalOptions, context: string, plan: SwitchPlan, o: PlanRenderOptions): void {
  if (!dataFormat(g.output)) ctx.io.out(renderPlan(plan, context, o));
}

/** Prints why nothing needed doing (promote or abort, exit 0), or its document for -o json|yaml. */
export function reportNoop(ctx: Context, g: GlobalOptions, message: string): number {
  const format = dataFormat(g.output);
  if (format) ctx.io.out(renderData(format, { kind: "BlueGreenSwitch", result: "noop", message }));
  else ctx.io.out(`${escapeTerminal(message)}\n`);
  return 0;
}

/**
 * Prints the result of a switch (`service/NAME switched` lines and a summary, or the -o json|yaml document)
 * and returns its exit code; a failed switch is raised as its error, with the exit code its final state earns.
 */
function reportOutcome(ctx: Context, g: GlobalOptions, context: string, plan: SwitchPlan, outcome: Outcome | undefined, dryRun?: "client" | "server"): number {
  for (const w of outcome?.warnings ?? []) ctx.io.err(`warning: ${escapeTerminal(w)}\n`);
  const where = `${context ? `context ${context}` : "no context"}, namespace ${plan.namespace}`;
  const result = dryRun
    ? `would-be-${DONE[plan.action]}`
    : outcome?.final === "canary" && !outcome.error
      ? "canary"
      : outcome?.error
      ? outcome.final === "all-new"
        ? `${DONE[plan.action]}-with-errors`
        : outcome.final
      : DONE[plan.action];
  const format = dataFormat(g.output);
  if (format) ctx.io.out(renderData(format, switchDocument(plan, context, result, outcome, dryRun)));
  if (outcome?.error) {
    const e = outcome.error;
    throw new BlueGreenError(e.message, exitCodeOf(outcome) as BlueGreenError["exitCode"], e.hint);
  }
  if (format) return 0;
  if (outcome?.final === "canary") {
    const pause = [...outcome.steps].reverse().find((s) => s.step === "pause");
    ctx.io.out(`${escapeTerminal(`app ${plan.app}: canary ${pause?.detail ?? ""}; continue with kubectl bluegreen promote ${plan.app}, or go back with kubectl bluegreen abort ${plan.app} (${where})`)}\n`);
    return 0;
  }
  const suffix = dryRun ? ` (${dryRun} dry run)` : "";
  const lines = plan.writes.map((w) =>
    w.from === w.to ? `${w.ref} kept: ${plan.slotLabel}=${w.to}${suffix}` : `${switchedLine(w.ref, plan.slotLabel, w.from, w.to)}${suffix}`,
  );
  if (dryRun) lines.push(`app ${plan.app} would be ${DONE[plan.action]}: ${plan.slotLabel}=${plan.to.value} would be live; nothing changed (${where})`);
  else if (plan.action === "promote") lines.push(`app ${plan.app} promoted: ${plan.slotLabel}=${plan.to.value} is live (was ${plan.from.value}); ${where}`);
  else lines.push(`app ${plan.app} aborted: ${plan.slotLabel}=${plan.to.value} is live again (was ${plan.from.value}); ${where}`);
  for (const l of lines) ctx.io.out(`${escapeTerminal(l)}\n`);
  return 0;
}

/**
 * Runs a planned switch, or for --dry-run prints its steps (with the target's readiness) and, for
 * --dry-run=server, sends every write with dryRun=All. Prints the result; returns the exit code.
 */
export async function runSwitch(
  ctx: Context,
  g: GlobalOptions,
  kube: KubeClient,
  plan: SwitchPlan,
  f: { dryRun?: "client" | "server"; verifyTimeoutMs: number; propagationDelayMs: number; timeoutMs: number },
): Promise<number> {
  const o = { dryRun: f.dryRun, verifyTimeoutMs: f.verifyTimeoutMs, propagationDelayMs: f.propagationDelayMs, waitTimeoutMs: f.timeoutMs, kubeconfig: g.kube.kubeconfig };
  if (o.dryRun) {
    // A slot abort scales up first cannot be ready yet: that is what the plan's scale-up step is for.
    const scaled = plan.steps.some((s) => s.kind === "scale-up");
    const blockers = scaled ? [] : await checkTarget(kube, plan, plan.to.deployment);
    reportPlan(ctx, g, kube.contextName, plan, { ...o, blockers });
    if (blockers.length) throw refusal(plan, blockers);
    for (const w of await requirePermissions(kube, plan.namespace, switchNeeds(plan.steps, plan.writes), `${plan.action} app ${plan.app}`)) ctx.io.err(`warning: ${escapeTerminal(w)}\n`);
    if (o.dryRun === "server") await dryRunWrites(kube, plan);
    return reportOutcome(ctx, g, kube.contextName, plan, undefined, o.dryRun);
  }
  const outcome = await execute(ctx, kube, plan, o);
  return reportOutcome(ctx, g, kube.contextName, plan, outcome);
}
