import cluster from 'node:cluster';
import { QuflxApp } from './app.js';
import { loadConfig } from './config/config.js';
import { ConfigError } from './core/errors.js';
import { createLogger } from './observability/logger.js';
import { runPrimary } from './runtime/cluster-primary.js';
import { runWorker } from './runtime/cluster-worker.js';
import { stopOnSignals } from './runtime/stop-signals.js';

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
  if (cluster.isWorker) await runWorker(config, log);
  else if (config.workers > 1) await runPrimary(config, log);
  else {
    // WORKERS=1: one process, as it always was.
    const app = await QuflxApp.start(config, log);
    stopOnSignals(log, async () => {
      await app.close();
      return 0;
    });
  }
} catch (err) {
  log.fatal({ err }, cluster.isWorker ? 'QuFLX worker failed to start' : 'QuFLX failed to start');
  process.exit(1);
}
