// The checks around a switch: whether the target slot can take traffic (and waiting until it can), HTTP probes
// through the API server's proxy, and --pre-check/--post-check commands.
import type { Context } from "../context.js";
import { type Deployment, nameOf } from "../bluegreen/model.js";
import { formatSelector } from "../bluegreen/pair.js";
import { type Step, type SwitchPlan, preflight } from "../bluegreen/plan.js";
import { plural } from "../bluegreen/plural.js";
import { replicaCounts, rolloutStatus } from "../bluegreen/readiness.js";
import { formatDuration } from "../render/time.js";
import { phaseLine } from "../render/progress.js";
import { BlueGreenError, ExitCode, RefusedError, UnreachableError } from "../errors.js";
import type { KubeClient, ProxyTarget } from "../kube/types.js";
import { readyPods } from "./load.js";
import { progress } from "./progress.js";
import { message, proven } from "./write.js";

/** Runs probes; returns what failed (empty when every answer was 2xx). */
export async function runProbes(ctx: Context, kube: KubeClient, plan: SwitchPlan, step: Extract<Step, { kind: "probe" }>): Promise<string[]> {
  const asks: { who: string; target: ProxyTarget }[] = [];
  for (const t of step.targets) {
    if (t.kind === "service") {
      asks.push({ who: `service/${t.service}`, target: { kind: "service", name: t.service, port: t.port, path: t.probe.path } });
      continue;
    }
    const pods = await targetPods(kube, plan);
    if (pods.length === 0) return [`deployment/${t.deployment} has no ready pods under the new selectors`];
    for (const pod of pods) asks.push({ who: `pod/${pod}`, target: { kind: "pod", name: pod, port: String(t.port), path: t.probe.path } });
  }
  const p = progress(ctx);
  const failed: string[] = [];
  let answered = 0;
  // Whether the API server answers a plain read, asked once for the step however many proxy requests broke.
  let serverAnswers: Promise<boolean> | undefined;
  const answers = () => {
    serverAnswers ??= kube.getDeployment(plan.namespace, nameOf(plan.to.deployment)).then(
      () => true,
      () => false,
    );
    return serverAnswers;
  };
  const ask = async ({ who, target }: (typeof asks)[number]) => {
    const url = `${target.port ? `:${target.port}` : ""}${target.path}`;
    try {
      const a = await kube.proxyGet(plan.namespace, target, step.timeoutMs);
      if (a.status < 200 || a.status > 299) failed.push(`${who} ${url} answered ${a.status}${a.message ? ` (${a.message})` : ""}`);
    } catch (e) {
      failed.push(`${who} ${url}: ${await proxyFailure(ctx, e, answers)}`);
    }
    answered++;
    if (ctx.io.errIsTTY) p.update(phaseLine({ phase: "probe", when: step.when, answered, total: asks.length }, true));
  };
  // The phase's line when it starts (a probe after the switch may take up to --probe-timeout), then each answer on a terminal.
  p.update(phaseLine({ phase: "probe", when: step.when, answered: 0, total: asks.length }, ctx.io.errIsTTY));
  // A few at a time: a slot may have hundreds of pods.
  for (let i = 0; i < asks.length; i += 8) await Promise.all(asks.slice(i, i + 8).map(ask));
  p.done();
  const whom = step.when === "before" ? `${asks.length} pod(s)` : asks.map((a) => a.who).join(", ");
  ctx.io.err(`probed ${whom} ${step.when} the switch: ${failed.length ? `${failed.length} failed` : "every answer 2xx"}\n`);
  return failed;
}

/**
 * Why a proxy request got no answer. A broken proxy request is the probe's failure when the API server
 * still answers a plain read (the proxy, the pod or the port failed); only when it does not is the cluster
 * unreachable.
 */
async function proxyFailure(ctx: Context, e: unknown, serverAnswers: () => Promise<boolean>): Promise<string> {
  const text = message(e);
  if (!(e instanceof UnreachableError) || ctx.signal.aborted || !(await serverAnswers())) return text;
  const cause = text.replace(/^.*?: (cannot reach the cluster at \S+: )?/, "").replace(/\.$/, "");
  return `no answer through the API server's proxy, although the API server answers other requests (${cause})`;
}

/** Names of the target's ready pods under every live Service's new selector. */
async function targetPods(kube: KubeClient, plan: SwitchPlan): Promise<string[]> {
  const names = new Set<string>();
  for (const w of plan.writes.filter((x) => x.role === "live")) {
    for (const pod of await readyPods(kube, plan.namespace, w.targetPods)) names.add(pod.metadata.name ?? "");
  }
  return [...names].sort();
}

