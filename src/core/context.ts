/** What every endpoint needs from the client that owns it. */
import type { Transport } from './transport.js';

/** Shared state handed by the client to its endpoints and plugins. */
export interface ClientContext {
  /** The HTTP layer (retries, errors, logging). */
  readonly transport: Transport;
  /** Default page size for listings (1..500). */
  readonly pageSize: number;
  /** Default number of requests a listing has in flight at its start. */
  readonly concurrency: number;
  /** Default most requests in flight a listing may grow to. */
  readonly maxConcurrency: number;
  /** Whether response bodies are checked against their schemas. */
  readonly validate: boolean;
}
