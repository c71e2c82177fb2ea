import type { GlobalOptions } from "./options.js";
import type { Context } from "../context.js";
import { replicaSetsOwnedBy } from "../bluegreen/evidence.js";
import { type AppStatus, appStatus, driftOf, needsAttention } from "../bluegreen/verdict.js";
import { ROUTER_KINDS, ROUTE_KINDS } from "../bluegreen/routers/index.js";
import type { RouterKindName, RouterObject } from "../bluegreen/routers/types.js";
import { ExitCode, ForbiddenError, NotFoundError, inContext } from "../errors.js";
import type { KubeClient } from "../kube/types.js";
import { dataFormat, renderData } from "../render/data.js";
import { escapeTerminal } from "../render/escape.js";
import { renderAppScreen, renderAppTable, statusDocument } from "../render/status.js";
import { type AppPair, type FoundRoute, deploymentSelector } from "../bluegreen/pair.js";
import type { Deployment, ReplicaSet, Service } from "../bluegreen/model.js";
import { loadPairs, loadReplicaSets, lookElsewhere, notFound, pairsOf } from "./load.js";
import { Mirror } from "./mirror.js";
import { asError } from "./write.js";

async function collect(kube: KubeClient, g: GlobalOptions): Promise<AppStatus[]> {
  const ns = g.selection.allNamespaces ? undefined : kube.namespace;
  const [pairs, replicaSets, autoscalers] = await Promise.all([
    loadPairs(kube, g.selection),
    loadReplicaSets(kube, g.selection, ns),
    // Shown where there are some; one not allowed to list them sees none.
    kube.listAutoscalers(ns).catch(() => []),
  ]);
  if (pairs.length === 0 && (g.selection.app !== undefined || g.selection.selector !== undefined)) throw await notFound(kube, g.selection);
  const owned = replicaSetsOwnedBy(replicaSets);
  return Promise.all(pairs.map(async (p) => appStatus(p, owned(p.deployments), await selectorWriters(kube, p), autoscalers)));
}

/**
 * Who last wrote what the switch changes on each drifted router (see driftOf), read from its managedFields: lists
 * leave them out, so only a drifted router is read again. Unknown (left out) when it cannot be read.
 */
async function selectorWriters(kube: KubeClient, pair: AppPair): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (!pair.slotLabel) return out;
  const routing = pair.routing ?? { slotLabel: pair.slotLabel, slotServices: {} };
  for (const d of driftOf(pair)) {
    const router = pair.routers.find((r) => r.ref === d.router);
    if (!router) continue;
    const kind = ROUTER_KINDS[router.kind];
    const writer = await kube.getRouter(pair.namespace, kind.resource, router.name).then(
      (o) => kind.writer(o, routing),
      () => undefined,
    );
    if (writer) out[d.router] = writer;
  }
  return out;
}

/** The text or document of the apps shown; `contexts` (with several contexts) names the context of each. */
function render(ctx: Context, g: GlobalOptions, list: AppStatus[], contexts?: string[]): string {
  const format = dataFormat(g.output);
  if (format) return renderData(format, statusDocument(list, contexts));
  const o = {
    now: ctx.clock.now(),
    wide: g.output === "wide",
    noHeaders: g.noHeaders,
    color: ctx.io.color,
    unicode: ctx.io.unicode,
    namespaces: g.selection.allNamespaces,
  };
  const single = g.selection.app !== undefined || g.selection.selector !== undefined;
  if (single) return list.map((s, i) => renderAppScreen(s, { ...o, context: contexts?.[i] })).join("\n");
  return renderAppTable(list, { ...o, contexts });
}

/**
 * status --context A --context B…: every context read at once, on its own, and shown in one table (a CONTEXT
 * column; -o json|yaml: `context` on each item). A context that cannot be read, or where an app named is not
 * found, is said after the others are shown, and the last such error ends the command with its exit code.
 */
async function across(ctx: Context, g: GlobalOptions, contexts: string[]): Promise<number> {
  const read = await Promise.all(
    contexts.map(async (name) => {
      try {
        const kube = await ctx.kube({ ...g.kube, context: name });
        const list = await collect(kube, g);
        const missing = (g.selection.apps ?? []).filter((app) => !list.some((s) => s.app === app));
        const error = missing.length ? await notFound(kube, { ...g.selection, apps: undefined, app: missing[0] }) : undefined;
        return { name, kube, list, error };
      } catch (e) {
        const error = asError(e);
        if (error.exitCode === ExitCode.unexpected) throw e;
        return { name, list: [] as AppStatus[], error };
      }
    }),
  );
  const list = read.flatMap((r) => r.list);
  const names = read.flatMap((r) => r.list.map(() => r.name));
  if (list.length || dataFormat(g.output)) ctx.io.out(render(ctx, g, list, names));
  else if (read.every((r) => !r.error)) {
    const where = g.selection.allNamespaces ? "any namespace" : `namespace ${[...new Set(read.map((r) => r.kube?.namespace))].join(", ")}`;
    ctx.io.err(`No blue/green apps (Deployments with label ${g.selection.appLabel}) found in ${where} of contexts ${contexts.join(", ")}.\n`);
  }
  const errors = read.flatMap((r) => (r.error ? [inContext(r.name, r.error)] : []));
  const last = errors.pop();
  for (const err of errors) ctx.io.err(`error: ${escapeTerminal(err.message)}\n`);
  if (last) throw last;
  return list.some(needsAttention) ? 1 : 0;
}

