// The one place that sequences writes for a switch: it runs a plan's steps, settles writes whose reply
// was lost by reading the object back, switches back on failure (retrying while the selector is still
// ours), and returns an Outcome that says exactly where traffic ended: all-new, all-old, split or unknown.
import type { Context } from "../context.js";
import { type Deployment, type Service, nameOf } from "../bluegreen/model.js";
import { formatSelector } from "../bluegreen/pair.js";
import { type ServiceWrite, type Step, type SwitchPlan, preflight } from "../bluegreen/plan.js";
import { LAST_SWITCH_ANNOTATION, recordOf } from "../bluegreen/record.js";
import { formatDuration } from "../render/time.js";
import { BlueGreenError, ConflictError, ExitCode, RefusedError, UnreachableError } from "../errors.js";
import type { KubeClient, ProxyTarget } from "../kube/types.js";
import { type Cause, type Final, type Outcome, type StepResult, type StepStatus, type SwitchBack, exitCodeOf } from "../bluegreen/outcome.js";
import { deploymentGuard, selectorWriter, serviceGuard } from "../bluegreen/guard.js";
import { observed, replicaCounts, rolloutStatus } from "../bluegreen/readiness.js";
import { plural } from "../bluegreen/plural.js";
import { readyPods } from "./load.js";
import { requirePermissions } from "./permissions.js";
import { switchNeeds } from "../bluegreen/permissions.js";
import { type Progress, progress } from "./progress.js";
import { escapeTerminal } from "../render/escape.js";
import { type EndpointCount, phaseLine, switchedLine } from "../render/progress.js";
import { retireSlot } from "./slot.js";
import { SETTLE_MS, asError, backoff, isConflict, message, proven, readUntil, writeConditionally } from "./write.js";

interface ExecuteOptions {
  verifyTimeoutMs: number;
  /**
   * After the EndpointSlices follow, how long kube-proxy (and load balancers) get to apply them. The API
   * shows no sign of it: kube-proxy applies changes at most once per its min-sync-period (1s by default).
   */
  propagationDelayMs: number;
  /** How long abort waits for a scaled-up slot. */
  waitTimeoutMs: number;
  /** --kubeconfig, handed to --pre-check and --post-check commands as KUBECONFIG. */
  kubeconfig?: string;
}


/** Runs a switch plan. Never throws for API failures: they end in the Outcome. */
export async function execute(ctx: Context, kube: KubeClient, plan: SwitchPlan, o: ExecuteOptions): Promise<Outcome> {
  const run = new Execution(ctx, kube, plan, o);
  return run.all();
}

class Execution {
  private readonly steps: StepResult[] = [];
  private readonly warnings: string[] = [];
  /** Services our switch write landed on, with the resourceVersion it left. */
  private readonly landed = new Map<string, string>();
  /** Services whose selector could not be settled. */
  private readonly unknown = new Set<string>();
  /**
   * The target Deployment as the check before the switch found it (deploymentGuard): the switch writes depend on
   * it too. A deploy or a scale-down marks the Services busy and unmarks them after writing the Deployment, which
   * leaves the Services as they were; the Deployment shows what happened.
   */
  private checkedTarget = "";
  /** The live Services' endpoints as verification last counted them. */
  private endpoints: EndpointCount | undefined;
  private readonly ns: string;

  constructor(
    private readonly ctx: Context,
    private readonly kube: KubeClient,
    private readonly plan: SwitchPlan,
    private readonly o: ExecuteOptions,
  ) {
    this.ns = plan.namespace;
  }

