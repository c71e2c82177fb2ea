// The command line's values, checked and typed: one builder per command turns what src/cli/app.ts read
// (src/cli/app.ts) into that command's Invocation, or throws a UsageError (exit 2). Nothing here loads
// a command's implementation, so --help and version stay light.
import { UsageError } from "../errors.js";
import type { RouterKindName } from "../bluegreen/routers/types.js";
import { SELECTION_FLAGS, flagWords, repeated, spellings } from "./flags.js";
import type { Invocation } from "./index.js";
import { type GlobalOptions, OUTPUT_FORMATS, type OutputFormat } from "./options.js";
import { type Checks, type Probe, parseProbe } from "../bluegreen/checks.js";
import type { EnvChange, ImageChange } from "../bluegreen/deploy.js";
import { labelKeyErrors, labelValueErrors } from "../bluegreen/names.js";
import { parseDuration } from "./duration.js";
import { MAX_STEP_PAUSE_MS, stepsProblem } from "../bluegreen/steps.js";
import { type GroupSpec, MAX_GROUP_APPS, MAX_GROUP_CONTEXTS } from "../bluegreen/group.js";
import { type PrometheusSource, parsePrometheusService, unknownPlaceholders } from "../bluegreen/analysis.js";
import { checkAppName, checkLabelKey, checkNamespace, checkNotEmpty, checkSelector, checkSlotValue } from "./validate.js";

/** What src/cli/app.ts read, by flag name (no dashes); `_` holds the command and any word after `--`. */
export type RawArgs = Record<string, unknown>;

/** --contexts A (one context) is --context A. */
const withContext = (g: GlobalOptions, context: string | undefined): GlobalOptions => (context === undefined ? g : { ...g, kube: { ...g.kube, context } });

function globalOptions(a: RawArgs, app?: string): GlobalOptions {
  const output = String(a.output ?? "table");
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) {
    throw new UsageError(`unknown output format "${output}": use one of ${OUTPUT_FORMATS.join(", ")}.`);
  }
  const str = (k: string) => (a[k] === undefined ? undefined : String(a[k]));
  const requestTimeoutMs = a["request-timeout"] !== undefined ? parseDuration("request-timeout", a["request-timeout"] as string) : undefined;
  if (app !== undefined && a.selector !== undefined) {
    throw new UsageError("give either APP or -l/--selector, not both.");
  }
  // Names are checked before any request: they go into URLs and label selectors verbatim.
  // A flag given empty is refused rather than read as "not given": `-n "$NS"` with NS unset must
  // not act on the context's namespace.
  if (app !== undefined) checkAppName(app);
  if (a.namespace !== undefined) checkNamespace(String(a.namespace));
  for (const k of ["kubeconfig", "context"]) if (a[k] !== undefined) checkNotEmpty(k, String(a[k]));
  for (const k of ["app-label", "slot-label"]) if (a[k] !== undefined) checkLabelKey(k, String(a[k]));
  if (a.selector !== undefined) checkSelector(String(a.selector));
  const router = str("router");
  if (router !== undefined && !ROUTER_NAMES.includes(router as RouterKindName)) {
    throw new UsageError(`unknown --router "${router}": use one of ${ROUTER_NAMES.join(", ")}.`);
  }
  return {
    kube: { kubeconfig: str("kubeconfig"), context: str("context"), cluster: str("cluster"), user: str("user"), namespace: str("namespace"), requestTimeoutMs },
    output: output as OutputFormat,
    // -v, -vv, -v=6, --v=6: any level turns tracing on (-v is counted).
    verbose: Number(a.v ?? 0) > 0,
    noHeaders: Boolean(a["no-headers"]),
    selection: {
      app,
      appLabel: str("app-label") ?? "app",
      selector: str("selector"),
      slotLabel: str("slot-label"),
      ...(router !== undefined ? { router: router as RouterKindName } : {}),
      allNamespaces: Boolean(a["all-namespaces"]),
    },
  };
}

const ROUTER_NAMES: RouterKindName[] = ["service", "httproute", "grpcroute", "ingress"];

