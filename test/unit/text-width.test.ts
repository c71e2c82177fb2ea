import { describe, expect, it } from "vitest";
import stringWidth from "../../node_modules/yargs/node_modules/string-width/index.js";
import { parse } from "../../src/cli/app.js";
import { COMMANDS } from "../../src/commands/flags.js";
import textWidth from "../../src/render/text-width.js";

describe("text width (yargs' help layout in the bundle)", () => {
  it("counts like string-width on every line of every command's help", async () => {
    const lines: string[] = [];
    for (const argv of [["--help"], ...COMMANDS.map((c) => [c, "--help"])]) {
      const { help } = await parse(argv, 100);
      expect(help, argv.join(" ")).toBeTruthy();
      lines.push(...(help ?? "").split("\n"));
    }
    expect(lines.length).toBeGreaterThan(200);
    const differ = lines.filter((l) => textWidth(l) !== stringWidth(l));
    expect(differ).toEqual([]);
  });

  it("skips colour and hyperlink escapes, counts wide characters twice and combining marks not at all", () => {
    for (const s of ["", "promote", "\u001b[1mbold\u001b[22m", "\u001b]8;;https://x\u0007link\u001b]8;;\u0007", "blue → green …", "青緑", "e\u0301", "a\tb"]) {
      expect(textWidth(s), JSON.stringify(s)).toBe(stringWidth(s));
    }
  });
});
