// The command line as kubectl reads it (spf13/pflag's rules), and the help text: no parser library, the flag
// table of src/commands/flags.ts read directly. src/commands/arguments.ts turns what is read here into each
// command's typed Invocation; every command's work lives in src/commands.
import type { Context } from "../context.js";
import { UsageError } from "../errors.js";
import { type Example, helpFooter, wrap } from "./help.js";
import { splitShortFlags } from "./shorthand.js";
import {
  type RawArgs,
  abortInvocation,
  completeInvocation,
  completionInvocation,
  deployInvocation,
  diffInvocation,
  promoteInvocation,
  scaleDownInvocation,
  statusInvocation,
  versionInvocation,
} from "../commands/arguments.js";
import {
  CLUSTER_FLAGS,
  COMMAND_FLAGS,
  COMMANDS,
  type CommandName,
  FLAG_SPELLINGS,
  type FlagSpec,
  type Flags,
  LOCAL_COMMANDS,
  SELECTION_FLAGS,
  flagWords,
  spellings,
} from "../commands/flags.js";
import type { Invocation, Runner } from "../commands/index.js";

/**
 * What each --help ends with (src/cli/help.ts prints it after the flags, so that no example is ever
 * wrapped); "" is the help without a command.
 */
const HELP_FOOTERS: Readonly<Record<CommandName | "", { examples: readonly Example[]; notes?: readonly string[]; exitCodes: boolean }>> = {
  "": {
    examples: [
      { command: "kubectl bluegreen status myapp" },
      { command: "kubectl bluegreen deploy myapp --image registry.example/myapp:v2" },
      { command: "kubectl bluegreen diff myapp" },
      { command: "kubectl bluegreen promote myapp --probe /healthz --scale-down-after 10m" },
      { command: "kubectl bluegreen abort myapp" },
    ],
    exitCodes: true,
  },
  status: {
    examples: [
      { command: "kubectl bluegreen status myapp", describe: "One app in the current namespace" },
      { command: "kubectl bluegreen status -A -o json", describe: "Every app in every namespace, for scripts" },
    ],
    exitCodes: true,
  },
  promote: {
    examples: [
      { command: "kubectl bluegreen promote myapp", describe: "Switch myapp's Service(s) to the idle slot" },
      { command: "kubectl bluegreen promote myapp --probe 8080/healthz --post-check ./smoke.sh", describe: "Probe the new pods first; run a smoke test after, switch back if it fails" },
      { command: "kubectl bluegreen promote myapp --scale-up --scale-down-after 10m", describe: "Scale a preview up first; retire the old slot 10 minutes after" },
      { command: "kubectl bluegreen promote myapp --steps 10,50,100 --step-pause 5m", describe: "On HTTPRoutes: 10%, then 50%, then all, each step verified and checked" },
      { command: "kubectl bluegreen promote myapp --wait", describe: "Wait (up to --timeout) for the idle slot first" },
      { command: "kubectl bluegreen promote myapp --dry-run=server", describe: "Show and validate the plan; change nothing" },
      { command: "kubectl bluegreen promote web api worker", describe: "Three apps together: all switched, or all back where they were" },
    ],
    exitCodes: true,
  },
  abort: {
    examples: [
      { command: "kubectl bluegreen abort myapp", describe: "Send traffic back to the previous slot" },
      { command: "kubectl bluegreen abort myapp --scale-down", describe: "Send traffic back, then scale the aborted slot to 0" },
      { command: "kubectl bluegreen abort web api worker", describe: "Send three apps back together, all or none" },
    ],
    exitCodes: true,
  },
  deploy: {
    examples: [
      { command: "kubectl bluegreen deploy myapp --image registry.example/myapp:v3", describe: "The live slot's template with a new image, into the idle slot" },
      { command: "kubectl bluegreen deploy myapp --image web=web:v3 --image sidecar=proxy:2 --replicas 1", describe: "Two images, one replica as a preview" },
    ],
    exitCodes: true,
  },
  "scale-down": {
    examples: [{ command: "kubectl bluegreen scale-down myapp", describe: "Retire the old slot once the release is settled" }],
    exitCodes: true,
  },
  diff: {
    examples: [{ command: "kubectl bluegreen diff myapp", describe: "Unified diff of the two slots and the Service change" }],
    notes: ["Exit 0: no differences; 1: differences; more than 1: an error (as kubectl diff)."],
    exitCodes: true,
  },
  version: { examples: [{ command: "kubectl bluegreen version --client", describe: "The plugin's version" }], exitCodes: false },
  completion: { examples: [{ command: "source <(kubectl bluegreen completion bash)", describe: "Complete in the current bash" }], exitCodes: false },
};

