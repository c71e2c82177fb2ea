import { createTwoFilesPatch } from "diff";
import { dump } from "js-yaml";
import type { SlotComparison } from "../bluegreen/compare.js";
import { paint } from "./color.js";
import { escapeTerminal as esc } from "./escape.js";

const yaml = (o: unknown) => dump(o, { noRefs: true, lineWidth: -1, sortKeys: true });

/** The unified diff of two normalised slots, or "" when they are the same. */
export function slotDiff(c: SlotComparison): string {
  return unifiedDiff(`${c.from.deployment} (${c.slotLabel}=${c.from.slot}, live)`, `${c.to.deployment} (${c.slotLabel}=${c.to.slot}, idle)`, c.from.normalized, c.to.normalized);
}

/** The unified diff of two normalised objects as YAML, under the two headers, or "" when they are the same. */
export function unifiedDiff(fromHeader: string, toHeader: string, from: unknown, to: unknown): string {
  const a = yaml(from);
  const b = yaml(to);
  if (a === b) return "";
  const patch = createTwoFilesPatch(fromHeader, toHeader, a, b, undefined, undefined, { context: 3 });
  // Drop the "=====" banner line; keep the ---/+++ headers and hunks.
  return patch
    .split("\n")
    .filter((l) => !/^=+$/.test(l))
    .join("\n");
}

function colorize(patch: string): string {
  return patch
    .split("\n")
    .map((l) =>
      l.startsWith("+++") || l.startsWith("---")
        ? paint(true, "bold", l)
        : l.startsWith("+")
          ? paint(true, "green", l)
          : l.startsWith("-")
            ? paint(true, "red", l)
            : l.startsWith("@@")
              ? paint(true, "cyan", l)
              : l,
    )
    .join("\n");
}

/**
 * Everything diff prints: the unified diff, the image summary, and the Service change promote would apply.
 * Text from the cluster is escaped line by line before our colours go on.
 */
export function renderComparison(c: SlotComparison, color: boolean): { text: string; differs: boolean } {
  const patch = slotDiff(c);
  const safe = patch.split("\n").map(esc).join("\n");
  const out: string[] = [];
  if (patch) out.push(color ? colorize(safe) : safe);
  else out.push(`${esc(`No differences between ${c.from.deployment} and ${c.to.deployment} (apart from the slot label).`)}\n`);
  const images = c.images.length
    ? c.images.map((i) => `${i.container}: ${i.from ?? "(none)"} → ${i.to ?? "(none)"}`).join(", ")
    : "no image changes";
  out.push(`Images: ${esc(images)}`);
  for (const s of c.services) {
    out.push(esc(s.service.startsWith("service/") ? `Service ${s.service.slice("service/".length)} (${s.role}): selector ${c.slotLabel}: ${s.from} → ${s.to}` : `${s.service} (${s.role}): ${c.slotLabel} ${s.from} → ${s.to}`));
  }
  return { text: `${out.join("\n")}\n`, differs: patch !== "" };
}
