// A release of several apps at once (promote APP APP…, abort APP APP…): light enough for argument parsing to load.

/** The most apps one group release takes (and its record holds). */
export const MAX_GROUP_APPS = 200;

/** The most kubeconfig contexts one release runs in (--context A --context B…, --contexts A,B). */
export const MAX_GROUP_CONTEXTS = 20;

/** What a release of several apps or clusters is made of, as the command line said it. */
export interface GroupSpec {
  /** The apps named (APP APP…); with `all`, found by -l in each context instead. */
  apps?: string[];
  /** --all -l SELECTOR: every app in the namespace with a Deployment that matches. */
  all?: boolean;
  /** --context A --context B…, --contexts A,B: the same release in each (two or more). */
  contexts?: string[];
  /** --waves: one context after another, in the order given. */
  waves?: { pauseMs: number; rollback: "failed" | "all" };
}
