import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Constant-time check of `Authorization: Bearer <token>`. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * A route's onRequest hook: 401 unless the request carries `token` as its bearer token (no check
 * when `token` is unset). Runs before the body is read, so an unauthorised client cannot make us
 * parse it. `name` is the setting's name, for the message.
 */
export function bearerGuard(token: string | undefined, name: string) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (!token || bearerMatches(request.headers.authorization, token)) return undefined;
    reply.header('WWW-Authenticate', 'Bearer');
    return reply.code(401).send({ error: `Missing or wrong bearer token (Authorization: Bearer <${name}>)` });
  };
}
