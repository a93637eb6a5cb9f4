import { createHash } from 'node:crypto';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * The Content-Security-Policy of every answer: only this origin's scripts, styles, images and
 * connections (Socket.IO included: 'self' covers ws: to the same host), no plugins, no framing.
 * Inline scripts run only on the pages that carry them, by hash (see pageCsp).
 * No upgrade-insecure-requests: QuFLX serves plain HTTP on a laptop or LAN.
 */
const DIRECTIVES: Record<string, string[]> = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  // Inline styles cannot run code; the chart library injects a <style> for its attribution logo and
  // sets style attributes as text. (A hash here would switch 'unsafe-inline' off: none is added.)
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/**
 * Security headers on every answer (@fastify/helmet): the CSP above, X-Content-Type-Options
 * nosniff, X-Frame-Options DENY, Referrer-Policy no-referrer, and helmet's cross-origin
 * isolation headers. No HSTS: that belongs to whatever terminates TLS in front.
 */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: DIRECTIVES },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  });
}

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
const INLINE_SCRIPT = /<script\b(?![^>]*\bsrc\s*=)[^>]*>([\s\S]*?)<\/script>/gi;

/** The CSP for one HTML page: the common policy, plus the hashes of that page's own inline scripts. */
export function pageCsp(html: string): string {
  const scripts = [...html.matchAll(INLINE_SCRIPT)].map((m) => hash(m[1]!));
  return Object.entries(DIRECTIVES)
    .map(([name, values]) => [name, ...values, ...(name === 'script-src' ? scripts : [])].join(' '))
    .join('; ');
}
