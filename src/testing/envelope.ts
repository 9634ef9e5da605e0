// Building and serialising the API's envelopes. An answer stays a plain object until the very end
// so that faults can bend it first and it is stringified exactly once.

/** An error the mock answers with; the details go under `metadata.error`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  constructor(status: number, message: string, field?: string, code?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code ?? codeFor(status);
    this.field = field;
  }
}

/** An answer before serialisation. */
export interface Reply {
  status: number;
  body: Record<string, unknown> | null;
  headers?: Record<string, string>;
}

/** The error code the API uses for an HTTP status. */
export function codeFor(status: number): string {
  switch (status) {
    case 400:
      return 'BAD_REQUEST';
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 429:
      return 'TOO_MANY_REQUESTS';
    case 502:
      return 'BAD_GATEWAY';
    case 503:
      return 'SERVICE_UNAVAILABLE';
    case 504:
      return 'GATEWAY_TIMEOUT';
    default:
      return status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'ERROR';
  }
}

/** Request facts every envelope repeats. */
export interface EnvelopeContext {
  method: string;
  path: string;
  timestamp: string;
}

/** The error envelope for an HTTP status. */
export function errorReply(
  ctx: EnvelopeContext,
  status: number,
  message: string,
  field?: string,
  code?: string,
  headers?: Record<string, string>,
): Reply {
  const error: Record<string, string> = { code: code ?? codeFor(status), message };
  if (field !== undefined) error.field = field;
  const reply: Reply = {
    status,
    body: {
      metadata: { status: 'ERROR', method: ctx.method, path: ctx.path, timestamp: ctx.timestamp, error },
    },
  };
  if (headers) reply.headers = headers;
  return reply;
}

/** The success envelope of a list. */
export function listReply(
  ctx: EnvelopeContext,
  page: number,
  size: number,
  total: number,
  sort: readonly { property: string; direction: string }[],
  data: readonly unknown[],
): Reply {
  return {
    status: 200,
    body: {
      metadata: { status: 'OK', method: ctx.method, path: ctx.path, timestamp: ctx.timestamp, error: {} },
      pagination: {
        currentPage: page,
        size,
        totalPages: Math.ceil(total / size),
        totalElements: total,
        sort: sort.map((s) => ({ property: s.property, direction: s.direction })),
      },
      data,
    },
  };
}

/** How to damage a body on the way out. */
export type Truncation = 'json' | 'stream' | undefined;

/** Serialises a reply into a web `Response`, optionally cut short. */
export function toResponse(
  reply: Reply,
  extraHeaders: Record<string, string>,
  truncation: Truncation,
): Response {
  const headers = new Headers(extraHeaders);
  for (const [name, value] of Object.entries(reply.headers ?? {})) headers.set(name, value);
  if (reply.body === null) return new Response(null, { status: reply.status, headers });
  headers.set('content-type', 'application/json');
  const text = JSON.stringify(reply.body);
  const encoder = new TextEncoder();
  if (truncation === 'json') {
    const cut = encoder.encode(text.slice(0, Math.floor(text.length / 2)));
    headers.set('content-length', String(cut.byteLength));
    return new Response(cut, { status: reply.status, headers });
  }
  const bytes = encoder.encode(text);
  headers.set('content-length', String(bytes.byteLength));
  if (truncation !== 'stream') return new Response(bytes, { status: reply.status, headers });
  // Erroring a stream drops chunks still queued, so the half is handed out on one pull and the
  // failure only on the next: the reader really sees part of the body, then the break.
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) {
        controller.error(new TypeError('terminated: the connection closed before the body was complete'));
        return;
      }
      sent = true;
      controller.enqueue(bytes.subarray(0, Math.floor(bytes.byteLength / 2)));
    },
  });
  return new Response(body, { status: reply.status, headers });
}