function dryRun(a: RawArgs): "client" | "server" | undefined {
  const v = a["dry-run"];
  if (v === undefined || v === false || v === "none") return undefined;
  if (v === true || v === "" || v === "client") return "client";
  if (v === "server") return "server";
  throw new UsageError(`invalid --dry-run value "${String(v)}": use client or server.`);
}

function appArg(a: RawArgs, required: boolean): string | undefined {
  const app = a.app === undefined ? undefined : String(a.app);
  if (required && app === undefined && a.selector === undefined) throw new UsageError("missing APP: name the app, or select it with -l.");
  return app;
}

function positiveInt(a: RawArgs, k: string): number | undefined {
  if (a[k] === undefined) return undefined;
  const text = String(a[k]);
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${k} needs a whole number of at least 1, not "${text}".`);
  return n;
}

function nonNegativeInt(a: RawArgs, k: string): number | undefined {
  if (a[k] === undefined) return undefined;
  const text = String(a[k]);
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n > 10_000) throw new UsageError(`--${k} needs a whole number from 0 to 10000, not "${text}".`);
  return n;
}

/** The checks flags of promote and abort. */
function checks(a: RawArgs, argv: string[]): Checks {
  const probes: Probe[] = repeated(argv, "--probe").map((text) => {
    const p = parseProbe(text);
    if (typeof p === "string") throw new UsageError(`invalid --probe: ${p}.`);
    return p;
  });
  for (const k of ["pre-check", "post-check"]) if (a[k] !== undefined) checkNotEmpty(k, String(a[k]));
  return {
    probes,
    probeTimeoutMs: parseDuration("probe-timeout", a["probe-timeout"] as string),
    preCheck: a["pre-check"] === undefined ? undefined : String(a["pre-check"]),
    postCheck: a["post-check"] === undefined ? undefined : String(a["post-check"]),
    checkTimeoutMs: parseDuration("check-timeout", a["check-timeout"] as string),
  };
}

function imageChanges(argv: string[]): ImageChange[] {
  return repeated(argv, "--image").map((text) => {
    const eq = text.indexOf("=");
    const container = eq >= 0 ? text.slice(0, eq) : undefined;
    const image = eq >= 0 ? text.slice(eq + 1) : text;
    if (container !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(container)) throw new UsageError(`invalid --image "${text}": "${container}" is not a container name.`);
    // An image reference: no spaces or control characters, not empty (the API server checks the rest).
    if (!image || image.length > 1024 || [...image].some((c) => c.trim() === "" || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) throw new UsageError(`invalid --image "${text}": write [CONTAINER=]IMAGE, for example web=registry.example/web:v2.`);
    return { container, image };
  });
}

/** --env [CONTAINER:]NAME=VALUE: a container name and a variable name hold no ":", so the first one splits them. */
function envChanges(argv: string[]): EnvChange[] {
  return repeated(argv, "--env").map((text) => {
    const eq = text.indexOf("=");
    const left = eq > 0 ? text.slice(0, eq) : "";
    const colon = left.indexOf(":");
    const container = colon >= 0 ? left.slice(0, colon) : undefined;
    const name = left.slice(colon + 1);
    if (container !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(container)) throw new UsageError(`invalid --env "${text}": "${container}" is not a container name.`);
    // Kubernetes' rule for environment variable names (C identifiers and more, no "=").
    if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name)) throw new UsageError(`invalid --env "${text}": write [CONTAINER:]NAME=VALUE with a name of letters, digits, _, - and . that does not start with a digit.`);
    return { container, name, value: text.slice(eq + 1) };
  });
}

/** --set-label KEY=VALUE: a label key and a label value, by Kubernetes' rules. */
function labelChanges(argv: string[]): { key: string; value: string }[] {
  return repeated(argv, "--set-label").map((text) => {
    const eq = text.indexOf("=");
    const key = eq >= 0 ? text.slice(0, eq) : "";
    const value = text.slice(eq + 1);
    const errs = eq < 0 ? ["write KEY=VALUE"] : key === "" ? ["the key is empty"] : [...labelKeyErrors(key).map((e) => `key: ${e}`), ...labelValueErrors(value).map((e) => `value: ${e}`)];
    if (errs.length) throw new UsageError(`invalid --set-label "${text}": ${errs.join("; ")}.`, "Write KEY=VALUE, for example --set-label team=payments.");
    return { key, value };
  });
}

/** Words after `--` (left in `_`). */
function noExtraArgs(a: RawArgs): void {
  const extra = (a._ as unknown[]).slice(1);
  if (extra.length) throw new UsageError(`unexpected argument "${String(extra[0])}".`);
}

/**
 * The apps a command line names (APP APP…), read from the command line before any `--`, each checked.
 */
function namedApps(argv: string[], command: string): string[] {
  const end = argv.indexOf("--");
  if (end >= 0 && argv[end + 1] !== undefined) throw new UsageError(`unexpected argument "${argv[end + 1]}".`);
  const { words, isValue } = flagWords(argv);
  const positionals = words.filter((w, i) => !isValue[i] && !w.startsWith("-"));
  const apps = positionals.slice(positionals.indexOf(command) + 1);
  for (const app of apps) checkAppName(app);
  const twice = apps.find((x, i) => apps.indexOf(x) !== i);
  if (twice !== undefined) throw new UsageError(`app "${twice}" is named twice.`);
  if (apps.length > MAX_GROUP_APPS) throw new UsageError(`${apps.length} apps named: a ${command} of several apps takes at most ${MAX_GROUP_APPS}.`);
  return apps;
}

/** Several apps for status or diff (APP APP…): never with -l. */
function severalApps(a: RawArgs, argv: string[], command: string): string[] | undefined {
  const apps = namedApps(argv, command);
  if (apps.length < 2) return undefined;
  if (a.selector !== undefined) throw new UsageError("give either APP or -l/--selector, not both.");
  return apps;
}

/** status [APP…]: all apps when APP and -l are left out. */
export function statusInvocation(a: RawArgs, argv: string[]): Invocation {
  noExtraArgs(a);
  const apps = severalApps(a, argv, "status");
  const { contexts, context } = readContexts(argv, "status");
  if (contexts && a.watch) throw new UsageError("--watch follows one context: run one status --watch per context.");
  const global = withContext(globalOptions(a, apps ? undefined : appArg(a, false)), context);
  return { command: "status", global: apps ? { ...global, selection: { ...global.selection, apps } } : global, watch: Boolean(a.watch), ...(contexts ? { contexts } : {}) };
}

/** --context A --context B…, --contexts A,B: the kubeconfig contexts named, each once. */
function contextsOf(argv: string[], command: string): string[] {
  const contexts = [...repeated(argv, "--context"), ...repeated(argv, "--contexts").flatMap((v) => v.split(","))];
  for (const c of contexts) checkNotEmpty("context", c);
  const again = contexts.find((x, i) => contexts.indexOf(x) !== i);
  if (again !== undefined) throw new UsageError(`context "${again}" is named twice.`);
  if (contexts.length > MAX_GROUP_CONTEXTS) throw new UsageError(`${contexts.length} contexts named: a ${command} takes at most ${MAX_GROUP_CONTEXTS}.`);
  return contexts;
}

/**
 * status and diff in several contexts (--context A --context B, --contexts A,B): each context read on its own and
 * shown together; one context is --context A.
 */
function readContexts(argv: string[], command: "status" | "diff"): { contexts?: string[]; context?: string } {
  const contexts = contextsOf(argv, command);
  return contexts.length > 1 ? { contexts } : { context: contexts[0] };
}

/**
 * promote and abort take several apps (APP APP…, or --all -l SELECTOR) and several kubeconfig contexts (--context A
 * --context B…, --contexts A,B): released together, all or none, or one context after another (--waves). The flags
 * that act on one app over time (weighted steps, a preview rule, a later scale-down, waiting for a rollout) are
 * refused with them.
 */
function groupSpec(a: RawArgs, argv: string[], command: "promote" | "abort", oneAppFlags: string[]): { group?: GroupSpec; context?: string } {
  const apps = namedApps(argv, command);
  const all = Boolean(a.all);
  if (all && apps.length) throw new UsageError("give either APP or --all -l SELECTOR, not both.");
  if (all && a.selector === undefined) throw new UsageError(`--all needs -l SELECTOR: it ${command}s every app with a Deployment the selector matches.`);
  const contexts = contextsOf(argv, command);
  const fleet = contexts.length > 1;
  const waveFlag = ["waves", "wave-pause"].find((k) => a[k] !== undefined && a[k] !== false) ?? (argv.some((w) => w === "--rollback" || w.startsWith("--rollback=")) ? "rollback" : undefined);
  if (waveFlag && !fleet) throw new UsageError(`--${waveFlag} needs two or more contexts (--context A --context B, or --contexts A,B).`);
  if (!a.waves && waveFlag && waveFlag !== "waves") throw new UsageError(`--${waveFlag} works with --waves.`);
  const rollback = String(a.rollback ?? "failed");
  if (rollback !== "failed" && rollback !== "all") throw new UsageError(`invalid --rollback "${rollback}": use failed or all.`);
  const context = contexts.length === 1 ? contexts[0] : undefined;
  if (apps.length < 2 && !all && !fleet) return { context };
  // -l alone selects one app (the Deployments it matches); with several apps or contexts, --all -l says which.
  if (!all && a.selector !== undefined) throw new UsageError(apps.length ? "give either APP or -l/--selector, not both." : `with several contexts, name the apps, or ${command} every app -l selects with --all -l SELECTOR.`);
  if (!all && !apps.length) throw new UsageError("missing APP: name the app, or select apps with --all -l.");
  const flag = oneAppFlags.find((k) => a[k] !== undefined && a[k] !== false);
  if (flag) throw new UsageError(`--${flag} works on one app in one context at a time: ${command} them one by one to use it.`);
  return {
    context,
    group: {
      ...(all ? { all } : { apps: apps.length ? apps : undefined }),
      ...(fleet ? { contexts } : {}),
      ...(a.waves ? { waves: { pauseMs: a["wave-pause"] === undefined ? 0 : parseDuration("wave-pause", String(a["wave-pause"])), rollback: rollback as "failed" | "all" } } : {}),
    },
  };
}

/** promote APP [APP…]; argv is the whole command line, for the repeatable --probe. */
export function promoteInvocation(a: RawArgs, argv: string[]): Invocation {
  noExtraArgs(a);
  const { group, context } = groupSpec(a, argv, "promote", ["steps", "step-pause", "preview-header", "scale-down-after", "wait"]);
  if (a.to !== undefined) checkSlotValue("to", String(a.to));
  return {
    command: "promote",
    ...(group ? { group } : {}),
    global: withContext(globalOptions(a, group ? undefined : appArg(a, true)), context),
    flags: {
      to: a.to === undefined ? undefined : String(a.to),
      minReady: positiveInt(a, "min-ready"),
      wait: Boolean(a.wait),
      timeoutMs: parseDuration("timeout", a.timeout as string),
      verifyTimeoutMs: parseDuration("verify-timeout", a["verify-timeout"] as string),
      propagationDelayMs: parseDuration("propagation-delay", a["propagation-delay"] as string),
      dryRun: dryRun(a),
      checks: { ...checks(a, argv), ...analysisFlags(a, argv) },
      scaleUp: Boolean(a["scale-up"]),
      scaleDownAfterMs: a["scale-down-after"] === undefined ? undefined : parseDuration("scale-down-after", a["scale-down-after"] as string),
      ...canaryFlags(a),
      previewHeader: previewHeader(a),
    },
  };
}

/** --preview-header NAME=VALUE: an HTTP header name (a token) and a value of visible characters. */
function previewHeader(a: RawArgs): { name: string; value: string } | undefined {
  if (a["preview-header"] === undefined) return undefined;
  const text = String(a["preview-header"]);
  const eq = text.indexOf("=");
  const name = eq > 0 ? text.slice(0, eq) : "";
  const value = eq > 0 ? text.slice(eq + 1) : "";
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/.test(name) || !/^[\x21-\x7e]([\x20-\x7e]{0,4094}[\x21-\x7e])?$/.test(value)) {
    throw new UsageError(`invalid --preview-header "${text}": write NAME=VALUE with an HTTP header name and a value, for example --preview-header x-canary=always.`);
  }
  return { name: name.toLowerCase(), value };
}

/** --analysis (repeatable) and where and how often it asks Prometheus. */
function analysisFlags(a: RawArgs, argv: string[]): Pick<Checks, "analysis"> {
  const queries = repeated(argv, "--analysis");
  const url = a.prometheus === undefined ? undefined : String(a.prometheus);
  const service = a["prometheus-service"] === undefined ? undefined : String(a["prometheus-service"]);
  const hint = "Give the queries with --analysis and one of --prometheus URL or --prometheus-service NAMESPACE/NAME:PORT.";
  if (!queries.length) {
    if (url !== undefined || service !== undefined) throw new UsageError(`--${url !== undefined ? "prometheus" : "prometheus-service"} is given, but no --analysis query to ask.`, hint);
    return {};
  }
  if (url !== undefined && service !== undefined) throw new UsageError("--prometheus and --prometheus-service are both given; the analysis asks one Prometheus.", hint);
  if (url === undefined && service === undefined) throw new UsageError("--analysis needs a Prometheus to ask: --prometheus URL or --prometheus-service NAMESPACE/NAME:PORT.", hint);
  for (const q of queries) {
    checkNotEmpty("analysis", q);
    const unknown = unknownPlaceholders(q);
    if (unknown.length) throw new UsageError(`invalid --analysis ${JSON.stringify(q)}: {{${unknown[0]}}} is not a placeholder; the placeholders are {{new}}, {{old}}, {{app}} and {{namespace}}.`);
  }
  let source: PrometheusSource;
  if (url !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(url);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== "http:" && u.protocol !== "https:")) throw new UsageError(`invalid --prometheus "${url}": give an http:// or https:// URL, for example http://prometheus.monitoring:9090.`);
    source = { kind: "url", url };
  } else {
    const s = parsePrometheusService(service ?? "");
    if (typeof s === "string") throw new UsageError(`invalid --prometheus-service "${service}": ${s}.`);
    source = s;
  }
  const passes = positiveInt(a, "analysis-passes") ?? 3;
  const intervalMs = parseDuration("analysis-interval", a["analysis-interval"] as string);
  if (intervalMs < 100) throw new UsageError(`invalid duration for --analysis-interval: "${String(a["analysis-interval"])}" is shorter than 100ms.`);
  return { analysis: { queries, source, intervalMs, passes } };
}

