// promote or abort of several apps at once, all or none: a plan of plans run by the same executor per app, with one
// rule on top. Every app is planned (and checked: ready, permitted) before anything is written; if any refuses,
// nothing is. Then every app is switched and verified (a few at a time); if any fails, every app that switched is
// switched back, so the release ends all-new or all-old; where that cannot finish, exit 9 names each app's state.
import type { GlobalOptions } from "./options.js";
import type { Context, IO } from "../context.js";
import { type SwitchPlan, inGroup, planAbort, planPromote } from "../bluegreen/plan.js";
import { type Outcome, exitCodeOf } from "../bluegreen/outcome.js";
import { NO_CHECKS } from "../bluegreen/checks.js";
import { requireWellFormed } from "../bluegreen/pair.js";
import { switchNeeds } from "../bluegreen/permissions.js";
import type { GroupRecord } from "../bluegreen/record.js";
import { BlueGreenError, ExitCode } from "../errors.js";
import { dataFormat, renderData } from "../render/data.js";
import { escapeTerminal } from "../render/escape.js";
import { renderPlan } from "../render/plan.js";
import { table } from "../render/table.js";
import { type AbortFlags, planAbortApp } from "./abort.js";
import { checkTarget, dryRunWrites, execute, refusal } from "./execute.js";
import { loadPair, loadReplicaSets } from "./load.js";
import { operationId } from "./operation-id.js";
import { requirePermissions } from "./permissions.js";
import { asError } from "./write.js";
import { type PromoteFlags, planPromoteApp, refuseCappedByAutoscaler } from "./promote.js";

/** Apps planned, checked and switched at once. */
const PARALLEL = 8;

/** Runs fn over items, at most `limit` at a time; results in the items' order. */
async function pooled<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** One app of the group: its plan (or why nothing needs doing, or why it refuses), then what running it did. */
interface Member {
  app: string;
  plan?: SwitchPlan;
  noop?: string;
  refused?: BlueGreenError;
  outcome?: Outcome;
  /** The switch back of an app that had switched when another app failed. */
  back?: Outcome;
  backError?: BlueGreenError;
}

type Action = "promote" | "abort";

/** stderr for the executors running side by side: no line rewritten in place. */
const plainIO = (io: IO): IO => ({ out: (t) => io.out(t), err: (t) => io.err(t), errIsTTY: false, color: io.color, columns: io.columns, unicode: io.unicode });

