// Every router kind, by name: the one list the rest of the plugin looks kinds up in.
import { ingressRouter } from "./ingress.js";
import { grpcRouteRouter, httpRouteRouter } from "./route.js";
import { serviceRouter } from "./service.js";
import type { RouterKind, RouterKindName } from "./types.js";

export const ROUTER_KINDS: Record<RouterKindName, RouterKind> = {
  service: serviceRouter,
  httproute: httpRouteRouter,
  grpcroute: grpcRouteRouter,
  ingress: ingressRouter,
};

/** The router kinds that choose between slot Services (all but the Service selector). */
export const ROUTE_KINDS: RouterKindName[] = ["httproute", "grpcroute", "ingress"];

export const routerKind = (name: RouterKindName): RouterKind => ROUTER_KINDS[name];
