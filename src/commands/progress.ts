import type { Context } from "../context.js";
import { escapeTerminal } from "../render/escape.js";
import { fitLine } from "../render/progress.js";

/** A progress line: update replaces its text, done ends it (a terminal keeps the last text). */
export interface Progress {
  update(text: string): void;
  done(): void;
}

/** Writes a progress line to stderr: rewritten in place on a terminal, printed on change otherwise. */
export function progress(ctx: Context): Progress {
  let last = "";
  return {
    update(raw: string) {
      // Progress quotes the cluster (rollout messages): escape it, keeping our own line control.
      const text = escapeTerminal(raw);
      if (text === last) return;
      last = text;
      if (ctx.io.errIsTTY) ctx.io.err(`\r\u001b[2K${fitLine(text, ctx.io.columns)}`);
      else ctx.io.err(`${text}\n`);
    },
    done() {
      if (ctx.io.errIsTTY && last) ctx.io.err("\n");
      last = "";
    },
  };
}
