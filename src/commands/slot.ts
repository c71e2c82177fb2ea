// Writes to one slot's Deployment — a deploy, a scale-down to 0 — guarded so that no switch sends traffic to
// the slot meanwhile: the live Services carry a busy mark (written conditionally) while the write is made.
import type { Context } from "../context.js";
import type { DeployPlan } from "../bluegreen/deploy.js";
import type { Deployment } from "../bluegreen/model.js";
import { nameOf } from "../bluegreen/model.js";
import { idleSelectors, selects, templateLabels } from "../bluegreen/pair.js";
import { rolloutStatus } from "../bluegreen/readiness.js";
import { BUSY_ANNOTATION, type BusyAction, busyMarkId, SCALE_DOWN_AT_ANNOTATION, deployRecordOf, deploymentVersion } from "../bluegreen/record.js";
import { formatDuration } from "../render/time.js";
import { BlueGreenError, ConflictError, ExitCode, NotFoundError, RefusedError, UnreachableError } from "../errors.js";
import type { KubeClient } from "../kube/types.js";
import { deploymentGuard, routerGuard } from "../bluegreen/guard.js";
import { ROUTER_KINDS } from "../bluegreen/routers/index.js";
import type { RouterObject, RouterRef, Routing } from "../bluegreen/routers/types.js";
import { progress } from "./progress.js";
import { SETTLE_MS, type Written, backoff, message, proven, readUntil, writeConditionally } from "./write.js";

/** Busy marks on the live routers while one command writes a slot's Deployment. */
class BusyMarks {
  /** Routers we marked. */
  private readonly marked: RouterRef[] = [];
  private id = "";

  constructor(
    private readonly ctx: Context,
    private readonly kube: KubeClient,
    private readonly ns: string,
    private readonly routing: Routing,
    private readonly warnings: string[],
  ) {}

  /**
   * Marks every live router while what a switch of it depends on is still as in the copy given (other changes
   * are retried over); false when one changed since it was read.
   */
  async mark(live: RouterRef[], asRead: Map<string, RouterObject>, deployment: string, action: BusyAction, id: string): Promise<boolean> {
    this.id = id;
    const mark = JSON.stringify({ deployment, action, id, at: this.ctx.clock.now().toISOString() });
    const deadline = this.ctx.clock.now().getTime() + SETTLE_MS;
    for (const ref of live) {
      const was = asRead.get(ref.ref);
      if (!was) continue;
      const kind = ROUTER_KINDS[ref.kind];
      const r = await writeConditionally(this.ctx, {
        read: () => this.kube.getRouter(this.ns, kind.resource, ref.name),
        decide: (read) =>
          read.metadata.annotations?.[BUSY_ANNOTATION] === mark
            ? { result: true }
            : routerGuard(kind, read, this.routing) === routerGuard(kind, was, this.routing)
              ? { write: true }
              : { result: false },
        write: async (resourceVersion) => {
          await this.kube.patchRouter(this.ns, kind.resource, ref.name, { metadata: { resourceVersion, annotations: { [BUSY_ANNOTATION]: mark } } });
          return true;
        },
        deadline,
      });
      if (r.kind === "done" && r.result) {
        this.marked.push(ref);
        continue;
      }
      // Unknown: the mark may be there; unmark reads it back and removes it if so.
      if (r.kind === "unknown") this.marked.push(ref);
      await this.unmark();
      if (r.kind === "done") return false;
      throw r.error;
    }
    return true;
  }

  /** Removes our marks, conditionally: a mark another command put there since stays (an old one expires by itself). */
  async unmark(): Promise<void> {
    for (const ref of this.marked) {
      const kind = ROUTER_KINDS[ref.kind];
      const r = await writeConditionally(this.ctx, {
        read: () => this.kube.getRouter(this.ns, kind.resource, ref.name),
        decide: (read) => (busyMarkId(read) === this.id ? { write: true } : { result: undefined }),
        write: async (resourceVersion) => {
          await this.kube.patchRouter(this.ns, kind.resource, ref.name, { metadata: { resourceVersion, annotations: { [BUSY_ANNOTATION]: null } } });
        },
        deadline: this.ctx.clock.now().getTime() + 10_000,
      });
      if (r.kind !== "done") this.warnings.push(`${ref.ref} still carries ${BUSY_ANNOTATION} (it expires by itself): ${message(r.error)}`);
    }
    this.marked.length = 0;
  }
}

