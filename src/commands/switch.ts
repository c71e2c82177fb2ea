// The writes of a switch, for every router kind alike: the forward write of each router, settled by reading it
// back when a reply is lost; the switch-back, retried while the switch on it is still ours; the verified mark;
// and the readings that tell whether someone else moved a router since. The router's kind (bluegreen/routers)
// computes every patch from the object as just read; nothing here asks which kind it is.
import type { Context } from "../context.js";
import type { Deployment } from "../bluegreen/model.js";
import { nameOf } from "../bluegreen/model.js";
import { formatSelector } from "../bluegreen/pair.js";
import type { RouterWrite, SwitchPlan } from "../bluegreen/plan.js";
import { LAST_SWITCH_ANNOTATION, recordOf } from "../bluegreen/record.js";
import { ROUTER_KINDS } from "../bluegreen/routers/index.js";
import type { RouterObject, RouterReading } from "../bluegreen/routers/types.js";
import { deploymentGuard, routerGuard } from "../bluegreen/guard.js";
import { BlueGreenError, ConflictError, ExitCode, UnreachableError } from "../errors.js";
import type { KubeClient } from "../kube/types.js";
import { escapeTerminal } from "../render/escape.js";
import { switchedLine, weighedLine } from "../render/progress.js";
import { SETTLE_MS, isConflict, message, readUntil, writeConditionally } from "./write.js";

/** What a switch-back did with each router it had to put back: `kind/NAME phrase` for the ones not back. */
export interface SwitchedBack {
  back: string[];
  /** Changed by someone else since: theirs to keep. */
  taken: string[];
  /** Still as our switch left it, or unknown. */
  failed: string[];
}

/** A router as read at the end: where it sends traffic, and another command's pending switch on it. */
export interface Reading {
  write: RouterWrite;
  object?: RouterObject;
  reading?: RouterReading;
}

/** The routers of one switch plan, and what this command's writes did to them. */
export class RouterSwitch {
  /** Routers our switch write landed on (by key), with the object the write returned. */
  readonly landed = new Map<string, RouterObject>();
  /** Routers whose state could not be settled (a lost reply never read back). */
  readonly unknown = new Set<string>();
  /** Every write sent to each router (by key), in order: a canary's steps, then the switch. */
  private readonly sent = new Map<string, RouterWrite[]>();
  private readonly ns: string;

  constructor(
    private readonly ctx: Context,
    private readonly kube: KubeClient,
    private readonly plan: SwitchPlan,
  ) {
    this.ns = plan.namespace;
  }

  private kindOf(w: RouterWrite) {
    return ROUTER_KINDS[w.kind];
  }

  /** Reads a router (one request). */
  read(w: RouterWrite): Promise<RouterObject> {
    return this.kube.getRouter(this.ns, this.kindOf(w).resource, w.name);
  }

  /** Where a router as read sends the app's traffic. */
  readingOf(w: RouterWrite, o: RouterObject): RouterReading {
    return this.kindOf(w).read(o, this.plan.routing);
  }

  /** Whether a router as read sends traffic where write `w` sends it: all to its slot, or its percentage. */
  arrived(w: RouterWrite, o: RouterObject): boolean {
    const kind = this.kindOf(w);
    if (w.percent !== undefined && kind.weights) return kind.weights.share(o, this.plan.routing, w.to) === w.percent;
    return kind.read(o, this.plan.routing).slot === w.to;
  }

  /** The last write sent to a router (a canary step's, or the switch's), or `w` itself before any. */
  private lastSent(w: RouterWrite): RouterWrite {
    return this.sent.get(w.key)?.at(-1) ?? w;
  }

  /**
   * Writes every router in order; the first failure stops the writes and is returned. `checkedTarget` is the
   * target Deployment as the check found it (deploymentGuard): each write depends on it too.
   */
  async forward(writes: RouterWrite[], checkedTarget: string): Promise<BlueGreenError | undefined> {
    for (const w of writes) {
      // Ctrl-C between two writes: stop writing; the caller switches back what landed.
      if (this.ctx.signal.aborted) return new BlueGreenError("interrupted", ExitCode.interrupted);
      const r = await this.writeOne(w, checkedTarget);
      if (r.status === "landed") {
        this.landed.set(w.key, r.object);
        // Said as it lands, not at the end: from here on traffic has moved, and Ctrl-C switches it back.
        if (w.percent !== undefined) this.ctx.io.err(`${escapeTerminal(weighedLine(w.ref, this.plan.slotLabel, w.to, w.percent))}\n`);
        else if (w.from !== w.to) this.ctx.io.err(`${escapeTerminal(switchedLine(w.ref, this.plan.slotLabel, w.from, w.to))}\n`);
        continue;
      }
      if (r.status === "unknown") this.unknown.add(w.key);
      return r.error;
    }
    return undefined;
  }

