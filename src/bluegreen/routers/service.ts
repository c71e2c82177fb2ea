// The Service selector router: the slot label in a Service's selector says which slot gets its traffic.
import { canonicalJson } from "../record.js";
import type { Labels } from "../model.js";
import { type RouterKind, type RouterObject, type Routing, lastWriter } from "./types.js";

const selectorOf = (o: RouterObject): Labels => (o.spec?.selector as Labels | undefined) ?? {};

export const serviceRouter: RouterKind = {
  name: "service",
  resource: { group: "", version: "v1", plural: "services", kind: "Service" },
  read(o, r) {
    const slot = selectorOf(o)[r.slotLabel];
    return { slot, slots: slot === undefined ? [] : [slot], text: slot === undefined ? `no ${r.slotLabel} in its selector` : `${r.slotLabel}=${slot}` };
  },
  guard: (o) => canonicalJson({ selector: selectorOf(o) }),
  switchTo: (_o, r, to) => ({ selector: { [r.slotLabel]: to } }),
  restore(_now, asRead, r) {
    const back = selectorOf(asRead)[r.slotLabel];
    return { selector: { [r.slotLabel]: back ?? null } };
  },
  writer: (o, r) =>
    lastWriter(o, (spec) => {
      const selector = spec["f:selector"] as Record<string, unknown> | undefined;
      // A Service's selector is an atomic map: its writer owns it whole (`f:selector: {}`); a granular map lists keys.
      return selector !== undefined && (Object.keys(selector).length === 0 || `f:${r.slotLabel}` in selector);
    }),
  podsOf: (o, r: Routing, slot) => ({ ...selectorOf(o), [r.slotLabel]: slot }),
  serviceOf: (o) => o.metadata.name ?? "",
  // kube-proxy reports nothing back: the EndpointSlices (checked for every kind) are all there is.
  taken: () => ({ kind: "ok" }),
  hostnames: () => [],
};
