import type { GlobalOptions } from "./options.js";
import type { Context } from "../context.js";
import { compareSlots } from "../bluegreen/compare.js";
import { describeServices, requireWellFormed } from "../bluegreen/pair.js";
import { type BlueGreenError, ExitCode, RefusedError, inContext } from "../errors.js";
import type { KubeClient } from "../kube/types.js";
import { escapeTerminal } from "../render/escape.js";
import { asError } from "./write.js";
import { dataFormat, renderData } from "../render/data.js";
import { renderComparison, slotDiff } from "../render/diff.js";
import { loadPair } from "./load.js";

/**
 * diff APP [APP…] [--context A --context B…]: what changes for users if the idle slot is promoted. Exit 0 same,
 * 1 different (as kubectl diff).
 * Several apps are compared one after another (-o json|yaml: a List); an app that cannot be compared is said on
 * stderr and the others are still shown, then the command ends with the last such error (and its exit code).
 */
export async function diff(ctx: Context, g: GlobalOptions, apps?: string[], contexts?: string[]): Promise<number> {
  const format = dataFormat(g.output);
  if (!apps && !contexts) {
    const r = await diffOne(ctx, await ctx.kube(g.kube), g);
    ctx.io.out(format ? renderData(format, r.doc) : r.text);
    return r.differs ? 1 : 0;
  }
  const errors: BlueGreenError[] = [];
  const docs: unknown[] = [];
  let differs = false;
  let shown = 0;
  // Several contexts: each in turn (a "Context:" line before each comparison; -o json|yaml: `context` on each).
  for (const context of contexts ?? [undefined]) {
    const said = (e: BlueGreenError) => (context === undefined ? e : inContext(context, e));
    let kube: KubeClient;
    try {
      kube = await ctx.kube(context === undefined ? g.kube : { ...g.kube, context });
    } catch (e) {
      const err = asError(e);
      if (err.exitCode === ExitCode.unexpected) throw e;
      errors.push(said(err));
      continue;
    }
    for (const app of apps ?? [undefined]) {
      try {
        const r = await diffOne(ctx, kube, app === undefined ? g : { ...g, selection: { ...g.selection, app } });
        differs ||= r.differs;
        if (format) docs.push(context === undefined ? r.doc : { context, ...(r.doc as object) });
        else ctx.io.out(`${shown++ ? "\n" : ""}${context === undefined ? "" : `Context: ${escapeTerminal(context)}\n`}${r.text}`);
      } catch (e) {
        const err = asError(e);
        if (err.exitCode === ExitCode.unexpected) throw e;
        errors.push(said(err));
      }
    }
  }
  if (format) ctx.io.out(renderData(format, { kind: "List", apiVersion: "v1", items: docs }));
  // The last error ends the command (its message, hint and exit code); the ones before it are said here.
  const last = errors.pop();
  for (const err of errors) ctx.io.err(`error: ${escapeTerminal(err.message)}\n`);
  if (last) throw last;
  return differs ? 1 : 0;
}

/** One app's comparison: a document for -o json|yaml, else the text; and whether the slots differ. */
async function diffOne(ctx: Context, kube: KubeClient, g: GlobalOptions): Promise<{ doc?: unknown; text: string; differs: boolean }> {
  const pair = requireWellFormed(await loadPair(kube, g.selection));
  if (!pair.live) {
    throw new RefusedError(
      `app ${pair.app} has no single live slot to compare from: ${describeServices(pair)}.`,
      `Settle it first: kubectl bluegreen promote ${pair.app} (finish), abort (go back) or promote --to SLOT.`,
    );
  }
  const c = compareSlots(pair);
  const format = dataFormat(g.output);
  if (format) {
    const patch = slotDiff(c);
    return {
      doc: {
        kind: "BlueGreenDiff",
        apiVersion: "kubectl-bluegreen/v1",
        app: c.app,
        namespace: c.namespace,
        slotLabel: c.slotLabel,
        from: { slot: c.from.slot, deployment: c.from.deployment },
        to: { slot: c.to.slot, deployment: c.to.deployment },
        differs: patch !== "",
        images: c.images,
        services: c.services,
        diff: patch,
      },
      text: "",
      differs: patch !== "",
    };
  }
  const r = renderComparison(c, ctx.io.color);
  return { text: r.text, differs: r.differs };
}