  async all(): Promise<Outcome> {
    const [first] = this.plan.steps;
    try {
      this.warnings.push(...(await requirePermissions(this.kube, this.ns, switchNeeds(this.plan.steps), `${this.plan.action} app ${this.plan.app}`)));
    } catch (e) {
      if (first) return this.stop(first, asError(e));
    }
    for (const step of this.plan.steps) {
      const beforeSwitch = step.kind === "scale-up" || step.kind === "check" || step.kind === "switch" || ((step.kind === "probe" || step.kind === "command") && step.when === "before");
      if (this.ctx.signal.aborted && beforeSwitch) {
        return this.stop(step, new BlueGreenError(`interrupted before any Service was written; ${this.unchangedSoFar()}.`, ExitCode.interrupted));
      }
      try {
        switch (step.kind) {
          case "scale-up":
            await this.scaleUp(step);
            break;
          case "check":
            await this.check(step);
            break;
          case "switch": {
            const failure = await this.ctx.uninterruptible(() => this.switchAll(step.writes));
            if (failure) return this.fail(failure);
            if (this.ctx.signal.aborted) return this.back(new BlueGreenError("interrupted", ExitCode.interrupted), "interrupted");
            this.done(step, step.writes.map((w) => `service/${w.service} ${w.from === w.to ? "kept" : `${w.from} → ${w.to}`}`).join(", "));
            break;
          }
          case "verify": {
            // One progress line through verification and the propagation delay, ended before whatever follows.
            const p = progress(this.ctx);
            let why: Awaited<ReturnType<Execution["verify"]>>;
            try {
              why = await this.verify(p);
              if (!why && this.o.propagationDelayMs > 0) await this.propagate(p);
              if (!why && !this.ctx.signal.aborted && this.ctx.io.errIsTTY && this.endpoints) {
                p.update(phaseLine({ phase: "verified", to: this.plan.to.value, endpoints: this.endpoints, delayMs: this.o.propagationDelayMs }, true));
              }
            } finally {
              p.done();
            }
            if (why === "interrupted") return this.back(new BlueGreenError("interrupted", ExitCode.interrupted), "interrupted");
            if (typeof why === "object" && "moved" in why) {
              this.steps.push({ step: "verify", status: "failed", detail: why.moved });
              return this.back(why.moved, "moved");
            }
            if (why) return this.back(why, "verify");
            if (this.o.propagationDelayMs > 0 && this.ctx.signal.aborted) return this.back(new BlueGreenError("interrupted", ExitCode.interrupted), "interrupted");
            const waited = this.o.propagationDelayMs > 0 ? `; gave proxies ${Math.round(this.o.propagationDelayMs / 100) / 10}s` : "";
            this.done(step, `ready endpoints of ${this.plan.slotLabel}=${this.plan.to.value} only${waited}`);
            break;
          }
          case "record": {
            const moved = await this.ctx.uninterruptible(() => this.record());
            if (moved.length) {
              // Verified, then taken elsewhere (another command, a controller that reverts it): this switch no
              // longer holds. The other writer's change is theirs to keep; the Services still ours go back.
              this.steps.push({ step: "record", status: "failed", detail: moved.join("; ") });
              return this.back(`switched and verified, but ${moved.join("; ")}`, "moved");
            }
            this.done(step, "verified");
            break;
          }
          case "scale-down":
            await this.scaleDown(step);
            break;
          case "probe":
          case "command": {
            const what = step.kind === "probe" ? "probe" : "check";
            const failed = step.kind === "probe" ? await this.probe(step) : await this.command(step);
            const why = typeof failed === "string" ? failed : failed?.join("; ");
            if (why === "interrupted" || (!why && this.ctx.signal.aborted && step.when === "after")) {
              if (step.when === "before") return this.stop(step, new BlueGreenError(`interrupted before any Service was written; ${this.unchangedSoFar()}.`, ExitCode.interrupted));
              return this.back(new BlueGreenError("interrupted", ExitCode.interrupted), "interrupted");
            }
            if (why && step.when === "before") {
              return this.stop(step, new RefusedError(`the ${what} before the switch failed: ${why}; ${this.unchangedSoFar()}.`, checkHint(step, Array.isArray(failed) ? failed : [])));
            }
            if (why) return this.back(`the ${what} after the switch failed: ${why}`, "check");
            this.done(step, step.kind === "probe" ? `${step.targets.length} probe(s) answered 2xx` : `${step.command}: exit 0`);
            break;
          }
        }
      } catch (e) {
        return this.stop(step, asError(e));
      }
    }
    return this.outcome("all-new");
  }

  /** Before the switch: "nothing changed", or what a scale-up did. */
  private unchangedSoFar(): string {
    const scaled = this.steps.find((s) => s.step === "scale-up" && s.status === "done");
    return scaled ? `${scaled.detail}, and traffic was not switched` : "nothing changed";
  }

  private done(step: Step, detail: string, status: StepStatus = "done"): void {
    this.steps.push({ step: step.kind, status, detail });
  }

  /** A step failed before any Service was written (or after the switch completed): traffic is where it was. */
  private stop(step: Step, error: BlueGreenError): Outcome {
    const switched = this.steps.some((s) => s.step === "switch" && s.status === "done");
    this.steps.push({ step: step.kind, status: "failed", detail: error.message });
    if (switched) return this.outcome("all-new", error);
    // Nothing written: every Service is as read (an interrupted switch being repaired may have been split already).
    const services = this.plan.writes.map((w) => ({ name: w.service, role: w.role, slot: w.from }));
    return { final: this.asRead(), steps: this.steps, services, error, warnings: this.warnings };
  }

  /** Where traffic was when this command read the Services (and is again after a complete switch-back). */
  private asRead(): Final {
    const { from, to } = this.plan;
    const onNew = (w: ServiceWrite) => w.from === (w.role === "live" ? to.value : from.value);
    const onOld = (w: ServiceWrite) => w.from === (w.role === "live" ? from.value : to.value);
    return this.plan.writes.every(onNew) ? "all-new" : this.plan.writes.every(onOld) ? "all-old" : "split";
  }

  // switchedBack: every Service is as this command read it (a complete switch-back), whatever final says.
  private outcome(final: Final, error?: BlueGreenError, switchedBack = false): Outcome {
    const services = this.plan.writes.map((w) => ({
      name: w.service,
      role: w.role,
      slot: this.unknown.has(w.service) ? undefined : switchedBack ? w.back : final === "all-new" ? w.to : final === "all-old" ? w.back : undefined,
    }));
    return { final, steps: this.steps, services, error, warnings: this.warnings };
  }

  // --- scale-up (abort of a slot that was scaled down) -------------------------------------------

