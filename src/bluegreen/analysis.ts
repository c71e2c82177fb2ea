// Metric analysis (promote --analysis): Prometheus expressions that must hold at each step and after the switch.
// Pure: the placeholders a query may use, and the judgement of Prometheus' answer to an instant query.

/** Where Prometheus answers: a URL the plugin reaches itself, or a Service reached through the API server's proxy. */
export type PrometheusSource = { kind: "url"; url: string } | { kind: "service"; namespace: string; name: string; port: string };

/** The analysis of a promote: its queries (placeholders filled in), where they go, how often, how many passes. */
export interface Analysis {
  /** Each query as given, and as sent (placeholders filled in). */
  queries: { given: string; sent: string }[];
  source: PrometheusSource;
  intervalMs: number;
  /** Consecutive rounds in which every query holds, needed after each step. */
  passes: number;
}

/** The placeholders a query may hold, and what each stands for. */
export const PLACEHOLDERS = {
  new: "the new slot's Service (a route's slot Service), else the new slot's value",
  old: "the old slot's Service, else the old slot's value",
  app: "the app's name",
  namespace: "the app's namespace",
} as const;

export type Placeholder = keyof typeof PLACEHOLDERS;

/** The placeholders in a query that are not ours ({{x}} with x unknown). */
export function unknownPlaceholders(query: string): string[] {
  return [...query.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].map((m) => m[1] ?? "").filter((p) => !(p in PLACEHOLDERS));
}

/** The query with its placeholders filled in. */
export function expandQuery(query: string, values: Record<Placeholder, string>): string {
  return query.replace(/\{\{\s*(new|old|app|namespace)\s*\}\}/g, (_, p: Placeholder) => values[p]);
}

/** How a query's answer stands: it holds (with its value for people), it does not (why), or it is no answer. */
export type Judgement = { kind: "pass"; value: string } | { kind: "fail"; why: string } | { kind: "error"; why: string };

/** "12 (for {service="shop-web-green-http-80@kubernetesgateway"})": one sample, for people. */
function sampleText(metric: Record<string, string> | undefined, value: string): string {
  const labels = Object.entries(metric ?? {})
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(", ");
  return labels ? `${value} for {${labels}}` : value;
}

const isTrue = (v: string): boolean => {
  const n = Number(v);
  return !Number.isNaN(n) && n !== 0;
};

/**
 * Judges Prometheus' answer (the JSON body of /api/v1/query) to one query: it holds when the result is a non-empty
 * vector whose every value is non-zero (and not NaN), or a non-zero scalar. An empty vector does not hold: a
 * comparison such as `… < 0.01` drops the series that fail it.
 */
export function judge(body: unknown): Judgement {
  const b = body as { status?: string; error?: string; errorType?: string; data?: { resultType?: string; result?: unknown } } | undefined;
  if (!b || typeof b !== "object") return { kind: "error", why: "Prometheus' answer is not JSON" };
  if (b.status !== "success") return { kind: "error", why: `Prometheus answered ${b.errorType ?? "an error"}: ${b.error ?? "no reason given"}` };
  const type = b.data?.resultType;
  const result = b.data?.result;
  if (type === "scalar" && Array.isArray(result)) {
    const v = String(result[1]);
    return isTrue(v) ? { kind: "pass", value: v } : { kind: "fail", why: `it returned ${v}` };
  }
  if (type !== "vector" || !Array.isArray(result)) return { kind: "error", why: `it returned a ${type ?? "result of no type"}, not an instant vector or a scalar` };
  const samples = result as { metric?: Record<string, string>; value?: [number, string] }[];
  if (samples.length === 0) return { kind: "fail", why: "it returned no series" };
  const zero = samples.find((s) => !isTrue(String(s.value?.[1])));
  if (zero) return { kind: "fail", why: `it returned ${sampleText(zero.metric, String(zero.value?.[1]))}` };
  return { kind: "pass", value: samples.map((s) => sampleText(s.metric, String(s.value?.[1]))).join("; ") };
}

/** What holds means, for messages. */
export const THRESHOLD = "a non-empty result with every value non-zero";

/** "NAMESPACE/NAME:PORT" → the Service, or why not. */
export function parsePrometheusService(text: string): PrometheusSource | string {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?):([0-9]{1,5}|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(text);
  if (!m) return "write NAMESPACE/NAME:PORT, for example monitoring/prometheus:9090";
  return { kind: "service", namespace: m[1] ?? "", name: m[3] ?? "", port: m[5] ?? "" };
}

/** Where the queries go, for people. */
export const sourceText = (s: PrometheusSource): string => (s.kind === "url" ? s.url : `service/${s.name}:${s.port} in namespace ${s.namespace} (through the API server's proxy)`);
