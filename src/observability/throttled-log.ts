import type { Logger } from './logger.js';

/**
 * Logs a recurring warning at most once per `everyMs`, with how many were held back since,
 * so a storm of bad input or slow round trips cannot flood the log.
 */
export class ThrottledLog {
  private last = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly everyMs = 5000,
  ) {}

  warn(obj: object, msg: string): void {
    const now = Date.now();
    if (now - this.last < this.everyMs) {
      this.suppressed++;
      return;
    }
    this.last = now;
    const extra = this.suppressed > 0 ? { suppressedSinceLast: this.suppressed } : {};
    this.suppressed = 0;
    this.log.warn({ ...obj, ...extra }, msg);
  }
}
