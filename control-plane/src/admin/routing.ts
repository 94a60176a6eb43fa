/** Path registration with Kong's 404/405 answers for the methods a path does not serve. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
export type Method = (typeof METHODS)[number]
export type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>

export function notFound(reply: FastifyReply): FastifyReply {
  return reply.code(404).send({ message: 'Not found' })
}

export function methodNotAllowed(reply: FastifyReply): FastifyReply {
  return reply.code(405).send({ message: 'Method not allowed' })
}

/** Serves `handlers` on `path`; every other method answers 405 instead of fastify's 404. */
export function addPath(app: FastifyInstance, path: string, handlers: Partial<Record<Method, Handler>>): void {
  for (const method of METHODS) {
    app.route({ method, url: path, handler: handlers[method] ?? (async (_req, reply) => methodNotAllowed(reply)) })
  }
}
