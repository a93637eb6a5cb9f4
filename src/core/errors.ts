/** One problem with one field of one input item; `index` is the item's place in a batch. */
export interface FieldIssue {
  index: number;
  field: string;
  message: string;
}

/** Input that breaks the contract; carries every problem found, so a client can fix them all at once. */
export class ValidationError extends Error {
  readonly details: FieldIssue[];
  constructor(message: string, details: FieldIssue[]) {
    super(message);
    this.name = 'ValidationError';
    this.details = details;
  }
}

/** A bad configuration value; start-up stops with this message. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Redis cannot take writes right now; HTTP maps this to 503 with Retry-After. */
export class UnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterS = 1,
  ) {
    super(message);
    this.name = 'UnavailableError';
  }
}
