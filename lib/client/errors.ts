// Typed errors built from Kubernetes `Status` bodies, plus network and configuration failures.
import type { Status, StatusCause } from "./types.ts";

/** A field-level reason a request was rejected (from `Status.details.causes`). */
export interface FieldCause {
  /** The field, e.g. `spec.plan` (empty when the server gave none). */
  field: string;
  /** Machine-readable reason, e.g. `FieldValueInvalid`. */
  reason: string;
  /** Human-readable message. */
  message: string;
}

/** An error answer of the Kubernetes API, carrying its `Status`. */
export class ApiError extends Error {
  /** HTTP status code. */
  readonly code: number;
  /** `Status.reason`, e.g. `NotFound` (empty when unknown). */
  readonly reason: string;
  /** The full `Status` body (synthesized when the server sent none). */
  readonly status: Status;
  /** `Status.details`, when present. */
  readonly details?: Status["details"];

  /** Builds the error from a `Status`; prefer {@linkcode apiErrorFromStatus}. */
  constructor(status: Status, context?: string) {
    const code = status.code ?? 0;
    const reason = status.reason ?? "";
    const text = status.message || reason || `HTTP ${code}`;
    super(context ? `${context}: ${text} (${code}${reason ? " " + reason : ""})` : text);
    this.name = new.target.name;
    this.code = code;
    this.reason = reason;
    this.status = status;
    this.details = status.details;
  }
}

/** 404 NotFound. */
export class NotFoundError extends ApiError {}
/** 409 AlreadyExists. */
export class AlreadyExistsError extends ApiError {}
/** 409 Conflict: the object changed since it was read. */
export class ConflictError extends ApiError {}
/** 410 Gone or Expired: the requested resourceVersion is too old. */
export class GoneError extends ApiError {}
/** 403 Forbidden. */
export class ForbiddenError extends ApiError {}
/** 401 Unauthorized. */
export class UnauthorizedError extends ApiError {}
/** 400 BadRequest. */
export class BadRequestError extends ApiError {}
/** 5xx: the server failed. */
export class ServerError extends ApiError {}

/** 422 Invalid, with one cause per bad field. */
export class InvalidError extends ApiError {
  /** The rejected fields. */
  readonly causes: FieldCause[];
  /** Builds the error and copies the field causes. */
  constructor(status: Status, context?: string) {
    super(status, context);
    this.causes = (status.details?.causes ?? []).map((cause: StatusCause) => ({
      field: cause.field ?? "",
      reason: cause.reason ?? "",
      message: cause.message ?? "",
    }));
  }
}

/** 429 TooManyRequests, with the delay the server asked for. */
export class TooManyRequestsError extends ApiError {
  /** Seconds to wait before retrying (from `Retry-After` or the Status details), if given. */
  readonly retryAfterSeconds?: number;
  /** Builds the error; `retryAfterSeconds` overrides the Status details. */
  constructor(status: Status, context?: string, retryAfterSeconds?: number) {
    super(status, context);
    this.retryAfterSeconds = retryAfterSeconds ?? status.details?.retryAfterSeconds;
  }
}