/** Reads each router (one request each): what marks compare against and what says where traffic goes now. */
async function readRouters(kube: KubeClient, ns: string, refs: RouterRef[]): Promise<Map<string, RouterObject>> {
  const out = new Map<string, RouterObject>();
  for (const ref of refs) out.set(ref.ref, await kube.getRouter(ns, ROUTER_KINDS[ref.kind].resource, ref.name));
  return out;
}

/** A slot to scale to 0, and what must still hold when it is. */
interface Retirement {
  app: string;
  namespace: string;
  slotLabel: string;
  deployment: string;
  /** The version the slot must still hold: a deploy into it since means it is no longer the old slot. */
  version: string;
  delayMs: number;
  /** The app's routers: the live ones are marked busy while scaling, and preview Services may select the slot. */
  routers: RouterRef[];
  routing: Routing;
  id: string;
  by: string;
  /** Said before "deployment/X was not scaled down" when it is not: what is done already ("the switch … is done, but "). */
  prefix: string;
}

/**
 * Waits out the delay (with a countdown, noted on the Deployment so status shows it), then scales the slot to
 * 0: conditionally, never while a Service other than the app's previews selects it, never once a new version
 * was deployed into it. Returns the step's detail and whether it was done ("skipped" when interrupted or replaced).
 */