/** Runs a --pre-check or --post-check command; returns why it failed, or undefined. */
export async function runCommand(ctx: Context, kube: KubeClient, plan: SwitchPlan, step: Extract<Step, { kind: "command" }>, kubeconfig: string | undefined): Promise<string | "interrupted" | undefined> {
  const which = step.when === "before" ? "--pre-check" : "--post-check";
  const preview = plan.writes.filter((w) => w.role === "preview").map((w) => w.name);
  const env: Record<string, string> = {
    BLUEGREEN_APP: plan.app,
    BLUEGREEN_NAMESPACE: plan.namespace,
    BLUEGREEN_CONTEXT: kube.contextName,
    BLUEGREEN_FROM: plan.from.value,
    BLUEGREEN_TO: plan.to.value,
    ...(preview.length ? { BLUEGREEN_PREVIEW_SERVICE: preview.join(",") } : {}),
    ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}),
  };
  ctx.io.err(`running ${which}: ${step.command}\n`);
  const r = await ctx.shell(step.command, { env, timeoutMs: step.timeoutMs, signal: ctx.signal });
  switch (r.kind) {
    case "exited":
      return r.code === 0 ? undefined : `${which} exited with ${r.code}`;
    case "signalled":
      return `${which} was killed by ${r.signal}`;
    case "timed-out":
      return `${which} did not finish within ${formatDuration(step.timeoutMs)} (--check-timeout) and was stopped`;
    case "interrupted":
      return "interrupted";
    case "failed-to-start":
      return `${which} could not be started: ${r.message}`;
  }
}

/** Where to look after a failed check: what the probes' answers point at, or the command's output. */
export function checkHint(step: Extract<Step, { kind: "probe" | "command" | "analysis" }>, failed: string[]): string {
  if (step.kind === "command") return "See the check's output above.";
  if (step.kind === "analysis") return "Check the query and that Prometheus answers it (--prometheus URL or --prometheus-service NAMESPACE/NAME:PORT).";
  const port = step.targets.map((t) => (t.kind === "pods" ? t.port : t.containerPort))[0];
  if (failed.length && failed.every((f) => /connection refused|ECONNREFUSED/i.test(f))) {
    return `Nothing listens on container port ${port} of the target's pods: name the port they serve with --probe PORT/PATH.`;
  }
  if (failed.length && failed.every((f) => /\b(timed out|did not answer within|deadline)\b/i.test(f))) return "Check the pods of the target slot, or allow longer with --probe-timeout.";
  return "Check the pods of the target slot and the answers above.";
}

/** Why the plan's target cannot take traffic now: rollout rules, then its pods under the new selectors. */
export async function checkTarget(kube: KubeClient, plan: SwitchPlan, target: Deployment): Promise<string[]> {
  const why = preflight({ ...plan, to: { ...plan.to, deployment: target } });
  if (why.length) return why;
  for (const w of plan.writes.filter((x) => x.role === "live")) {
    const pods = await readyPods(kube, plan.namespace, w.targetPods);
    if (pods.length < plan.minAvailable) {
      const whose = w.kind === "service" ? `the new selector ${formatSelector(w.targetPods)} of ${w.ref}` : `the selector ${formatSelector(w.targetPods)} of service/${w.endpoints}, where ${w.ref} sends traffic`;
      return [`only ${pods.length} ready pods match ${whose}; ${plan.minAvailable} needed`];
    }
  }
  return [];
}

/** The refusal for a target that is not ready, with the way out that can help: waiting, or more replicas. */
export function refusal(plan: SwitchPlan, why: string[], changed = "nothing changed", target: Deployment = plan.to.deployment): RefusedError {
  const name = nameOf(target);
  const { desired } = replicaCounts(target);
  // A finished rollout of fewer replicas than needed: waiting can never help.
  const short = rolloutStatus(target).done && desired < plan.minAvailable;
  const hint = !short
    ? `Wait for it (kubectl rollout status deployment/${name} -n ${plan.namespace})${plan.action === "promote" ? ", or run promote with --wait" : ""}.`
    : plan.action === "promote"
      ? `deployment/${name} runs ${plural(desired, "replica")} where ${plan.minAvailable} are needed: scale it to the live slot's size first with --scale-up, or accept fewer with --min-ready ${Math.max(1, desired)}.`
      : `deployment/${name} runs ${plural(desired, "replica")} where ${plan.minAvailable} are needed: scale it first (kubectl scale deployment/${name} --replicas ${plan.minAvailable} -n ${plan.namespace}).`;
  return new RefusedError(`cannot ${plan.action} app ${plan.app} to ${plan.slotLabel}=${plan.to.value}: ${why.join("; ")}; ${changed}.`, hint);
}

/** Polls the target Deployment until it can take traffic, or refuses when the timeout passes. */
export async function waitForTarget(ctx: Context, kube: KubeClient, plan: SwitchPlan, timeoutMs: number): Promise<void> {
  const deadline = ctx.clock.now().getTime() + timeoutMs;
  const p = progress(ctx);
  const name = plan.to.deployment.metadata.name ?? "";
  try {
    for (;;) {
      let why: string[];
      try {
        const d = await kube.getDeployment(plan.namespace, name);
        why = await checkTarget(kube, plan, d);
      } catch (e) {
        if (proven(e)) throw e;
        why = [message(e)];
      }
      if (why.length === 0) {
        p.update(`deployment/${name} is ready`);
        return;
      }
      p.update(`waiting for deployment/${name}: ${why.join("; ")}`);
      if (ctx.signal.aborted) throw new BlueGreenError(`interrupted while waiting for deployment/${name}; nothing changed.`, ExitCode.interrupted);
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
