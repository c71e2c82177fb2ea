// A router is what sends an app's users to one slot: a Service's selector, an HTTPRoute's or GRPCRoute's
// backendRefs, an Ingress's backends. Each kind is a pure module (this folder) that says where an object sends
// traffic, what a switch of it depends on, the patch that moves it, and whether the system has taken the change.
// The executor (commands/execute.ts) runs the same steps for every kind and never asks which one it runs.
import type { Labels, ObjectMeta, Service } from "../model.js";

export type RouterKindName = "service" | "httproute" | "grpcroute" | "ingress";

/** An object as the API server returns it, of any router kind. */
export interface RouterObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  // biome-ignore lint/suspicious/noExplicitAny: each kind reads its own spec and status; the rest is theirs
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: see spec
  status?: any;
}

/** Where the API keeps a kind: for reads, writes, watches and RBAC. */
export interface RouterResource {
  group: string;
  version: string;
  /** The plural resource name, as RBAC and kubectl name it. */
  plural: string;
  /** The object's kind, as Events name it. */
  kind: string;
}

/** What an app's routers choose between. */
export interface Routing {
  slotLabel: string;
  /**
   * The slot Services: slot value → the name of the Service that selects that slot and nothing else (the
   * layout where an HTTPRoute or Ingress chooses between `web-blue` and `web-green`). Empty for selectors.
   */
  slotServices: Record<string, SlotService>;
}

/** A Service that selects one slot and never moves: what routes choose between. */
export interface SlotService {
  name: string;
  selector: Labels;
  service: Service;
}

/** Where a router sends traffic now. */
export interface RouterReading {
  /** The slot that gets all of it; undefined when none does (split, or pointing elsewhere). */
  slot: string | undefined;
  /** Every slot that gets any of it (a slot with a weight above 0, the slot a Service selects). */
  slots: string[];
  /** For people: "version=v2", "web-green (100%), web-blue (0%)". */
  text: string;
}

/** What a router kind reports of a change it was given, once the system has (or has not) taken it. */
export type Taken = { kind: "ok" } | { kind: "waiting"; why: string } | { kind: "failed"; why: string };

/** One router kind. Pure: everything it decides, it decides from objects as read. */
export interface RouterKind {
  name: RouterKindName;
  resource: RouterResource;
  /** Where it sends the app's traffic. */
  read(o: RouterObject, r: Routing): RouterReading;
  /**
   * What a switch write depends on: any other change between our read and our write is retried over. Our own
   * annotations (records, marks) are added by the caller.
   */
  guard(o: RouterObject, r: Routing): string;
  /**
   * The merge patch (spec only) that sends every request it routes for the app to slot `to`, computed from the
   * object as just read, so every field the switch does not own is sent back as it is (or not sent at all).
   */
  switchTo(o: RouterObject, r: Routing, to: string): object;
  /**
   * The merge patch (spec only) that puts back what a switch changed, as it was in `asRead` (the object when
   * the command read it), computed from `now` (as just read).
   */
  restore(now: RouterObject, asRead: RouterObject, r: Routing): object;
  /** The field manager that last wrote the part a switch changes, when the object says. */
  writer(o: RouterObject, r: Routing): string | undefined;
  /** Labels of the pods that get the traffic once it sends everything to `slot` (for checks and probes). */
  podsOf(o: RouterObject, r: Routing, slot: string): Labels;
  /** The Service whose EndpointSlices carry the traffic once it sends everything to `slot`. */
  serviceOf(o: RouterObject, r: Routing, slot: string): string;
  /**
   * Whether the system has taken our write: `written` is the object our write returned, `asRead` the object
   * before the switch, `now` as just read. Endpoints are checked by the caller for every kind.
   */
  taken(now: RouterObject, written: RouterObject, asRead: RouterObject): Taken;
  /** Hostnames it serves, for status (none for a Service). */
  hostnames(o: RouterObject): string[];
  /** What a weighted (canary) step needs; only kinds that split traffic by weight have it (HTTPRoute, GRPCRoute). */
  weights?: Weights;
}

/** A router kind that splits traffic by weight: what a canary step writes and reads. */
export interface Weights {
  /** Why the app's traffic through it cannot be given as percentages between the two slots (undefined when it can). */
  unweighable(o: RouterObject, r: Routing): string | undefined;
  /** The merge patch (spec only) that sends `percent` of the app's requests to slot `to` and the rest to the other slot. */
  weigh(o: RouterObject, r: Routing, to: string, percent: number): object;
  /** The percentage of the app's requests it sends to `slot`, rounded. */
  share(o: RouterObject, r: Routing, slot: string): number;
}

/**
 * The field manager that wrote last among those owning a part of spec (managedFields), when the object says:
 * `owns` gets each entry's `f:spec` fields.
 */
export function lastWriter(o: RouterObject, owns: (spec: Record<string, unknown>) => boolean): string | undefined {
  const owners = (o.metadata.managedFields ?? []).filter((m) => {
    const spec = m.fieldsV1?.["f:spec"] as Record<string, unknown> | undefined;
    return spec !== undefined && owns(spec);
  });
  owners.sort((a, b) => (a.time ?? "").localeCompare(b.time ?? ""));
  return owners.at(-1)?.manager;
}

/** "service/web", "httproute/web": how people and kubectl name it. */
export const refOf = (kind: RouterKindName, name: string): string => `${kind}/${name}`;

/**
 * The key a router goes by in records: a Service's plain name (records of earlier versions), "kind/name" for the
 * other kinds.
 */
export const keyOf = (kind: RouterKindName, name: string): string => (kind === "service" ? name : refOf(kind, name));

/** A router by kind and name, with its role: what marks, checks and plans name. */
export interface RouterRef {
  kind: RouterKindName;
  name: string;
  /** "kind/name". */
  ref: string;
  role: "live" | "preview";
}
