import type { GroupRecord } from "../bluegreen/record.js";
import { plural } from "../bluegreen/plural.js";
import { type AppStatus, VERDICT_TEXT, type Verdict } from "../bluegreen/verdict.js";
import { paint } from "./color.js";
import { escapeTerminal as esc } from "./escape.js";
import { styled, table } from "./table.js";
import { age, humanDuration } from "./time.js";

interface StatusRenderOptions {
  now: Date;
  wide: boolean;
  noHeaders: boolean;
  color: boolean;
  /** Show the NAMESPACE column (all namespaces). */
  namespaces: boolean;
  /** false: the locale is not UTF-8, so a table cell spells its arrow in ASCII (before the columns are measured). */
  unicode?: boolean;
  /** Several contexts: the screen's context (a Context: line). */
  context?: string;
  /** Several contexts: each app's context, in the list's order (a CONTEXT column). */
  contexts?: string[];
}

const VERDICT_STYLE: Record<Verdict, "green" | "yellow" | "red"> = {
  ready: "green",
  promoted: "green",
  blocked: "yellow",
  "not-ready": "yellow",
  interrupted: "red",
  canary: "yellow",
  drifted: "red",
  degraded: "red",
  misconfigured: "red",
};

const verdictText = (s: AppStatus, color: boolean) => paint(color, VERDICT_STYLE[s.verdict], VERDICT_TEXT[s.verdict]);

function lastSwitchText(s: AppStatus, now: Date): string {
  const l = s.lastSwitch;
  if (!l) return "none recorded";
  const group = l.group ? `, ${groupText(l.group, s.app)}` : "";
  return `${l.action} ${l.from} → ${l.to}${l.state === "pending" ? " (not verified)" : ""}${group} by ${l.by || "unknown"}, ${age(l.at, now)} ago (${l.at})`;
}

/** The rest of a group release, as seen from one app: "with apps api, worker in contexts eu, us (group ID)". */
function groupText(g: GroupRecord, app: string): string {
  const others = g.apps.filter((a) => a !== app);
  const parts = [others.length ? `with ${others.length === 1 ? "app" : "apps"} ${others.join(", ")}` : "", g.contexts ? `in contexts ${g.contexts.join(", ")}` : ""];
  return `${parts.filter(Boolean).join(" ")} (group ${g.id})`;
}