/** The server could not be reached or the connection broke. */
export class ConnectionError extends Error {
  /** Builds the error; `cause` is the underlying network error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConnectionError";
  }
}

/** A kubeconfig (or in-cluster configuration) that cannot be used. Never contains secrets. */
export class KubeconfigError extends Error {
  /** The file at fault, when known. */
  readonly file?: string;
  /** The context being used, when known. */
  readonly context?: string;
  /** The field at fault, e.g. `users[alice].user.client-key-data`. */
  readonly field?: string;
  /** Builds the message from the problem and where it is. */
  constructor(problem: string, where: { file?: string; context?: string; field?: string } = {}) {
    const parts = [
      where.file && `file ${where.file}`,
      where.context && `context "${where.context}"`,
      where.field && `field ${where.field}`,
    ].filter(Boolean);
    super(parts.length ? `kubeconfig (${parts.join(", ")}): ${problem}` : `kubeconfig: ${problem}`);
    this.name = "KubeconfigError";
    this.file = where.file;
    this.context = where.context;
    this.field = where.field;
  }
}

/** A credential source (exec plugin, token file) failed at run time. Never contains secrets. */
export class CredentialError extends Error {
  /** Builds the error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CredentialError";
  }
}

/**
 * No complete answer within the request timeout (`--request-timeout`). The connection it used
 * was discarded; a safe request is retried with backoff on a fresh connection.
 */
export class RequestTimeoutError extends ConnectionError {
  /** The timeout that passed, in ms. */
  readonly timeoutMs: number;
  /** Builds the error naming the request and the timeout. */
  constructor(context: string, timeoutMs: number) {
    super(
      `${context}: no complete answer within ${
        timeoutMs / 1000
      } s (request timeout): connection discarded`,
    );
    this.name = "RequestTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/**
 * An answer went past one of the client's size limits (a response body, or a paged list that does
 * not end): reading stopped there and the connection was discarded. Not retried: the same request
 * would get the same answer.
 */
export class ResponseLimitError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "ResponseLimitError";
  }
}

/** Why a watch event was skipped: too long a line, or a line that is not a watch event. */
export type WatchSkipReason = "oversize" | "undecodable";

/** The watch stream held a line that is not a watch event, or one longer than allowed. */
export class WatchStreamError extends Error {
  /** Whether the line was too long or could not be decoded. */
  readonly reason: WatchSkipReason;
  /** The object the line was about (`Kind name`, from its first bytes), when it can be named. */
  readonly object?: string;
  /** Builds the error. */
  constructor(message: string, options: { reason?: WatchSkipReason; object?: string } = {}) {
    super(message);
    this.name = "WatchStreamError";
    this.reason = options.reason ?? "undecodable";
    this.object = options.object;
  }
}

/** The typed error class for a status code and `Status.reason`. */
function errorClassFor(code: number, reason: string | undefined): typeof ApiError {
  switch (reason) {
    case "NotFound":
      return NotFoundError;
    case "AlreadyExists":
      return AlreadyExistsError;
    case "Conflict":
      return ConflictError;
    case "Invalid":
      return InvalidError;
    case "Gone":
    case "Expired":
      return GoneError;
  }
  if (code === 404) return NotFoundError;
  if (code === 409) return ConflictError;
  if (code === 410) return GoneError;
  if (code === 422) return InvalidError;
  if (code === 401) return UnauthorizedError;
  if (code === 403) return ForbiddenError;
  if (code === 429) return TooManyRequestsError;
  if (code >= 500) return ServerError;
  if (code === 400) return BadRequestError;
  return ApiError;
}

/** Builds the typed error for an HTTP error answer. */
export function apiErrorFromStatus(
  status: Status,
  options: { context?: string; retryAfterSeconds?: number } = {},
): ApiError {
  const { context } = options;
  const ErrorClass = errorClassFor(status.code ?? 0, status.reason);
  if (ErrorClass === TooManyRequestsError) {
    return new TooManyRequestsError(status, context, options.retryAfterSeconds);
  }
  return new ErrorClass(status, context);
}

/** Reads an error response into a typed error (a `Status` body, or a synthesized one). */
export async function apiErrorFromResponse(
  response: Response,
  context?: string,
): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  let status: Status | undefined;
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object" && parsed.kind === "Status") status = parsed;
  } catch {
    // not JSON: synthesized below
  }
  status ??= {
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    code: response.status,
    reason: reasonForCode(response.status),
    message: text.trim().slice(0, 200) || response.statusText || `HTTP ${response.status}`,
  };
  status.code ||= response.status;
  return apiErrorFromStatus(status, {
    context,
    retryAfterSeconds: parseRetryAfter(response.headers.get("retry-after")),
  });
}

/** Parses a `Retry-After` header (seconds or an HTTP date) into seconds. */
function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

function reasonForCode(code: number): string {
  const reasons: Record<number, string> = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
  };
  return reasons[code] ?? "";
}

/** True when `error` is a 404 NotFound answer of the API server. */
export function isNotFound(error: unknown): error is NotFoundError {
  return error instanceof NotFoundError;
}

/** True when `error` is a 409 Conflict answer (the object changed since it was read). */
export function isConflict(error: unknown): error is ConflictError {
  return error instanceof ConflictError;
}

/** True when `error` is a 409 AlreadyExists answer. */
export function isAlreadyExists(error: unknown): error is AlreadyExistsError {
  return error instanceof AlreadyExistsError;
}
