// promote or abort of several apps, or of apps in several clusters, at once: a plan of plans run by the same executor
// per app, with one rule on top. Every app in every cluster is planned (and checked: ready, permitted) before
// anything is written; if any refuses, nothing is. Then every app is switched and verified (a few at a time); if any
// fails, every app that switched is switched back, so the release ends all-new or all-old; where that cannot finish,
// exit 9 names each app's state. --waves runs one cluster after another instead, each verified before the next, and
// on a failure goes back in that cluster only (or everywhere, --rollback all).
import type { GlobalOptions } from "./options.js";
import type { Context, IO } from "../context.js";
import { type SwitchPlan, inGroup, planAbort, planPromote } from "../bluegreen/plan.js";
import { type Outcome, exitCodeOf } from "../bluegreen/outcome.js";
import { NO_CHECKS } from "../bluegreen/checks.js";
import { requireWellFormed } from "../bluegreen/pair.js";
import { switchNeeds } from "../bluegreen/permissions.js";
import { type GroupSpec, MAX_GROUP_APPS } from "../bluegreen/group.js";
import type { GroupRecord } from "../bluegreen/record.js";
import { BlueGreenError, ExitCode, NotFoundError, RefusedError } from "../errors.js";
import type { KubeClient } from "../kube/types.js";
import { dataFormat, renderData } from "../render/data.js";
import { escapeTerminal } from "../render/escape.js";
import { renderPlan } from "../render/plan.js";
import { humanDuration } from "../render/time.js";
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

/** One cluster of the release. */
interface Cluster {
  /** The context as the user named it (undefined: the current context, one cluster). */
  name?: string;
  kube: KubeClient;
  /** Its place in --waves (0 without). */
  wave: number;
}

/** One app in one cluster: its plan (or why nothing needs doing, or why it refuses), then what running it did. */
interface Member {
  app: string;
  cluster: Cluster;
  plan?: SwitchPlan;
  noop?: string;
  refused?: BlueGreenError;
  outcome?: Outcome;
  /** The switch back of an app that had switched when another app failed. */
  back?: Outcome;
  backError?: BlueGreenError;
  /** --waves: switched in a wave that passed, and left there when a later wave failed (no --rollback all). */
  kept?: boolean;
}

type Action = "promote" | "abort";

/** stderr for the executors running side by side: no line rewritten in place; each line names its cluster. */
function memberIO(io: IO, prefix: string): IO {
  let atStart = true;
  const err = (t: string) => {
    if (!prefix) return io.err(t);
    let out = "";
    for (const part of t.split(/(?<=\n)/)) {
      if (atStart && part) out += prefix;
      out += part;
      atStart = part.endsWith("\n");
    }
    io.err(out);
  };
  return { out: (t) => io.out(t), err, errIsTTY: false, color: io.color, columns: io.columns, unicode: io.unicode };
}

/** The apps of the namespace that -l selects (by the app label of the Deployments it matches), sorted. */
async function appsMatching(kube: KubeClient, g: GlobalOptions, where: string): Promise<string[]> {
  const selector = g.selection.selector as string;
  const deployments = await kube.listDeployments(kube.namespace, selector);
  const apps = [...new Set(deployments.map((d) => d.metadata.labels?.[g.selection.appLabel] ?? "").filter((a) => a !== ""))].sort();
  if (!apps.length) {
    throw new NotFoundError(
      deployments.length
        ? `no app found with -l ${selector} in ${where}: the ${deployments.length} Deployments it matches have no label ${g.selection.appLabel}.`
        : `no app found with -l ${selector} in ${where}: no Deployment matches it.`,
      deployments.length ? "Name the label that names the apps with --app-label." : "Check the selector with kubectl get deployments -l SELECTOR.",
    );
  }
  if (apps.length > MAX_GROUP_APPS) throw new RefusedError(`-l ${selector} selects ${apps.length} apps in ${where}: a release of several apps takes at most ${MAX_GROUP_APPS}; nothing changed.`, "Narrow the selector.");
  return apps;
}

