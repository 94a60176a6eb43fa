/** Request bodies as Kong takes them: JSON, url-encoded or multipart forms; anything else is 415. */
import multipart from '@fastify/multipart'
import type { EntityDef } from '@turnpike/shared'
import { concreteEntityDef, TurnpikeError } from '@turnpike/shared'
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { decodeForm } from './form-body.ts'

/** lua-cjson's nesting limit, which Kong's Admin API inherits. */
const MAX_JSON_DEPTH = 1000

/** Url-encoded fields in order (keys may repeat); decoded against the entity once the route knows it. */
class FormFields {
  readonly pairs: [string, string][]
  constructor(pairs: [string, string][]) {
    this.pairs = pairs
  }
}

/** Nesting depth of a parsed JSON value, without recursion. */
function depthExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]]
  while (stack.length) {
    const [v, d] = stack.pop()!
    if (typeof v !== 'object' || v === null) continue
    if (d > max) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1])
  }
  return false
}

export function registerBodyParsers(app: FastifyInstance): void {
  // Several Content-Type headers leave the body's meaning ambiguous (Node keeps only the first).
  app.addHook('onRequest', async (req) => {
    const raw = req.raw.rawHeaders
    let count = 0
    for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'content-type') count++
    if (count > 1) throw new TurnpikeError('BAD_REQUEST', 'Multiple Content-Type headers are not allowed')
  })
  // Rejects `__proto__`/`constructor` keys, as fastify does by default.
  const json = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string
    if (text.trim() === '') return done(null, undefined)
    json(req, text, (err, parsed) => {
      if (err) return done(new TurnpikeError('BAD_REQUEST', 'Cannot parse JSON body'))
      if (depthExceeds(parsed, MAX_JSON_DEPTH))
        return done(new TurnpikeError('BAD_REQUEST', `Cannot parse JSON body: nested deeper than ${MAX_JSON_DEPTH}`))
      done(null, parsed)
    })
  })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, new FormFields([...new URLSearchParams(body as string)])),
  )
  app.register(multipart)
}

/** The form fields of a url-encoded or multipart body, in order; undefined for other bodies. */
async function formPairs(req: FastifyRequest): Promise<[string, string][] | undefined> {
  if (req.body instanceof FormFields) return req.body.pairs
  if (!req.isMultipart()) return undefined
  const pairs: [string, string][] = []
  try {
    for await (const part of req.parts()) {
      // Files are read as text: certificates and keys are uploaded this way (`cert=@cert.pem`).
      pairs.push([part.fieldname, part.type === 'file' ? (await part.toBuffer()).toString('utf8') : String(part.value)])
    }
  } catch (err) {
    // The multipart plugin's own errors (limits) carry their status; the parser's (truncated bodies) do not.
    if ((err as FastifyError).statusCode) throw err
    throw new TurnpikeError('BAD_REQUEST', `Cannot parse multipart body: ${(err as Error).message}`)
  }
  return pairs
}

/**
 * The entity input carried by the request. Forms are decoded against `def`, or for a plugin against its own
 * definition (named in the form, else `existingName`), so `config.minute=10` becomes a number.
 */
export async function readInput(
  req: FastifyRequest,
  def: EntityDef,
  existingName?: unknown,
): Promise<Record<string, unknown>> {
  const pairs = await formPairs(req)
  if (pairs) {
    const name = pairs.find(([k]) => k === 'name')?.[1] ?? existingName
    return decodeForm(concreteEntityDef(def, name), pairs)
  }
  const body = req.body
  if (body === undefined || body === null) return {}
  if (typeof body !== 'object' || Array.isArray(body))
    throw new TurnpikeError('BAD_REQUEST', 'the request body must be a JSON object')
  return body as Record<string, unknown>
}
