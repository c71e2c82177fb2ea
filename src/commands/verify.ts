// Verification after the switch writes landed, for every router kind alike: no router was moved by someone else
// since, each router's kind says the system has taken the change (a route's parents accept it at the generation we
// wrote), and the Services that carry the traffic hold ready endpoints of the target slot only.
import type { Context } from "../context.js";
import { formatSelector } from "../bluegreen/pair.js";
import type { SwitchPlan } from "../bluegreen/plan.js";
import { ROUTER_KINDS } from "../bluegreen/routers/index.js";
import type { BlueGreenError } from "../errors.js";
import type { Collection, KubeClient } from "../kube/types.js";
import { type EndpointCount, phaseLine } from "../render/progress.js";
import type { Progress } from "./progress.js";
import type { RouterSwitch } from "./switch.js";
import { asError, backoff, message, proven } from "./write.js";

/** How verification ended: undefined when verified. */
export type Verified =
  | undefined
  /** Not verified by the deadline: why (a phrase), or the error that kept it from reading. */
  | string
  | BlueGreenError
  /** What serves a router rejected the change (a route's parent reports Accepted or ResolvedRefs False). */
  | { rejected: string }
  /** Someone else moved a router we switched. */
  | { moved: string }
  | "interrupted";

/** Verification reads again at least this often, even when no watch event came. */
const VERIFY_REREAD_MS = 1000;

/**
 * Waits until every live router is taken and its traffic's Service holds ready endpoints of the target only; API
 * errors retried until the deadline. Between reads it watches what it read, so it reads again as soon as the
 * controllers write. `seen` gets the endpoints each time they are counted.
 */
export async function verifySwitch(ctx: Context, kube: KubeClient, plan: SwitchPlan, sw: RouterSwitch, timeoutMs: number, p: Progress, seen: (e: EndpointCount) => void): Promise<Verified> {
  const deadline = ctx.clock.now().getTime() + timeoutMs;
  const tty = ctx.io.errIsTTY;
  const live = plan.writes.filter((w) => w.role === "live");
  const phase = {
    phase: "verify",
    services: [...new Set(live.map((w) => w.endpoints))],
    routes: live.filter((w) => w.kind !== "service").map((w) => w.ref),
    to: plan.to.value,
    timeoutMs,
  } as const;
  // Not a terminal: the phase's one line, before the first read.
  if (!tty) p.update(phaseLine({ ...phase, leftMs: timeoutMs }, false));
  let why: string | BlueGreenError = "";
  let endpoints: EndpointCount | undefined;
  for (let attempt = 0; ; attempt++) {
    let watch: Collection[] = [];
    const versions: string[] = [];
    try {
      // A router someone else switched away meanwhile (a controller that reverts it): stop waiting.
      const { moved, read } = await sw.moved();
      if (moved.length) return { moved: moved.join("; ") };
      why = "";
      for (const w of live) {
        const now = read.get(w.key);
        const written = sw.landed.get(w.key);
        if (!now || !written) continue;
        const taken = ROUTER_KINDS[w.kind].taken(now, written, w.asRead);
        if (taken.kind === "failed") return { rejected: `${w.ref}: ${taken.why}` };
        if (taken.kind === "waiting" && !why) why = `${w.ref}: ${taken.why}`;
        if (taken.kind === "waiting") {
          watch.push({ resource: ROUTER_KINDS[w.kind].resource, namespace: plan.namespace, fieldSelector: `metadata.name=${w.name}` });
          versions.push(now.metadata.resourceVersion ?? "");
        }
      }
      const e = await endpointsWhy(kube, plan);
      endpoints = e.endpoints;
      seen(e.endpoints);
      why ||= e.why;
      for (const r of e.read) {
        watch.push({ resource: "endpointslices", namespace: plan.namespace, labelSelector: `kubernetes.io/service-name=${r.service}` });
        versions.push(r.resourceVersion);
      }
      if (!why) return undefined;
    } catch (e) {
      // A refusal (403) will not heal; anything else is retried until the deadline.
      if (proven(e)) return asError(e);
      why = asError(e);
      watch = [];
    }
    if (ctx.signal.aborted) return "interrupted";
    const left = deadline - ctx.clock.now().getTime();
    if (tty) p.update(phaseLine({ ...phase, leftMs: left, endpoints, retrying: typeof why === "string" ? undefined : message(why), waiting: typeof why === "string" ? why : undefined }, true));
    if (left <= 0) return why;
    if (typeof why === "string" && watch.length > 0) {
      // The first change to anything read (or VERIFY_REREAD_MS without one, or the deadline).
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      const maxMs = Math.min(VERIFY_REREAD_MS, left);
      await Promise.race(watch.map((c, i) => kube.changed(c, versions[i] ?? "", maxMs, stop.signal)));
      stop.abort();
      ctx.signal.removeEventListener("abort", onAbort);
    } else {
      const retryAfter = typeof why === "string" ? undefined : why.retryAfterMs;
      await ctx.clock.sleep(Math.min(retryAfter ?? backoff(attempt), left), ctx.signal);
    }
  }
}

