// Entry of the persister thread (see persister-thread.ts). QuFLX runs from TypeScript source
// (tsx); a worker thread does not inherit tsx's loader on Node 20, so it registers it here first.
import { register } from 'tsx/esm/api';

register();
await import('./persister-thread-main.ts');
