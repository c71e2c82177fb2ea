// Metric analysis around a switch (promote --analysis): instant queries to Prometheus, at its URL or through the
// API server's service proxy. Before any write each query must be answerable; after each step (and the switch)
// every query must hold in --analysis-passes consecutive rounds, --analysis-interval apart.
import type { Context } from "../context.js";
import { type Analysis, type Judgement, THRESHOLD, judge, sourceText } from "../bluegreen/analysis.js";
import type { Step } from "../bluegreen/plan.js";
import { ForbiddenError } from "../errors.js";
import type { KubeClient } from "../kube/types.js";
import { formatDuration } from "../render/time.js";
import { progress } from "./progress.js";
import { message, proven } from "./write.js";

/** How long one query may take. */
const QUERY_TIMEOUT_MS = 10_000;
/** Rounds in a row that could not be evaluated (Prometheus unreachable, 5xx) before the analysis fails. */
const MAX_ERROR_ROUNDS = 3;

/** One instant query; an answer that is no judgement (unreachable, not JSON) is an error judgement. Throws on 401/403 from the API server. */
async function evaluate(kube: KubeClient, a: Analysis, query: string): Promise<Judgement> {
  const s = a.source;
  try {
    if (s.kind === "service") {
      const answer = await kube.proxyGet(s.namespace, { kind: "service", name: s.name, port: s.port, path: "/api/v1/query", query: { query } }, QUERY_TIMEOUT_MS);
      if (answer.status === 401 || answer.status === 403) {
        throw new ForbiddenError(`cannot query Prometheus through service/${s.name} in namespace ${s.namespace}: ${answer.message}`, "The analysis needs get on services/proxy in that namespace.");
      }
      return parsed(answer.body ?? "", answer.status);
    }
    const url = new URL(`${s.url.replace(/\/$/, "")}/api/v1/query`);
    url.searchParams.set("query", query);
    const r = await fetch(url, { signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) });
    return parsed(await r.text(), r.status);
  } catch (e) {
    if (e instanceof ForbiddenError || proven(e)) throw e;
    return { kind: "error", why: `no answer from ${sourceText(s)} (${message((e as { cause?: unknown }).cause ?? e)})` };
  }
}

function parsed(text: string, status: number): Judgement {
  try {
    return judge(JSON.parse(text));
  } catch {
    return { kind: "error", why: `Prometheus answered ${status} with no JSON (${text.split("\n")[0]?.slice(0, 200) ?? ""})` };
  }
}

const quoted = (q: { given: string; sent: string }) => (q.given === q.sent ? JSON.stringify(q.given) : `${JSON.stringify(q.given)} (sent as ${JSON.stringify(q.sent)})`);

/**
 * Runs an analysis step: before the switch, every query must be answerable (its value does not count: the new slot
 * has no traffic yet); after it, every query must hold in `passes` consecutive rounds. Returns why it failed,
 * "interrupted", or undefined.
 */
export async function runAnalysis(ctx: Context, kube: KubeClient, step: Extract<Step, { kind: "analysis" }>): Promise<string | undefined> {
  const a = step.analysis;
  if (step.when === "before") {
    for (const q of a.queries) {
      const j = await evaluate(kube, a, q.sent);
      if (j.kind === "error") return `query ${quoted(q)}: ${j.why}`;
    }
    ctx.io.err(`analysis: ${a.queries.length} ${a.queries.length === 1 ? "query answers" : "queries answer"} from ${sourceText(a.source)}\n`);
    return undefined;
  }
  const p = progress(ctx);
  const tty = ctx.io.errIsTTY;
  let passes = 0;
  let errors = 0;
  try {
    for (;;) {
      // The first round one interval after the step: the new slot's requests need time to show in the metrics.
      const due = ctx.clock.now().getTime() + a.intervalMs;
      for (;;) {
        if (ctx.signal.aborted) return "interrupted";
        const leftMs = due - ctx.clock.now().getTime();
        if (leftMs <= 0) break;
        p.update(`analysis: ${passes} of ${a.passes} passes; next round ${tty ? `in ${formatDuration(Math.ceil(leftMs / 1000) * 1000)}` : `after ${formatDuration(a.intervalMs)}`} (Ctrl-C switches back)`);
        await ctx.clock.sleep(tty ? Math.min(leftMs, 1000) : leftMs, ctx.signal);
      }
      let error = "";
      const values: string[] = [];
      for (const q of a.queries) {
        const j = await evaluate(kube, a, q.sent);
        if (j.kind === "fail") return `query ${quoted(q)}: ${j.why}; it must return ${THRESHOLD}`;
        if (j.kind === "error") error ||= `query ${quoted(q)}: ${j.why}`;
        else values.push(j.value);
      }
      if (error) {
        errors++;
        passes = 0;
        if (errors >= MAX_ERROR_ROUNDS) return `${error} (${errors} rounds in a row)`;
        continue;
      }
      errors = 0;
      passes++;
      if (passes >= a.passes) {
        p.done();
        ctx.io.err(`analysis passed ${passes} of ${a.passes} rounds: ${values.join("; ")}\n`);
        return undefined;
      }
    }
  } finally {
    p.done();
  }
}