  private async scaleUp(step: Extract<Step, { kind: "scale-up" }>): Promise<void> {
    const r = await writeConditionally<Deployment, BlueGreenError | undefined>(this.ctx, {
      read: () => this.kube.getDeployment(this.ns, step.deployment),
      decide: (d) => {
        const replicas = d.spec?.replicas ?? 1;
        if (replicas >= step.replicas) return { result: undefined };
        // Its status moves often (the controller writes it): only its spec, replicas and our annotations count.
        if (deploymentGuard(d) !== step.guard) {
          const what = replicas !== step.was ? `scaled to ${replicas}` : "changed";
          return { result: new ConflictError(`deployment/${step.deployment} was ${what} by someone else while ${this.plan.action} was scaling it up; nothing else changed.`) };
        }
        return { write: true };
      },
      write: async (resourceVersion) => {
        await this.kube.scaleDeployment(this.ns, step.deployment, step.replicas, { resourceVersion });
        return undefined;
      },
      deadline: this.ctx.clock.now().getTime() + SETTLE_MS,
    });
    if (r.kind !== "done") throw r.error;
    if (r.result) throw r.result;
    this.ctx.io.err(`deployment.apps/${step.deployment} scaled to ${step.replicas}\n`);
    this.done(step, `deployment/${step.deployment} scaled to ${step.replicas}`);
    try {
      await waitForTarget(this.ctx, this.kube, this.plan, this.o.waitTimeoutMs);
    } catch (e) {
      // The scale write happened: never claim nothing changed.
      const err = asError(e);
      throw new BlueGreenError(
        `${err.message.replace(/; nothing changed\.?$/, "").replace(/\.$/, "")}; deployment/${step.deployment} was scaled to ${step.replicas} and traffic was not switched.`,
        err.exitCode,
        err.hint,
      );
    }
  }

  private readDeployment(name: string, deadline: number): Promise<Deployment> {
    return readUntil(this.ctx, () => this.kube.getDeployment(this.ns, name), deadline);
  }

  // --- check ---------------------------------------------------------------------------------------

  private async check(step: Extract<Step, { kind: "check" }>): Promise<void> {
    // Read the target again: a scale-up may have just changed it, and the plan's copy may be old. A generation
    // the controller has not observed yet (any write bumps it, a foreign annotation too) is waited out briefly.
    const deadline = this.ctx.clock.now().getTime() + OBSERVE_MS;
    let target = await this.readDeployment(step.deployment, deadline);
    while (!observed(target) && this.ctx.clock.now().getTime() < deadline && !this.ctx.signal.aborted) {
      await this.ctx.clock.sleep(100, this.ctx.signal);
      target = await this.readDeployment(step.deployment, deadline);
    }
    const why = await checkTarget(this.kube, this.plan, target);
    if (why.length) throw refusal(this.plan, why, this.unchangedSoFar(), target);
    this.checkedTarget = deploymentGuard(target);
    // Verification reads EndpointSlices: find out now, before any write, whether we may.
    for (const s of this.plan.steps.find((x) => x.kind === "verify")?.services ?? []) await this.kube.listEndpointSlices(this.ns, s);
    this.done(step, `deployment/${step.deployment} is rolled out with at least ${plural(step.minAvailable, "available replica")}`);
  }

  // --- switch ----------------------------------------------------------------------------------------

  /** Writes every Service in order; the first failure stops the writes and is returned. */
  private async switchAll(writes: ServiceWrite[]): Promise<BlueGreenError | undefined> {
    for (const w of writes) {
      // Ctrl-C between two writes: stop writing; the caller switches back what landed.
      if (this.ctx.signal.aborted) return new BlueGreenError("interrupted", ExitCode.interrupted);
      const r = await this.writeOne(w);
      if (r.status === "landed") {
        this.landed.set(w.service, r.rv);
        // Said as it lands, not at the end: from here on traffic has moved, and Ctrl-C switches it back.
        if (w.from !== w.to) this.ctx.io.err(`${escapeTerminal(switchedLine(w.service, this.plan.slotLabel, w.from, w.to))}\n`);
        continue;
      }
      if (r.status === "unknown") this.unknown.add(w.service);
      return r.error;
    }
    return undefined;
  }

  /**
   * One switch write: read, and write on that resourceVersion while the selector and our annotations are as
   * planned (other changes, such as someone else's annotations, are retried over); a lost reply is settled
   * by reading back.
   */
  private async writeOne(w: ServiceWrite): Promise<{ status: "landed"; rv: string } | { status: "failed" | "unknown"; error: BlueGreenError }> {
    const targetName = nameOf(this.plan.to.deployment);
    let target: Deployment | undefined;
    const r = await writeConditionally<Service, string | BlueGreenError>(this.ctx, {
      // The Service, then the target: a deploy or scale-down that unmarked the Service before we read it has
      // written the Deployment before that.
      read: async () => {
        const svc = await this.kube.getService(this.ns, w.service);
        target = await this.kube.getDeployment(this.ns, targetName);
        return svc;
      },
      decide: (read, failure) => {
        // After a lost reply or a 409: did our switch land? The operation id in the record tells. With our id on
        // it after a 409, another promote finished this very operation (it resumes a pending switch under its id).
        if (failure && recordOf(read)?.id === this.plan.record.id && read.spec?.selector?.[this.plan.slotLabel] === w.to) {
          const how = isConflict(failure) ? "another command finished this switch" : "the reply was lost, but the switch was applied";
          this.ctx.io.err(`service/${w.service}: ${how} (read back)\n`);
          return { result: read.metadata.resourceVersion ?? "" };
        }
        if (serviceGuard(read) !== w.guard) return { result: new ConflictError(`patch service/${w.service}: conflict: the Service was changed by someone else since it was read (${changeOf(read, w, this.plan.slotLabel)})`) };
        if (this.checkedTarget && target && deploymentGuard(target) !== this.checkedTarget) {
          return { result: new ConflictError(`patch service/${w.service}: conflict: deployment/${targetName} was changed since it was checked (a deploy or a scale ran meanwhile)`) };
        }
        return { write: true };
      },
      write: async (resourceVersion) => (await this.kube.patchService(this.ns, w.service, { ...w.patch, metadata: { ...w.patch.metadata, resourceVersion } })).metadata.resourceVersion ?? "",
      deadline: this.ctx.clock.now().getTime() + SETTLE_MS,
    });
    if (r.kind === "unknown") {
      return { status: "unknown", error: new UnreachableError(`${message(r.error)}, and service/${w.service} could not be read back to learn whether the write was applied.`) };
    }
    if (r.kind === "failed") return { status: "failed", error: r.error };
    return typeof r.result === "string" ? { status: "landed", rv: r.result } : { status: "failed", error: r.result };
  }

