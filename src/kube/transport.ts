// How requests are bounded and retried: pure rules, so they are testable without a server.

/** Writes get this deadline when --request-timeout is not given, so a held write cannot hang forever. */
const DEFAULT_WRITE_TIMEOUT_MS = 30_000;
/** Reads: at most this many attempts in all. */
const MAX_READ_ATTEMPTS = 4;
/** Backoff between read attempts: 250ms, 500ms, 1s, … at most this. */
const MAX_BACKOFF_MS = 2_000;
/** A read is not retried once it has taken this long, nor when Retry-After asks for a longer wait. */
const MAX_RETRY_TOTAL_MS = 15_000;

/** The deadline of one call in ms (0: none): --request-timeout when given (0 = no limit), else a default for writes only. */
export function callDeadlineMs(kind: "read" | "write", requestTimeoutMs: number | undefined): number {
  return requestTimeoutMs ?? (kind === "write" ? DEFAULT_WRITE_TIMEOUT_MS : 0);
}

/** The per-call deadline expired; the reason a request is aborted with. */
export class DeadlineExceeded extends Error {
  constructor(
    readonly ms: number,
    /** Set by --request-timeout (else the default write deadline). */
    readonly fromFlag: boolean,
  ) {
    super(`deadline of ${ms}ms exceeded`);
    this.name = "DeadlineExceeded";
  }
}

/** Credentials could not be had (exec plugin failed, token or certificate file unreadable). */
export class CredentialError extends Error {
  constructor(
    readonly user: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = "CredentialError";
  }
}

/** Statuses a read is retried on: the server was busy or a gateway failed, the request had no effect. */
const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** Network error codes that say the connection failed or broke, worth another try for a read. */
const RETRY_NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/** TLS failures: the server's certificate is not trusted or does not match. Never retried, never transient. */
export function isTlsCode(code: string): boolean {
  return /^(ERR_TLS_[A-Z_]+|ERR_SSL_[A-Z_]+|CERT_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_[A-Z_]+|HOSTNAME_MISMATCH)$/.test(code);
}

/** A network error code found on the error or its causes (a wrapper may carry the socket error in `cause`). */
export function networkCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && typeof cur === "object" && cur !== null; i++) {
    const o = cur as { code?: unknown; cause?: unknown };
    if (typeof o.code === "string" && /^E[A-Z_]+$|^ERR_(TLS|SSL)_|^(CERT_|UNABLE_TO_)|SELF_SIGNED/.test(o.code)) return o.code;
    cur = o.cause;
  }
  return undefined;
}

/** Retry-After in milliseconds: delay-seconds or an HTTP date (RFC 9110); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What a failed attempt says about retrying: the status or network code, and Retry-After. */
interface FailedAttempt {
  status?: number;
  networkCode?: string;
  retryAfterMs?: number;
}

/**
 * How long to wait before the next attempt of a read, or undefined to give up. `attempt` is the number of
 * attempts made so far (1 after the first), `elapsedMs` the time spent on the call.
 */
export function readRetryDelayMs(failure: FailedAttempt, attempt: number, elapsedMs: number): number | undefined {
  const retryable =
    (failure.status !== undefined && RETRY_STATUSES.has(failure.status)) ||
    (failure.networkCode !== undefined && RETRY_NETWORK_CODES.has(failure.networkCode));
  if (!retryable || attempt >= MAX_READ_ATTEMPTS) return undefined;
  const backoff = Math.min(MAX_BACKOFF_MS, 250 * 2 ** (attempt - 1));
  const delay = failure.retryAfterMs !== undefined ? Math.max(failure.retryAfterMs, 0) : backoff;
  if (elapsedMs + delay > MAX_RETRY_TOTAL_MS) return undefined;
  return delay;
}

/** A server URL without user:password@ (which is never printed), and those credentials if it had them. */
export function splitServerUrl(server: string): { server: string; basic?: { username: string; password: string } } {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    return { server };
  }
  if (!u.username && !u.password) return { server };
  const basic = { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
  u.username = "";
  u.password = "";
  // URL keeps a trailing "/" for an empty path; the kubeconfig's form had none.
  const clean = server.endsWith("/") || u.pathname !== "/" ? u.href : u.href.replace(/\/$/, "");
  return { server: clean, basic };
}

/** Removes user:password@ from every URL in a text (error messages of the HTTP stack may quote them). */
export function redactUrls(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, "$1");
}