/** status [APP]: both slots, what is live, and a verdict; exit 1 when an app needs attention. */
export async function status(ctx: Context, g: GlobalOptions, watch: boolean, contexts?: string[]): Promise<number> {
  if (contexts) return across(ctx, g, contexts);
  const kube = await ctx.kube(g.kube);
  if (watch) return follow(ctx, kube, g);
  const list = await collect(kube, g);
  // status APP APP…: the apps found are shown; then an app named but not found is an error (exit 3), as for one.
  const missing = (g.selection.apps ?? []).filter((app) => !list.some((s) => s.app === app));
  if (list.length || !missing.length) show(ctx, g, kube, list, render(ctx, g, list));
  if (missing.length) throw await notFound(kube, { ...g.selection, apps: undefined, app: missing[0] });
  if (list.length === 0 && !dataFormat(g.output)) for (const h of await lookElsewhere(kube, g.selection)) ctx.io.err(`hint: ${escapeTerminal(h)}\n`);
  return list.some(needsAttention) ? 1 : 0;
}

function show(ctx: Context, g: GlobalOptions, kube: KubeClient, list: AppStatus[], text: string): void {
  if (list.length === 0 && !dataFormat(g.output)) {
    ctx.io.err(`No blue/green apps (Deployments with label ${g.selection.appLabel}) found in ${g.selection.allNamespaces ? "any namespace" : `namespace ${kube.namespace}`}.\n`);
  } else {
    ctx.io.out(text);
  }
}

/** Prints after a change settled for this long: one screen for a burst of events (a rollout, a switch). */
const SETTLE_MS = 100;

/**
 * status --watch: lists once, then follows the Deployments, Services and ReplicaSets with watches, and prints
 * the screen again whenever what it shows changed, until Ctrl-C.
 */
async function follow(ctx: Context, kube: KubeClient, g: GlobalOptions): Promise<number> {
  const sel = g.selection;
  const ns = sel.allNamespaces ? undefined : kube.namespace;
  const deployments = new Mirror<Deployment>(kube, { resource: "deployments", namespace: ns, labelSelector: deploymentSelector(sel) });
  const services = new Mirror<Service>(kube, { resource: "services", namespace: ns });
  const replicaSets = new Mirror<ReplicaSet>(kube, { resource: "replicasets", namespace: ns, labelSelector: deploymentSelector(sel) });
  await Promise.all([deployments.list(), services.list(), replicaSets.list()]);
  // The routes too, once an app has slot Services for them to choose between (each kind the server serves).
  const routes: { kind: FoundRoute["kind"]; mirror: Mirror<RouterObject> }[] = [];
  const unreadable: { kind: RouterKindName; why: string }[] = [];
  const pairs = () => {
    const found = routes.flatMap((r) => r.mirror.items().map((object) => ({ kind: r.kind, object })));
    return pairsOf(sel, ns, deployments.items(), services.items(), found, unreadable);
  };
  if (pairsOf(sel, ns, deployments.items(), services.items()).some((p) => p.needsRoutes)) {
    for (const k of ROUTE_KINDS) {
      const mirror = new Mirror<RouterObject>(kube, { resource: ROUTER_KINDS[k].resource, namespace: ns });
      try {
        await mirror.list();
        routes.push({ kind: k as FoundRoute["kind"], mirror });
      } catch (e) {
        if (e instanceof ForbiddenError) unreadable.push({ kind: k, why: `list ${ROUTER_KINDS[k].resource.plural}: forbidden` });
        else if (!(e instanceof NotFoundError)) throw e;
      }
    }
  }
  const current = () => {
    const owned = replicaSetsOwnedBy(replicaSets.items());
    return pairs().map((p) => appStatus(p, owned(p.deployments)));
  };
  let list = current();
  if (list.length === 0 && (sel.app !== undefined || sel.selector !== undefined)) throw await notFound(kube, sel);
  let last = render(ctx, g, list);
  show(ctx, g, kube, list, last);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onChange = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      list = current();
      const text = render(ctx, g, list);
      if (text === last) return;
      ctx.io.out(`\n${text}`);
      last = text;
    }, SETTLE_MS);
  };
  try {
    await Promise.all([deployments.follow(ctx, onChange), services.follow(ctx, onChange), replicaSets.follow(ctx, onChange), ...routes.map((r) => r.mirror.follow(ctx, onChange))]);
  } finally {
    clearTimeout(timer);
  }
  return list.some(needsAttention) ? 1 : 0;
}
