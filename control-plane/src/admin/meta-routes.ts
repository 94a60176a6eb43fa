/**
 * Kong's informational endpoints: schemas (and their validation), enabled plugins, tags, the endpoint list, and
 * Turnpike's OpenAPI document of the whole Admin API.
 */
import type { EntityDef } from '@turnpike/shared'
import {
  allPluginDefs,
  entityJsonSchema,
  kongEntitySchema,
  pluginByName,
  pluginEntityDef,
  plugins,
  publicEntities,
  TurnpikeError,
  validatePlugin,
} from '@turnpike/shared'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { EntityStore } from '../db/entity-store.ts'
import { checkEntity } from '../db/entity-store.ts'
import { openApiDocument } from './openapi.ts'
import { parsePageQuery } from './page-query.ts'
import { readInput } from './request-body.ts'
import { addPath, endpointsOf } from './routing.ts'

const SUCCESS = { message: 'schema validation successful' }
const param = (req: FastifyRequest, name: string) => (req.params as Record<string, string>)[name] ?? ''
const wantsJsonSchema = (req: FastifyRequest) => (req.query as Record<string, unknown>).format === 'json-schema'

const messageSchema = { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] }
const tagRowSchema = {
  type: 'object',
  properties: { entity_name: { type: 'string' }, entity_id: { type: 'string' }, tag: { type: 'string' } },
  required: ['entity_name', 'entity_id', 'tag'],
}
const tagPageSchema = {
  type: 'object',
  properties: {
    data: { type: 'array', items: tagRowSchema },
    offset: { type: 'string' },
    next: { type: ['string', 'null'] },
  },
  required: ['data', 'next'],
}

/** An entity by its name (`keyauth_credentials`, as Kong) or its Admin API path (`key-auths`). */
function publicEntity(name: string): EntityDef | undefined {
  return publicEntities.find((d) => d.name === name || d.admin_path === name)
}

export function registerMetaRoutes(app: FastifyInstance, store: EntityStore): void {
  addPath(
    app,
    '/schemas/{name}',
    {
      GET: async (req, reply) => {
        const def = publicEntity(param(req, 'name'))
        if (!def) return reply.code(404).send({ message: `No entity named '${param(req, 'name')}'` })
        return wantsJsonSchema(req) ? entityJsonSchema(def) : kongEntitySchema(def)
      },
    },
    {
      tag: 'schemas',
      kind: 'other',
      summary: { GET: "An entity's schema (Kong's shape; `?format=json-schema` for JSON Schema)" },
      query: { format: '`json-schema` for a JSON Schema (draft 2020-12) instead of Kong’s shape' },
      responses: { GET: { type: 'object' } },
    },
  )

  addPath(
    app,
    '/schemas/{name}/validate',
    {
      POST: async (req, reply) => {
        const def = publicEntity(param(req, 'name'))
        if (!def) return reply.code(404).send({ message: `No entity named '${param(req, 'name')}'` })
        const input = await readInput(req, def)
        if (def.ttl) delete input.ttl
        checkEntity(def, input)
        return SUCCESS
      },
    },
    {
      tag: 'schemas',
      kind: 'other',
      summary: { POST: 'Validate an entity without storing it' },
      requestBodies: { POST: { type: 'object' } },
      responses: { POST: messageSchema },
    },
  )

  addPath(
    app,
    '/schemas/plugins/{name}',
    {
      GET: async (req, reply) => {
        const plugin = pluginByName(param(req, 'name'))
        if (!plugin) return reply.code(404).send({ message: `No plugin named '${param(req, 'name')}'` })
        const def = pluginEntityDef(plugin)
        return wantsJsonSchema(req) ? entityJsonSchema(def) : kongEntitySchema(def)
      },
      // Kong's `POST /schemas/plugins/validate` lands here: a static segment would shadow plugin names.
      POST: async (req, reply) => {
        if (param(req, 'name') !== 'validate') return reply.code(405).send({ message: 'Method not allowed' })
        const body = await readInput(req, plugins)
        const r = validatePlugin(body)
        if (!r.ok) throw TurnpikeError.schemaViolation(r.errors)
        return SUCCESS
      },
    },
    {
      tag: 'schemas',
      kind: 'other',
      summary: {
        GET: "A plugin's schema (Kong's shape; `?format=json-schema` for JSON Schema)",
        POST: 'With {name} = `validate`: validate a plugin instance without storing it',
      },
      query: { format: '`json-schema` for a JSON Schema (draft 2020-12) instead of Kong’s shape' },
      requestBodies: { POST: { type: 'object' } },
      responses: { GET: { type: 'object' }, POST: messageSchema },
    },
  )

  addPath(
    app,
    '/plugins/enabled',
    { GET: async () => ({ enabled_plugins: allPluginDefs().map((p) => p.name) }) },
    {
      tag: 'plugins',
      kind: 'other',
      summary: { GET: 'Names of the plugins this node can run' },
      responses: {
        GET: {
          type: 'object',
          properties: { enabled_plugins: { type: 'array', items: { type: 'string' } } },
          required: ['enabled_plugins'],
        },
      },
    },
  )

  const tagPage = async (req: FastifyRequest, path: string, tag?: string) => {
    const q = parsePageQuery(req.query as Record<string, unknown>)
    if (q.tags)
      throw new TurnpikeError('INVALID_OPTIONS', 'invalid option (tags: not supported here)', {
        tags: 'not supported here',
      })
    const page = await store.tags({ tag, size: q.size, offset: q.offset })
    if (!page.offset) return { data: page.data, next: null }
    return {
      data: page.data,
      offset: page.offset,
      next: `${path}?offset=${encodeURIComponent(page.offset)}&size=${q.size}`,
    }
  }
  const pageQuery = { size: 'Page size, 1–1000 (default 100)', offset: 'Opaque token from the previous page' }
  addPath(
    app,
    '/tags',
    { GET: (req) => tagPage(req, '/tags') },
    {
      tag: 'tags',
      kind: 'other',
      summary: { GET: 'Every tag of every entity' },
      query: pageQuery,
      responses: { GET: tagPageSchema },
    },
  )
  addPath(
    app,
    '/tags/{tags}',
    {
      GET: (req) => {
        const tag = param(req, 'tags')
        return tagPage(req, `/tags/${encodeURIComponent(tag)}`, tag)
      },
    },
    {
      tag: 'tags',
      kind: 'other',
      summary: { GET: 'The entities carrying one tag' },
      query: pageQuery,
      responses: { GET: tagPageSchema },
    },
  )

  addPath(
    app,
    '/endpoints',
    {
      GET: async () => ({
        data: endpointsOf(app)
          .map((e) => e.path)
          .sort(),
      }),
    },
    {
      tag: 'information',
      kind: 'other',
      summary: { GET: 'Every path the Admin API serves' },
      responses: {
        GET: { type: 'object', properties: { data: { type: 'array', items: { type: 'string' } } }, required: ['data'] },
      },
    },
  )

  let openapi: Record<string, unknown> | undefined
  addPath(
    app,
    '/openapi.json',
    {
      // Built on first use, once every path (other components' too) is registered.
      GET: async () => {
        openapi ??= openApiDocument(endpointsOf(app))
        return openapi
      },
    },
    {
      tag: 'information',
      kind: 'other',
      summary: { GET: 'This OpenAPI 3.1 document, generated from the entity and plugin definitions' },
      responses: { GET: { type: 'object' } },
    },
  )
}
