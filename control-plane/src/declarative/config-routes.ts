/**
 * Kong's `/config` (`kong/api/routes/config.lua`). `GET` exports the config as `{config: "<yaml>"}` — on any node
 * (Kong answers 400 on DB-backed ones; exporting there too is what `turnpike config export --admin-url` uses).
 * `POST` replaces a DB-less node's whole config atomically; a DB-backed node answers 400 as Kong does (apply a
 * file to a database with `turnpike config import`, one transaction with a diff). Bodies: the declarative object
 * itself, `{config: "<yaml or json>"}` (JSON, form or multipart `config=@kong.yml`), or raw YAML with a YAML
 * content type — accepted on this path only.
 */
import type { ConfigEntities, DeclarativeConfig, DeclarativeErrors } from '@turnpike/shared'
import {
  declarativeHash,
  exportDeclarative,
  loadDeclarative,
  parseDeclarative,
  publicEntities,
  TurnpikeError,
} from '@turnpike/shared'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { methodNotAllowed } from '../admin/routing.ts'
import { readConfig } from '../db/config-reader.ts'
import type { Database } from '../db/database.ts'
import { DeclarativeConfigError } from './import-config.ts'

/** Largest `/config` body: a 100k-consumer file is ~10 MB of YAML. */
export const CONFIG_BODY_LIMIT = 256 * 1024 * 1024

const YAML_TYPES = ['text/yaml', 'text/x-yaml', 'application/yaml', 'application/x-yaml']

/** How a DB-less node swaps its config. */
export interface DeclarativeLoader {
  /** Hash of the input last loaded (`?check_hash=1`). */
  currentHash(): string | undefined
  /** Replaces the whole config; throws DeclarativeConfigError when it cannot be stored. Returns what it holds now. */
  load(config: DeclarativeConfig): Promise<ConfigEntities>
}

export interface ConfigRoutesOptions {
  db: Database
  /** Present on DB-less nodes only: POST /config replaces their config. */
  dbless?: DeclarativeLoader
}

/** Kong's truthy query values (`flatten_errors=yes`). */
function truthy(v: unknown): boolean {
  const s = typeof v === 'string' ? v.toLowerCase() : v
  return s === true || s === 1 || s === 'true' || s === '1' || s === 'on' || s === 'yes'
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Kong's 400 body for an invalid config: code 14, the error tree, and per-entity errors when asked. */
function invalid(errors: DeclarativeErrors, flatten: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = new TurnpikeError('DECLARATIVE_CONFIG', errors.message, errors.fields).toJSON()
  if (flatten) body.flattened_errors = errors.flattened_errors
  return body
}

/** Kong's 201 body: entities by collection, then by id; hashed secrets left out. */
function loaded(entities: ConfigEntities): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {}
  for (const def of publicEntities) {
    const rows = entities[def.name] ?? []
    if (!rows.length) continue
    const hidden = Object.entries(def.fields).filter(([, f]) => f.hashed)
    const byId: Record<string, unknown> = {}
    for (const row of rows) {
      const shown: Record<string, unknown> = { ...row }
      for (const [name] of hidden) delete shown[name]
      byId[row.id] = shown
    }
    out[def.name] = byId
  }
  return out
}

type ConfigInput = { text: string } | { doc: Record<string, unknown> } | undefined

/** The config in the request, and any `flatten_errors`/`check_hash` given in the body rather than the query. */
async function readConfigInput(req: FastifyRequest, params: Record<string, unknown>): Promise<ConfigInput> {
  let config: unknown
  if (req.isMultipart()) {
    for await (const part of req.parts({ limits: { fileSize: CONFIG_BODY_LIMIT, fieldSize: CONFIG_BODY_LIMIT } })) {
      const value = part.type === 'file' ? (await part.toBuffer()).toString('utf8') : String(part.value)
      if (part.fieldname === 'config') config = value
      else params[part.fieldname] ??= value
    }
  } else {
    const body = req.body
    if (typeof body === 'string') config = body
    else if (body instanceof URLSearchParams) {
      config = body.get('config') ?? undefined
      for (const [k, v] of body) if (k !== 'config') params[k] ??= v
    } else if (isPlainObject(body)) {
      if ('_format_version' in body) return { doc: body }
      config = body.config
      for (const k of ['flatten_errors', 'check_hash']) if (k in body) params[k] ??= body[k]
    }
  }
  if (typeof config === 'string' && config.trim() !== '') return { text: config }
  if (isPlainObject(config)) return { doc: config }
  return undefined
}

export async function configRoutes(app: FastifyInstance, options: ConfigRoutesOptions): Promise<void> {
  // Encapsulated: YAML bodies and raw form fields are understood on this path only.
  app.removeContentTypeParser('application/x-www-form-urlencoded')
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, new URLSearchParams(body as string)),
  )
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_req, body, done) => done(null, body))

  const get = async (_req: FastifyRequest, reply: FastifyReply) => {
    const { entities } = await readConfig(options.db)
    return reply.send({ config: exportDeclarative(entities) })
  }

  const post = async (req: FastifyRequest, reply: FastifyReply) => {
    const loader = options.dbless
    if (!loader)
      return reply.code(400).send({
        message:
          'this endpoint is only available when Turnpike is configured to not use a database; ' +
          "apply a file to the database with 'turnpike config import'",
      })
    const params: Record<string, unknown> = { ...(req.query as Record<string, unknown>) }
    const input = await readConfigInput(req, params)
    if (!input) return reply.code(400).send({ message: 'expected a declarative configuration' })
    const flatten = truthy(params.flatten_errors)
    // Kong compares exactly "1" here (older than flatten_errors and its truthy()).
    if (String(params.check_hash) === '1') {
      const hash = declarativeHash('text' in input ? input.text : input.doc)
      if (hash === loader.currentHash()) return reply.code(304).send()
    }
    const parsed = 'text' in input ? parseDeclarative(input.text) : loadDeclarative(input.doc)
    if (!parsed.ok) return reply.code(400).send(invalid(parsed.errors, flatten))
    try {
      return reply.code(201).send(loaded(await loader.load(parsed)))
    } catch (err) {
      if (err instanceof DeclarativeConfigError) return reply.code(400).send(invalid(err.errors, flatten))
      throw err
    }
  }

  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const)
    app.route({
      method,
      url: '/config',
      bodyLimit: CONFIG_BODY_LIMIT,
      handler: method === 'GET' ? get : method === 'POST' ? post : async (_req, reply) => methodNotAllowed(reply),
    })
}
