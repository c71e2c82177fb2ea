import { styleText } from "node:util";

type Style = "green" | "yellow" | "red" | "bold" | "cyan" | "dim";

/** Colours text only when `on` (a terminal without NO_COLOR). */
export const paint = (on: boolean, style: Style, text: string): string => (on ? styleText(style, text, { validateStream: false }) : text);