  /** Reads a Service, retrying transient failures until the deadline; undefined when it cannot be read. */
  private readService(name: string, deadline: number): Promise<Service | undefined> {
    return readUntil(this.ctx, () => this.kube.getService(this.ns, name), deadline).catch(() => undefined);
  }

  /** A switch write failed: put back what landed, then report with an honest final state. */
  private async fail(error: BlueGreenError): Promise<Outcome> {
    const r = await this.ctx.uninterruptible(() => this.switchBack());
    this.steps.push({ step: "switch", status: this.landed.size || this.unknown.size ? "undone" : "failed", detail: error.message });
    if (r.failed.length || r.taken.length || this.unknown.size) return this.readBack(error.message, r, "write", error);
    const undone = r.back.length ? `${r.back.map((s) => `service/${s}`).join(", ")} ${r.back.length === 1 ? "was" : "were"} switched back, so nothing changed` : "nothing changed";
    return this.ended(this.asRead(), true, `${error.message.replace(/\.$/, "")}; ${undone}.`, error.hint, "write", error);
  }

  /** Verification or a check after the switch failed, it was interrupted, or someone else moved a Service: switch every Service back. */
  private async back(why: BlueGreenError | string, cause: "verify" | "interrupted" | "check" | "moved"): Promise<Outcome> {
    const r = await this.ctx.uninterruptible(() => this.switchBack());
    const after = `verification failed after ${Math.round(this.o.verifyTimeoutMs / 1000)}s`;
    const reason =
      cause === "interrupted"
        ? "interrupted"
        : cause === "check" || cause === "moved"
          ? String(why)
          : typeof why === "string"
            ? `${after}: ${why}`
            : proven(why)
              ? `could not verify: ${message(why)}`
              : `${after}: ${message(why)}`;
    if (cause === "verify" || cause === "interrupted") this.steps.push({ step: "verify", status: "failed", detail: reason });
    // Someone else's change is theirs to keep: say where every Service is now, as read. A Service someone else took
    // since is not a failed switch-back, and not one of ours either: the exit code says so (5, or 9 if split).
    const taken = r.taken.length && (cause === "verify" || cause === "check");
    if (r.failed.length || this.unknown.size || r.taken.length || cause === "moved") return this.readBack(reason, r, taken ? "moved" : cause);
    const list = r.back.map((s) => `service/${s}`).join(", ");
    const backTo = `${list} ${r.back.length === 1 ? "was" : "were"} switched back to ${this.plan.slotLabel}=${this.plan.from.value}`;
    if (cause === "interrupted") return this.ended(this.asRead(), true, `interrupted: ${backTo}, so nothing changed.`, undefined, cause);
    return this.ended(
      this.asRead(),
      true,
      `${reason}; ${backTo}.`,
      cause === "check"
        ? "The check failed with the new slot live, so traffic went back; see its output above."
        : "Check the pods and EndpointSlices of the target slot, or allow longer with --verify-timeout.",
      cause,
    );
  }

  /**
   * The Outcome of a switch that wrote and failed, with its exit code from exitCodeOf. `final` is where traffic is
   * (all-old after a complete switch-back); `error` carries the code of a failed write (cause "write").
   */
  private ended(final: Final, switchedBack: boolean, text: string, hint: string | undefined, cause: Cause, error?: BlueGreenError): Outcome {
    const o = this.outcome(final, new BlueGreenError(text, error?.exitCode ?? ExitCode.unexpected, hint ?? error?.hint), switchedBack);
    o.cause = cause;
    o.switchBack = "complete";
    return withExitCode(o);
  }

  /**
   * Switches back every Service our write landed on (or may have landed on). Each ends back, taken (someone else
   * changed it since: theirs to keep) or failed (still as our switch left it, or unknown).
   */
  private async switchBack(): Promise<SwitchedBack> {
    const r: SwitchedBack = { back: [], taken: [], failed: [] };
    for (const w of this.plan.writes) {
      if (!this.landed.has(w.service) && !this.unknown.has(w.service)) continue;
      const u = await this.undoOne(w);
      if (u.kind === "back") {
        r.back.push(w.service);
        this.landed.delete(w.service);
        this.unknown.delete(w.service);
      } else r[u.kind].push(`service/${w.service} ${u.why}`);
    }
    return r;
  }

