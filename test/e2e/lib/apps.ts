// What the end-to-end test files use to lay out apps: the layouts (./layout.js) and a namespace maker tied to
// the test file's lifetime.
import { afterAll, beforeAll } from "vitest";
import { deleteNamespace, newNamespace, requireCluster } from "./cluster.js";

export * from "./layout.js";

/** A namespace maker for one test file: checks the cluster first, deletes what it made afterwards. */
export function testNamespaces(): (prefix: string) => Promise<string> {
  const made: string[] = [];
  beforeAll(requireCluster);
  afterAll(() => made.forEach(deleteNamespace));
  return async (prefix) => {
    const n = await newNamespace(prefix);
    made.push(n);
    return n;
  };
}
