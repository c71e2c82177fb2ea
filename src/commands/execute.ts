// The one place that sequences a switch: it runs a plan's steps in order, switches back on failure, and returns an
// Outcome that says exactly where traffic ended: all-new, all-old, split or unknown. The writes themselves (every
// router kind alike) are RouterSwitch's, verification is verify.ts's, the checks are checks.ts's.
import type { Context } from "../context.js";
import type { Deployment } from "../bluegreen/model.js";
import type { RouterWrite, Step, SwitchPlan } from "../bluegreen/plan.js";
import { ROUTER_KINDS } from "../bluegreen/routers/index.js";
import { BlueGreenError, ConflictError, ExitCode, RefusedError } from "../errors.js";
import type { KubeClient } from "../kube/types.js";
import { type Cause, type Final, type Outcome, type StepResult, type StepStatus, type SwitchBack, exitCodeOf } from "../bluegreen/outcome.js";
import { deploymentGuard } from "../bluegreen/guard.js";
import { observed } from "../bluegreen/readiness.js";
import { plural } from "../bluegreen/plural.js";
import { requirePermissions } from "./permissions.js";
import { switchNeeds } from "../bluegreen/permissions.js";
import { progress } from "./progress.js";
import { type EndpointCount, phaseLine } from "../render/progress.js";
import { retireSlot } from "./slot.js";
import { checkHint, checkTarget, refusal, runCommand, runProbes, waitForTarget } from "./checks.js";
import { RouterSwitch, type SwitchedBack } from "./switch.js";
import { runAnalysis } from "./analysis.js";
import { setPreview } from "./preview.js";
import { escapeTerminal } from "../render/escape.js";
import { propagate, type Verified, verifySwitch } from "./verify.js";
import { SETTLE_MS, asError, message, proven, readUntil, writeConditionally } from "./write.js";
import { LAST_SWITCH_ANNOTATION, type SwitchRecord, deploymentVersion, recordOf } from "../bluegreen/record.js";

