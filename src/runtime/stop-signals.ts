import type { Logger } from '../observability/logger.js';

/** How long a shutdown may take before the watchdog ends the process. */
export const SHUTDOWN_WATCHDOG_MS = 30_000;

/**
 * Stops the process once, on the first SIGINT or SIGTERM (or the returned trigger, e.g. a
 * message from the primary), then exits with the code `stop` resolves to. A Ctrl+C reaches every
 * process of the terminal's group (npm, tsx, the primary and its workers), so the same signal can
 * arrive twice: repeats are ignored. A watchdog ends a shutdown that hangs, after `onWatchdog`.
 */
export function stopOnSignals(
  log: Logger,
  stop: () => Promise<number>,
  onWatchdog: () => void = () => undefined,
): (reason: string) => void {
  let stopping = false;
  const trigger = (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: reason }, 'shutting down');
    setTimeout(() => {
      log.error(`shutdown took over ${SHUTDOWN_WATCHDOG_MS / 1000} s; exiting`);
      onWatchdog();
      process.exit(1);
    }, SHUTDOWN_WATCHDOG_MS).unref();
    stop().then(
      (code) => process.exit(code),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => trigger('SIGINT'));
  process.on('SIGTERM', () => trigger('SIGTERM'));
  return trigger;
}