/** --steps and --step-pause: a promote in weighted steps. */
function canaryFlags(a: RawArgs): { canary?: { steps?: number[]; pause?: number | "manual" } } {
  const text = a.steps === undefined ? undefined : String(a.steps);
  const pauseText = a["step-pause"] === undefined ? undefined : String(a["step-pause"]);
  if (text === undefined && pauseText === undefined) return {};
  let steps: number[] | undefined;
  if (text !== undefined) {
    const parts = text.split(",").map((x) => x.trim());
    const numbers = parts.map((x) => (/^\d+$/.test(x) ? Number(x) : Number.NaN));
    const bad = parts.find((_, i) => Number.isNaN(numbers[i]));
    const why = bad !== undefined ? `"${bad}" is not a whole percentage` : stepsProblem(numbers);
    if (why) throw new UsageError(`invalid --steps "${text}": ${why}.`, "Give increasing percentages to the new slot, ending with 100, for example --steps 10,50,100.");
    steps = numbers;
  }
  let pause: number | "manual" | undefined;
  if (pauseText === "manual") pause = "manual";
  else if (pauseText !== undefined) {
    pause = parseDuration("step-pause", pauseText);
    if (pause > MAX_STEP_PAUSE_MS) throw new UsageError(`invalid duration for --step-pause: "${pauseText}" is longer than the maximum, 24h.`);
  }
  return { canary: { ...(steps ? { steps } : {}), ...(pause !== undefined ? { pause } : {}) } };
}