export { checkTarget, refusal, waitForTarget } from "./checks.js";

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
  private readonly sw: RouterSwitch;
  /**
   * The target Deployment as the check before the switch found it (deploymentGuard): the switch writes depend on
   * it too. A deploy or a scale-down marks the routers busy and unmarks them after writing the Deployment, which
   * leaves the routers as they were; the Deployment shows what happened.
   */
  private checkedTarget = "";
  /** The endpoints as verification last counted them. */
  private endpoints: EndpointCount | undefined;
  private readonly ns: string;

  constructor(
    private readonly ctx: Context,
    private readonly kube: KubeClient,
    private readonly plan: SwitchPlan,
    private readonly o: ExecuteOptions,
  ) {
    this.ns = plan.namespace;
    this.sw = new RouterSwitch(ctx, kube, plan);
  }

  async all(): Promise<Outcome> {
    const [first] = this.plan.steps;
    try {
      this.warnings.push(...(await requirePermissions(this.kube, this.ns, switchNeeds(this.plan.steps, this.plan.writes), `${this.plan.action} app ${this.plan.app}`)));
    } catch (e) {
      if (first) return this.stop(first, asError(e));
    }
    const interrupted = () => new BlueGreenError("interrupted", ExitCode.interrupted);
    for (const step of this.plan.steps) {
      const beforeSwitch =
        !this.sw.landed.size &&
        (step.kind === "scale-up" || step.kind === "check" || step.kind === "switch" || step.kind === "weigh" || ((step.kind === "probe" || step.kind === "command" || step.kind === "analysis") && step.when === "before"));
      if (this.ctx.signal.aborted && !beforeSwitch && this.sw.landed.size && (step.kind === "weigh" || step.kind === "switch")) return this.back(interrupted(), "interrupted");
      if (this.ctx.signal.aborted && beforeSwitch) {
        return this.stop(step, new BlueGreenError(`interrupted before any router was written; ${this.unchangedSoFar()}.`, ExitCode.interrupted));
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
            const failure = await this.ctx.uninterruptible(() => this.sw.forward(step.writes, this.checkedTarget));
            if (failure) return this.fail(failure, step);
            if (this.ctx.signal.aborted) return this.back(interrupted(), "interrupted");
            this.done(step, step.writes.map((w) => `${w.ref} ${w.from === w.to ? "kept" : `${w.from || "(split)"} → ${w.to}`}`).join(", "));
            break;
          }
          case "weigh": {
            const writes = step.writes.map((w) => stamped(w, this.ctx.clock.now()));
            const failure = await this.ctx.uninterruptible(() => this.sw.forward(writes, this.checkedTarget));
            if (failure) return this.fail(failure, step);
            if (this.ctx.signal.aborted) return this.back(interrupted(), "interrupted");
            this.done(step, `${step.writes.map((w) => w.ref).join(", ")}: ${step.percent}% to ${this.plan.slotLabel}=${this.plan.to.value} (step ${step.index} of ${step.of})`);
            break;
          }
          case "preview": {
            const routes = step.routes.map((r) => ({ kind: r.kind, name: r.name, ref: r.ref }));
            if (step.action === "add") {
              const lines = await setPreview(this.ctx, this.kube, this.ns, this.plan.routing, routes, step.slot && step.header ? { slot: step.slot, header: step.header } : undefined);
              for (const l of lines) this.ctx.io.err(`${escapeTerminal(l)}\n`);
              this.done(step, lines.join("; ") || "the preview rule was there already");
              break;
            }
            try {
              const lines = await this.ctx.uninterruptible(() => setPreview(this.ctx, this.kube, this.ns, this.plan.routing, routes));
              for (const l of lines) this.ctx.io.err(`${escapeTerminal(l)}\n`);
              this.done(step, lines.join("; ") || "no preview rule left");
            } catch (e) {
              this.warnings.push(`the switch is done, but the preview rule could not be removed: ${message(e)}`);
              this.done(step, message(e), "failed");
            }
            break;
          }
          case "pause": {
            if (step.ms === "manual") {
              this.done(step, `stopped at ${step.percent}% to ${this.plan.slotLabel}=${this.plan.to.value} (step ${step.index} of ${step.of}), as --step-pause manual asks`);
              return this.outcome("canary");
            }
            if (!(await this.pause(step, step.ms))) return this.back(interrupted(), "interrupted");
            this.done(step, `paused ${Math.round(step.ms / 100) / 10}s at ${step.percent}%`);
            break;
          }
          case "verify": {
            // One progress line through verification and the propagation delay, ended before whatever follows.
            const p = progress(this.ctx);
            let why: Verified;
            try {
              why = await verifySwitch(this.ctx, this.kube, this.plan, this.sw, this.o.verifyTimeoutMs, p, (e) => {
                this.endpoints = e;
              });
              if (!why && this.o.propagationDelayMs > 0) await propagate(this.ctx, this.o.propagationDelayMs, p);
              if (!why && !this.ctx.signal.aborted && this.ctx.io.errIsTTY && this.endpoints) {
                p.update(phaseLine({ phase: "verified", to: this.plan.to.value, endpoints: this.endpoints, delayMs: this.o.propagationDelayMs }, true));
              }
            } finally {
              p.done();
            }
            if (why === "interrupted") return this.back(interrupted(), "interrupted");
            if (typeof why === "object" && "moved" in why) {
              this.steps.push({ step: "verify", status: "failed", detail: why.moved });
              return this.back(why.moved, "moved");
            }
            if (typeof why === "object" && "rejected" in why) return this.back({ rejected: why.rejected }, "verify");
            if (why) return this.back(why, "verify");
            if (this.o.propagationDelayMs > 0 && this.ctx.signal.aborted) return this.back(interrupted(), "interrupted");
            const waited = this.o.propagationDelayMs > 0 ? `; gave proxies ${Math.round(this.o.propagationDelayMs / 100) / 10}s` : "";
            const routes = step.routers.filter((r) => !r.startsWith("service/"));
            this.done(step, `${routes.length ? `${routes.join(", ")} accepted; ` : ""}ready endpoints of ${this.plan.slotLabel}=${this.plan.to.value} only${waited}`);
            break;
          }
          case "record": {
            const moved = await this.ctx.uninterruptible(() => this.record());
            if (moved.length) {
              // Verified, then taken elsewhere (another command, a controller that reverts it): this switch no
              // longer holds. The other writer's change is theirs to keep; the routers still ours go back.
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
          case "command":
          case "analysis": {
            const what = step.kind === "command" ? "check" : step.kind;
            const failed =
              step.kind === "probe"
                ? await runProbes(this.ctx, this.kube, this.plan, step)
                : step.kind === "analysis"
                  ? await runAnalysis(this.ctx, this.kube, step)
                  : await runCommand(this.ctx, this.kube, this.plan, step, this.o.kubeconfig);
            const why = typeof failed === "string" ? failed : failed?.join("; ");
            if (why === "interrupted" || (!why && this.ctx.signal.aborted && step.when === "after")) {
              if (step.when === "before") return this.stop(step, new BlueGreenError(`interrupted before any router was written; ${this.unchangedSoFar()}.`, ExitCode.interrupted));
              return this.back(interrupted(), "interrupted");
            }
            if (why && step.when === "before") {
              return this.stop(step, new RefusedError(`the ${what} before the switch failed: ${why}; ${this.unchangedSoFar()}.`, checkHint(step, Array.isArray(failed) ? failed : [])));
            }
            if (why) return this.back(`the ${what} after the switch failed: ${why}`, "check");
            this.done(
              step,
              step.kind === "probe" ? `${step.targets.length} probe(s) answered 2xx` : step.kind === "analysis" ? `${step.analysis.queries.length} queries held` : `${step.command}: exit 0`,
            );
            break;
          }
        }
      } catch (e) {
        // After a canary step's weights landed (and before the switch), traffic is not where it was: go back.
        if (this.sw.landed.size && !this.steps.some((x) => x.step === "switch" && x.status === "done")) return this.back(asError(e).message, "check");
        return this.stop(step, asError(e));
      }
    }
    return this.outcome("all-new");
  }

  /** The pause after a canary step, with its countdown; false when interrupted. */
  private async pause(step: Extract<Step, { kind: "pause" }>, ms: number): Promise<boolean> {
    const p = progress(this.ctx);
    const next = this.plan.canary?.steps[step.index] ?? 100;
    const due = this.ctx.clock.now().getTime() + ms;
    const tty = this.ctx.io.errIsTTY;
    try {
      for (;;) {
        const leftMs = due - this.ctx.clock.now().getTime();
        if (this.ctx.signal.aborted) return false;
        if (leftMs <= 0) return true;
        p.update(phaseLine({ phase: "pause", percent: step.percent, to: `${this.plan.slotLabel}=${this.plan.to.value}`, index: step.index, of: step.of, next, delayMs: ms, leftMs }, tty));
        await this.ctx.clock.sleep(tty ? Math.min(leftMs, 1000) : leftMs, this.ctx.signal);
      }
    } finally {
      p.done();
    }
  }

  /** Before the switch: "nothing changed", or what a scale-up did. */
  private unchangedSoFar(): string {
    const scaled = this.steps.find((s) => s.step === "scale-up" && s.status === "done");
    return scaled ? `${scaled.detail}, and traffic was not switched` : "nothing changed";
  }

  private done(step: Step, detail: string, status: StepStatus = "done"): void {
    this.steps.push({ step: step.kind, status, detail });
  }

  /** A step failed before any router was written (or after the switch completed): traffic is where it was. */
  private stop(step: Step, error: BlueGreenError): Outcome {
    const switched = this.steps.some((s) => s.step === "switch" && s.status === "done");
    this.steps.push({ step: step.kind, status: "failed", detail: error.message });
    if (switched) return this.outcome("all-new", error);
    // Nothing written: every router is as read (an interrupted switch being repaired may have been split already).
    const services = this.plan.writes.map((w) => ({ name: w.key, kind: w.kind, role: w.role, slot: w.from || undefined }));
    return { final: this.asRead(), steps: this.steps, services, error, warnings: this.warnings };
  }

  /** Where traffic was when this command read the routers (and is again after a complete switch-back). */
  private asRead(): Final {
    const { from, to } = this.plan;
    const onNew = (w: RouterWrite) => w.from === (w.role === "live" ? to.value : from.value);
    const onOld = (w: RouterWrite) => w.from === (w.role === "live" ? from.value : to.value);
    return this.plan.writes.every(onNew) ? "all-new" : this.plan.writes.every(onOld) ? "all-old" : "split";
  }

  /** Where traffic is once every router is switched back: where the command found it, or before a canary it continued. */
  private backLayout(): Final {
    const { from, to } = this.plan;
    const onOld = (w: RouterWrite) => w.back === (w.role === "live" ? from.value : to.value);
    const onNew = (w: RouterWrite) => w.back === (w.role === "live" ? to.value : from.value);
    return this.plan.writes.every(onOld) ? "all-old" : this.plan.writes.every(onNew) ? "all-new" : "split";
  }

  // switchedBack: every router is as this command read it (a complete switch-back), whatever final says.
  private outcome(final: Final, error?: BlueGreenError, switchedBack = false): Outcome {
    const services = this.plan.writes.map((w) => ({
      name: w.key,
      kind: w.kind,
      role: w.role,
      slot: this.sw.unknown.has(w.key) ? undefined : (switchedBack ? w.back : final === "all-new" ? w.to : final === "all-old" ? w.back : undefined) || undefined,
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
    // The switch goes to the version this command planned (and records as toTemplate): a deploy into the target
    // between the plan and this read is another version, which nothing here has weighed.
    if (deploymentVersion(target, this.plan.slotLabel) !== this.plan.record.toTemplate) {
      throw new ConflictError(
        `deployment/${step.deployment} was changed since ${this.plan.action} read it (a new version was deployed into it meanwhile); ${this.unchangedSoFar()}.`,
        `Check with kubectl bluegreen status ${this.plan.app}, then run ${this.plan.action} again.`,
      );
    }
    const why = await checkTarget(this.kube, this.plan, target);
    const routes: string[] = [];
    // A route its gateways do not accept now cannot be verified after the switch: refuse before it. A generation they
    // have not reported on yet (someone just edited the route) is waited out briefly, as the target's is.
    for (const w of this.plan.writes.filter((x) => x.role === "live" && x.kind !== "service")) {
      const kind = ROUTER_KINDS[w.kind];
      let taken = kind.taken(w.asRead, w.asRead, w.asRead);
      while (taken.kind === "waiting" && this.ctx.clock.now().getTime() < deadline && !this.ctx.signal.aborted) {
        await this.ctx.clock.sleep(100, this.ctx.signal);
        const now = await readUntil(this.ctx, () => this.kube.getRouter(this.ns, kind.resource, w.name), deadline);
        taken = kind.taken(now, now, now);
      }
      if (taken.kind !== "ok") routes.push(`${w.ref} is not accepted by its gateways now (${taken.why})`);
    }
    if (why.length) throw refusal(this.plan, why, this.unchangedSoFar(), target);
    if (routes.length) {
      const first = this.plan.writes.find((w) => w.kind !== "service" && routes[0]?.startsWith(`${w.ref} `));
      throw new RefusedError(
        `cannot ${this.plan.action} app ${this.plan.app} to ${this.plan.slotLabel}=${this.plan.to.value}: ${routes.join("; ")}; ${this.unchangedSoFar()}.`,
        `Its gateways must accept it (Accepted and ResolvedRefs True) before a switch can be verified: see kubectl describe ${first?.ref ?? "httproute"} -n ${this.ns}.`,
      );
    }
    this.checkedTarget = deploymentGuard(target);
    // Verification reads EndpointSlices: find out now, before any write, whether we may.
    const verify = this.plan.steps.find((x) => x.kind === "verify");
    for (const s of verify?.endpoints ?? []) await this.kube.listEndpointSlices(this.ns, s);
    this.done(step, `deployment/${step.deployment} is rolled out with at least ${plural(step.minAvailable, "available replica")}`);
  }

  // --- failure and switch-back -------------------------------------------------------------------------

  /** A switch write failed: put back what landed, then report with an honest final state. */
  private async fail(error: BlueGreenError, step: Extract<Step, { kind: "switch" | "weigh" }>): Promise<Outcome> {
    const r = await this.ctx.uninterruptible(() => this.sw.back(this.o.verifyTimeoutMs));
    // "undone" only while something is still not back: a write put back leaves the switch failed, nothing changed.
    this.steps.push({ step: step.kind, status: this.sw.landed.size || this.sw.unknown.size ? "undone" : "failed", detail: error.message });
    if (r.failed.length || r.taken.length || this.sw.unknown.size) return this.readBack(error.message, r, "write", error);
    const undone = r.back.length ? `${r.back.join(", ")} ${r.back.length === 1 ? "was" : "were"} switched back, so nothing changed` : "nothing changed";
    return this.ended(this.backLayout(), true, `${error.message.replace(/\.$/, "")}; ${undone}.`, error.hint, "write", error);
  }

  /** Verification or a check after the switch failed, it was interrupted, or someone else moved a router: switch every router back. */
  private async back(why: BlueGreenError | string | { rejected: string }, cause: "verify" | "interrupted" | "check" | "moved"): Promise<Outcome> {
    const r = await this.ctx.uninterruptible(() => this.sw.back(this.o.verifyTimeoutMs));
    const after = `verification failed after ${Math.round(this.o.verifyTimeoutMs / 1000)}s`;
    const reason =
      cause === "interrupted"
        ? "interrupted"
        : cause === "check" || cause === "moved"
          ? String(why)
          : typeof why === "object" && "rejected" in why
            ? `verification failed: ${why.rejected}`
            : typeof why === "string"
              ? `${after}: ${why}`
              : proven(why)
                ? `could not verify: ${message(why)}`
                : `${after}: ${message(why)}`;
    if (cause === "verify" || cause === "interrupted") this.steps.push({ step: "verify", status: "failed", detail: reason });
    // Someone else's change is theirs to keep: say where every router is now, as read. A router someone else took
    // since is not a failed switch-back, and not one of ours either: the exit code says so (5, or 9 if split).
    const taken = r.taken.length && (cause === "verify" || cause === "check");
    if (r.failed.length || this.sw.unknown.size || r.taken.length || cause === "moved") return this.readBack(reason, r, taken ? "moved" : cause);
    const backTo = `${r.back.join(", ")} ${r.back.length === 1 ? "was" : "were"} switched back to ${this.plan.slotLabel}=${this.plan.from.value}`;
    if (cause === "interrupted") return this.ended(this.backLayout(), true, `interrupted: ${backTo}, so nothing changed.`, undefined, cause);
    const routed = this.plan.writes.some((w) => w.kind !== "service");
    return this.ended(
      this.backLayout(),
      true,
      `${reason}; ${backTo}.`,
      cause === "check"
        ? "The check failed with the new slot live, so traffic went back; see its output above."
        : typeof why === "object" && "rejected" in why
          ? "Check the route's status (kubectl describe) and the slot Services it refers to."
          : `Check the pods and EndpointSlices of the target slot${routed ? ", and the status of the routes" : ""}, or allow longer with --verify-timeout.`,
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
   * Routers that match neither this plan's targets nor its switch-backs (another command moved some, or a resumed
   * switch had moved some before) may still agree with each other: every live router on one slot and every preview
   * Service on the other. That is traffic on one slot, not split: all-new or all-old by the slot.
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
   * The switch-back did not finish, or someone else moved a router: read every router and say exactly where each
   * sends traffic. The exit code follows from exitCodeOf: 9 when the switch-back did not finish or traffic is split
   * or unknown, whatever the cause.
   */
  private async readBack(cause: string, r: SwitchedBack, why: Cause, error?: BlueGreenError): Promise<Outcome> {
    const readings = await this.sw.readAll(this.ctx.clock.now().getTime() + 5000);
    const services: Outcome["services"] = [];
    const others = new Set<string>();
    const cannotTell = new Set<string>();
    for (const { write: w, object, reading } of readings) {
      // A router that sends traffic to no one slot (split weights) is on no slot.
      services.push({ name: w.key, kind: w.kind, role: w.role, slot: reading?.slot });
      if (!reading) cannotTell.add(w.key);
      const rec = recordOfPending(object);
      if (rec && rec.id !== this.plan.record.id) others.add(`${rec.action} ${rec.from} → ${rec.to} (switch ${rec.id} by ${rec.by || "unknown"})`);
    }
    const allAt = (f: (w: RouterWrite) => string) => this.plan.writes.every((w, i) => services[i]?.slot === f(w));
    const final: Final = cannotTell.size ? "unknown" : allAt((w) => w.to) ? "all-new" : allAt((w) => w.back) ? "all-old" : this.layout(services);
    const switchBack: SwitchBack = r.failed.length || this.sw.unknown.size ? "incomplete" : "complete";
    const where = readings
      .map(({ write: w, reading }) => `${w.ref}${w.role === "preview" ? " (preview)" : ""} → ${reading === undefined ? "unknown" : reading.slot === undefined ? reading.text : `${this.plan.slotLabel}=${reading.slot}`}`)
      .join(", ");
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

  // --- record --------------------------------------------------------------------------------------------

  /**
   * Marks the record verified on every router we wrote, then records an Event; failures are warnings. Returns the
   * routers another command has switched since (to another slot): then nothing is marked as done.
   */
  private async record(): Promise<string[]> {
    const verified = JSON.stringify({ ...this.plan.record, state: "verified" });
    const moved: string[] = [];
    for (const w of this.plan.writes) {
      if (!this.sw.landed.has(w.key)) continue;
      const why = await this.sw.markVerified(w, verified);
      if (typeof why === "object") moved.push(this.sw.movedPhrase(w, why.moved));
      else if (why) this.warnings.push(`${w.ref} switched and verified, but its record still says pending: ${why}`);
    }
    if (moved.length) return moved;
    for (const w of this.plan.writes.filter((x) => x.role === "live")) {
      const verb = this.plan.action === "promote" ? "Promoted" : "Aborted";
      const { kind, group, version } = ROUTER_KINDS[w.kind].resource;
      try {
        await this.kube.createEvent(
          this.ns,
          {
            reason: verb,
            message: `${verb} app ${this.plan.app}: ${this.plan.slotLabel} ${this.plan.from.value} → ${this.plan.to.value} by ${this.plan.record.by}`,
            type: "Normal",
            involved: { kind, apiVersion: group ? `${group}/${version}` : version, name: w.name, namespace: this.ns, uid: w.uid },
          },
          this.ctx.clock.now(),
        );
      } catch (e) {
        this.warnings.push(`the switch is done and recorded on ${w.ref}, but its Event could not be created: ${message(e)}`);
      }
    }
    return [];
  }

  // --- scale-down -------------------------------------------------------------------------------------------

  /** Scales the slot traffic left to 0 after a delay, conditionally, and never while a router sends traffic to it. */
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
        routers: this.plan.writes.map((w) => ({ kind: w.kind, name: w.name, ref: w.ref, role: w.role })),
        routing: this.plan.routing,
        id: this.plan.record.id,
        by: this.plan.record.by,
        prefix: `the switch to ${this.plan.slotLabel}=${this.plan.to.value} is done and verified, but `,
      },
      this.warnings,
    );
    this.done(step, r.detail, r.status);
  }
}

/** A canary step's write with the time of the step in its record (the plan knows the step, not when it runs). */
function stamped(w: RouterWrite, now: Date): RouterWrite {
  const text = w.annotations[LAST_SWITCH_ANNOTATION];
  if (!text) return w;
  const rec = JSON.parse(text) as SwitchRecord;
  if (!rec.canary) return w;
  return { ...w, annotations: { ...w.annotations, [LAST_SWITCH_ANNOTATION]: JSON.stringify({ ...rec, canary: { ...rec.canary, at: now.toISOString() } }) } };
}

/** The pending record on a router as read, if any. */
function recordOfPending(o: Parameters<typeof recordOf>[0]) {
  const rec = recordOf(o);
  return rec?.state === "pending" ? rec : undefined;
}

/** Sets an Outcome's error to carry the exit code exitCodeOf derives from the Outcome. */
function withExitCode(o: Outcome): Outcome {
  const e = o.error;
  if (e) o.error = new BlueGreenError(e.message, exitCodeOf(o), e.hint);
  return o;
}

/** How long the check before the switch waits for the Deployment controller to observe the target's generation. */
const OBSERVE_MS = 10_000;

/** --dry-run=server: every write of the plan, sent with dryRun=All so the API server validates and admits it. */
export async function dryRunWrites(kube: KubeClient, plan: SwitchPlan): Promise<void> {
  for (const step of plan.steps) {
    if (step.kind === "scale-up") await kube.scaleDeployment(plan.namespace, step.deployment, step.replicas, { dryRun: true });
    if (step.kind === "switch") {
      for (const w of step.writes) {
        const kind = ROUTER_KINDS[w.kind];
        await kube.patchRouter(plan.namespace, kind.resource, w.name, { metadata: { annotations: w.annotations }, spec: kind.switchTo(w.asRead, plan.routing, w.to) }, { dryRun: true });
      }
    }
    if (step.kind === "scale-down") await kube.scaleDeployment(plan.namespace, step.deployment, 0, { dryRun: true });
  }
}
