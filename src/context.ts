import type { KubeClient, KubeOptions } from "./kube/types.js";

/** Output streams, and what they are connected to. */
export interface IO {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal (progress lines). */
  readonly errIsTTY: boolean;
  /** Colour allowed on stdout (terminal and no NO_COLOR). */
  readonly color: boolean;
  /** Terminal width, for wrapping tables. */
  readonly columns: number;
}

/** Time, injected so ages and timeouts are testable. */
export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Everything a command may touch: no command reads process or globals. */
export interface Context {
  io: IO;
  clock: Clock;
  env: Readonly<Record<string, string | undefined>>;
  /** Connects to the cluster; loads the Kubernetes client only when called. */
  kube(options: KubeOptions): Promise<KubeClient>;
  /** The runtime, for `version`: Node.js version and os/arch. */
  runtime: { node: string; platform: string };
  /** Aborted on the first SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** Runs fn so that further signals do not end the process (a switch-back must finish). */
  uninterruptible<T>(fn: () => Promise<T>): Promise<T>;
}