/** The one-screen view of a single app. */
export function renderAppScreen(s: AppStatus, o: StatusRenderOptions): string {
  const head = [
    ...(o.context !== undefined ? [`Context:      ${esc(o.context)}`] : []),
    `App:          ${esc(s.app)}`,
    `Namespace:    ${esc(s.namespace)}`,
    `Slot label:   ${esc(s.slotLabel ?? "<not found>")}`,
    `Verdict:      ${verdictText(s, o.color)}: ${esc(s.reason)}`,
  ];
  const headers = ["SLOT", "ROLE", "DEPLOYMENT", "IMAGES", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"];
  if (o.wide) headers.push("ROLLOUT");
  const rows = s.slots.map((v) => {
    const row = [
      v.slot || "-",
      v.role === "unknown" ? "-" : v.role,
      v.deployment,
      v.images.join(","),
      `${v.ready}/${v.desired}`,
      String(v.updated),
      String(v.available),
      age(v.createdAt, o.now),
    ];
    if (o.wide) row.push(v.rollout);
    return row;
  });
  const services = s.services.length
    ? s.services.map((x) => `${x.name} (${x.role} → ${x.selects})`).join(", ")
    : "none";
  const tail = [`Services:     ${esc(services)}`];
  if (s.routes?.length) {
    const text = s.routes.map(
      (r) => `${r.kind}/${r.name}${r.hostnames.length ? ` (${r.hostnames.join(", ")})` : ""} → ${r.slot ?? "split"}: ${r.sends}${r.preview ? `, and requests with ${r.preview.header} → ${r.preview.slot}` : ""}`,
    );
    tail.push(`Routes:       ${esc(text.join("; "))}`);
  }
  tail.push(`Last switch:  ${esc(lastSwitchText(s, o.now))}`);
  const scaled = s.slots.filter((v) => v.autoscaler);
  if (scaled.length) {
    const text = scaled.map((v) => `${v.slot} by hpa/${v.autoscaler?.name} (min ${v.autoscaler?.min}, max ${v.autoscaler?.max}${v.autoscaler?.current !== undefined ? `, current ${v.autoscaler.current}` : ""})`);
    tail.push(`Autoscalers:  ${esc(text.join("; "))}`);
  }
  const d = s.lastDeploy;
  if (d) {
    const replaced = d.current ? "" : " (replaced since by another change)";
    tail.push(`Last deploy:  ${esc(`${d.slot} (deployment/${d.deployment}): ${d.images.join(", ")}, ${plural(d.replicas, "replica")}, from the ${d.source} template, by ${d.by || "unknown"}, ${age(d.at, o.now)} ago (${d.at})${replaced}`)}`);
  }
  const sd = s.pendingScaleDown;
  if (sd) {
    const left = Date.parse(sd.at) - o.now.getTime();
    const when = left > 0 ? `in ${humanDuration(left)}` : `overdue by ${age(sd.at, o.now)}: the command that scheduled it may have stopped; kubectl bluegreen scale-down ${s.app} does it`;
    tail.push(`Scale-down:   ${esc(`${sd.slot} (deployment/${sd.deployment}) to 0 at ${sd.at} (${when}), scheduled by ${sd.by || "unknown"}`)}`);
  }
  if (o.wide && s.history.length > 1) {
    tail.push("History:");
    for (const h of s.history) tail.push(esc(`  ${h.at}  ${h.action} ${h.from} → ${h.to} by ${h.by}`));
  }
  return `${head.join("\n")}\n\n${table(headers, rows, { noHeaders: o.noHeaders })}\n${tail.join("\n")}\n`;
}

/** One line per app, for status without APP. */
export function renderAppTable(list: AppStatus[], o: StatusRenderOptions): string {
  const headers = [...(o.contexts ? ["CONTEXT"] : []), ...(o.namespaces ? ["NAMESPACE"] : []), "APP", "SLOT-LABEL", "LIVE", "IDLE", "SERVICES", "VERDICT"];
  if (o.wide) headers.push("LIVE-READY", "IDLE-READY", "IMAGES", "LAST-SWITCH", "REASON");
  const rows = list.map((s, i) => {
    const live = s.slots.find((v) => v.role === "live");
    const idle = s.slots.find((v) => v.role === "idle");
    const row = [
      ...(o.contexts ? [o.contexts[i] ?? "-"] : []),
      ...(o.namespaces ? [s.namespace] : []),
      s.app,
      s.slotLabel ?? "-",
      live?.slot ?? "-",
      idle?.slot ?? "-",
      [...(s.routes ?? []).map((r) => `${r.kind}/${r.name}`), ...s.services.filter((x) => x.role !== "shared" && x.role !== "slot").map((x) => x.name)].join(",") || "-",
      styled(verdictText(s, o.color)),
    ];
    if (o.wide) {
      row.push(
        live ? `${live.available}/${live.desired}` : "-",
        idle ? `${idle.available}/${idle.desired}` : "-",
        s.slots.map((v) => `${v.slot || v.deployment}=${v.images.join(",")}`).join(" "),
        s.lastSwitch ? `${s.lastSwitch.from}${o.unicode === false ? "->" : "→"}${s.lastSwitch.to} ${age(s.lastSwitch.at, o.now)} ago` : "-",
        s.reason,
      );
    }
    return row;
  });
  return table(headers, rows, { noHeaders: o.noHeaders });
}

/** status -o json|yaml: a List-like document, stable for scripts. */
export function statusDocument(list: AppStatus[], contexts?: string[]): unknown {
  return {
    kind: "BlueGreenStatusList",
    apiVersion: "kubectl-bluegreen/v1",
    items: list.map((s, i) => ({
      ...(contexts ? { context: contexts[i] } : {}),
      app: s.app,
      namespace: s.namespace,
      slotLabel: s.slotLabel ?? null,
      verdict: s.verdict,
      reason: s.reason,
      liveSlot: s.liveSlot ?? null,
      slots: s.slots,
      services: s.services,
      ...(s.routes ? { routes: s.routes } : {}),
      lastSwitch: s.lastSwitch ?? null,
      history: s.history,
      lastDeploy: s.lastDeploy ?? null,
      pendingScaleDown: s.pendingScaleDown ?? null,
      ...(s.drift ? { drift: s.drift } : {}),
      ...(s.canary ? { canary: s.canary } : {}),
    })),
  };
}
