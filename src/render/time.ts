/** A duration as kubectl prints ages: 45s, 5m30s, 150m, 5h10m, 36h, 3d4h, 12d. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  return `${d}d`;
}

/** Age of a timestamp at `now`, or "<unknown>". */
export function age(at: string | undefined, now: Date): string {
  if (!at) return "<unknown>";
  const t = Date.parse(at);
  return Number.isNaN(t) ? "<unknown>" : humanDuration(now.getTime() - t);
}

/** Milliseconds as a kubectl-style duration: 500ms, 2s, 1.5s, 1m30s, 2h. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const sec = s === 0 ? "" : `${Number.isInteger(s) ? s : Number(s.toFixed(3))}s`;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${sec}` || "0s";
}
