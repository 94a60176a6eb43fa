/** The optional Admin API token (`admin_token`): every request must carry it, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto'
import { TurnpikeError } from '@turnpike/shared'
import type { FastifyInstance, FastifyRequest } from 'fastify'

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest()

/** The token a request presents: `Authorization: Bearer …` or Kong's `Kong-Admin-Token: …`. */
function presented(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization
  const m = typeof auth === 'string' ? /^Bearer[ \t]+(.+)$/i.exec(auth.trim()) : null
  if (m) return m[1]
  const kong = req.headers['kong-admin-token']
  return typeof kong === 'string' ? kong : undefined
}

/** Requires `token` on every request to `app` (no-op when empty); 401 in Kong's error shape otherwise. */
export function requireAdminToken(app: FastifyInstance, token: string): void {
  if (!token) return
  // Comparing fixed-length digests keeps the comparison constant-time whatever the presented length.
  const expected = digest(token)
  app.addHook('onRequest', async (req, reply) => {
    const given = presented(req)
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return
    reply.header('www-authenticate', 'Bearer realm="turnpike-admin"')
    throw new TurnpikeError(
      'UNAUTHORIZED',
      given === undefined
        ? 'Unauthorized: send the admin token as Authorization: Bearer <token> or Kong-Admin-Token: <token>'
        : 'Unauthorized: invalid admin token',
    )
  })
}