/** abort APP [APP…]; argv is the whole command line, for the repeatable --probe. */
export function abortInvocation(a: RawArgs, argv: string[]): Invocation {
  noExtraArgs(a);
  const { group, context } = groupSpec(a, argv, "abort", ["scale-down"]);
  return {
    command: "abort",
    ...(group ? { group } : {}),
    global: withContext(globalOptions(a, group ? undefined : appArg(a, true)), context),
    flags: {
      scaleDown: Boolean(a["scale-down"]),
      scaleDownDelayMs: parseDuration("scale-down-delay", a["scale-down-delay"] as string),
      timeoutMs: parseDuration("timeout", a.timeout as string),
      verifyTimeoutMs: parseDuration("verify-timeout", a["verify-timeout"] as string),
      propagationDelayMs: parseDuration("propagation-delay", a["propagation-delay"] as string),
      dryRun: dryRun(a),
      checks: checks(a, argv),
    },
  };
}

/** deploy APP; argv is the whole command line, for the repeatable --image and --env. */
export function deployInvocation(a: RawArgs, argv: string[]): Invocation {
  noExtraArgs(a);
  const from = String(a.from);
  if (from !== "live" && from !== "idle") throw new UsageError(`invalid --from "${from}": use live or idle.`);
  const images = imageChanges(argv);
  const env = envChanges(argv);
  const labels = labelChanges(argv);
  if (images.length === 0 && env.length === 0 && labels.length === 0) throw new UsageError("missing --image: say what to deploy, for example --image registry.example/myapp:v2.");
  if (a.wait && a["no-wait"]) throw new UsageError("give either --wait or --no-wait, not both.");
  return {
    command: "deploy",
    global: globalOptions(a, appArg(a, true)),
    flags: {
      images,
      env,
      labels,
      from,
      replicas: nonNegativeInt(a, "replicas"),
      previewHeader: previewHeader(a),
      wait: !a["no-wait"],
      timeoutMs: parseDuration("timeout", a.timeout as string),
      dryRun: dryRun(a),
    },
  };
}