const MISSING_COMMAND = `missing COMMAND: use ${COMMANDS.slice(0, -1).join(", ")} or ${COMMANDS.at(-1)}.`;
/** Boolean flags by name (no dashes), whose =VALUE is checked here. */
const BOOLEAN_FLAGS = new Set(["help", "h", ...[...FLAG_SPELLINGS].filter(([, f]) => f.type === "boolean").map(([spelling]) => spelling.replace(/^-+/, ""))]);
const TRUE_WORDS = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_WORDS = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/**
 * Checks a boolean's =VALUE (`--wait=bogus` is refused, as pflag's ParseBool does) and the command word.
 * Returns argv with boolean values spelled true or false, and the command.
 */
function precheck(argv: string[]): { argv: string[]; command?: CommandName } {
  const { words, isValue } = flagWords(argv);
  const command = words.find((w, i) => !isValue[i] && !w.startsWith("-"));
  const out = [...argv];
  words.forEach((w, i) => {
    const [, dashes = "", name = "", v = ""] = /^(--?)([^=]+)=(.*)$/s.exec(w) ?? [];
    if (isValue[i] || !BOOLEAN_FLAGS.has(name)) return;
    if (!TRUE_WORDS.has(v) && !FALSE_WORDS.has(v)) throw new UsageError(`invalid value "${v}" for ${dashes}${name}: use true or false.`);
    out[i] = `${dashes}${name}=${TRUE_WORDS.has(v)}`;
  });
  if (command !== undefined && command !== "__complete" && !(COMMANDS as readonly string[]).includes(command)) {
    const near = COMMANDS.find((c) => editDistance(c, command) <= 2 || (command.length >= 2 && c.startsWith(command)));
    throw new UsageError(`unknown command "${command}": use ${COMMANDS.slice(0, -1).join(", ")} or ${COMMANDS.at(-1)}.`, near ? `Did you mean ${near}? See --help.` : "See --help.");
  }
  return { argv: out, command: command as CommandName | undefined };
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** A command's words after its name: APP, more apps, SHELL. */
interface Positional {
  /** Where the builders find it: a.app, a.more, a.shell. */
  key: "app" | "more" | "shell";
  name: string;
  describe: string;
  /** Takes every word left (APP APP…). */
  many?: boolean;
}

/** Each command: its line in the help, what it does, its words, and the builder of its Invocation (arguments.ts). */
const COMMAND_SPECS: Readonly<Record<CommandName, { describe: string; positionals: readonly Positional[]; build: (a: RawArgs, argv: string[]) => Invocation }>> = {
  status: {
    describe: "Show both slots, what is live, and whether the app is ready to promote",
    positionals: [
      { key: "app", name: "APP", describe: "App name (label app=APP); all apps when omitted" },
      { key: "more", name: "APP...", describe: "More apps, shown in one table", many: true },
    ],
    build: statusInvocation,
  },
  promote: {
    describe: "Switch traffic to the idle slot once it is completely rolled out and ready",
    positionals: [
      { key: "app", name: "APP", describe: "App name (label app=APP)" },
      { key: "more", name: "APP...", describe: "More apps, promoted together: all or none", many: true },
    ],
    build: promoteInvocation,
  },
  abort: {
    describe: "Switch traffic back to the slot the last promote took it from",
    positionals: [
      { key: "app", name: "APP", describe: "App name (label app=APP)" },
      { key: "more", name: "APP...", describe: "More apps, switched back together: all or none", many: true },
    ],
    build: abortInvocation,
  },
  deploy: {
    describe: "Put a new version into the idle slot and wait for its rollout; never touches the live slot",
    positionals: [{ key: "app", name: "APP", describe: "App name (label app=APP)" }],
    build: deployInvocation,
  },
  "scale-down": {
    describe: "Scale the slot traffic left to 0 (abort scales it back); never while a Service selects it",
    positionals: [{ key: "app", name: "APP", describe: "App name (label app=APP)" }],
    build: scaleDownInvocation,
  },
  diff: {
    describe: "Show what changes for users if the idle slot is promoted",
    positionals: [
      { key: "app", name: "APP", describe: "App name (label app=APP)" },
      { key: "more", name: "APP...", describe: "More apps, compared one after another", many: true },
    ],
    build: diffInvocation,
  },
  version: { describe: "Print the plugin's version (never contacts the cluster)", positionals: [], build: versionInvocation },
  completion: { describe: "Print a shell completion script (bash, zsh or fish)", positionals: [{ key: "shell", name: "SHELL", describe: "Shell: bash, zsh or fish" }], build: completionInvocation },
};

const HELP_FLAG: FlagSpec = { alias: "h", type: "boolean", describe: "Show help" };

/** The flags a command takes, by every spelling (--name, -a; --v for -v as kubectl takes it), with their names. */
function flagsOf(command: CommandName | undefined): Map<string, { name: string; spec: FlagSpec }> {
  const out = new Map<string, { name: string; spec: FlagSpec }>();
  for (const flags of [CLUSTER_FLAGS, ...(command && LOCAL_COMMANDS.has(command) ? [] : [SELECTION_FLAGS]), command ? COMMAND_FLAGS[command] : {}, { help: HELP_FLAG }]) {
    for (const [name, spec] of Object.entries(flags)) for (const s of [...spellings(name, spec), `--${name}`]) out.set(s, { name, spec });
  }
  return out;
}

/**
 * Reads the command line (short flags already split, booleans spelled true/false: see precheck) as kubectl does:
 * flags anywhere, before or after the command, `--flag VALUE` or `--flag=VALUE`, the last of a flag given twice,
 * and after `--` only words. Returns the flags by name (defaults filled in), the command's words (app, more, shell)
 * and in `_` the command and any word after `--`.
 */
function readArgs(argv: string[], command: CommandName | undefined): { a: RawArgs; help: boolean } {
  const known = flagsOf(command);
  const a: RawArgs = {};
  const words: string[] = [];
  const after: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i] ?? "";
    if (w === "--") {
      after.push(...argv.slice(i + 1));
      break;
    }
    if (!w.startsWith("-") || w === "-") {
      words.push(w);
      continue;
    }
    const eq = w.indexOf("=");
    const spelling = eq >= 0 ? w.slice(0, eq) : w;
    const flag = known.get(spelling);
    // A flag of another command (or none): named as given (a cluster of unknown letters whole).
    if (!flag) throw new UsageError(`unknown flag: ${spelling}.`);
    const value = eq >= 0 ? w.slice(eq + 1) : undefined;
    if (flag.spec.type === "boolean") a[flag.name] = value === undefined ? true : value === "true";
    else if (flag.spec.type === "count") {
      if (value !== undefined && !/^\d+$/.test(value)) throw new UsageError(`invalid value "${value}" for ${spelling}: use a level such as 6.`);
      a[flag.name] = value !== undefined ? Number(value) : Number(a[flag.name] ?? 0) + 1;
    } else if (value !== undefined) a[flag.name] = value;
    else {
      const next = argv[i + 1] === "--" ? undefined : argv[i + 1];
      const nextIsFlag = next?.startsWith("-") === true && next !== "-";
      // A flag with a bare value (--dry-run: client, as kubectl's) takes it when last or before another flag; a word
      // after it is its value, so a mistyped one is refused rather than read as an app.
      if (flag.spec.bare !== undefined && (next === undefined || nextIsFlag)) {
        a[flag.name] = flag.spec.bare;
        continue;
      }
      if (nextIsFlag) throw new UsageError(`missing value for ${spelling}: "${next}" reads as a flag.`, `Write ${spelling}=VALUE. See --help.`);
      // A value flag at the end of the line (or before --) has the empty value, which the builders refuse by name.
      a[flag.name] = next ?? "";
      if (next !== undefined) i++;
    }
  }
  const help = a.help === true;
  for (const { name, spec } of known.values()) if (a[name] === undefined && spec.default !== undefined) a[name] = spec.default;
  const [, ...rest] = words;
  if (command) {
    const positionals = COMMAND_SPECS[command].positionals;
    positionals.forEach((p, i) => {
      if (p.many) a[p.key] = rest.slice(i);
      else if (rest[i] !== undefined) a[p.key] = rest[i];
    });
    const extra = positionals.some((p) => p.many) ? undefined : rest[positionals.length];
    if (extra !== undefined && !help) throw new UsageError(`unexpected argument "${extra}".`);
  }
  a._ = [...words.slice(0, 1), ...after];
  return { a, help };
}

