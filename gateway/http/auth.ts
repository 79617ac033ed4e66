import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export type AuthGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * Mutating routes need `Authorization: Bearer <http.token>` (the scheme in any case, RFC 7235 §2.1); with no
 * token configured they are refused outright.
 */
export function tokenGuard(token: string | undefined): AuthGuard {
  const expected = token ? Buffer.from(token) : undefined;
  return async (request, reply) => {
    if (!expected) {
      await reply.code(403).send({ error: 'forbidden', message: 'no http.token configured; set CHOCO_EDGE_HTTP_TOKEN to enable this action' });
      return;
    }
    const header = request.headers.authorization ?? '';
    const given = Buffer.from(/^bearer +(\S+) *$/i.exec(header)?.[1] ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      await reply.code(401).send({ error: 'unauthorized', message: 'missing or wrong bearer token' });
    }
  };
}
