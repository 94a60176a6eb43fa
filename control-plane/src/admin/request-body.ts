/** Request bodies as Kong takes them: JSON, url-encoded or multipart forms; anything else is 415. */
import multipart from '@fastify/multipart'
import type { EntityDef } from '@turnpike/shared'
import { TurnpikeError } from '@turnpike/shared'
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { decodeForm } from './form-body.ts'

/** Url-encoded fields in order (keys may repeat); decoded against the entity once the route knows it. */
class FormFields {
  readonly pairs: [string, string][]
  constructor(pairs: [string, string][]) {
    this.pairs = pairs
  }
}

export function registerBodyParsers(app: FastifyInstance): void {
  // Rejects `__proto__`/`constructor` keys, as fastify does by default.
  const json = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string
    if (text.trim() === '') return done(null, undefined)
    json(req, text, (err, parsed) =>
      err ? done(new TurnpikeError('BAD_REQUEST', 'Cannot parse JSON body')) : done(null, parsed),
    )
  })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, new FormFields([...new URLSearchParams(body as string)])),
  )
  app.register(multipart)
}

/** The entity input carried by the request, decoded against `def` when it is a form. */
export async function readInput(req: FastifyRequest, def: EntityDef): Promise<Record<string, unknown>> {
  if (req.isMultipart()) {
    const pairs: [string, string][] = []
    try {
      for await (const part of req.parts()) {
        // Files are read as text: certificates and keys are uploaded this way (`cert=@cert.pem`).
        pairs.push([
          part.fieldname,
          part.type === 'file' ? (await part.toBuffer()).toString('utf8') : String(part.value),
        ])
      }
    } catch (err) {
      // The multipart plugin's own errors (limits) carry their status; the parser's (truncated bodies) do not.
      if ((err as FastifyError).statusCode) throw err
      throw new TurnpikeError('BAD_REQUEST', `Cannot parse multipart body: ${(err as Error).message}`)
    }
    return decodeForm(def, pairs)
  }
  const body = req.body
  if (body instanceof FormFields) return decodeForm(def, body.pairs)
  if (body === undefined || body === null) return {}
  if (typeof body !== 'object' || Array.isArray(body))
    throw new TurnpikeError('BAD_REQUEST', 'the request body must be a JSON object')
  return body as Record<string, unknown>
}
