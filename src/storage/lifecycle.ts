import { ConfigurationError } from '../core/errors.js';

/** Tracks whether an adapter was closed, so every method can refuse with the same clear error. */
export class Lifecycle {
  private closedFlag = false;

  constructor(private readonly adapterName: string) {}

  /** True once `markClosed` ran. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** Throws when the adapter was closed. */
  check(): void {
    if (this.closedFlag) {
      throw new ConfigurationError(
        `Storage adapter "${this.adapterName}" is closed; create a new adapter to use the store again`,
      );
    }
  }

  /** Marks the adapter closed; false when it already was (so close() can be called twice). */
  markClosed(): boolean {
    if (this.closedFlag) return false;
    this.closedFlag = true;
    return true;
  }
}
