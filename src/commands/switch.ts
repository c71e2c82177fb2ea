// Applying a SwitchPlan against the API server: preflight, all-or-none writes, verification, record.
import type { Context } from "../context.js";
import type { Deployment } from "../bluegreen/model.js";
import { formatSelector } from "../bluegreen/pair.js";
import { type SwitchPlan, preflight } from "../bluegreen/plan.js";
import { BlueGreenError, RefusedError, VerifyFailedError } from "../errors.js";
import type { KubeClient } from "../kube/types.js";
import { progress, readyPods } from "./common.js";

/** Why the plan's target cannot take traffic now: rollout rules, then its pods under the new selectors. */
export async function checkTarget(kube: KubeClient, plan: SwitchPlan, target: Deployment): Promise<string[]> {
  const why = preflight({ ...plan, to: { ...plan.to, deployment: target } });
  if (why.length) return why;
  for (const w of plan.writes.filter((x) => x.role === "live")) {
    const selector = { ...w.selector, [plan.slotLabel]: plan.to.value };
    const pods = await readyPods(kube, plan.namespace, selector);
    if (pods.length < plan.minAvailable) {
      return [`only ${pods.length} ready pods match the new selector ${formatSelector(selector)} of service/${w.service}; ${plan.minAvailable} needed`];
    }
  }
  return [];
}

/** Polls the target Deployment until it can take traffic, or refuses when the timeout passes. */
export async function waitForTarget(ctx: Context, kube: KubeClient, plan: SwitchPlan, timeoutMs: number): Promise<void> {
  const deadline = ctx.clock.now().getTime() + timeoutMs;
  const p = progress(ctx);
  const name = plan.to.deployment.metadata.name ?? "";
  try {
    for (;;) {
      const d = await kube.getDeployment(plan.namespace, name);
      const why = await checkTarget(kube, plan, d);
      if (why.length === 0) {
        p.update(`deployment/${name} is ready`);
        return;
      }
      p.update(`waiting for deployment/${name}: ${why.join("; ")}`);
      if (ctx.signal.aborted) throw new RefusedError(`interrupted while waiting for deployment/${name}; nothing changed.`, undefined);
      if (ctx.clock.now().getTime() >= deadline) {
        throw new RefusedError(
          `timed out after ${Math.round(timeoutMs / 1000)}s waiting for deployment/${name}: ${why.join("; ")}; nothing changed.`,
          "Check the rollout with kubectl rollout status, or wait longer with --timeout.",
        );
      }
      await ctx.clock.sleep(1000, ctx.signal);
    }
  } finally {
    p.done();
  }
}

/** Sends one conditional write per Service; if one fails, switches back those already switched, then throws. */
export async function applyWrites(kube: KubeClient, plan: SwitchPlan, dryRun: boolean): Promise<Map<string, string>> {
  const applied = new Map<string, string>();
  for (const w of plan.writes) {
    try {
      const svc = await kube.patchService(plan.namespace, w.service, w.patch, { dryRun });
      applied.set(w.service, svc.metadata.resourceVersion ?? "");
    } catch (e) {
      if (dryRun || applied.size === 0 || !(e instanceof BlueGreenError)) throw e;
      const undone = await undoWrites(kube, plan, applied);
      throw new BlueGreenError(`${e.message}; ${undone}`, e.exitCode, e.hint);
    }
  }
  return applied;
}

/** Switches back the Services in `applied`, each only if still as we left it. Returns a sentence saying what happened. */
export async function undoWrites(kube: KubeClient, plan: SwitchPlan, applied: Map<string, string>): Promise<string> {
  const back: string[] = [];
  const failed: string[] = [];
  for (const w of plan.writes) {
    const rv = applied.get(w.service);
    if (rv === undefined) continue;
    try {
      await kube.patchService(plan.namespace, w.service, { ...w.undo, metadata: { ...w.undo.metadata, resourceVersion: rv } });
      back.push(`service/${w.service}`);
    } catch (e) {
      failed.push(
        `service/${w.service} could NOT be switched back (${e instanceof Error ? e.message : String(e)}): ` +
          `fix it with kubectl patch service ${w.service} -n ${plan.namespace} -p '{"spec":{"selector":{"${plan.slotLabel}":"${w.from}"}}}'`,
      );
    }
  }
  if (failed.length) return `${back.length ? `${back.join(", ")} switched back; ` : ""}${failed.join("; ")}`;
  return `${back.join(", ")} ${back.length === 1 ? "was" : "were"} switched back, so nothing changed`;
}