export async function retireSlot(ctx: Context, kube: KubeClient, r: Retirement, warnings: string[]): Promise<{ status: "done" | "skipped"; detail: string }> {
  const name = r.deployment;
  const ns = r.namespace;
  if (r.delayMs > 0) {
    const due = new Date(ctx.clock.now().getTime() + r.delayMs);
    const note = (value: string | null) => kube.patchDeployment(ns, name, { metadata: { annotations: { [SCALE_DOWN_AT_ANNOTATION]: value } } });
    try {
      await note(JSON.stringify({ at: due.toISOString(), by: r.by, id: r.id }));
    } catch (e) {
      warnings.push(`the pending scale-down could not be noted on deployment/${name} (status will not show it): ${message(e)}`);
    }
    await countdown(ctx, due, (left) => `scaling deployment/${name} to 0 in ${left} (Ctrl-C leaves it running)`);
    if (ctx.signal.aborted) {
      await note(null).catch(() => undefined);
      warnings.push(`interrupted before the scale-down: deployment/${name} was not scaled down and keeps running; kubectl bluegreen scale-down ${r.app} retires it later`);
      return { status: "skipped", detail: "interrupted" };
    }
  }
  const deadline = ctx.clock.now().getTime() + SETTLE_MS;
  const marks = new BusyMarks(ctx, kube, ns, r.routing, warnings);
  const live = r.routers.filter((x) => x.role === "live");
  // Preview Services select the retired slot by design, and so do slot Services (routes choose between them).
  const mayselect = idleSelectors(r.routers, r.routing);
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) {
      if (ctx.clock.now().getTime() > deadline) {
        throw new ConflictError(`${r.prefix}deployment/${name} was not scaled down: its Services kept changing.`, `Check with kubectl bluegreen status ${r.app}.`);
      }
      await ctx.clock.sleep(backoff(attempt - 1));
    }
    const d = await readUntil(ctx, () => kube.getDeployment(ns, name), deadline);
    if ((d.spec?.replicas ?? 1) === 0) break;
    if (deploymentVersion(d, r.slotLabel) !== r.version) {
      const deployed = deployRecordOf(d);
      warnings.push(`deployment/${name} was not scaled down: a new version was deployed into it since${deployed ? ` (${deployed.at} by ${deployed.by})` : ""}`);
      return { status: "skipped", detail: "a new version was deployed into it" };
    }
    const services = (await kube.listServices(ns)).filter((s) => s.metadata.namespace === ns);
    // Any other Service must not select the retired slot.
    const user = services.find((s) => selects(s.spec?.selector, templateLabels(d)) && !mayselect.has(nameOf(s)));
    if (user) throw new ConflictError(`${r.prefix}deployment/${name} was not scaled down: service/${nameOf(user)} selects it now.`, `Check with kubectl bluegreen status ${r.app}.`);
    // Nor may any live router send it traffic.
    const routers = await readRouters(kube, ns, live);
    const slot = templateLabels(d)[r.slotLabel] ?? "";
    const sending = live.find((x) => {
      const o = routers.get(x.ref);
      return o !== undefined && ROUTER_KINDS[x.kind].read(o, r.routing).slots.includes(slot);
    });
    if (sending) throw new ConflictError(`${r.prefix}deployment/${name} was not scaled down: ${sending.ref} sends it traffic now.`, `Check with kubectl bluegreen status ${r.app}.`);
    // Mark the live routers first, while they are as just read: a switch that read them before fails its write,
    // one that reads them after sees the mark and refuses to send traffic to the slot going to 0. A router that
    // changed meanwhile: read everything again.
    if (!(await marks.mark(live, routers, name, "scale-down", r.id))) continue;
    let w: Written<"scaled" | "changed">;
    try {
      w = await writeConditionally<Deployment, "scaled" | "changed">(ctx, {
        read: () => kube.getDeployment(ns, name),
        decide: (read) => ((read.spec?.replicas ?? 1) === 0 ? { result: "scaled" } : deploymentGuard(read) === deploymentGuard(d) ? { write: true } : { result: "changed" }),
        write: async (resourceVersion) => {
          await kube.patchDeployment(ns, name, { metadata: { resourceVersion, annotations: { [SCALE_DOWN_AT_ANNOTATION]: null } }, spec: { replicas: 0 } });
          return "scaled";
        },
        deadline,
      });
    } finally {
      await marks.unmark();
    }
    if (w.kind === "done" && w.result === "scaled") break;
    // Its spec, replicas or our annotations changed since it was read: check it all again.
    if (w.kind === "done") continue;
    const err = w.error;
    if (w.kind === "failed") throw new BlueGreenError(`${r.prefix}deployment/${name} was not scaled down: ${message(err)}.`, err.exitCode, err.hint);
    throw new BlueGreenError(`${r.prefix}whether deployment/${name} was scaled down is unknown: ${message(err)}.`, err.exitCode, `Check with kubectl get deployment ${name} -n ${ns}.`);
  }
  ctx.io.err(`deployment.apps/${name} scaled to 0\n`);
  return { status: "done", detail: `deployment/${name} scaled to 0` };
}

/** Sleeps until `due` (or the signal), showing the time left: every second on a terminal, once otherwise. */
async function countdown(ctx: Context, due: Date, line: (left: string) => string): Promise<void> {
  const p = progress(ctx);
  try {
    for (;;) {
      const left = due.getTime() - ctx.clock.now().getTime();
      if (left <= 0 || ctx.signal.aborted) return;
      p.update(line(formatDuration(Math.ceil(left / 1000) * 1000)));
      await ctx.clock.sleep(ctx.io.errIsTTY ? Math.min(left, 1000) : left, ctx.signal);
    }
  } finally {
    p.done();
  }
}

/**
 * Writes a deploy plan: marks the live Services busy (so a switch that raced us fails or refuses), writes the
 * idle Deployment conditionally, and settles a lost reply by reading the deploy record back. Returns the
 * Deployment as written.
 */
