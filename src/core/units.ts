/** Branded time units: a millisecond value cannot be passed where seconds are meant. */
export type EpochMs = number & { readonly __unit: 'ms' };
export type EpochSeconds = number & { readonly __unit: 's' };

export const asEpochMs = (n: number): EpochMs => n as EpochMs;
export const asEpochSeconds = (n: number): EpochSeconds => n as EpochSeconds;
export const msToSeconds = (ms: EpochMs): EpochSeconds => Math.floor(ms / 1000) as EpochSeconds;
