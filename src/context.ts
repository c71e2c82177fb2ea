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
  /**
   * The locale is UTF-8. When it is not, out and err spell our arrows and dashes in ASCII ("->"), except
   * in a -o json|yaml document on out; text measured for alignment (a table cell) spells them itself.
   */
  readonly unicode: boolean;
}

/** Time, injected so ages and timeouts are testable. */
export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** How a command run through the shell ended. */
export type ShellResult =
  | { kind: "exited"; code: number }
  | { kind: "signalled"; signal: string }
  | { kind: "timed-out" }
  | { kind: "interrupted" }
  | { kind: "failed-to-start"; message: string };

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
  /**
   * Runs a command line through the user's shell ($SHELL, else the system's), with env added to the
   * environment and its output on stderr; stops it (and what it started) on timeout or when signal aborts.
   */
  shell(command: string, o: { env: Record<string, string>; timeoutMs: number; signal: AbortSignal }): Promise<ShellResult>;
  /** Runs fn so that further signals do not end the process (a switch-back must finish). */
  uninterruptible<T>(fn: () => Promise<T>): Promise<T>;
}