  /**
   * One switch write: read, and write on that resourceVersion while what the switch depends on is as planned
   * (other changes, such as someone else's annotations, are retried over); a lost reply is settled by reading back.
   */
  private async writeOne(w: RouterWrite, checkedTarget: string): Promise<{ status: "landed"; object: RouterObject } | { status: "failed" | "unknown"; error: BlueGreenError }> {
    const kind = this.kindOf(w);
    const routing = this.plan.routing;
    const targetName = nameOf(this.plan.to.deployment);
    let target: Deployment | undefined;
    // After a canary step landed, the next write depends on the router as that step left it.
    const landed = this.landed.get(w.key);
    const guard = landed ? routerGuard(kind, landed, routing) : w.guard;
    this.sent.set(w.key, [...(this.sent.get(w.key) ?? []), w]);
    const r = await writeConditionally<RouterObject, RouterObject | BlueGreenError>(this.ctx, {
      // The router, then the target: a deploy or scale-down that unmarked the router before we read it has written
      // the Deployment before that.
      read: async () => {
        const o = await this.read(w);
        target = await this.kube.getDeployment(this.ns, targetName);
        return o;
      },
      decide: (read, failure) => {
        // After a lost reply or a 409: did our switch land? The operation id in the record tells. With our id on
        // it after a 409, another promote finished this very operation (it resumes a pending switch under its id).
        if (failure && recordOf(read)?.id === this.plan.record.id && this.arrived(w, read)) {
          const how = isConflict(failure) ? "another command finished this switch" : "the reply was lost, but the switch was applied";
          this.ctx.io.err(`${w.ref}: ${how} (read back)\n`);
          return { result: read };
        }
        if (routerGuard(kind, read, routing) !== guard) {
          return { result: new ConflictError(`patch ${w.ref}: conflict: the ${kind.resource.kind} was changed by someone else since it was read (${this.changeOf(w, read)})`) };
        }
        if (checkedTarget && target && deploymentGuard(target) !== checkedTarget) {
          return { result: new ConflictError(`patch ${w.ref}: conflict: deployment/${targetName} was changed since it was checked (a deploy or a scale ran meanwhile)`) };
        }
        return { write: true };
      },
      write: (resourceVersion, read) =>
        this.kube.patchRouter(this.ns, kind.resource, w.name, {
          metadata: { resourceVersion, annotations: w.annotations },
          spec: w.percent !== undefined && kind.weights ? kind.weights.weigh(read, routing, w.to, w.percent) : kind.switchTo(read, routing, w.to),
        }),
      deadline: this.ctx.clock.now().getTime() + SETTLE_MS,
    });
    if (r.kind === "unknown") {
      return { status: "unknown", error: new UnreachableError(`${message(r.error)}, and ${w.ref} could not be read back to learn whether the write was applied.`) };
    }
    if (r.kind === "failed") return { status: "failed", error: r.error };
    return "metadata" in r.result ? { status: "landed", object: r.result } : { status: "failed", error: r.result };
  }

  /** What changed on a router that a switch write depends on: where it sends traffic, or our annotations. */
  private changeOf(w: RouterWrite, read: RouterObject): string {
    const kind = this.kindOf(w);
    if (kind.guard(read, this.plan.routing) === kind.guard(w.asRead, this.plan.routing)) return "the kubectl-bluegreen annotations changed";
    const now = kind.read(read, this.plan.routing);
    if (w.kind === "service") return now.slot !== w.from ? `it selects ${this.where(now)} now` : `its selector is ${formatSelector((read.spec?.selector as Record<string, string> | undefined) ?? {})} now`;
    return now.slot !== w.from ? `it sends traffic to ${this.where(now)} now` : `it is ${now.text} now`;
  }

  private where(r: RouterReading): string {
    return r.slot === undefined ? `no one slot (${r.text})` : `${this.plan.slotLabel}=${r.slot}`;
  }

  /**
   * Switches back every router our write landed on (or may have landed on). Each ends back, taken (someone else
   * changed it since: theirs to keep) or failed (still as our switch left it, or unknown).
   */
  async back(deadlineMs: number): Promise<SwitchedBack> {
    const r: SwitchedBack = { back: [], taken: [], failed: [] };
    for (const w of this.plan.writes) {
      if (!this.landed.has(w.key) && !this.unknown.has(w.key)) continue;
      const u = await this.undoOne(w, deadlineMs);
      if (u.kind === "back") {
        r.back.push(w.ref);
        this.landed.delete(w.key);
        this.unknown.delete(w.key);
      } else r[u.kind].push(`${w.ref} ${u.why}`);
    }
    return r;
  }

