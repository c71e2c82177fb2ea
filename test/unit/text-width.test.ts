import { describe, expect, it } from "vitest";
import { parse } from "../../src/cli/app.js";
import { COMMANDS } from "../../src/commands/flags.js";
import textWidth from "../../src/render/text-width.js";

describe("text width", () => {
  it("keeps every line of every command's help within the width, but the example command lines (never wrapped)", async () => {
    for (const width of [60, 100]) {
      const lines: string[] = [];
      for (const argv of [["--help"], ...COMMANDS.map((c) => [c, "--help"])]) {
        const { help } = await parse(argv, width);
        expect(help, argv.join(" ")).toBeTruthy();
        lines.push(...(help ?? "").split("\n"));
      }
      expect(lines.length).toBeGreaterThan(200);
      const over = lines.filter((l) => textWidth(l) > width && !/^ {2}(kubectl bluegreen|source <\(kubectl bluegreen) /.test(l));
      expect(over, `width ${width}`).toEqual([]);
    }
  });

  it("skips colour and hyperlink escapes, counts wide characters twice and combining marks and controls not at all", () => {
    const cases: [string, number][] = [
      ["", 0],
      ["promote", 7],
      ["\u001b[1mbold\u001b[22m", 4],
      ["\u001b]8;;https://x\u0007link\u001b]8;;\u0007", 4],
      ["blue → green …", 14],
      ["青緑", 4],
      ["e\u0301", 1],
      ["a\tb", 2],
    ];
    for (const [s, width] of cases) expect(textWidth(s), JSON.stringify(s)).toBe(width);
  });
});