/** promote APP APP…, abort APP APP…, --all -l, --context A --context B…: all or none (or in waves). */
export async function switchGroup(ctx: Context, g: GlobalOptions, spec: GroupSpec, action: Action, f: PromoteFlags | AbortFlags): Promise<number> {
  const fleet = spec.contexts !== undefined;
  const names = spec.contexts ?? [undefined];
  // Every cluster is connected to (its kubeconfig context found) before anything is read.
  const clusters: Cluster[] = await Promise.all(names.map(async (name, i) => ({ name, kube: await ctx.kube(name === undefined ? g.kube : { ...g.kube, context: name }), wave: spec.waves ? i : 0 })));
  const whereOf = (c: Cluster) => `${c.name !== undefined ? `context ${c.name}` : c.kube.contextName ? `context ${c.kube.contextName}` : "no context"}, namespace ${c.kube.namespace}`;
  const appsIn = await Promise.all(clusters.map((c) => (spec.all ? appsMatching(c.kube, g, whereOf(c)) : Promise.resolve(spec.apps ?? []))));
  const apps = [...new Set(appsIn.flat())];
  if (spec.all && apps.length > MAX_GROUP_APPS) throw new RefusedError(`-l ${g.selection.selector} selects ${apps.length} apps across the contexts: a release of several apps takes at most ${MAX_GROUP_APPS}; nothing changed.`, "Narrow the selector.");
  const id = operationId();
  const group: GroupRecord = { id, apps, ...(spec.contexts ? { contexts: [...spec.contexts] } : {}) };
  const members: Member[] = clusters.flatMap((cluster, i) => (appsIn[i] as string[]).map((app) => ({ app, cluster })));
  const whos = new Map(clusters.map((c) => [c, c.kube.whoAmI()]));
  // An app is selected by its name alone, whether it was named or found by -l.
  const selection = (app: string): GlobalOptions => ({ ...g, selection: { ...g.selection, app, selector: undefined } });
  const name = (m: Member) => (fleet ? `${m.cluster.name}/${m.app}` : m.app);
  const said = (m: Member) => (fleet ? `app ${m.app} in context ${m.cluster.name}` : `app ${m.app}`);
  const subject = fleet ? `${apps.length === 1 ? `app ${apps[0]}` : `${apps.length} apps`} in ${clusters.length} contexts` : `${apps.length} apps`;

  /** Plans one member (and checks it: ready, permitted); keeps why it refuses. */
  const plan = async (m: Member): Promise<void> => {
    const { kube } = m.cluster;
    const who = whos.get(m.cluster) as Promise<string>;
    try {
      const p =
        action === "promote"
          ? await planPromoteApp(ctx, kube, selection(m.app), f as PromoteFlags, who, id)
          : await planAbortApp(ctx, kube, selection(m.app), f as AbortFlags, who, id);
      if (typeof p === "string") {
        m.noop = p;
        return;
      }
      if (action === "promote") await refuseCappedByAutoscaler(kube, p);
      const scaled = p.steps.some((s) => s.kind === "scale-up");
      const blockers = scaled ? [] : await checkTarget(kube, p, p.to.deployment);
      if (blockers.length) throw refusal(p, blockers);
      for (const w of await requirePermissions(kube, p.namespace, switchNeeds(p.steps, p.writes), `${action} ${said(m)}`)) ctx.io.err(`warning: ${escapeTerminal(w)}\n`);
      m.plan = inGroup(p, group, id);
    } catch (e) {
      const err = asError(e);
      if (err.exitCode === ExitCode.unexpected) throw e;
      m.refused = err;
    }
  };

  // Plan and check every app in every cluster before anything is written.
  await pooled(members, PARALLEL, plan);
  const where = fleet
    ? `contexts ${clusters.map((c) => c.name).join(", ")}, namespace ${[...new Set(clusters.map((c) => c.kube.namespace))].join(", ")}`
    : whereOf(clusters[0] as Cluster);
  const format = dataFormat(g.output);
  const show = (phase: Phase) => report(ctx, g, members, { action, id, where, phase, fleet, subject, name });
  const refused = members.filter((m) => m.refused);
  if (refused.length) {
    show("refused");
    const codes = new Set(refused.map((m) => m.refused?.exitCode));
    const code = codes.size === 1 ? (refused[0]?.refused?.exitCode ?? ExitCode.refused) : ExitCode.refused;
    const first = refused[0] as Member;
    throw new BlueGreenError(
      `cannot ${action} ${subject} together: ${refused.length === 1 ? `${said(first)} refuses` : `${fleet ? "" : "apps "}${refused.map((m) => (fleet ? said(m) : m.app)).join(", ")} refuse`} (${refused.map((m) => `${name(m)}: ${m.refused?.message.replace(/(; nothing changed)?\.$/, "")}`).join("; ")}); nothing changed.`,
      code as BlueGreenError["exitCode"],
      // An app's own hint may name a flag that acts on one app (--wait): the group's hint sends the user to it.
      `Settle ${refused.length === 1 ? "the app" : "each app"} named (kubectl bluegreen ${action} ${first.app}${fleet ? ` --context ${first.cluster.name}` : ""} --dry-run says what it needs), then run the same ${action} again, or leave ${refused.length === 1 ? "it" : "them"} out.`,
    );
  }
  if (f.dryRun) {
    if (!format) for (const m of members) if (m.plan) ctx.io.out(renderPlan(m.plan, m.cluster.name ?? m.cluster.kube.contextName, { dryRun: f.dryRun, verifyTimeoutMs: f.verifyTimeoutMs, propagationDelayMs: f.propagationDelayMs, waitTimeoutMs: f.timeoutMs, blockers: [] }));
    // The API server validates every write of every app (--dry-run=server), as for one app.
    if (f.dryRun === "server") await pooled(members.filter((m) => m.plan), PARALLEL, (m) => dryRunWrites(m.cluster.kube, m.plan as SwitchPlan));
    show("dry-run");
    return 0;
  }

  // Switch and verify, a few apps at a time, each by the same executor as a single app: every app at once, or one
  // wave (cluster) after another.
  const o = { verifyTimeoutMs: f.verifyTimeoutMs, propagationDelayMs: f.propagationDelayMs, waitTimeoutMs: f.timeoutMs, kubeconfig: g.kube.kubeconfig };
  const runs = new Map(clusters.map((c) => [c, { ...ctx, io: memberIO(ctx.io, fleet ? `[${c.name}] ` : "") }]));
  const failedOf = (list: Member[]) => list.filter((m) => m.outcome?.error || m.refused);
  const run = (list: Member[]) =>
    pooled(
      list.filter((m) => m.plan),
      PARALLEL,
      async (m) => {
        // Once one app failed, the apps not started yet are not started: there is nothing of theirs to undo.
        if (failedOf(members).length || ctx.signal.aborted) return;
        m.outcome = await execute(runs.get(m.cluster) as Context, m.cluster.kube, m.plan as SwitchPlan, o);
      },
    );
  const waves = spec.waves ? clusters.map((c) => members.filter((m) => m.cluster === c)) : [members];
  // The wave the release stopped in (the last one, when none stopped it): it ran, or was interrupted in the pause
  // before it and changed nothing.
  let reached = 0;
  for (const [i, wave] of waves.entries()) {
    reached = i;
    if (i > 0) {
      const pauseMs = spec.waves?.pauseMs ?? 0;
      const next = clusters[i] as Cluster;
      if (pauseMs > 0) ctx.io.err(`${escapeTerminal(`wave ${i} of ${waves.length} (context ${clusters[i - 1]?.name}) done; wave ${i + 1} (context ${next.name}) in ${humanDuration(pauseMs)}`)}\n`);
      await ctx.clock.sleep(pauseMs, ctx.signal);
      if (ctx.signal.aborted) break;
      // Planned again on what the cluster holds now: the first plan may be a wave pause old.
      for (const m of wave) Object.assign(m, { plan: undefined, noop: undefined, refused: undefined });
      await pooled(wave, PARALLEL, plan);
    }
    await run(wave);
    if (failedOf(members).length || ctx.signal.aborted) break;
  }
  const failed = failedOf(members);
  const notStarted = members.filter((m) => m.plan && !m.outcome && m.cluster.wave <= reached);
  if (!failed.length && !notStarted.length && !ctx.signal.aborted) {
    for (const m of members) for (const w of m.outcome?.warnings ?? []) ctx.io.err(`${fleet ? `[${m.cluster.name}] ` : ""}warning: ${escapeTerminal(w)}\n`);
    show("done");
    return 0;
  }

  // All or none: every app that switched goes back where this command found it, by the same executor. In waves, only
  // the wave that failed goes back (the waves before it passed), unless --rollback all.
  const goesBack = (m: Member) => !spec.waves || spec.waves.rollback === "all" || m.cluster.wave === reached;
  const switched = members.filter((m) => m.outcome && !m.outcome.error);
  for (const m of switched) if (!goesBack(m)) m.kept = true;
  const back = switched.filter(goesBack);
  const why = failed.length ? `${failed.map(said).join(", ")} failed` : "interrupted";
  if (back.length) ctx.io.err(`switching back ${back.map(said).join(", ")}: ${why}\n`);
  await ctx.uninterruptible(() =>
    pooled(back, PARALLEL, async (m) => {
      const p = m.plan as SwitchPlan;
      const { kube } = m.cluster;
      try {
        const pair = requireWellFormed(await loadPair(kube, selection(m.app).selection));
        const by = await (whos.get(m.cluster) as Promise<string>);
        const now = ctx.clock.now();
        const backId = operationId();
        // A promote is undone by an abort (so the version is not promoted again by a plain promote); an abort by a
        // promote back to the slot it left.
        const undo =
          action === "promote"
            ? planAbort(pair, { scaleDown: false, scaleDownDelayMs: 0, by, now, id: backId, checks: NO_CHECKS })
            : planPromote(pair, { to: p.from.value, by, now, id: backId, replicaSets: await loadReplicaSets(kube, selection(m.app).selection, kube.namespace), checks: NO_CHECKS });
        if (undo.kind !== "switch") throw new BlueGreenError(`cannot switch ${said(m)} back: ${(undo as { message?: string }).message ?? undo.kind}`, ExitCode.split);
        m.back = await execute({ ...(runs.get(m.cluster) as Context), signal: new AbortController().signal }, kube, inGroup(undo, group, backId), o);
      } catch (e) {
        m.backError = asError(e);
      }
    }),
  );
  show("failed");
  const first = failed[0];
  const notBack = members.filter((m) => !m.kept && !isBack(m));
  const kept = members.filter((m) => m.kept);
  const wrote = members.some((m) => m.outcome && wroteAny(m.outcome));
  const interrupted = ctx.signal.aborted || members.some((m) => m.outcome?.cause === "interrupted");
  const code: number = notBack.length
    ? ExitCode.split
    : !wrote
      ? (first?.outcome?.error?.exitCode ?? first?.refused?.exitCode ?? (interrupted ? ExitCode.interrupted : ExitCode.refused))
      : interrupted
        ? ExitCode.interrupted
        : kept.length
          ? ExitCode.split
          : ExitCode.verifyFailed;
  const firstError = first?.outcome?.error ?? first?.refused;
  const cause = first ? `${said(first)}: ${(firstError?.message ?? "not started").replace(/\.$/, "")}` : "interrupted";
  const later = spec.waves ? clusters.filter((c) => c.wave > reached) : [];
  const slotText = (m: Member, value: string | undefined) => `${name(m)}: ${m.plan?.slotLabel}=${value}`;
  const state = notBack.length
    ? `not every app is back: ${members.map((m) => `${said(m)} ${stateText(m)}`).join(", ")}`
    : kept.length
      ? `context ${clusters[reached]?.name} ${members.some((m) => m.cluster.wave === reached && m.outcome) ? "is back where it was" : "was not started"}, the waves before it stay switched (${kept.map((m) => slotText(m, m.plan?.to.value)).join(", ")})${later.length ? `; ${later.length === 1 ? "context" : "contexts"} ${later.map((c) => c.name).join(", ")} not started` : ""}`
      : wrote
        ? `every app is back where it was (${members.filter((m) => m.plan && m.outcome).map((m) => slotText(m, m.plan?.from.value)).join(", ")})`
        : "nothing changed";
  const what = spec.waves ? `the ${action} of ${subject} in waves stopped at context ${clusters[reached]?.name}` : `the ${action} of ${subject} failed`;
  const hint = notBack.length
    ? `Run the same ${action} again to finish it, or ${action === "promote" ? "abort" : "promote --to the slot it left for"} the same apps to go back; status shows each app.`
    : kept.length
      ? `Run the same ${action} again to go on, or ${action === "promote" ? "abort the same apps in the same contexts" : "promote them --to the slot they left"} to go back; --rollback all goes back everywhere when a wave fails.`
      : firstError?.hint;
  throw new BlueGreenError(`${what}: ${cause}; ${state}.`, code as BlueGreenError["exitCode"], hint);
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
  if (m.kept) return `switched (${p.slotLabel}=${p.to.value}), its wave passed`;
  if (isBack(m)) return `back on ${p.slotLabel}=${p.from.value}`;
  const o = m.back ?? m.outcome;
  const at = o.services.map((s) => `${s.kind ? `${s.kind}/` : "service/"}${s.name} → ${s.slot ?? "unknown"}`).join(", ");
  return `${m.outcome.error ? "failed" : m.backError ? `not switched back (${m.backError.message.replace(/\.$/, "")})` : "not switched back"}: ${at}`;
}

type Phase = "refused" | "dry-run" | "done" | "failed";

/** The table on stdout (or the -o json|yaml document): each app (in each context), from → to, and its result. */
function report(
  ctx: Context,
  g: GlobalOptions,
  members: Member[],
  r: { action: Action; id: string; where: string; phase: Phase; fleet: boolean; subject: string; name: (m: Member) => string },
): void {
  const { action, phase } = r;
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
        id: r.id,
        result: phase,
        items: members.map((m) => ({
          ...(r.fleet ? { context: m.cluster.name } : {}),
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
  const rows = members.map((m) => [...(r.fleet ? [m.cluster.name ?? ""] : []), m.app, m.plan ? `${m.plan.from.value} → ${m.plan.to.value}` : "-", result(m)]);
  ctx.io.out(table([...(r.fleet ? ["CONTEXT"] : []), "APP", "FROM → TO", "RESULT"], rows, { noHeaders: g.noHeaders }));
  if (phase === "done") ctx.io.out(`${escapeTerminal(`${r.fleet ? r.subject : `${members.length} apps`} ${action === "promote" ? "promoted" : "aborted"} together (group ${r.id}); ${r.where}`)}\n`);
}
