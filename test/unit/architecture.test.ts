// The shape of the code, checked: the domain core (src/bluegreen) is pure, only src/kube talks to the
// Kubernetes client, and only src/main.ts touches the process (environment, streams, exit) and the console.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
}

const files = sources(SRC).map((f) => {
  const text = readFileSync(f, "utf8");
  // Comments and string contents may name anything; only code counts.
  const code = text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "")
    .replace(/`(?:\\[\s\S]|[^`\\])*`/g, "``");
  const imports = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1] ?? m[2]);
  return { file: path.relative(SRC, f).split(path.sep).join("/"), code, imports };
});

/** Node.js modules that reach outside the process's memory: files, network, other processes, the terminal. */
const IO = /^(node:)?(fs|fs\/promises|net|http|https|http2|tls|dgram|dns|child_process|cluster|worker_threads|readline|process|os|tty|inspector|vm)$/;

describe("architecture", () => {
  it("reads every source file", () => {
    expect(files.length).toBeGreaterThan(20);
    expect(files.find((f) => f.file === "main.ts")?.imports).toContain("./context.js");
  });

  it("src/bluegreen imports no I/O and nothing outside the domain but errors", () => {
    const bad = files
      .filter((f) => f.file.startsWith("bluegreen/"))
      .flatMap((f) =>
        f.imports
          .filter((i) => {
            if (IO.test(i) || i.startsWith("@")) return true;
            if (!i.startsWith(".")) return false;
            // Relative to the file: anywhere under bluegreen/ is the domain; outside it, only errors.ts.
            const target = path.posix.join(path.posix.dirname(f.file), i);
            return !target.startsWith("bluegreen/") && target !== "errors.js";
          })
          .map((i) => `${f.file} imports ${i}`),
      );
    expect(bad).toEqual([]);
  });

  it("only main.ts and src/cli itself import src/cli: commands take their options from src/commands", () => {
    const bad = files
      .filter((f) => f.file !== "main.ts" && !f.file.startsWith("cli/"))
      .flatMap((f) => f.imports.filter((i) => /(^|\/)cli\//.test(i)).map((i) => `${f.file} imports ${i}`));
    expect(bad).toEqual([]);
  });

  it("parsing loads no command: nothing src/cli imports, directly or not, is a command's module or src/kube", () => {
    // --help and version stay light: commands and the API client load through index.ts's import() only.
    const COMMAND_LINE = new Set(["commands/arguments.ts", "commands/duration.ts", "commands/flags.ts", "commands/options.ts", "commands/validate.ts"]);
    const byFile = new Map(files.map((f) => [f.file, f]));
    // Relative imports that load code at run time (`import type` loads nothing).
    const loads = (file: string) =>
      [...(byFile.get(file)?.code ?? "").matchAll(/(?:^|\n)\s*(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+"(\.[^"]+)"/g)].map((m) =>
        path.posix.join(path.posix.dirname(file), m[1] ?? "").replace(/\.js$/, ".ts"),
      );
    const loaded = new Set(files.filter((f) => f.file.startsWith("cli/")).map((f) => f.file));
    for (const file of loaded) for (const next of loads(file)) loaded.add(next);
    expect(loaded).toContain("commands/arguments.ts");
    expect([...loaded].filter((f) => f.startsWith("kube/") || (f.startsWith("commands/") && !COMMAND_LINE.has(f)))).toEqual([]);
  });

  it("src/bluegreen reads no clock and no randomness: the commands pass the time and the operation id", () => {
    const bad = files
      .filter((f) => f.file.startsWith("bluegreen/"))
      .flatMap((f) => [...f.code.matchAll(/\b(randomBytes|randomUUID|randomInt|getRandomValues|Math\s*\.\s*random|Date\s*\.\s*now|performance\s*\.\s*now|new\s+Date\s*\(\s*\))/g)].map((m) => `${f.file}: ${m[0]}`));
    expect(bad).toEqual([]);
  });

  it("only src/kube imports the Kubernetes client", () => {
    const bad = files
      .filter((f) => !f.file.startsWith("kube/"))
      .flatMap((f) => f.imports.filter((i) => i.startsWith("@kubernetes/")).map((i) => `${f.file} imports ${i}`));
    expect(bad).toEqual([]);
  });

  it("src/ asserts nothing non-null: the types carry what is known (a well-formed pair, a found item)", () => {
    const bad = files.flatMap((f) =>
      f.code
        .replace(/"(?:\\.|[^"\\])*"/g, '""')
        .split("\n")
        .flatMap((line, i) => (/[\w)\]]!(?!=)/.test(line) ? [`${f.file}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(bad).toEqual([]);
  });

  it("only src/main.ts touches process or console", () => {
    const bad = files
      .filter((f) => f.file !== "main.ts")
      .flatMap((f) => [...f.code.matchAll(/\b(process|console)\s*\.\s*\w+/g)].map((m) => `${f.file}: ${m[0]}`));
    expect(bad).toEqual([]);
  });
});
