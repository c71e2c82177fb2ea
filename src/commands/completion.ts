// Shell completion: scripts for bash, zsh and fish, and the `__complete` protocol that both they and
// kubectl's plugin completion (`kubectl_complete-bluegreen ARGS… PARTIAL`) call.
import type { Context } from "../context.js";
import { findApps } from "../bluegreen/pair.js";
import { dns1123LabelErrors, labelKeyErrors } from "../bluegreen/names.js";
import { escapeTerminal } from "../render/escape.js";
import { CLUSTER_FLAGS, COMMAND_FLAGS, COMMANDS, type CommandName, FLAG_SPELLINGS, type Flags, LOCAL_COMMANDS, SELECTION_FLAGS, VALUE_FLAGS, spellings } from "./flags.js";

const APP_COMMANDS = new Set<string>(["status", "promote", "abort", "deploy", "scale-down", "diff"]);
const isCommand = (w: string | undefined): w is CommandName => (COMMANDS as readonly string[]).includes(w ?? "");
const spellingsOf = (flags: Flags) => Object.entries(flags).flatMap(([name, spec]) => spellings(name, spec));
/** The flags every command takes, as completion offers them. */
const GLOBAL_FLAGS = [...spellingsOf(CLUSTER_FLAGS), ...spellingsOf(SELECTION_FLAGS), "--help"];

/** Cobra's ShellCompDirectiveNoFileComp: kubectl and our scripts read the last line as the directive. */
const NO_FILE_COMP = ":4";

function flagValue(words: string[], ...names: string[]): string | undefined {
  for (const [i, w] of words.entries()) {
    for (const n of names) {
      if (w === n && i + 1 < words.length) return words[i + 1];
      if (w.startsWith(`${n}=`)) return w.slice(n.length + 1);
    }
  }
  return undefined;
}

/** Candidates for the last word, given the words before it. */
export async function complete(ctx: Context, args: string[]): Promise<string[]> {
  const words = args.slice(0, -1);
  const partial = args.at(-1) ?? "";
  const prev = words.at(-1);
  const positionals: string[] = [];
  let flagValueNext = false;
  for (const w of words) {
    if (flagValueNext) flagValueNext = false;
    else if (w.startsWith("-")) flagValueNext = VALUE_FLAGS.has(w);
    else positionals.push(w);
  }
  const command = positionals[0];
  const pick = (xs: string[]) => xs.filter((x) => x.startsWith(partial));
  if (prev && VALUE_FLAGS.has(prev)) {
    // The values the command's own flag takes, else those of the flag of that spelling of any command.
    const own = isCommand(command) ? Object.entries(COMMAND_FLAGS[command]).find(([name, spec]) => spellings(name, spec).includes(prev))?.[1] : undefined;
    const values = (own ?? FLAG_SPELLINGS.get(prev))?.values;
    if (values) return pick([...values]);
    if (prev === "--context") return pick(await fromCluster(ctx, words, "contexts"));
    if (prev === "-n" || prev === "--namespace") return pick(await fromCluster(ctx, words, "namespaces"));
    return [];
  }
  if (partial.startsWith("-")) {
    // A local command is offered what its help lists: its own flags.
    const shared = isCommand(command) && LOCAL_COMMANDS.has(command) ? ["--help"] : GLOBAL_FLAGS;
    return pick([...(isCommand(command) ? spellingsOf(COMMAND_FLAGS[command]) : []), ...shared]);
  }
  if (!command) return pick([...COMMANDS]);
  if (command === "completion" && positionals.length === 1) return pick(["bash", "zsh", "fish"]);
  if (APP_COMMANDS.has(command) && positionals.length === 1) return pick(await fromCluster(ctx, words, "apps"));
  return [];
}

/** Names from the cluster or kubeconfig; nothing (never an error) when they cannot be had. */
async function fromCluster(ctx: Context, words: string[], what: "apps" | "namespaces" | "contexts"): Promise<string[]> {
  try {
    const kubeconfig = flagValue(words, "--kubeconfig");
    if (what === "contexts") {
      const { listContexts } = await import("../kube/client.js");
      return listContexts(kubeconfig, ctx.env);
    }
    const namespace = flagValue(words, "--namespace", "-n");
    const appLabel = flagValue(words, "--app-label") ?? "app";
    // Names are checked before any request, here too: a namespace ".." must not list another one.
    if (namespace !== undefined && dns1123LabelErrors(namespace).length) return [];
    if (labelKeyErrors(appLabel).length) return [];
    const kube = await ctx.kube({ kubeconfig, context: flagValue(words, "--context"), namespace, requestTimeoutMs: 5000 });
    if (what === "namespaces") return await kube.listNamespaces();
    const deployments = await kube.listDeployments(kube.namespace, appLabel);
    return [...new Set(findApps({ appLabel }, deployments, []).map((p) => p.app))];
  } catch {
    return [];
  }
}

/** The `__complete` command: candidates one a line, then the directive. */
export async function completeCommand(ctx: Context, args: string[]): Promise<number> {
  const out = await complete(ctx, args.length ? args : [""]);
  // Candidates come from the cluster and the kubeconfig: escaped, one a line, never a control character.
  ctx.io.out(`${[...out.map(escapeTerminal), NO_FILE_COMP].join("\n")}\n`);
  return 0;
}

const SCRIPTS: Record<"bash" | "zsh" | "fish", string> = {
  bash: `# bash completion for kubectl-bluegreen: source <(kubectl-bluegreen completion bash)
_kubectl_bluegreen() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" out
  out="$(kubectl-bluegreen __complete "\${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null)" || return
  COMPREPLY=( $(compgen -W "$(printf '%s\\n' "$out" | grep -v '^:')" -- "$cur") )
}
complete -F _kubectl_bluegreen kubectl-bluegreen
`,
  zsh: `#compdef kubectl-bluegreen
# zsh completion for kubectl-bluegreen: source <(kubectl-bluegreen completion zsh)
_kubectl_bluegreen() {
  local -a candidates
  candidates=("\${(@f)$(kubectl-bluegreen __complete "\${(@)words[2,CURRENT-1]}" "\${words[CURRENT]}" 2>/dev/null | grep -v '^:')}")
  compadd -- "\${candidates[@]}"
}
compdef _kubectl_bluegreen kubectl-bluegreen
`,
  fish: `# fish completion for kubectl-bluegreen: kubectl-bluegreen completion fish | source
function __kubectl_bluegreen_complete
    set -l args (commandline -opc)
    kubectl-bluegreen __complete $args[2..-1] (commandline -ct) 2>/dev/null | string match -v -r '^:'
end
complete -c kubectl-bluegreen -f -a '(__kubectl_bluegreen_complete)'
`,
};

/** completion SHELL: prints the script. */
export function completionScript(ctx: Context, shell: "bash" | "zsh" | "fish"): number {
  ctx.io.out(SCRIPTS[shell]);
  return 0;
}