/** promote APP APP… or abort APP APP…: all or none. */
export async function switchGroup(ctx: Context, g: GlobalOptions, apps: string[], action: Action, f: PromoteFlags | AbortFlags): Promise<number> {
  const kube = await ctx.kube(g.kube);
  const who = kube.whoAmI();
  const id = operationId();
  const group: GroupRecord = { id, apps };
  const selection = (app: string): GlobalOptions => ({ ...g, selection: { ...g.selection, app } });

  // Plan and check every app before anything is written.
  const members = await pooled(apps, PARALLEL, async (app): Promise<Member> => {
    try {
      const p =
        action === "promote"
          ? await planPromoteApp(ctx, kube, selection(app), f as PromoteFlags, who, id)
          : await planAbortApp(ctx, kube, selection(app), f as AbortFlags, who, id);
      if (typeof p === "string") return { app, noop: p };
      if (action === "promote") await refuseCappedByAutoscaler(kube, p);
      const scaled = p.steps.some((s) => s.kind === "scale-up");
      const blockers = scaled ? [] : await checkTarget(kube, p, p.to.deployment);
      if (blockers.length) throw refusal(p, blockers);
      for (const w of await requirePermissions(kube, p.namespace, switchNeeds(p.steps, p.writes), `${action} app ${app}`)) ctx.io.err(`warning: ${escapeTerminal(w)}\n`);
      return { app, plan: inGroup(p, group, id) };
    } catch (e) {
      const err = asError(e);
      if (err.exitCode === ExitCode.unexpected) throw e;
      return { app, refused: err };
    }
  });
  const where = `${kube.contextName ? `context ${kube.contextName}` : "no context"}, namespace ${kube.namespace}`;
  const format = dataFormat(g.output);
  const refused = members.filter((m) => m.refused);
  if (refused.length) {
    report(ctx, g, members, action, id, where, "refused");
    const codes = new Set(refused.map((m) => m.refused?.exitCode));
    const code = codes.size === 1 ? (refused[0]?.refused?.exitCode ?? ExitCode.refused) : ExitCode.refused;
    const which = refused.map((m) => m.app).join(", ");
    throw new BlueGreenError(
      `cannot ${action} ${apps.length} apps together: ${refused.length === 1 ? `app ${which} refuses` : `apps ${which} refuse`} (${refused.map((m) => `${m.app}: ${m.refused?.message.replace(/(; nothing changed)?\.$/, "")}`).join("; ")}); nothing changed.`,
      code as BlueGreenError["exitCode"],
      // An app's own hint may name a flag that acts on one app (--wait): the group's hint sends the user to it.
      `Settle ${refused.length === 1 ? "the app" : "each app"} named (kubectl bluegreen ${action} ${refused[0]?.app} --dry-run says what it needs), then run the same ${action} again, or leave ${refused.length === 1 ? "it" : "them"} out.`,
    );
  }
  if (f.dryRun) {
    if (!format) for (const m of members) if (m.plan) ctx.io.out(renderPlan(m.plan, kube.contextName, { dryRun: f.dryRun, verifyTimeoutMs: f.verifyTimeoutMs, propagationDelayMs: f.propagationDelayMs, waitTimeoutMs: f.timeoutMs, blockers: [] }));
    // The API server validates every write of every app (--dry-run=server), as for one app.
    if (f.dryRun === "server") await pooled(members.filter((m) => m.plan), PARALLEL, (m) => dryRunWrites(kube, m.plan as SwitchPlan));
    report(ctx, g, members, action, id, where, "dry-run");
    return 0;
  }

  // Switch and verify every app, a few at a time, each by the same executor as a single app.
  const io = plainIO(ctx.io);
  const run = { ...ctx, io };
  const o = { verifyTimeoutMs: f.verifyTimeoutMs, propagationDelayMs: f.propagationDelayMs, waitTimeoutMs: f.timeoutMs, kubeconfig: g.kube.kubeconfig };
  await pooled(
    members.filter((m) => m.plan),
    PARALLEL,
    async (m) => {
      // Once one app failed, the apps not started yet are not started: there is nothing of theirs to undo.
      if (members.some((x) => x.outcome?.error) || ctx.signal.aborted) return;
      m.outcome = await execute(run, kube, m.plan as SwitchPlan, o);
    },
  );
  const failed = members.filter((m) => m.outcome?.error || (m.plan && !m.outcome));
  if (!failed.length) {
    for (const m of members) for (const w of m.outcome?.warnings ?? []) ctx.io.err(`warning: ${escapeTerminal(w)}\n`);
    report(ctx, g, members, action, id, where, "done");
    return 0;
  }

  // All or none: every app that switched goes back where this command found it, by the same executor.
  const switched = members.filter((m) => m.outcome && !m.outcome.error);
  if (switched.length) ctx.io.err(`switching back ${switched.map((m) => `app ${m.app}`).join(", ")}: ${failed.map((m) => `app ${m.app}`).join(", ")} failed\n`);
  const by = await who;
  await ctx.uninterruptible(() =>
    pooled(switched, PARALLEL, async (m) => {
      const p = m.plan as SwitchPlan;
      try {
        const pair = requireWellFormed(await loadPair(kube, selection(m.app).selection));
        const now = ctx.clock.now();
        const backId = operationId();
        // A promote is undone by an abort (so the version is not promoted again by a plain promote); an abort by a
        // promote back to the slot it left.
        const back =
          action === "promote"
            ? planAbort(pair, { scaleDown: false, scaleDownDelayMs: 0, by, now, id: backId, checks: NO_CHECKS })
            : planPromote(pair, { to: p.from.value, by, now, id: backId, replicaSets: await loadReplicaSets(kube, selection(m.app).selection, kube.namespace), checks: NO_CHECKS });
        if (back.kind !== "switch") throw new BlueGreenError(`cannot switch app ${m.app} back: ${(back as { message?: string }).message ?? back.kind}`, ExitCode.split);
        m.back = await execute({ ...run, signal: new AbortController().signal }, kube, inGroup(back, group, backId), o);
      } catch (e) {
        m.backError = asError(e);
      }
    }),
  );
  report(ctx, g, members, action, id, where, "failed");
  const first = failed[0] as Member;
  const notBack = members.filter((m) => !isBack(m));
  const wrote = members.some((m) => m.outcome && wroteAny(m.outcome));
  const code: number = notBack.length
    ? ExitCode.split
    : !wrote
      ? first.outcome?.error?.exitCode ?? ExitCode.refused
      : members.some((m) => m.outcome?.cause === "interrupted")
        ? ExitCode.interrupted
        : ExitCode.verifyFailed;
  const cause = `app ${first.app}: ${(first.outcome?.error?.message ?? "not started").replace(/\.$/, "")}`;
  const state = notBack.length
    ? `not every app is back: ${members.map((m) => `app ${m.app} ${stateText(m)}`).join(", ")}`
    : wrote
      ? `every app is back where it was (${members.filter((m) => m.plan).map((m) => `${m.app}: ${m.plan?.slotLabel}=${m.plan?.from.value}`).join(", ")})`
      : "nothing changed";
  throw new BlueGreenError(`the ${action} of ${apps.length} apps failed: ${cause}; ${state}.`, code as BlueGreenError["exitCode"], notBack.length ? `Run the same ${action} again to finish it, or abort the same apps to go back; status shows each app.` : first.outcome?.error?.hint);
}