/** Gives kube-proxy, gateways and load balancers --propagation-delay, with the time left every second on a terminal. */
export async function propagate(ctx: Context, delayMs: number, p: Progress): Promise<void> {
  const due = ctx.clock.now().getTime() + delayMs;
  const tty = ctx.io.errIsTTY;
  for (;;) {
    const leftMs = due - ctx.clock.now().getTime();
    if (leftMs <= 0 || ctx.signal.aborted) return;
    p.update(phaseLine({ phase: "propagate", delayMs, leftMs }, tty));
    await ctx.clock.sleep(tty ? Math.min(leftMs, 1000) : leftMs, ctx.signal);
  }
}

/**
 * Why the Services that carry the live routers' traffic do not yet hold ready endpoints of the target only ("" when
 * they do), the resourceVersion each one's slices were read at (to wait for their next change), and their endpoints
 * counted over all of them (for the progress line).
 */
async function endpointsWhy(kube: KubeClient, plan: SwitchPlan): Promise<{ why: string; read: { service: string; resourceVersion: string }[]; endpoints: EndpointCount }> {
  const read: { service: string; resourceVersion: string }[] = [];
  const count: EndpointCount = { total: 0, onTarget: 0, readyOnTarget: 0 };
  let why = "";
  const done = new Set<string>();
  for (const w of plan.writes.filter((x) => x.role === "live")) {
    if (done.has(w.endpoints)) continue;
    done.add(w.endpoints);
    const common = Object.fromEntries(Object.entries(w.targetPods).filter(([k]) => k !== plan.slotLabel));
    const [slices, pods] = await Promise.all([kube.listEndpointSlices(plan.namespace, w.endpoints), kube.listPods(plan.namespace, formatSelector(common))]);
    read.push({ service: w.endpoints, resourceVersion: slices.resourceVersion });
    const slotOf = new Map(pods.map((p) => [p.metadata.name ?? "", p.metadata.labels?.[plan.slotLabel]]));
    const endpoints = slices.items.flatMap((s) => s.endpoints ?? []);
    const onTarget = endpoints.filter((e) => slotOf.get(e.targetRef?.name ?? "") === plan.to.value);
    const ready = onTarget.filter((e) => e.conditions?.ready !== false);
    count.total += endpoints.length;
    count.onTarget += onTarget.length;
    count.readyOnTarget += ready.length;
    // The first Service that falls short is the reason.
    const foreign = endpoints.length - onTarget.length;
    if (why) continue;
    if (foreign > 0) why = `service/${w.endpoints} still has ${foreign} endpoints outside ${plan.slotLabel}=${plan.to.value}`;
    else if (ready.length === 0) why = `service/${w.endpoints} has no ready endpoints`;
  }
  return { why, read, endpoints: count };
}
