import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // One API server, two cores: files run one after another, tests in a file in order.
          fileParallelism: false,
        },
      },
      {
        // The release in dist/ (scripts/package.sh builds it first; scripts/test.sh does both).
        test: {
          name: "package",
          include: ["test/package/**/*.test.ts"],
          testTimeout: 600_000,
          // Building krew (Go) or rcodesign (cargo) the first time on a new machine.
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