/** scale-down APP. */
export function scaleDownInvocation(a: RawArgs): Invocation {
  noExtraArgs(a);
  return { command: "scale-down", global: globalOptions(a, appArg(a, true)), flags: { delayMs: parseDuration("delay", a.delay as string), dryRun: dryRun(a) } };
}

/** diff APP [APP…]. */
export function diffInvocation(a: RawArgs, argv: string[]): Invocation {
  noExtraArgs(a);
  const apps = severalApps(a, argv, "diff");
  const { contexts, context } = readContexts(argv, "diff");
  return { command: "diff", global: withContext(globalOptions(a, apps ? undefined : appArg(a, true)), context), ...(apps ? { apps } : {}), ...(contexts ? { contexts } : {}) };
}

/** version and completion select no app: an app-selection flag is refused as unknown (see LOCAL_COMMANDS). */
function noAppSelection(argv: string[]): void {
  const selection = new Set(Object.entries(SELECTION_FLAGS).flatMap(([name, spec]) => spellings(name, spec)));
  const { words, isValue } = flagWords(argv);
  const flag = words.map((w) => w.split("=", 1)[0] ?? w).find((w, i) => !isValue[i] && selection.has(w));
  if (flag !== undefined) throw new UsageError(`unknown flag: ${flag}.`);
}

/** version: takes kubectl's cluster flags and checks them, but uses only -o (and -v). */
export function versionInvocation(a: RawArgs, argv: string[]): Invocation {
  noExtraArgs(a);
  noAppSelection(argv);
  const global = globalOptions(a);
  return { command: "version", output: global.output, client: Boolean(a.client), global };
}

/** completion SHELL. */
export function completionInvocation(a: RawArgs, argv: string[]): Invocation {
  noExtraArgs(a);
  noAppSelection(argv);
  const shell = a.shell === undefined ? undefined : String(a.shell);
  if (shell !== "bash" && shell !== "zsh" && shell !== "fish") {
    throw new UsageError(shell === undefined ? "missing SHELL: use bash, zsh or fish." : `unknown shell "${shell}": use bash, zsh or fish.`);
  }
  return { command: "completion", shell };
}

/** __complete WORDS…: the half-typed command line, word for word. */
export function completeInvocation(a: RawArgs): Invocation {
  return { command: "__complete", words: (a._ as unknown[]).slice(1).map(String) };
}
