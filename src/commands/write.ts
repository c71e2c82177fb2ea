// Conditional writes that retry. One rule, written once: wait (backoff) → read → decide → conditional write,
// never read → wait → write (the resourceVersion goes stale while one sleeps). Every write of a switch,
// a switch-back, a record, a scale and a busy mark goes through writeConditionally.
import type { Context } from "../context.js";
import { BlueGreenError, ExitCode } from "../errors.js";

/** How long to keep settling a write (reading it back) before giving up. */
export const SETTLE_MS = 30_000;
/** The wait before retry number attempt+1 after a failure: 200ms, 400ms, … at most 2s. */
export const backoff = (attempt: number): number => Math.min(2000, 200 * 2 ** attempt);
/**
 * The wait before retry number attempt+1 after a conflict: someone else wrote the object, and a fresh read
 * can be sent at once. Short (10ms, 20ms, … at most 100ms) and jittered, so a writer that writes on a period
 * does not meet every attempt, and one that writes every few milliseconds meets a few hundred attempts
 * before the deadline, not a few dozen (each attempt is a read and a write: at most ~10 requests a second).
 */
const conflictPause = (attempt: number): number => Math.min(100, 10 * 2 ** attempt) * (0.5 + Math.random() / 2);
export const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).replace(/\.$/, "");
export const asError = (e: unknown): BlueGreenError =>
  e instanceof BlueGreenError ? e : new BlueGreenError(message(e), ExitCode.unexpected, "Run again with -v for details.");
/** An error that proves the write was not applied: the API server answered with a refusal. */
export const proven = (e: unknown): boolean => e instanceof BlueGreenError && !e.transient;
export const isConflict = (e: unknown): boolean => asError(e).exitCode === ExitCode.conflict;

/** Reads, retrying transient failures (beyond the client's own retries) until the deadline; throws the last error. */
export async function readUntil<T>(ctx: Context, read: () => Promise<T>, deadline: number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (e) {
      if (proven(e) || ctx.clock.now().getTime() > deadline) throw e;
      await ctx.clock.sleep(asError(e).retryAfterMs ?? backoff(attempt));
    }
  }
}

/** What a step decides from the object as just read: send its write on that read, or stop with a result. */
export type Decision<R> = { write: true } | { result: R };

/** One retried conditional write: how to read the object, decide, and write it on the resourceVersion read. */
export interface ConditionalWrite<T, R> {
  read(): Promise<T>;
  /**
   * From the object as just read (and the failure of the previous attempt, if any: a conflict, or a write
   * whose reply was lost): `{ write: true }` to send the write, or the result without writing — the write
   * landed already, there is nothing to do, or something the step depends on changed.
   */
  decide(read: T, failure: BlueGreenError | undefined): Decision<R>;
  /** The write, conditional on the resourceVersion given (the one just read), made from the object as just read. */
  write(resourceVersion: string, read: T): Promise<R>;
  /** Retries stop once this time (ms since the epoch) has passed. */
  deadline: number;
}

/** How a conditional write ended. */
export type Written<R> =
  /** Written by this attempt, or decided without writing (landed already, nothing to do, a real conflict). */
  | { kind: "done"; result: R }
  /** Not written: the API server refused it, or the deadline passed with the object never as decided. */
  | { kind: "failed"; error: BlueGreenError }
  /** A write whose reply was lost may have landed, and the object could not be read back to tell. */
  | { kind: "unknown"; error: BlueGreenError };

/**
 * Runs one conditional write to the end: read → decide → write, again after a conflict or a lost reply
 * (the wait comes before the read), until decided, written, refused, or the deadline.
 */
export async function writeConditionally<T extends { metadata: { resourceVersion?: string } }, R>(ctx: Context, w: ConditionalWrite<T, R>): Promise<Written<R>> {
  let failure: BlueGreenError | undefined;
  for (let attempt = 0; ; attempt++) {
    let read: T;
    try {
      read = await readUntil(ctx, () => w.read(), w.deadline);
    } catch (e) {
      // A write that met a conflict was not applied; one whose reply was lost may have been.
      if (failure?.transient) return { kind: "unknown", error: failure };
      return { kind: "failed", error: failure ?? asError(e) };
    }
    const d = w.decide(read, failure);
    if ("result" in d) return { kind: "done", result: d.result };
    if (failure && ctx.clock.now().getTime() > w.deadline) return { kind: "failed", error: failure };
    try {
      return { kind: "done", result: await w.write(read.metadata.resourceVersion ?? "", read) };
    } catch (e) {
      failure = asError(e);
      if (proven(e) && !isConflict(e)) return { kind: "failed", error: failure };
    }
    await ctx.clock.sleep(isConflict(failure) ? conflictPause(attempt) : (failure.retryAfterMs ?? backoff(attempt)));
  }
}
