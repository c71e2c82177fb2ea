// A header preview on the app's routes (deploy and promote --preview-header NAME=VALUE): one rule of ours per route
// that sends requests carrying the header to one slot, so testers reach a new version through the production
// gateway before any weight moves. Each write reads the route first and sends every other rule back as read.
import type { Context } from "../context.js";
import { ROUTER_KINDS } from "../bluegreen/routers/index.js";
import { PREVIEW_RULE_ANNOTATION, previewOf, withPreview } from "../bluegreen/routers/route.js";
import type { RouterKindName, RouterObject, Routing } from "../bluegreen/routers/types.js";
import { canonicalJson } from "../bluegreen/record.js";
import type { KubeClient } from "../kube/types.js";
import { SETTLE_MS, writeConditionally } from "./write.js";

/** A route that can carry a preview rule. */
export interface PreviewRoute {
  kind: RouterKindName;
  name: string;
  ref: string;
}

/** The kinds whose objects can carry a preview rule: HTTPRoute and GRPCRoute. */
export const canPreview = (kind: RouterKindName): boolean => kind === "httproute" || kind === "grpcroute";

/**
 * Sets (or, without `preview`, removes) the preview rule of ours on each route, conditionally; returns a line per
 * route that changed. Throws the first write that fails.
 */
export async function setPreview(
  ctx: Context,
  kube: KubeClient,
  ns: string,
  routing: Routing,
  routes: PreviewRoute[],
  preview?: { slot: string; header: { name: string; value: string } },
): Promise<string[]> {
  const lines: string[] = [];
  for (const route of routes) {
    const kind = ROUTER_KINDS[route.kind];
    const r = await writeConditionally<RouterObject, boolean>(ctx, {
      read: () => kube.getRouter(ns, kind.resource, route.name),
      decide: (read) => {
        const want = withPreview(read, routing, preview);
        const now = previewOf(read);
        const same = preview ? now !== undefined && canonicalJson(want.rules) === canonicalJson(read.spec?.rules ?? []) : now === undefined && !read.metadata.annotations?.[PREVIEW_RULE_ANNOTATION];
        return same ? { result: false } : { write: true };
      },
      write: async (resourceVersion, read) => {
        const want = withPreview(read, routing, preview);
        await kube.patchRouter(ns, kind.resource, route.name, { metadata: { resourceVersion, annotations: { [PREVIEW_RULE_ANNOTATION]: want.annotation } }, spec: { rules: want.rules } });
        return true;
      },
      deadline: ctx.clock.now().getTime() + SETTLE_MS,
    });
    if (r.kind !== "done") throw r.error;
    if (r.result) {
      lines.push(
        preview
          ? `${route.ref}: requests with ${preview.header.name}: ${preview.header.value} go to ${routing.slotLabel}=${preview.slot} (${routing.slotServices[preview.slot]?.name ?? preview.slot})`
          : `${route.ref}: preview rule removed`,
      );
    }
  }
  return lines;
}