  /**
   * Puts one Service back as this command found it: its selector and our annotations, conditionally. Each attempt
   * reads it first and writes on that resourceVersion while the switch on it is still ours (our selector, or
   * the old one put back by someone else, and our operation's record); changes to anything else are retried over
   * until the deadline. Returns undefined when the Service is back, else why not (a phrase).
   */
  private async undoOne(w: ServiceWrite): Promise<{ kind: "back" } | { kind: "taken" | "failed"; why: string }> {
    const label = this.plan.slotLabel;
    const r = await writeConditionally<Service, string | undefined>(this.ctx, {
      read: () => this.kube.getService(this.ns, w.service),
      decide: (read) => {
        const slot = read.spec?.selector?.[label];
        const ours = recordOf(read)?.id === this.plan.record.id;
        // Our switch-back landed, or the switch never did.
        if (slot === w.back && !ours) return { result: undefined };
        // Anyone else's change is theirs to keep, even one that selects the same slot.
        if (slot !== w.to && slot !== w.back) return { result: `was changed by someone else to ${label}=${slot}` };
        if (!ours) return { result: `was switched by another command since (to ${label}=${slot})` };
        return { write: true };
      },
      write: async (resourceVersion) => {
        await this.kube.patchService(this.ns, w.service, { ...w.undo, metadata: { ...w.undo.metadata, resourceVersion } });
        return undefined;
      },
      deadline: this.ctx.clock.now().getTime() + Math.max(SETTLE_MS, this.o.verifyTimeoutMs),
    });
    if (r.kind === "done") {
      if (r.result !== undefined) return { kind: "taken", why: r.result };
      this.unknown.delete(w.service);
      return { kind: "back" };
    }
    if (r.kind === "unknown") {
      this.unknown.add(w.service);
      return { kind: "failed", why: `could not be read back (${message(r.error)})` };
    }
    const why = isConflict(r.error) ? `could not be switched back before the deadline (${message(r.error)})` : `could not be switched back (${message(r.error)})`;
    return { kind: "failed", why };
  }

  /**
   * Services that match neither this plan's targets nor its switch-backs (another command moved some, or a
   * resumed switch had moved some before) may still agree with each other: every live Service on one slot and
   * every preview Service on the other. That is traffic on one slot, not split: all-new or all-old by the slot.
   */
  private layout(services: Outcome["services"]): Final {
    const live = new Set(services.filter((s) => s.role === "live").map((s) => s.slot));
    if (live.size !== 1) return "split";
    const [slot] = live;
    const { to, from } = this.plan;
    const other = slot === to.value ? from.value : slot === from.value ? to.value : undefined;
    if (other === undefined || !services.every((s) => s.role === "live" || s.slot === other)) return "split";
    return slot === to.value ? "all-new" : "all-old";
  }

  /**
   * The switch-back did not finish, or someone else moved a Service: read every Service and say exactly what each
   * selects. The exit code follows from exitCodeOf: 9 when the switch-back did not finish or traffic is split or
   * unknown, whatever the cause.
   */
  private async readBack(cause: string, r: SwitchedBack, why: Cause, error?: BlueGreenError): Promise<Outcome> {
    const deadline = this.ctx.clock.now().getTime() + 5000;
    const services: Outcome["services"] = [];
    const others = new Set<string>();
    for (const w of this.plan.writes) {
      const read = await this.readService(w.service, deadline);
      services.push({ name: w.service, role: w.role, slot: read?.spec?.selector?.[this.plan.slotLabel] });
      const rec = recordOf(read);
      if (rec?.state === "pending" && rec.id !== this.plan.record.id) others.add(`${rec.action} ${rec.from} → ${rec.to} (switch ${rec.id} by ${rec.by || "unknown"})`);
    }
    const allAt = (f: (w: ServiceWrite) => string) => this.plan.writes.every((w, i) => services[i]?.slot === f(w));
    const final: Final = services.some((s) => s.slot === undefined) ? "unknown" : allAt((w) => w.to) ? "all-new" : allAt((w) => w.back) ? "all-old" : this.layout(services);
    const switchBack: SwitchBack = r.failed.length || this.unknown.size ? "incomplete" : "complete";
    const where = services.map((s) => `service/${s.name}${s.role === "preview" ? " (preview)" : ""} → ${s.slot === undefined ? "unknown" : `${this.plan.slotLabel}=${s.slot}`}`).join(", ");
    const detail = [...r.failed, ...r.taken].map((x) => `; ${x}`).join("");
    const otherSwitch = others.size === 1 ? [...others][0] : undefined;
    const head =
      final === "unknown"
        ? "traffic state unknown"
        : final === "split"
          ? `traffic is split${why === "moved" && switchBack === "complete" && otherSwitch ? ` while another command's ${otherSwitch} is in progress` : ""}`
          : `traffic is ${final}`;
    const unfinished = switchBack === "incomplete" && final !== "split" && final !== "unknown" ? "the switch-back did not finish, and " : "";
    const o: Outcome = {
      final,
      steps: this.steps,
      services,
      cause: why,
      switchBack,
      ...(otherSwitch ? { otherSwitch } : {}),
      warnings: this.warnings,
      error: new BlueGreenError(
        `${cause.replace(/\.$/, "")}; ${unfinished}${head}: ${where}${detail}.`,
        error?.exitCode ?? ExitCode.unexpected,
        `Check with kubectl bluegreen status ${this.plan.app}, then finish with kubectl bluegreen promote ${this.plan.app} or go back with kubectl bluegreen abort ${this.plan.app}.`,
      ),
    };
    return withExitCode(o);
  }

  // --- verify ------------------------------------------------------------------------------------------

