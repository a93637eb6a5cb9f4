import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { createLogger, defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
/** The QuFLX server the dev server proxies the API and Socket.IO to. */
const api = process.env.QUFLX_URL ?? 'http://127.0.0.1:3000';

/** Vite's logger, minus the stack traces of browser tabs closing their proxied WebSocket. */
const logger = createLogger();
const logError = logger.error.bind(logger);
logger.error = (msg, options) => {
  const code = (options?.error as NodeJS.ErrnoException | undefined)?.code;
  if (msg.includes('ws proxy') && (code === 'ECONNRESET' || code === 'EPIPE')) return;
  logError(msg, options);
};

export default defineConfig({
  root,
  customLogger: logger,
  plugins: [react()],
  clearScreen: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
    rolldownOptions: {
      output: {
        // The chart library and React change rarely: their own chunks stay cached across app builds.
        codeSplitting: {
          groups: [
            { name: 'react', test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/ },
            { name: 'charts', test: /node_modules[\\/](lightweight-charts|fancy-canvas)[\\/]/ },
            { name: 'socket', test: /node_modules[\\/](socket\.io-client|engine\.io-client|socket\.io-parser|engine\.io-parser|@socket\.io)[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: {
      '/api': api,
      '/health': api,
      '/metrics': api,
      '/socket.io': { target: api, ws: true },
    },
  },
});
