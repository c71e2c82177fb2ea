import { formatDuration } from "../render/time.js";
import {
  BlueGreenError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RefusedError,
  UnexpectedError,
  UnreachableError,
} from "../errors.js";
import { CredentialError, DeadlineExceeded, isTlsCode, networkCode, parseRetryAfter, redactUrls } from "./transport.js";

/** The HTTP status, Status message and Retry-After of a failed API call, whatever shape the client gave it. */
export function apiFailure(e: unknown): { code: number; message: string; retryAfterMs?: number } | undefined {
  if (typeof e !== "object" || e === null || !("code" in e)) return undefined;
  const code = (e as { code: unknown }).code;
  // Only an HTTP status: a DOMException (an aborted or timed-out fetch) has a numeric code too (23, 20).
  if (typeof code !== "number" || !Number.isInteger(code) || code < 100 || code > 599) return undefined;
  if (typeof DOMException !== "undefined" && e instanceof DOMException) return undefined;
  let body = (e as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      // Not a Status object: keep the text.
    }
  }
  const message =
    typeof body === "object" && body !== null && "message" in body
      ? String((body as { message: unknown }).message)
      : typeof body === "string" && body.trim()
        ? (body.trim().split("\n", 1)[0] ?? "")
        : `HTTP ${code}`;
  const headers = (e as { headers?: unknown }).headers;
  const retryAfter = typeof headers === "object" && headers !== null ? headerValue(headers as Record<string, unknown>, "retry-after") : undefined;
  return { code, message, retryAfterMs: parseRetryAfter(retryAfter) };
}

function headerValue(headers: Record<string, unknown>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name && v !== undefined) return String(v);
  return undefined;
}

function networkCause(e: unknown): { code?: string; text: string } | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur; i++) {
    if (typeof cur === "object" && cur !== null) {
      const o = cur as { name?: string; message?: string; cause?: unknown };
      if (o.name === "TimeoutError" || o.name === "AbortError") return { text: "the request timed out" };
      cur = o.cause;
    } else break;
  }
  const code = networkCode(e);
  if (!code) return undefined;
  let msg: string | undefined;
  for (let c: unknown = e, i = 0; i < 5 && typeof c === "object" && c !== null; i++, c = (c as { cause?: unknown }).cause) {
    if ((c as { code?: unknown }).code === code) msg = (c as { message?: string }).message;
  }
  return { code, text: `${code}${msg && msg !== code ? ` (${msg})` : ""}` };
}

function transient<E extends BlueGreenError>(err: E, retryAfterMs?: number): E {
  err.transient = true;
  if (retryAfterMs !== undefined) err.retryAfterMs = retryAfterMs;
  return err;
}

/**
 * Maps a failed API call to the plugin's error, naming the verb and object (`patch service/myapp: …`).
 * Errors that do not prove the request failed (network, timeouts, 408, 429, 5xx) are `transient`.
 */
export function toBlueGreenError(e: unknown, what: string, server: string): BlueGreenError {
  if (e instanceof BlueGreenError) return e;
  const err = mapError(e, what, redactUrls(server));
  // The HTTP stack quotes URLs in some messages: never print credentials embedded in one.
  return Object.assign(err, { message: redactUrls(err.message) });
}

function mapError(e: unknown, what: string, server: string): BlueGreenError {
  if (e instanceof DeadlineExceeded) {
    return transient(new UnreachableError(`${what}: the API server did not answer within ${formatDuration(e.ms)}${e.fromFlag ? " (--request-timeout)" : ""}.`));
  }
  if (e instanceof CredentialError) {
    return new ForbiddenError(
      `${what}: cannot get credentials for user "${e.user}": ${firstLine(e.reason)}.`,
      "Check the user's exec plugin, token or certificate in your kubeconfig.",
    );
  }
  const api = apiFailure(e);
  if (api) {
    const text = `${what}: ${api.message}`;
    const busy = (m: string) => transient(new UnreachableError(m, api.retryAfterMs !== undefined ? `Try again in ${formatDuration(api.retryAfterMs)}.` : undefined), api.retryAfterMs);
    switch (api.code) {
      case 401:
        return new ForbiddenError(`${what}: unauthorized: the cluster did not accept your credentials.`, "Log in again or check the user of this kubeconfig context.");
      case 403:
        return new ForbiddenError(`${what}: forbidden: ${api.message}`);
      case 404:
        return new NotFoundError(`${text}.`);
      case 409:
        return new ConflictError(`${what}: conflict: ${api.message}`);
      case 400:
      case 422:
        return new RefusedError(`${what}: the API server rejected it: ${api.message}`);
      case 429:
        return busy(`${what}: the API server asked to slow down (429): ${api.message}`);
      case 408:
      case 502:
      case 503:
      case 504:
        return busy(`${what}: the API server did not answer in time (${api.code}): ${api.message}`);
      default: {
        const err = new UnexpectedError(`${what}: HTTP ${api.code}: ${api.message}`);
        return api.code >= 500 ? transient(err, api.retryAfterMs) : err;
      }
    }
  }
  const net = networkCause(e);
  if (net?.code && isTlsCode(net.code)) {
    // Proves the request was never sent: not transient.
    return new UnreachableError(
      `${what}: cannot verify the certificate of the cluster at ${server}: ${net.text}.`,
      "Check certificate-authority (or certificate-authority-data) of the cluster in your kubeconfig.",
    );
  }
  if (net) return transient(new UnreachableError(`${what}: cannot reach the cluster at ${server}: ${net.text}.`));
  const msg = e instanceof Error ? e.message : String(e);
  if (/socket|network/i.test(msg)) {
    const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message})` : "";
    return transient(new UnreachableError(`${what}: cannot reach the cluster at ${server}: ${msg}${cause}.`));
  }
  return new UnexpectedError(`${what}: ${firstLine(msg)}`);
}

function firstLine(s: string): string {
  const line = s.split("\n").find((l) => l.trim() !== "") ?? s;
  return line.trim().replace(/\.$/, "");
}
