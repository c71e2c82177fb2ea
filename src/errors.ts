/** Exit codes: one table for every command (README "Exit codes"). */
export const ExitCode = {
  ok: 0,
  negative: 1,
  usage: 2,
  notFound: 3,
  refused: 4,
  conflict: 5,
  verifyFailed: 6,
  forbidden: 7,
  unreachable: 8,
  split: 9,
  unexpected: 10,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * What each exit code means, in one wording: --help prints it (src/cli/help.ts), and the README's "Exit codes"
 * table says the same (test/unit/errors.test.ts compares them).
 */
export const EXIT_CODE_MEANINGS: Record<ExitCode, string> = {
  [ExitCode.ok]: "done; promote --step-pause manual: the step is verified and checked, and the canary waits for the next promote; status: every shown app serves from a healthy live slot; diff: no differences",
  [ExitCode.negative]: "a negative answer, not an error: diff found differences; status found an app needing attention (live slot degraded, interrupted switch, a canary between steps, a Service drifted from the last switch, misconfigured pair)",
  [ExitCode.usage]: "usage error (bad flag, bad name, missing argument)",
  [ExitCode.notFound]: "not found (namespace, app, Service, context, kubeconfig, --to slot)",
  [ExitCode.refused]: "refused: a precondition is not met (idle slot not rolled out or not ready, no evidence that it is newer, a check before the switch failed, misconfigured or ambiguous pair, write rejected by admission); nothing changed unless the message says what was done (a scale-up before the switch; a deploy whose rollout failed or timed out)",
  [ExitCode.conflict]:
    "conflict: the objects changed under us (a selector, a route's backends, a Deployment's spec or a record of ours; changes to anything else are written over); nothing changed, or the message says what was done and where traffic is (abort's switch back done, scale-down not; someone else — a controller that reverts the selector — moved a Service after the switch, and every other Service was switched back: all-old)",
  [ExitCode.verifyFailed]: "verification or a check after the switch (--probe, --post-check) failed; every Service was switched back (traffic is all-old); never when the switch-back did not finish",
  [ExitCode.forbidden]: "forbidden or unauthorized",
  [ExitCode.unreachable]: "cluster unreachable or timed out; nothing changed (a write whose reply was lost is read back first)",
  [ExitCode.split]:
    "the switch-back did not finish (someone else changed a Service, or the cluster stopped answering), or traffic is split or its state is unknown — whatever the Services happen to look like; the message names what each Service selects; repair with promote or abort. Not when the split is another command's switch still in progress (its record pending on the Services) after it took every Service this one had switched: that is 5, and the message names that switch; promote or abort --waves that stopped at a failing context while the contexts before it stay on the new slot",
  [ExitCode.unexpected]: "unexpected error",
  [ExitCode.interrupted]: "interrupted (Ctrl-C or SIGTERM); the message says where traffic is (switched back: all-old)",
};

/** An expected failure: one sentence for the user, an exit code, and nothing changed (unless said). */
export class BlueGreenError extends Error {
  /**
   * The request may have reached the API server and may have been applied (connection lost, timeout,
   * 429, 5xx): a write that fails this way has an unknown outcome and must be settled by reading back.
   */
  transient = false;
  /** Retry-After of a 429/503 answer, in milliseconds. */
  retryAfterMs?: number;

  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** What to do next, printed after the message. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The same failure, said of one of several kubeconfig contexts: "context two: …", same exit code and hint. */
export const inContext = (context: string, e: BlueGreenError): BlueGreenError => new BlueGreenError(`context ${context}: ${e.message}`, e.exitCode, e.hint);

/** Bad flag, missing or extra argument. */
export class UsageError extends BlueGreenError {
  constructor(message: string, hint = "See --help.") {
    super(message, ExitCode.usage, hint);
  }
}

/** Namespace, app, pair or Service not found. */
export class NotFoundError extends BlueGreenError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.notFound, hint);
  }
}

/** A precondition is not met; nothing changed. */
export class RefusedError extends BlueGreenError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.refused, hint);
  }
}

/** The objects changed under us; nothing changed (or our partial change was undone). */
export class ConflictError extends BlueGreenError {
  constructor(message: string, hint = "Run the command again to act on the current state.") {
    super(message, ExitCode.conflict, hint);
  }
}

/** Forbidden or unauthorized by the API server. */
export class ForbiddenError extends BlueGreenError {
  constructor(message: string, hint = "Check your permissions with kubectl auth can-i, or use another --context.") {
    super(message, ExitCode.forbidden, hint);
  }
}

/** The cluster could not be reached or did not answer in time. */
export class UnreachableError extends BlueGreenError {
  constructor(message: string, hint = "Check the cluster address, your network, and --request-timeout.") {
    super(message, ExitCode.unreachable, hint);
  }
}

/** Something we did not expect; exit 10. */
export class UnexpectedError extends BlueGreenError {
  constructor(message: string, hint = "Run again with -v for details.") {
    super(message, ExitCode.unexpected, hint);
  }
}