/** Waits until every live Service's EndpointSlices hold ready endpoints of the target slot only. */
export async function verifyEndpoints(ctx: Context, kube: KubeClient, plan: SwitchPlan, timeoutMs: number): Promise<string | undefined> {
  const deadline = ctx.clock.now().getTime() + timeoutMs;
  let why = "";
  for (;;) {
    why = "";
    for (const w of plan.writes.filter((x) => x.role === "live")) {
      const selector = w.selector;
      const common = Object.fromEntries(Object.entries(selector).filter(([k]) => k !== plan.slotLabel));
      const [slices, pods] = await Promise.all([
        kube.listEndpointSlices(plan.namespace, w.service),
        kube.listPods(plan.namespace, formatSelector(common)),
      ]);
      const slotOf = new Map(pods.map((p) => [p.metadata.name ?? "", p.metadata.labels?.[plan.slotLabel]]));
      const endpoints = slices.flatMap((s) => s.endpoints ?? []);
      const ready = endpoints.filter((e) => e.conditions?.ready !== false);
      const foreign = endpoints.filter((e) => slotOf.get(e.targetRef?.name ?? "") !== plan.to.value);
      if (foreign.length > 0) {
        why = `service/${w.service} still has ${foreign.length} endpoints outside ${plan.slotLabel}=${plan.to.value}`;
        break;
      }
      if (ready.length === 0) {
        why = `service/${w.service} has no ready endpoints`;
        break;
      }
    }
    if (!why) return undefined;
    if (ctx.clock.now().getTime() >= deadline || ctx.signal.aborted) return why;
    await ctx.clock.sleep(500, ctx.signal);
  }
}

/** Applies the writes, verifies, and undoes everything when verification fails. */
export async function switchAndVerify(ctx: Context, kube: KubeClient, plan: SwitchPlan, verifyTimeoutMs: number): Promise<void> {
  // Test hook (README, "Testing"): widen the window between read and write so a race can be staged.
  const pause = Number(ctx.env.BLUEGREEN_TEST_PAUSE_BEFORE_SWITCH_MS ?? 0);
  if (pause > 0) {
    ctx.io.err(`pausing ${pause}ms before the switch (BLUEGREEN_TEST_PAUSE_BEFORE_SWITCH_MS)\n`);
    await ctx.clock.sleep(pause, ctx.signal);
  }
  const applied = await applyWrites(kube, plan, false);
  const failed = await verifyEndpoints(ctx, kube, plan, verifyTimeoutMs);
  if (failed) {
    const undone = await undoWrites(kube, plan, applied);
    throw new VerifyFailedError(
      `verification failed after ${Math.round(verifyTimeoutMs / 1000)}s: ${failed}; ${undone}.`,
      "Check the pods and EndpointSlices of the target slot, or allow longer with --verify-timeout.",
    );
  }
}

/** Records the switch as a Kubernetes Event on each live Service; a failure here is a warning, not an error. */
export async function recordEvents(ctx: Context, kube: KubeClient, plan: SwitchPlan): Promise<void> {
  for (const w of plan.writes.filter((x) => x.role === "live")) {
    try {
      await kube.createEvent(
        plan.namespace,
        {
          reason: plan.action === "promote" ? "Promoted" : "Aborted",
          message: `${plan.action === "promote" ? "Promoted" : "Aborted"} app ${plan.app}: ${plan.slotLabel} ${plan.from.value} → ${plan.to.value} by ${plan.record.by}`,
          type: "Normal",
          involved: { kind: "Service", apiVersion: "v1", name: w.service, namespace: plan.namespace, uid: w.uid },
        },
        ctx.clock.now(),
      );
    } catch (e) {
      ctx.io.err(`warning: the switch is done and recorded on service/${w.service}, but its Event could not be created: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
}
