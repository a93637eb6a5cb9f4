import { QuflxApp } from './app.js';
import { loadConfig } from './config/config.js';
import { ConfigError } from './core/errors.js';
import { createLogger } from './observability/logger.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const log = createLogger(config.logLevel);

try {
  const app = await QuflxApp.start(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    // A Ctrl+C reaches every process of the group (npm, tsx, us), so the same signal can arrive
    // twice: repeats are ignored, and a watchdog ends a shutdown that hangs.
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error('shutdown took over 30 s; exiting');
      process.exit(1);
    }, 30_000).unref();
    app.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (err) {
  log.fatal({ err }, 'QuFLX failed to start');
  process.exit(1);
}
