/** What every endpoint needs from the client that owns it. */
import type { Transport } from './transport.js';

/** Shared state handed by the client to its endpoints and plugins. */
export interface ClientContext {
  /** The HTTP layer (retries, errors, logging). */
  readonly transport: Transport;
  /** Default page size for listings (1..500). */
  readonly pageSize: number;
  /** Default number of pages fetched at once. */
  readonly concurrency: number;
  /** Whether response bodies are checked against their schemas. */
  readonly validate: boolean;
}
