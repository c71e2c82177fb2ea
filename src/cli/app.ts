// yargs wiring only: flags, commands and help text. src/commands/arguments.ts turns what yargs parsed into
// each command's typed Invocation; every command's work lives in src/commands.
import yargs, { type Argv, type Options } from "yargs";
import type { Context } from "../context.js";
import { BlueGreenError, UsageError } from "../errors.js";
import { type Example, helpFooter } from "./help.js";
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
import { CLUSTER_FLAGS, COMMAND_FLAGS, COMMANDS, type CommandName, FLAG_SPELLINGS, type Flags, SELECTION_FLAGS, VALUE_FLAGS, flagWords } from "../commands/flags.js";
import type { Invocation, Runner } from "../commands/index.js";

/** The flag table (src/commands/flags.ts) as yargs options; `global` ones apply to every command. */
function yargsOptions(flags: Flags, global = false): Record<string, Options> {
  return Object.fromEntries(
    Object.entries(flags).map(([name, f]) => [name, { type: f.type, describe: f.describe, ...(f.alias ? { alias: f.alias } : {}), ...(f.default !== undefined ? { default: f.default } : {}), ...(global ? { global } : {}) }]),
  );
}

/**
 * What each --help ends with (src/cli/help.ts prints it after yargs' part, so that no example is ever
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

/** A local command's help lists only its own flags: the global ones are taken but not shown (see LOCAL_COMMANDS). */
const hideGlobalFlags = (c: Argv): Argv => [...Object.keys(CLUSTER_FLAGS), ...Object.keys(SELECTION_FLAGS)].reduce((y, name) => y.hide(name), c);

const MISSING_COMMAND = `missing COMMAND: use ${COMMANDS.slice(0, -1).join(", ")} or ${COMMANDS.at(-1)}.`;
/** Boolean flags by name (no dashes), whose =VALUE is checked before yargs reads it loosely. */
const BOOLEAN_FLAGS = new Set(["help", "h", ...[...FLAG_SPELLINGS].filter(([, f]) => f.type === "boolean").map(([spelling]) => spelling.replace(/^-+/, ""))]);
const TRUE_WORDS = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_WORDS = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/**
 * Checks what yargs would read loosely: `--wait=bogus` (yargs reads false), and an unknown command.
 * Returns argv with boolean values spelled as yargs understands them (pflag's ParseBool words), and the command.
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

/** yargs' complaint as one sentence of ours: which flag or argument, never a multi-line list. */
function usageFromYargs(msg: string, argv: string[]): UsageError {
  const { words, isValue } = flagWords(argv);
  const unknown = /^Unknown arguments?: (.+)$/.exec(msg);
  if (unknown) {
    const names = (unknown[1] ?? "").split(", ");
    for (const name of names) {
      const i = words.findIndex((w, j) => !isValue[j] && w === name);
      if (i >= 0) return new UsageError(`unexpected argument "${name}".`);
    }
    const name = names[0] ?? "";
    const flagPart = (w: string) => w.split("=", 1)[0] ?? w;
    const i = words.findIndex((w) => w === `--${name}` || w.startsWith(`--${name}=`) || (/^-[^-]/.test(w) && flagPart(w).includes(name)));
    const word = words[i];
    const flag = word !== undefined ? flagPart(word) : name.length === 1 ? `-${name}` : `--${name}`;
    if (i > 0 && VALUE_FLAGS.has(words[i - 1] ?? "")) {
      return new UsageError(`missing value for ${words[i - 1]}: "${words[i]}" reads as a flag.`, `Write ${words[i - 1]}=VALUE. See --help.`);
    }
    return new UsageError(`unknown flag: ${flag}.`);
  }
  const line = msg.replace(/\s+/g, " ").trim().replace(/[.:]$/, "");
  return new UsageError(`${line.charAt(0).toLowerCase()}${line.slice(1)}.`);
}

/** The one yargs internal used (yargs 18): see parse(). */
type YargsInternals = { getInternalMethods(): { getUsageInstance(): { cacheHelpMessage: () => void } } };