  /**
   * Waits until every live Service's EndpointSlices hold ready endpoints of the target only; API errors retried.
   * Between reads it watches the slices it read, so it reads again as soon as the controller writes them.
   */
  private async verify(p: Progress): Promise<string | BlueGreenError | { moved: string } | "interrupted" | undefined> {
    const deadline = this.ctx.clock.now().getTime() + this.o.verifyTimeoutMs;
    const tty = this.ctx.io.errIsTTY;
    const phase = { phase: "verify", services: this.plan.writes.filter((w) => w.role === "live").map((w) => w.service), to: this.plan.to.value, timeoutMs: this.o.verifyTimeoutMs } as const;
    // Not a terminal: the phase's one line, before the first read.
    if (!tty) p.update(phaseLine({ ...phase, leftMs: this.o.verifyTimeoutMs }, false));
    let why: string | BlueGreenError = "";
    for (let attempt = 0; ; attempt++) {
      let read: { service: string; resourceVersion: string }[] = [];
      try {
        // A Service someone else switched away meanwhile (a controller that reverts it): stop waiting.
        const moved = await this.moved();
        if (moved.length) return { moved: moved.join("; ") };
        let endpoints: EndpointCount;
        ({ why, read, endpoints } = await endpointsWhy(this.kube, this.plan));
        this.endpoints = endpoints;
        if (!why) return undefined;
      } catch (e) {
        // A refusal (403) will not heal; anything else is retried until --verify-timeout.
        if (proven(e)) return asError(e);
        why = asError(e);
      }
      if (this.ctx.signal.aborted) return "interrupted";
      const left = deadline - this.ctx.clock.now().getTime();
      if (tty) p.update(phaseLine({ ...phase, leftMs: left, endpoints: this.endpoints, retrying: typeof why === "string" ? undefined : message(why) }, true));
      if (left <= 0) return why;
      if (typeof why === "string" && read.length > 0) {
        // The first change to any of the slices read (or VERIFY_REREAD_MS without one, or the deadline).
        const stop = new AbortController();
        const onAbort = () => stop.abort();
        this.ctx.signal.addEventListener("abort", onAbort, { once: true });
        const maxMs = Math.min(VERIFY_REREAD_MS, left);
        await Promise.race(read.map((r) => this.kube.changed({ resource: "endpointslices", namespace: this.ns, labelSelector: `kubernetes.io/service-name=${r.service}` }, r.resourceVersion, maxMs, stop.signal)));
        stop.abort();
        this.ctx.signal.removeEventListener("abort", onAbort);
      } else {
        const retryAfter = typeof why === "string" ? undefined : why.retryAfterMs;
        await this.ctx.clock.sleep(Math.min(retryAfter ?? backoff(attempt), left), this.ctx.signal);
      }
    }
  }

  /** Gives kube-proxy and load balancers --propagation-delay, with the time left every second on a terminal. */
  private async propagate(p: Progress): Promise<void> {
    const delayMs = this.o.propagationDelayMs;
    const due = this.ctx.clock.now().getTime() + delayMs;
    const tty = this.ctx.io.errIsTTY;
    for (;;) {
      const leftMs = due - this.ctx.clock.now().getTime();
      if (leftMs <= 0 || this.ctx.signal.aborted) return;
      p.update(phaseLine({ phase: "propagate", delayMs, leftMs }, tty));
      await this.ctx.clock.sleep(tty ? Math.min(leftMs, 1000) : leftMs, this.ctx.signal);
    }
  }

  // --- record --------------------------------------------------------------------------------------------

  /**
   * Marks the record verified on every Service we wrote, then records an Event; failures are warnings. Returns
   * the Services another command has switched since (to another slot): then nothing is marked as done.
   */
  private async record(): Promise<string[]> {
    const verified = JSON.stringify({ ...this.plan.record, state: "verified" });
    const moved: string[] = [];
    for (const w of this.plan.writes) {
      if (!this.landed.has(w.service)) continue;
      const why = await this.markVerified(w, verified);
      if (typeof why === "object") moved.push(movedPhrase(w, why.moved, this.plan.slotLabel));
      else if (why) this.warnings.push(`service/${w.service} switched and verified, but its record still says pending: ${why}`);
    }
    if (moved.length) return moved;
    for (const w of this.plan.writes.filter((x) => x.role === "live")) {
      const verb = this.plan.action === "promote" ? "Promoted" : "Aborted";
      try {
        await this.kube.createEvent(
          this.ns,
          {
            reason: verb,
            message: `${verb} app ${this.plan.app}: ${this.plan.slotLabel} ${this.plan.from.value} → ${this.plan.to.value} by ${this.plan.record.by}`,
            type: "Normal",
            involved: { kind: "Service", apiVersion: "v1", name: w.service, namespace: this.ns, uid: w.uid },
          },
          this.ctx.clock.now(),
        );
      } catch (e) {
        this.warnings.push(`the switch is done and recorded on service/${w.service}, but its Event could not be created: ${message(e)}`);
      }
    }
    return [];
  }

  /** undefined when marked; the Service as read when someone else has switched it to another slot since; else why not. */
  private async markVerified(w: ServiceWrite, verified: string): Promise<string | { moved: Service } | undefined> {
    const r = await writeConditionally<Service, string | { moved: Service } | undefined>(this.ctx, {
      read: () => this.kube.getService(this.ns, w.service),
      decide: (read) => {
        if (read.spec?.selector?.[this.plan.slotLabel] !== w.to) return { result: { moved: read } };
        const rec = recordOf(read);
        if (rec?.id !== this.plan.record.id) return { result: "another command wrote its record since" };
        if (rec.state === "verified") return { result: undefined };
        return { write: true };
      },
      write: async (resourceVersion) => {
        await this.kube.patchService(this.ns, w.service, { metadata: { resourceVersion, annotations: { [LAST_SWITCH_ANNOTATION]: verified } } });
        return undefined;
      },
      deadline: this.ctx.clock.now().getTime() + SETTLE_MS,
    });
    return r.kind === "done" ? r.result : message(r.error);
  }