/** Parses argv into an Invocation; throws UsageError for bad input. Help text goes to `help`. */
export async function parse(argv: string[], columns: number): Promise<{ inv?: Invocation; help?: string }> {
  // Completion gets half-typed command lines, flags included, word for word; it must never fail.
  if (argv[0] === "__complete") return { inv: completeInvocation({ _: argv }) };
  const checked = precheck(splitShortFlags(argv));
  const { a, help } = readArgs(checked.argv, checked.command);
  if (help) return { help: helpText(checked.command, Math.min(columns, 110)) };
  if (!checked.command) throw new UsageError(MISSING_COMMAND);
  return { inv: COMMAND_SPECS[checked.command].build(a, checked.argv) };
}

/** One section of the help: its title, then each row's left part and its description, wrapped beside it. */
function section(title: string, rows: [string, string][], width: number): string {
  const left = Math.min(Math.max(...rows.map(([l]) => l.length)), 36);
  const text = width - left - 4;
  const lines = rows.flatMap(([l, d]) => {
    // Too narrow, or too long a left part: the description goes under it.
    if (text < 24 || l.length > left) return [`  ${l}`, ...wrap(d, Math.max(width - 6, 24)).map((x) => `      ${x}`)];
    return wrap(d, text).map((x, i) => `  ${(i === 0 ? l : "").padEnd(left)}  ${x}`);
  });
  return `${title}\n${lines.join("\n")}`;
}

