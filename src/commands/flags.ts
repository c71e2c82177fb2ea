// Every flag of every command, once: src/cli/app.ts reads the command line and writes the help with them (and finds the command word with
// them), arguments.ts reads the repeatable ones, and completion offers them. A flag's meaning lives with its
// command (its flags type beside it).

/** One flag; `values` are what completion offers after it. */
export interface FlagSpec {
  type: "string" | "boolean" | "count";
  alias?: string;
  default?: string;
  describe: string;
  values?: readonly string[];
  /** The value a string flag takes when given without one (last, or before another flag): pflag's NoOptDefVal. */
  bare?: string;
}

export type Flags = Readonly<Record<string, FlagSpec>>;

/** The commands, in the order help and errors list them. */
export const COMMANDS = ["status", "promote", "abort", "deploy", "scale-down", "diff", "version", "completion"] as const;
export type CommandName = (typeof COMMANDS)[number];

/** Where and as whom: kubectl's flags. */
export const CLUSTER_FLAGS: Flags = {
  kubeconfig: { type: "string", describe: "Path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)" },
  context: { type: "string", describe: "The kubeconfig context to use (promote, abort, status and diff: repeatable, each context in turn)" },
  cluster: { type: "string", describe: "The kubeconfig cluster to use (default: the context's)" },
  user: { type: "string", describe: "The kubeconfig user to use (default: the context's)" },
  namespace: { alias: "n", type: "string", describe: "Namespace (default: the context's namespace)" },
  "request-timeout": { type: "string", describe: 'How long to wait for one API request ("30s", "1m"; 0 = no limit)' },
  v: { type: "count", describe: "Verbose: -v traces API requests to stderr" },
};

/** Which app. */
export const SELECTION_FLAGS: Flags = {
  "app-label": { type: "string", describe: "Label key that names the app (default: app)" },
  selector: { alias: "l", type: "string", describe: "Label selector for the app's Deployments, instead of APP" },
  "slot-label": { type: "string", describe: "Pod-template label that tells the two slots apart (default: detected)" },
  router: {
    type: "string",
    describe: "Switch only the app's routers of this kind: service, httproute, grpcroute or ingress (default: every router of the app)",
    values: ["service", "httproute", "grpcroute", "ingress"],
  },
};

const DRY_RUN_PLAN: FlagSpec = {
  type: "string",
  describe: "client: print the plan; server: let the API server validate it. Nothing changes",
  values: ["client", "server"],
  bare: "client",
};
const OUTPUT_DOCUMENT: FlagSpec = { alias: "o", type: "string", describe: "table|json|yaml", values: ["table", "json", "yaml"] };
const PROPAGATION_DELAY: FlagSpec = {
  type: "string",
  default: "2s",
  describe: "Once the endpoints follow (and gateways accept the routes), how long kube-proxy, gateways and load balancers get to apply them before the switch counts as done",
};
const VERIFY_TIMEOUT: FlagSpec = { type: "string", default: "60s", describe: "How long to wait for the Service endpoints to follow (and gateways to accept the routes)" };

/** The checks of promote and abort. */
const CHECK_FLAGS: Flags = {
  probe: {
    type: "string",
    describe: "[PORT]/PATH (repeatable): every ready pod of the target must answer 2xx through the API server's pod proxy before the switch, and each live Service through its proxy after",
  },
  "probe-timeout": { type: "string", default: "10s", describe: "How long one probe may take" },
  "pre-check": { type: "string", describe: "Command run through your shell before the switch; non-zero exit refuses" },
  "post-check": { type: "string", describe: "Command run after the switch is verified; non-zero exit switches back" },
  "check-timeout": { type: "string", default: "2m", describe: "How long --pre-check and --post-check may run" },
};