  /**
   * The Services our switch landed on whose selector someone else has changed since (a controller reverting our
   * change, another command), each as a phrase naming where it points now and who wrote its selector.
   */
  private async moved(): Promise<string[]> {
    const moved: string[] = [];
    for (const w of this.plan.writes) {
      if (!this.landed.has(w.service)) continue;
      const read = await this.kube.getService(this.ns, w.service);
      const slot = read.spec?.selector?.[this.plan.slotLabel];
      // Another command that took it to the same slot meanwhile is not a move: the record step tells of it.
      if (slot !== w.to) moved.push(movedPhrase(w, read, this.plan.slotLabel));
    }
    return moved;
  }

  // --- scale-down -------------------------------------------------------------------------------------------

  /** Scales the slot traffic left to 0 after a delay, conditionally, and never while a Service selects it. */
  private async scaleDown(step: Extract<Step, { kind: "scale-down" }>): Promise<void> {
    const r = await retireSlot(
      this.ctx,
      this.kube,
      {
        app: this.plan.app,
        namespace: this.ns,
        slotLabel: this.plan.slotLabel,
        deployment: step.deployment,
        version: step.version,
        delayMs: step.delayMs,
        liveServices: this.plan.writes.filter((w) => w.role === "live").map((w) => w.service),
        previewServices: this.plan.writes.filter((w) => w.role === "preview").map((w) => w.service),
        id: this.plan.record.id,
        by: this.plan.record.by,
        prefix: `the switch to ${this.plan.slotLabel}=${this.plan.to.value} is done and verified, but `,
      },
      this.warnings,
    );
    this.done(step, r.detail, r.status);
  }

  // --- checks ---------------------------------------------------------------------------------------------

  /** Runs probes; returns what failed (empty when every answer was 2xx). */
  private async probe(step: Extract<Step, { kind: "probe" }>): Promise<string[]> {
    const asks: { who: string; target: ProxyTarget }[] = [];
    for (const t of step.targets) {
      if (t.kind === "service") {
        asks.push({ who: `service/${t.service}`, target: { kind: "service", name: t.service, port: t.port, path: t.probe.path } });
        continue;
      }
      const pods = await this.targetPods();
      if (pods.length === 0) return [`deployment/${t.deployment} has no ready pods under the new selectors`];
      for (const pod of pods) asks.push({ who: `pod/${pod}`, target: { kind: "pod", name: pod, port: String(t.port), path: t.probe.path } });
    }
    const p = progress(this.ctx);
    const failed: string[] = [];
    let answered = 0;
    // Whether the API server answers a plain read, asked once for the step however many proxy requests broke.
    let serverAnswers: Promise<boolean> | undefined;
    const answers = () => {
      serverAnswers ??= this.kube.getDeployment(this.ns, nameOf(this.plan.to.deployment)).then(
        () => true,
        () => false,
      );
      return serverAnswers;
    };
    const ask = async ({ who, target }: (typeof asks)[number]) => {
      const url = `${target.port ? `:${target.port}` : ""}${target.path}`;
      try {
        const a = await this.kube.proxyGet(this.ns, target, step.timeoutMs);
        if (a.status < 200 || a.status > 299) failed.push(`${who} ${url} answered ${a.status}${a.message ? ` (${a.message})` : ""}`);
      } catch (e) {
        failed.push(`${who} ${url}: ${await this.proxyFailure(e, answers)}`);
      }
      answered++;
      if (this.ctx.io.errIsTTY) p.update(phaseLine({ phase: "probe", when: step.when, answered, total: asks.length }, true));
    };
    // A few at a time: a slot may have hundreds of pods.
    for (let i = 0; i < asks.length; i += 8) await Promise.all(asks.slice(i, i + 8).map(ask));
    p.done();
    const whom = step.when === "before" ? `${asks.length} pod(s)` : asks.map((a) => a.who).join(", ");
    this.ctx.io.err(`probed ${whom} ${step.when} the switch: ${failed.length ? `${failed.length} failed` : "every answer 2xx"}\n`);
    return failed;
  }

  /**
   * Why a proxy request got no answer. A broken proxy request is the probe's failure when the API server
   * still answers a plain read (the proxy, the pod or the port failed); only when it does not is the cluster
   * unreachable.
   */
  private async proxyFailure(e: unknown, serverAnswers: () => Promise<boolean>): Promise<string> {
    const text = message(e);
    if (!(e instanceof UnreachableError) || this.ctx.signal.aborted || !(await serverAnswers())) return text;
    const cause = text.replace(/^.*?: (cannot reach the cluster at \S+: )?/, "").replace(/\.$/, "");
    return `no answer through the API server's proxy, although the API server answers other requests (${cause})`;
  }

  /** Names of the target's ready pods under every live Service's new selector. */
  private async targetPods(): Promise<string[]> {
    const names = new Set<string>();
    for (const w of this.plan.writes.filter((x) => x.role === "live")) {
      for (const pod of await readyPods(this.kube, this.ns, { ...w.selector, [this.plan.slotLabel]: this.plan.to.value })) names.add(pod.metadata.name ?? "");
    }
    return [...names].sort();
  }