export async function writeDeploy(ctx: Context, kube: KubeClient, plan: DeployPlan, warnings: string[]): Promise<Deployment> {
  const ns = plan.namespace;
  const name = plan.deployment;
  // The routers must still be as planned: the slot we write is idle only if every live router sends traffic to the live slot only.
  const routers = await readRouters(kube, ns, plan.routers).catch((e) => {
    throw proven(e) && e instanceof NotFoundError ? new ConflictError(`${message(e)}: a router of the app is gone since it was read; nothing changed.`) : e;
  });
  for (const ref of plan.routers) {
    const o = routers.get(ref.ref);
    if (!o || ROUTER_KINDS[ref.kind].read(o, plan.routing).slot !== plan.live.value) {
      throw new ConflictError(`${ref.ref} changed since it was read (a switch ran meanwhile); nothing changed.`);
    }
  }
  const marks = new BusyMarks(ctx, kube, ns, plan.routing, warnings);
  return ctx.uninterruptible(async () => {
    if (!(await marks.mark(plan.routers, routers, name, "deploy", plan.record.id))) {
      throw new ConflictError(`the app's routers changed while deploy was marking them (a switch ran meanwhile); nothing changed.`);
    }
    try {
      return await writeSettled(ctx, kube, plan);
    } finally {
      await marks.unmark();
    }
  });
}

async function writeSettled(ctx: Context, kube: KubeClient, plan: DeployPlan): Promise<Deployment> {
  const r = await writeConditionally<Deployment, Deployment | ConflictError>(ctx, {
    read: () => kube.getDeployment(plan.namespace, plan.deployment),
    decide: (read, failure) => {
      // Our record on it says whether an earlier attempt landed.
      if (deployRecordOf(read)?.id === plan.record.id) {
        if (failure) ctx.io.err(`deployment/${plan.deployment}: the reply was lost, but the deploy was applied (read back)\n`);
        return { result: read };
      }
      // Its status moves often (the controller writes it): only its spec, replicas and our annotations count.
      if (deploymentGuard(read) !== deploymentGuard(plan.slot.deployment)) {
        return { result: new ConflictError(`deployment/${plan.deployment} was changed by someone else since it was read; nothing changed.`) };
      }
      return { write: true };
    },
    write: (resourceVersion) => kube.patchDeployment(plan.namespace, plan.deployment, { ...plan.patch, metadata: { ...plan.patch.metadata, resourceVersion } }),
    deadline: ctx.clock.now().getTime() + SETTLE_MS,
  });
  if (r.kind === "unknown") throw new UnreachableError(`${message(r.error)}, and deployment/${plan.deployment} could not be read back to learn whether the deploy was applied.`);
  if (r.kind === "failed") throw r.error;
  if (r.result instanceof ConflictError) throw r.result;
  return r.result;
}

/**
 * Waits for a Deployment's rollout by kubectl's rules, with progress on stderr; refuses (exit 4) with the
 * rollout's reason when it fails or the timeout passes.
 */
export async function waitForRollout(ctx: Context, kube: KubeClient, ns: string, name: string, timeoutMs: number, generation?: number): Promise<Deployment> {
  const deadline = ctx.clock.now().getTime() + timeoutMs;
  const p = progress(ctx);
  try {
    for (;;) {
      let d: Deployment | undefined;
      let why: string;
      try {
        d = await kube.getDeployment(ns, name);
        // A status from before our write does not count.
        const seen = generation === undefined || (d.status?.observedGeneration ?? 0) >= generation;
        const r = rolloutStatus(d);
        if (seen && r.done) {
          p.update(r.message);
          return d;
        }
        if (seen && r.failed) throw new RefusedError(`the rollout of deployment/${name} failed: ${r.message}; the new template was written to it, and the live slot was not touched.`, `See kubectl describe deployment/${name} -n ${ns}.`);
        why = seen ? r.message : "Waiting for deployment spec update to be observed...";
      } catch (e) {
        if (proven(e)) throw e;
        why = message(e);
      }
      p.update(why);
      if (ctx.signal.aborted) throw new BlueGreenError(`interrupted while waiting for deployment/${name} to roll out; the deploy was written and the rollout goes on.`, ExitCode.interrupted);
      if (ctx.clock.now().getTime() >= deadline) {
        throw new RefusedError(`timed out after ${formatDuration(timeoutMs)} waiting for deployment/${name}: ${why}`, `The deploy was written; check it with kubectl rollout status deployment/${name} -n ${ns}, or wait longer with --timeout.`);
      }
      await ctx.clock.sleep(1000, ctx.signal);
    }
  } finally {
    p.done();
  }
}