  /**
   * Puts one router back as this command found it: what it routes for the app and our annotations, conditionally.
   * Each attempt reads it first and writes on that resourceVersion while the switch on it is still ours (where our
   * switch put it, or back where it was put by someone else, and our operation's record); changes to anything else
   * are retried over until the deadline.
   */
  private async undoOne(w: RouterWrite, deadlineMs: number): Promise<{ kind: "back" } | { kind: "taken" | "failed"; why: string }> {
    const kind = this.kindOf(w);
    const routing = this.plan.routing;
    const label = this.plan.slotLabel;
    const r = await writeConditionally<RouterObject, string | undefined>(this.ctx, {
      read: () => this.read(w),
      decide: (read) => {
        const now = kind.read(read, routing);
        const ours = recordOf(read)?.id === this.plan.record.id;
        const isBack = kind.guard(read, routing) === kind.guard(w.asRead, routing);
        // Our switch-back landed, or the switch never did.
        if (isBack && !ours) return { result: undefined };
        const isOurs = (now.slot === w.to && now.slot !== undefined) || (this.sent.get(w.key) ?? []).some((x) => this.arrived(x, read));
        // Anyone else's change is theirs to keep, even one that sends traffic to the same slot.
        if (!isOurs && !isBack) return { result: `was changed by someone else to ${now.slot === undefined ? now.text : `${label}=${now.slot}`}` };
        if (!ours) return { result: `was switched by another command since (to ${this.where(now)})` };
        return { write: true };
      },
      write: async (resourceVersion, read) => {
        await this.kube.patchRouter(this.ns, kind.resource, w.name, { metadata: { resourceVersion, annotations: w.undoAnnotations }, spec: kind.restore(read, w.asRead, routing) });
        return undefined;
      },
      deadline: this.ctx.clock.now().getTime() + Math.max(SETTLE_MS, deadlineMs),
    });
    if (r.kind === "done") {
      if (r.result !== undefined) return { kind: "taken", why: r.result };
      this.unknown.delete(w.key);
      return { kind: "back" };
    }
    if (r.kind === "unknown") {
      this.unknown.add(w.key);
      return { kind: "failed", why: `could not be read back (${message(r.error)})` };
    }
    const why = isConflict(r.error) ? `could not be switched back before the deadline (${message(r.error)})` : `could not be switched back (${message(r.error)})`;
    return { kind: "failed", why };
  }

  /**
   * The routers our switch landed on that someone else has changed since (a controller reverting our change,
   * another command), each as a phrase naming where it sends traffic now and who wrote that; and each landed
   * router as read (for verification).
   */
  async moved(): Promise<{ moved: string[]; read: Map<string, RouterObject> }> {
    const moved: string[] = [];
    const read = new Map<string, RouterObject>();
    for (const w of this.plan.writes) {
      if (!this.landed.has(w.key)) continue;
      const o = await this.read(w);
      read.set(w.key, o);
      // Another command that took it to the same slot meanwhile is not a move: the record step tells of it.
      if (!this.arrived(this.lastSent(w), o)) moved.push(this.movedPhrase(w, o));
    }
    return { moved, read };
  }

  /** "service/web … selects version=v1 again (its selector was last written by argocd-controller)": a router moved after our switch. */
  movedPhrase(w: RouterWrite, o: RouterObject): string {
    const kind = this.kindOf(w);
    const now = kind.read(o, this.plan.routing);
    const label = this.plan.slotLabel;
    const service = w.kind === "service";
    const where =
      now.slot === undefined
        ? service
          ? `no longer selects a slot by ${label}`
          : `sends traffic to no one slot (${now.text})`
        : `${service ? "selects" : "sends traffic to"} ${label}=${now.slot}${now.slot === w.from ? " again" : ""}`;
    const writer = kind.writer(o, this.plan.routing);
    return `${w.ref} was changed by someone else after the switch: it ${where}${writer ? ` (its ${service ? "selector" : "routing"} was last written by ${writer})` : ""}`;
  }

  /** undefined when marked; the router as read when someone else has switched it to another slot since; else why not. */
  async markVerified(w: RouterWrite, verified: string): Promise<string | { moved: RouterObject } | undefined> {
    const kind = this.kindOf(w);
    const r = await writeConditionally<RouterObject, string | { moved: RouterObject } | undefined>(this.ctx, {
      read: () => this.read(w),
      decide: (read) => {
        if (kind.read(read, this.plan.routing).slot !== w.to) return { result: { moved: read } };
        const rec = recordOf(read);
        if (rec?.id !== this.plan.record.id) return { result: "another command wrote its record since" };
        if (rec.state === "verified") return { result: undefined };
        return { write: true };
      },
      write: async (resourceVersion) => {
        await this.kube.patchRouter(this.ns, kind.resource, w.name, { metadata: { resourceVersion, annotations: { [LAST_SWITCH_ANNOTATION]: verified } } });
        return undefined;
      },
      deadline: this.ctx.clock.now().getTime() + SETTLE_MS,
    });
    return r.kind === "done" ? r.result : message(r.error);
  }

  /** Every router of the plan as read now (retrying until the deadline); a router that cannot be read has no reading. */
  async readAll(deadline: number): Promise<Reading[]> {
    const out: Reading[] = [];
    for (const w of this.plan.writes) {
      const o = await readUntil(this.ctx, () => this.read(w), deadline).catch(() => undefined);
      out.push({ write: w, object: o, reading: o ? this.readingOf(w, o) : undefined });
    }
    return out;
  }
}