/** promote and abort of several apps or clusters at once. */
const GROUP_FLAGS: Flags = {
  all: { type: "boolean", describe: "Every app in the namespace with a Deployment that -l selects, all or none" },
  contexts: { type: "string", describe: "A,B: the same release in each kubeconfig context (or --context A --context B), all or none" },
  waves: { type: "boolean", describe: "With several contexts: one after another, each verified and checked before the next" },
  "wave-pause": { type: "string", describe: "With --waves: how long to wait between two contexts" },
  rollback: { type: "string", default: "failed", describe: "With --waves, when a context fails: go back there only (failed) or everywhere (all)", values: ["failed", "all"] },
};

/** Each command's own flags, in the order its help lists them. */
export const COMMAND_FLAGS: Readonly<Record<CommandName, Flags>> = {
  status: {
    "all-namespaces": { alias: "A", type: "boolean", describe: "Every namespace" },
    output: { alias: "o", type: "string", describe: "table|wide|json|yaml", values: ["table", "wide", "json", "yaml"] },
    "no-headers": { type: "boolean", describe: "Omit table headers" },
    watch: { alias: "w", type: "boolean", describe: "Keep watching and print changes" },
    contexts: { type: "string", describe: "A,B: each kubeconfig context in one table (or --context A --context B)" },
  },
  promote: {
    to: { type: "string", describe: "Target slot value (a no-op if it is already live)" },
    "min-ready": { type: "string", describe: "Available replicas needed (default: as many as the live slot has)" },
    wait: { type: "boolean", describe: "Wait for the idle slot to become ready, up to --timeout" },
    timeout: { type: "string", default: "5m", describe: "How long --wait waits" },
    "verify-timeout": VERIFY_TIMEOUT,
    "propagation-delay": PROPAGATION_DELAY,
    "scale-up": { type: "boolean", describe: "If the idle slot runs fewer replicas than the live one, scale it up and wait first" },
    "scale-down-after": { type: "string", describe: "Scale the old slot to 0 this long after the switch is verified and checked (abort scales it back)" },
    steps: { type: "string", describe: "Promote in weighted steps on HTTPRoutes/GRPCRoutes: percentages to the new slot, e.g. 10,50,100" },
    "step-pause": { type: "string", describe: "Pause after each step (default 1m), or manual: stop after a step; promote continues" },
    analysis: { type: "string", describe: "PromQL (repeatable) that must return a non-empty, all non-zero result after each step and the switch; {{new}}, {{old}}, {{app}}, {{namespace}} are filled in" },
    prometheus: { type: "string", describe: "URL of the Prometheus --analysis asks" },
    "preview-header": { type: "string", describe: "NAME=VALUE: before any weight moves, requests with this header go to the new slot (removed when the switch is done)" },
    "prometheus-service": { type: "string", describe: "NAMESPACE/NAME:PORT of a Prometheus Service --analysis asks through the API server's proxy" },
    "analysis-interval": { type: "string", default: "10s", describe: "Time between two rounds of --analysis" },
    "analysis-passes": { type: "string", default: "3", describe: "Rounds in a row in which every --analysis query must hold" },
    ...CHECK_FLAGS,
    ...GROUP_FLAGS,
    "dry-run": DRY_RUN_PLAN,
    output: OUTPUT_DOCUMENT,
  },
  abort: {
    "scale-down": { type: "boolean", describe: "Also scale the aborted slot to 0, once no Service selects it" },
    "scale-down-delay": { type: "string", default: "30s", describe: "How long to wait after the switch back before scaling down" },
    timeout: { type: "string", default: "5m", describe: "How long to wait for a scaled-down slot to come back" },
    "verify-timeout": VERIFY_TIMEOUT,
    "propagation-delay": PROPAGATION_DELAY,
    ...CHECK_FLAGS,
    ...GROUP_FLAGS,
    "dry-run": DRY_RUN_PLAN,
    output: OUTPUT_DOCUMENT,
  },
  deploy: {
    image: { type: "string", describe: "[CONTAINER=]IMAGE (repeatable); CONTAINER may be left out when there is one" },
    env: { type: "string", describe: "[CONTAINER:]NAME=VALUE (repeatable); without CONTAINER, on the containers --image changes, else on the only one" },
    "set-label": { type: "string", describe: "KEY=VALUE (repeatable): a pod template label (not the slot label or a selector's)" },
    from: {
      type: "string",
      default: "live",
      describe: "Template to start from: live (the live slot's, so its configuration carries over) or idle (the idle slot's own)",
      values: ["live", "idle"],
    },
    replicas: { type: "string", describe: "Replicas of the idle slot (default: as many as the live slot); fewer for a preview" },
    "preview-header": { type: "string", describe: "NAME=VALUE: on the app's HTTPRoutes, requests with this header go to the idle slot (promote and abort remove it)" },
    wait: { type: "boolean", describe: "Wait for the rollout (the default)" },
    "no-wait": { type: "boolean", describe: "Return once the Deployment is written" },
    timeout: { type: "string", default: "5m", describe: "How long to wait for the rollout" },
    "dry-run": {
      type: "string",
      describe: "client: print the change; server: let the API server validate it. Nothing changes",
      values: ["client", "server"],
      bare: "client",
    },
    output: OUTPUT_DOCUMENT,
  },
  "scale-down": {
    delay: { type: "string", default: "30s", describe: "How long after the last switch to wait before scaling down (proxies and load balancers lag)" },
    "dry-run": DRY_RUN_PLAN,
    output: OUTPUT_DOCUMENT,
  },
  diff: {
    output: { alias: "o", type: "string", describe: "json|yaml (default: a unified diff)", values: ["json", "yaml"] },
    contexts: { type: "string", describe: "A,B: compare in each kubeconfig context in turn (or --context A --context B)" },
  },
  version: {
    client: { type: "boolean", describe: "Accepted for kubectl habit; version never contacts the cluster" },
    output: { alias: "o", type: "string", describe: "json|yaml", values: ["json", "yaml"] },
  },
  completion: {},
};

