// The options every command takes, as src/commands/arguments.ts builds them from the command line.
import type { AppQuery } from "../bluegreen/pair.js";
import type { RouterKindName } from "../bluegreen/routers/types.js";
import type { KubeOptions } from "../kube/types.js";

export const OUTPUT_FORMATS = ["table", "wide", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** How the app's objects are selected (DESIGN "Concepts"). */
export interface AppSelection extends AppQuery {
  /** --slot-label: the label that tells the slots apart, instead of detecting it. */
  slotLabel?: string;
  /** --router: only the app's routers of this kind. */
  router?: RouterKindName;
  allNamespaces: boolean;
}

/** Flags every command shares. */
export interface GlobalOptions {
  kube: KubeOptions;
  /** -v: trace API requests to stderr. */
  verbose: boolean;
  output: OutputFormat;
  noHeaders: boolean;
  selection: AppSelection;
}