const wroteAny = (o: Outcome): boolean => o.steps.some((s) => (s.step === "switch" || s.step === "weigh") && s.status !== "failed");

/** Whether an app ended where this command found it: never switched, switched back by itself, or by the group. */
function isBack(m: Member): boolean {
  if (!m.plan || !m.outcome) return true;
  if (m.outcome.error) return exitCodeOf(m.outcome) !== ExitCode.split && (!wroteAny(m.outcome) || m.outcome.final === "all-old");
  return m.back !== undefined && !m.back.error && m.back.final === "all-new";
}

/** Where an app's traffic is, for the table and messages. */
function stateText(m: Member): string {
  const p = m.plan;
  if (!p) return m.noop ? "unchanged" : "refused";
  if (!m.outcome) return `not started (${p.slotLabel}=${p.from.value})`;
  if (isBack(m)) return `back on ${p.slotLabel}=${p.from.value}`;
  const o = m.back ?? m.outcome;
  const at = o.services.map((s) => `${s.kind ? `${s.kind}/` : "service/"}${s.name} → ${s.slot ?? "unknown"}`).join(", ");
  return `${m.outcome.error ? "failed" : m.backError ? `not switched back (${m.backError.message.replace(/\.$/, "")})` : "not switched back"}: ${at}`;
}

/** The table on stdout (or the -o json|yaml document): each app, from → to, and its result. */
function report(ctx: Context, g: GlobalOptions, members: Member[], action: Action, id: string, where: string, phase: "refused" | "dry-run" | "done" | "failed"): void {
  const result = (m: Member): string => {
    if (m.refused) return `refused: ${m.refused.message}`;
    if (m.noop) return `nothing to do: ${m.noop}`;
    if (phase === "refused") return "ready";
    if (phase === "dry-run") return `would be ${action === "promote" ? "promoted" : "aborted"}`;
    if (phase === "done") return action === "promote" ? "promoted" : "aborted";
    if (m.outcome?.error) return `failed (${stateText(m)}): ${m.outcome.error.message}`;
    return stateText(m);
  };
  const format = dataFormat(g.output);
  if (format) {
    ctx.io.out(
      renderData(format, {
        kind: "BlueGreenGroupSwitch",
        apiVersion: "kubectl-bluegreen/v1",
        action,
        id,
        result: phase,
        items: members.map((m) => ({
          app: m.app,
          from: m.plan?.from.value ?? null,
          to: m.plan?.to.value ?? null,
          result: result(m),
          final: m.back ? (m.back.final === "all-new" && !m.back.error ? "all-old" : m.back.final) : (m.outcome?.final ?? null),
        })),
      }),
    );
    return;
  }
  const rows = members.map((m) => [m.app, m.plan ? `${m.plan.from.value} → ${m.plan.to.value}` : "-", result(m)]);
  ctx.io.out(table(["APP", "FROM → TO", "RESULT"], rows, { noHeaders: g.noHeaders }));
  if (phase === "done") ctx.io.out(`${escapeTerminal(`${members.length} apps ${action === "promote" ? "promoted" : "aborted"} together (group ${id}); ${where}`)}\n`);
}
