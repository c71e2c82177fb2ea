import {
  BlueGreenError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RefusedError,
  UnexpectedError,
  UnreachableError,
} from "../errors.js";

/** The HTTP status and Status message of a failed API call, whatever shape the client gave it. */
export function apiFailure(e: unknown): { code: number; message: string } | undefined {
  if (typeof e !== "object" || e === null || !("code" in e) || typeof (e as { code: unknown }).code !== "number") return undefined;
  const code = (e as { code: number }).code;
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
      : typeof body === "string" && body
        ? body.trim().split("\n")[0]!
        : `HTTP ${code}`;
  return { code, message };
}

function networkCause(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur; i++) {
    if (typeof cur === "object" && cur !== null) {
      const o = cur as { name?: string; code?: unknown; message?: string; cause?: unknown };
      if (o.name === "TimeoutError" || o.name === "AbortError") return "the request timed out";
      if (typeof o.code === "string" && /^(E[A-Z_]+|UND_ERR_[A-Z_]+|ERR_TLS[A-Z_]*|CERT_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_[A-Z_]+)$/.test(o.code)) {
        return `${o.code}${o.message ? ` (${o.message})` : ""}`;
      }
      cur = o.cause;
    } else break;
  }
  return undefined;
}

/** Maps a client-node failure to the plugin's error, naming the verb and object (`patch service/myapp: …`). */
export function toBlueGreenError(e: unknown, what: string, server: string): BlueGreenError {
  if (e instanceof BlueGreenError) return e;
  const api = apiFailure(e);
  if (api) {
    const text = `${what}: ${api.message}`;
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
      case 408:
      case 429:
      case 503:
      case 504:
        return new UnreachableError(`${what}: the API server did not answer in time (${api.code}): ${api.message}`);
      default:
        return new UnexpectedError(`${what}: HTTP ${api.code}: ${api.message}`);
    }
  }
  const net = networkCause(e);
  if (net) return new UnreachableError(`${what}: cannot reach the cluster at ${server}: ${net}.`);
  const msg = e instanceof Error ? e.message : String(e);
  if (/fetch failed|socket|network/i.test(msg)) {
    const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message})` : "";
    return new UnreachableError(`${what}: cannot reach the cluster at ${server}: ${msg}${cause}.`);
  }
  return new UnexpectedError(`${what}: ${msg}`);
}
