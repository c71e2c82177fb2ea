import type { GlobalOptions } from "./options.js";
import type { Context } from "../context.js";
import { compareSlots } from "../bluegreen/compare.js";
import { describeServices, requireWellFormed } from "../bluegreen/pair.js";
import { RefusedError } from "../errors.js";
import { dataFormat, renderData } from "../render/data.js";
import { renderComparison, slotDiff } from "../render/diff.js";
import { loadPair } from "./load.js";

/** diff APP: what changes for users if the idle slot is promoted. Exit 0 same, 1 different (as kubectl diff). */
export async function diff(ctx: Context, g: GlobalOptions): Promise<number> {
  const kube = await ctx.kube(g.kube);
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
    ctx.io.out(
      renderData(format, {
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
      }),
    );
    return patch ? 1 : 0;
  }
  const r = renderComparison(c, ctx.io.color);
  ctx.io.out(r.text);
  return r.differs ? 1 : 0;
}