  /** Runs a --pre-check or --post-check command; returns why it failed, or undefined. */
  private async command(step: Extract<Step, { kind: "command" }>): Promise<string | "interrupted" | undefined> {
    const which = step.when === "before" ? "--pre-check" : "--post-check";
    const preview = this.plan.writes.filter((w) => w.role === "preview").map((w) => w.service);
    const env: Record<string, string> = {
      BLUEGREEN_APP: this.plan.app,
      BLUEGREEN_NAMESPACE: this.ns,
      BLUEGREEN_CONTEXT: this.kube.contextName,
      BLUEGREEN_FROM: this.plan.from.value,
      BLUEGREEN_TO: this.plan.to.value,
      ...(preview.length ? { BLUEGREEN_PREVIEW_SERVICE: preview.join(",") } : {}),
      ...(this.o.kubeconfig ? { KUBECONFIG: this.o.kubeconfig } : {}),
    };
    this.ctx.io.err(`running ${which}: ${step.command}\n`);
    const r = await this.ctx.shell(step.command, { env, timeoutMs: step.timeoutMs, signal: this.ctx.signal });
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
}

/** What a switch-back did with each Service it had to put back: `service/NAME phrase` for the ones not back. */
interface SwitchedBack {
  back: string[];
  /** Changed by someone else since: theirs to keep. */
  taken: string[];
  /** Still as our switch left it, or unknown. */
  failed: string[];
}

/** Sets an Outcome's error to carry the exit code exitCodeOf derives from the Outcome. */
function withExitCode(o: Outcome): Outcome {
  const e = o.error;
  if (e) o.error = new BlueGreenError(e.message, exitCodeOf(o), e.hint);
  return o;
}

/** What changed on a Service that a switch write depends on: its selector, or our annotations. */
function changeOf(read: Service, w: ServiceWrite, slotLabel: string): string {
  const selector = read.spec?.selector ?? {};
  if (formatSelector(selector) === formatSelector(w.selector)) return "the kubectl-bluegreen annotations changed";
  const slot = selector[slotLabel];
  return slot !== w.from ? `it selects ${slotLabel}=${slot ?? "nothing"} now` : `its selector is ${formatSelector(selector)} now`;
}

/** "service/web selects version=v1 again (selector last written by argocd-controller)": a Service moved after our switch. */
function movedPhrase(w: ServiceWrite, read: Service, slotLabel: string): string {
  const slot = read.spec?.selector?.[slotLabel];
  const where = slot === undefined ? `no longer selects a slot by ${slotLabel}` : `selects ${slotLabel}=${slot}${slot === w.from ? " again" : ""}`;
  const writer = selectorWriter(read, slotLabel);
  return `service/${w.service} was changed by someone else after the switch: it ${where}${writer ? ` (its selector was last written by ${writer})` : ""}`;
}

/** How long the check before the switch waits for the Deployment controller to observe the target's generation. */
const OBSERVE_MS = 10_000;

/** Verification reads the EndpointSlices again at least this often, even when no watch event came. */
const VERIFY_REREAD_MS = 1000;

/** Where to look after a failed check: what the probes' answers point at, or the command's output. */
function checkHint(step: Extract<Step, { kind: "probe" | "command" }>, failed: string[]): string {
  if (step.kind === "command") return "See the check's output above.";
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
    const selector = { ...w.selector, [plan.slotLabel]: plan.to.value };
    const pods = await readyPods(kube, plan.namespace, selector);
    if (pods.length < plan.minAvailable) {
      return [`only ${pods.length} ready pods match the new selector ${formatSelector(selector)} of service/${w.service}; ${plan.minAvailable} needed`];
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

/**
 * Why the live Services' EndpointSlices do not yet hold ready endpoints of the target only ("" when they do),
 * the resourceVersion each Service's slices were read at (to wait for their next change), and their endpoints
 * counted over every live Service (for the progress line).
 */
async function endpointsWhy(kube: KubeClient, plan: SwitchPlan): Promise<{ why: string; read: { service: string; resourceVersion: string }[]; endpoints: EndpointCount }> {
  const read: { service: string; resourceVersion: string }[] = [];
  const count: EndpointCount = { total: 0, onTarget: 0, readyOnTarget: 0 };
  let why = "";
  for (const w of plan.writes.filter((x) => x.role === "live")) {
    const common = Object.fromEntries(Object.entries(w.selector).filter(([k]) => k !== plan.slotLabel));
    const [slices, pods] = await Promise.all([kube.listEndpointSlices(plan.namespace, w.service), kube.listPods(plan.namespace, formatSelector(common))]);
    read.push({ service: w.service, resourceVersion: slices.resourceVersion });
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
    if (foreign > 0) why = `service/${w.service} still has ${foreign} endpoints outside ${plan.slotLabel}=${plan.to.value}`;
    else if (ready.length === 0) why = `service/${w.service} has no ready endpoints`;
  }
  return { why, read, endpoints: count };
}

/** --dry-run=server: every write of the plan, sent with dryRun=All so the API server validates and admits it. */
export async function dryRunWrites(kube: KubeClient, plan: SwitchPlan): Promise<void> {
  for (const step of plan.steps) {
    if (step.kind === "scale-up") await kube.scaleDeployment(plan.namespace, step.deployment, step.replicas, { dryRun: true });
    if (step.kind === "switch") for (const w of step.writes) await kube.patchService(plan.namespace, w.service, w.patch, { dryRun: true });
    if (step.kind === "scale-down") await kube.scaleDeployment(plan.namespace, step.deployment, 0, { dryRun: true });
  }
}