/**
 * Commands that never reach a cluster: their help and completion list only their own flags. They take
 * kubectl's cluster flags and ignore them (as kubectl's own version and completion do, so an alias that
 * always passes --context still works) and refuse the app-selection flags.
 */
export const LOCAL_COMMANDS: ReadonlySet<CommandName> = new Set(["version", "completion"]);

/** Every spelling of a flag on the command line: --name, and -a for its alias. */
export const spellings = (name: string, spec: FlagSpec): string[] => [name.length === 1 ? `-${name}` : `--${name}`, ...(spec.alias ? [`-${spec.alias}`] : [])];

/** The global flags and every command's, each spelling (--name, -a) with its spec. */
export const FLAG_SPELLINGS: ReadonlyMap<string, FlagSpec> = new Map(
  [CLUSTER_FLAGS, SELECTION_FLAGS, ...Object.values(COMMAND_FLAGS)].flatMap((flags) =>
    Object.entries(flags).flatMap(([name, spec]) => spellings(name, spec).map((s) => [s, spec] as const)),
  ),
);

/** Spellings of the flags that take a value (the next word, unless given as --flag=VALUE). */
export const VALUE_FLAGS: ReadonlySet<string> = new Set([...FLAG_SPELLINGS].filter(([, f]) => f.type === "string").map(([s]) => s));

/** The words before `--`, and where each word is the value of the flag before it. */
export function flagWords(argv: string[]): { words: string[]; isValue: boolean[] } {
  const end = argv.indexOf("--");
  const words = end < 0 ? argv : argv.slice(0, end);
  const isValue = words.map((_, i) => VALUE_FLAGS.has(words[i - 1] ?? ""));
  return { words, isValue };
}

/** Every value a repeatable flag was given, in order (the parser keeps only the last: a flag given twice wins in kubectl). */
export function repeated(argv: string[], flag: string): string[] {
  const { words, isValue } = flagWords(argv);
  const out: string[] = [];
  words.forEach((w, i) => {
    if (isValue[i]) return;
    const value = words[i + 1];
    if (w === flag && value !== undefined) out.push(value);
    else if (w.startsWith(`${flag}=`)) out.push(w.slice(flag.length + 1));
  });
  return out;
}
