/**
 * What a failed fetch says about its cause. Runtimes that give a code put it on the error or on
 * its `cause` (Node: `TypeError('fetch failed')` with `cause.code` such as `ECONNREFUSED`; Bun: the
 * error's own `code`); others give only a message, and the cause stays unnamed.
 */

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found (DNS)',
  EAI_AGAIN: 'host not found (DNS)',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  UND_ERR_SOCKET: 'connection reset',
  ETIMEDOUT: 'connect timeout',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
};

/** The cause of a network failure: its code when the runtime gave one, and words for it. */
export interface NetworkCause {
  /** The runtime's code, e.g. `ECONNREFUSED`. */
  code?: string;
  /** A short description, e.g. `connection refused`; the code itself when it has no words here. */
  reason?: string;
}

/** Reads the code of a failed fetch or body read (on the error or up to three causes deep). */
export function networkCause(error: unknown): NetworkCause {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code) return { code, reason: REASONS[code] ?? code };
    current = (current as { cause?: unknown }).cause;
  }
  return {};
}