/** Parses argv into an Invocation; throws UsageError for bad input. Help and version text go to `help`. */
export async function parse(argv: string[], columns: number): Promise<{ inv?: Invocation; help?: string }> {
  // Handlers only remember what to build: yargs' own checks (unknown flags) speak first, then ours (the
  // builders of src/commands/arguments.ts, given the whole command line for the repeatable flags).
  let make: (() => Invocation) | undefined;
  const handle = (build: (a: RawArgs, argv: string[]) => Invocation) => (a: RawArgs) => {
    make = () => build(a, argv);
  };
  // Completion gets half-typed command lines, flags included, word for word; it must never fail.
  if (argv[0] === "__complete") return { inv: { command: "__complete", words: argv.slice(1) } };
  const checked = precheck(splitShortFlags(argv));
  argv = checked.argv;
  const width = Math.min(columns, 110);
  const y = yargs(argv)
    .scriptName("kubectl bluegreen")
    .usage("$0 COMMAND [APP] [flags]\n\nBlue/green releases of plain Kubernetes Deployments: two Deployments, one Service, one safe switch.")
    .wrap(width)
    .exitProcess(false)
    .strict()
    .recommendCommands()
    .version(false)
    .help("help")
    .alias("h", "help")
    // A flag given twice: the last one wins, as in kubectl.
    .parserConfiguration({ "camel-case-expansion": false, "boolean-negation": false, "duplicate-arguments-array": false })
    .options(yargsOptions(CLUSTER_FLAGS, true))
    .options(yargsOptions(SELECTION_FLAGS, true))
    .group(Object.keys(CLUSTER_FLAGS), "Cluster flags:")
    .group(Object.keys(SELECTION_FLAGS), "App selection:")
    .command(
      "status [app] [more..]",
      "Show both slots, what is live, and whether the app is ready to promote",
      (c: Argv) =>
        c
          .positional("app", { type: "string", describe: "App name (label app=APP); all apps when omitted" })
          .positional("more", { type: "string", array: true, default: undefined, describe: "More apps, shown in one table" })
          .options(yargsOptions(COMMAND_FLAGS.status)),
      handle(statusInvocation),
    )
    .command(
      "promote [app] [more..]",
      "Switch traffic to the idle slot once it is completely rolled out and ready",
      (c: Argv) =>
        c
          .positional("app", { type: "string", describe: "App name (label app=APP)" })
          .positional("more", { type: "string", array: true, default: undefined, describe: "More apps, promoted together: all or none" })
          .options(yargsOptions(COMMAND_FLAGS.promote)),
      handle(promoteInvocation),
    )
    .command(
      "abort [app] [more..]",
      "Switch traffic back to the slot the last promote took it from",
      (c: Argv) =>
        c
          .positional("app", { type: "string", describe: "App name (label app=APP)" })
          .positional("more", { type: "string", array: true, default: undefined, describe: "More apps, switched back together: all or none" })
          .options(yargsOptions(COMMAND_FLAGS.abort)),
      handle(abortInvocation),
    )
    .command(
      "deploy [app]",
      "Put a new version into the idle slot and wait for its rollout; never touches the live slot",
      (c: Argv) =>
        c
          .positional("app", { type: "string", describe: "App name (label app=APP)" })
          .options(yargsOptions(COMMAND_FLAGS.deploy)),
      handle(deployInvocation),
    )
    .command(
      "scale-down [app]",
      "Scale the slot traffic left to 0 (abort scales it back); never while a Service selects it",
      (c: Argv) =>
        c
          .positional("app", { type: "string", describe: "App name (label app=APP)" })
          .options(yargsOptions(COMMAND_FLAGS["scale-down"])),
      handle(scaleDownInvocation),
    )
    .command(
      "diff [app] [more..]",
      "Show what changes for users if the idle slot is promoted",
      (c: Argv) =>
        c
          .positional("app", { type: "string", describe: "App name (label app=APP)" })
          .positional("more", { type: "string", array: true, default: undefined, describe: "More apps, compared one after another" })
          .options(yargsOptions(COMMAND_FLAGS.diff)),
      handle(diffInvocation),
    )
    .command(
      "version",
      "Print the plugin's version (never contacts the cluster)",
      (c: Argv) => hideGlobalFlags(c).options(yargsOptions(COMMAND_FLAGS.version)),
      handle(versionInvocation),
    )
    .command(
      "completion [shell]",
      "Print a shell completion script (bash, zsh or fish)",
      (c: Argv) => hideGlobalFlags(c).positional("shell", { type: "string", describe: "Shell: bash, zsh or fish" }),
      handle(completionInvocation),
    )
    .command(
      "__complete",
      false,
      (c: Argv) => c.strict(false),
      handle(completeInvocation),
    )
    .demandCommand(1, MISSING_COMMAND);

  // After a command's handler, yargs renders that command's whole help, in case the handler fails and
  // help must be shown later (14 ms, a sixth of `status APP`). Handlers here only remember what to build,
  // and help is printed only through the parse callback, so the copy is never used.
  (y as unknown as YargsInternals).getInternalMethods().getUsageInstance().cacheHelpMessage = () => {};
  let help: string | undefined;
  let failure: Error | undefined;
  await y
    .fail((msg: string | null, err: Error | undefined) => {
      failure ??= err instanceof BlueGreenError ? err : usageFromYargs(err?.message ?? msg ?? "invalid command line", argv);
    })
    .parseAsync(argv, {}, (_err: unknown, _a: unknown, output: string) => {
      if (output) help = `${output.trimEnd()}\n\n${helpFooter(HELP_FOOTERS[checked.command ?? ""], width)}\n`;
    });
  if (failure) throw failure;
  const inv = help === undefined ? make?.() : undefined;
  return { inv, help };
}

/** The whole CLI: parse, run, print help. Returns the exit code. */
export async function run(argv: string[], ctx: Context, runner: Runner): Promise<number> {
  const parsed = await parse(argv, ctx.io.columns);
  if (parsed.help !== undefined) {
    ctx.io.out(parsed.help.endsWith("\n") ? parsed.help : `${parsed.help}\n`);
    return 0;
  }
  if (!parsed.inv) throw new UsageError(MISSING_COMMAND);
  return runner(ctx, parsed.inv);
}
