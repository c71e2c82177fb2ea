import type { Context } from "../context.js";
import { escapeTerminal } from "../render/escape.js";

/** Writes a progress line to stderr: rewritten in place on a terminal, printed on change otherwise. */
export function progress(ctx: Context): { update(text: string): void; done(): void } {
  let last = "";
  return {
    update(raw: string) {
      // Progress quotes the cluster (rollout messages): escape it, keeping our own line control.
      const text = escapeTerminal(raw);
      if (text === last) return;
      last = text;
      if (ctx.io.errIsTTY) ctx.io.err(`\r\u001b[2K${text}`);
      else ctx.io.err(`${text}\n`);
    },
    done() {
      if (ctx.io.errIsTTY && last) ctx.io.err("\n");
      last = "";
    },
  };
}