/** A flag's row: `-n, --namespace` (or `    --kubeconfig`, `-v`) and its description, type and default. */
function flagRows(flags: Flags): [string, string][] {
  return Object.entries(flags).map(([name, f]) => {
    const spelling = name.length === 1 ? `-${name}` : `${f.alias ? `-${f.alias}, ` : "    "}--${name}`;
    return [spelling, `${f.describe} [${f.type}]${f.default !== undefined ? ` [default: "${f.default}"]` : ""}`];
  });
}

/** The help of a command (or of the plugin): usage, what it does, its words and flags, then examples and exit codes. */
function helpText(command: CommandName | undefined, width: number): string {
  const parts: string[] = [];
  if (command) {
    const spec = COMMAND_SPECS[command];
    parts.push(`kubectl bluegreen ${usage(command)}`, wrap(spec.describe, width).join("\n"));
    if (spec.positionals.length) parts.push(section("Arguments:", spec.positionals.map((p) => [p.name, p.describe]), width));
  } else {
    parts.push("kubectl bluegreen COMMAND [APP] [flags]", wrap("Blue/green releases of plain Kubernetes Deployments: two Deployments, one Service, one safe switch.", width).join("\n"));
    parts.push(section("Commands:", COMMANDS.map((c) => [usage(c), COMMAND_SPECS[c].describe]), width));
  }
  // version and completion take kubectl's cluster flags and ignore them: not listed (see LOCAL_COMMANDS).
  if (!command || !LOCAL_COMMANDS.has(command)) parts.push(section("Cluster flags:", flagRows(CLUSTER_FLAGS), width), section("App selection:", flagRows(SELECTION_FLAGS), width));
  parts.push(section("Options:", flagRows({ ...(command ? COMMAND_FLAGS[command] : {}), help: HELP_FLAG }), width));
  parts.push(helpFooter(HELP_FOOTERS[command ?? ""], width));
  return `${parts.join("\n\n")}\n`;
}

/** "promote [APP] [APP...] [flags]". */
const usage = (command: CommandName) => [command, ...COMMAND_SPECS[command].positionals.map((p) => `[${p.name}]`), "[flags]"].join(" ");

/** The whole CLI: parse, run, print help. Returns the exit code. */
export async function run(argv: string[], ctx: Context, runner: Runner): Promise<number> {
  const parsed = await parse(argv, ctx.io.columns);
  if (parsed.help !== undefined) {
    ctx.io.out(parsed.help);
    return 0;
  }
  if (!parsed.inv) throw new UsageError(MISSING_COMMAND);
  return runner(ctx, parsed.inv);
}
