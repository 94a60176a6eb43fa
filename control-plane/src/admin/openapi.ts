/**
 * The OpenAPI 3.1 document of the Admin API, generated from the paths actually registered and the entity and
 * plugin definitions (shared `entityJsonSchema`): nothing here is written per entity.
 */
import type { EntityDef } from '@turnpike/shared'
import {
  allPluginDefs,
  entityJsonSchema,
  pluginEntityDef,
  plugins,
  publicEntities,
  TURNPIKE_VERSION,
} from '@turnpike/shared'
import type { Endpoint, Method } from './routing.ts'

type Json = Record<string, unknown>

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` })
const json = (schema: Json) => ({ 'application/json': { schema } })

/** Request bodies are accepted as JSON and as Kong's form syntax (`config.minute=10`, `hosts[]=a`). */
const body = (schema: Json, required = true) => ({
  required,
  content: {
    ...json(schema),
    'application/x-www-form-urlencoded': { schema: { type: 'object' } },
    'multipart/form-data': { schema: { type: 'object' } },
  },
})

const errorSchema: Json = {
  type: 'object',
  description: "Kong's error shape; `code` is stable (see docs/errors.md)",
  properties: {
    code: { type: 'integer' },
    name: { type: 'string' },
    message: { type: 'string' },
    fields: { type: 'object' },
  },
  required: ['message'],
}

/** Without `required`: a PATCH body names only what changes. */
function partial(schema: Json): Json {
  const { required: _, ...rest } = schema
  return { ...rest, title: `${schema.title} (partial)` }
}

function components(): Json {
  const schemas: Record<string, Json> = {
    Error: errorSchema,
    Message: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
  }
  for (const def of publicEntities) {
    schemas[def.name] = entityJsonSchema(def, 'output')
    schemas[`${def.name}_input`] = entityJsonSchema(def, 'input')
    schemas[`${def.name}_update`] = partial(entityJsonSchema(def, 'input'))
  }
  // A plugin instance is validated by its own config schema: one input schema per plugin, chosen by `name`.
  const variants = allPluginDefs().map((p) => {
    const s = entityJsonSchema(pluginEntityDef(p), 'input')
    const properties = { ...(s.properties as Json), name: { const: p.name } }
    schemas[`plugin_${p.name}`] = { ...s, title: `plugin ${p.name}`, properties }
    return ref(`plugin_${p.name}`)
  })
  schemas.plugins_input = { title: 'plugins', oneOf: variants, discriminator: { propertyName: 'name' } }
  return {
    schemas,
    responses: {
      BadRequest: { description: 'Invalid input (schema violation and others)', content: json(ref('Error')) },
      Unauthorized: { description: 'Missing or wrong admin token', content: json(ref('Error')) },
      NotFound: { description: 'No such entity', content: json(ref('Message')) },
      MethodNotAllowed: { description: 'Method not allowed here', content: json(ref('Message')) },
      Conflict: { description: 'Unique constraint violation', content: json(ref('Error')) },
      UnsupportedMediaType: { description: 'Body neither JSON nor a form', content: json(ref('Error')) },
      Unavailable: { description: 'The database is unreachable', content: json(ref('Error')) },
    },
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'The `admin_token` setting, when set' },
      kongAdminToken: { type: 'apiKey', in: 'header', name: 'Kong-Admin-Token' },
    },
  }
}

function pageSchema(def: EntityDef): Json {
  return {
    type: 'object',
    properties: {
      data: { type: 'array', items: ref(def.name) },
      offset: { type: 'string', description: 'Present when more rows follow' },
      next: { type: ['string', 'null'], description: 'Path of the next page' },
    },
    required: ['data', 'next'],
  }
}

const listParameters = [
  { name: 'size', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  { name: 'offset', in: 'query', schema: { type: 'string' }, description: 'Opaque token from the previous page' },
  {
    name: 'tags',
    in: 'query',
    schema: { type: 'string' },
    description: '`a,b` matches entities with all the tags, `a/b` with any; at most 5',
  },
]

const ttlParameter = {
  name: 'ttl',
  in: 'query',
  schema: { type: 'integer', minimum: 0, maximum: 100_000_000 },
  description: 'Seconds until the entity expires (also accepted as a `ttl` body field)',
}

function inputName(def: EntityDef, method: Method): string {
  if (method === 'PATCH') return `${def.name}_update`
  return def === plugins ? 'plugins_input' : `${def.name}_input`
}

/** The operation of one method on one endpoint. */
function operation(e: Endpoint, method: Method, operationId: string): Json {
  const { doc } = e
  const def = doc.entity
  const op: Json = { operationId, tags: [doc.tag], summary: doc.summary?.[method] ?? `${method} ${e.path}` }
  const parameters: Json[] = [...e.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
    description: 'An id, or the endpoint key (name, username, key …)',
  }))
  const responses: Json = { 401: responseRef('Unauthorized'), 503: responseRef('Unavailable') }
  const writes = method === 'POST' || method === 'PUT' || method === 'PATCH'
  if (writes) Object.assign(responses, { 400: responseRef('BadRequest'), 415: responseRef('UnsupportedMediaType') })
  if (def && doc.kind !== 'other') {
    if (doc.kind === 'collection' && method === 'GET') {
      parameters.push(...listParameters)
      responses[200] = { description: 'One page', content: json(pageSchema(def)) }
    } else if (method === 'DELETE') {
      responses[doc.kind === 'parent' ? 405 : 204] =
        doc.kind === 'parent' ? responseRef('MethodNotAllowed') : { description: 'Deleted (or never existed)' }
    } else {
      const status = method === 'POST' ? 201 : 200
      responses[status] = { description: def.name, content: json(ref(def.name)) }
    }
    if (writes) {
      op.requestBody = body(ref(inputName(def, method)), method !== 'PATCH')
      if (def.ttl) parameters.push(ttlParameter)
      responses[409] = responseRef('Conflict')
    }
    if (e.path.includes('{')) responses[404] = responseRef('NotFound')
  } else {
    const response = doc.responses?.[method]
    const status = doc.status?.[method]
    if (status === 204) responses[204] = { description: 'Done (no content)' }
    else
      responses[status ?? (method === 'POST' ? 201 : 200)] = response
        ? { description: 'OK', content: json(response) }
        : { description: 'OK' }
    if (method === 'POST' && response && status === undefined) {
      // Kong answers 200 to its validation endpoints.
      responses[200] = responses[201]
      delete responses[201]
    }
    const request = doc.requestBodies?.[method]
    if (request) op.requestBody = body(request)
    for (const [name, description] of Object.entries(doc.query ?? {}))
      parameters.push({ name, in: 'query', schema: { type: 'string' }, description })
  }
  if (parameters.length) op.parameters = parameters
  op.responses = responses
  return op
}

/** The whole document for the endpoints registered on an Admin API. */
export function openApiDocument(endpoints: readonly Endpoint[]): Json {
  const paths: Record<string, Json> = {}
  const used = new Set<string>()
  for (const e of endpoints) {
    const item: Json = paths[e.path] ?? {}
    paths[e.path] = item
    for (const method of e.methods) {
      if (method === 'OPTIONS') continue
      const base = `${method.toLowerCase()}${e.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+/g, '_')}`
      let id = base.replace(/_+$/, '')
      for (let i = 2; used.has(id); i++) id = `${base}_${i}`
      used.add(id)
      item[method.toLowerCase()] = operation(e, method, id)
    }
  }
  const tags = [...new Set(endpoints.map((e) => e.doc.tag))].sort().map((name) => ({ name }))
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Turnpike Admin API',
      version: TURNPIKE_VERSION,
      description:
        'Kong-compatible Admin API. Generated from the entity and plugin definitions the server validates with.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: 'http://127.0.0.1:8001' }],
    // Open unless `admin_token` is set; then either header works.
    security: [{}, { bearer: [] }, { kongAdminToken: [] }],
    tags,
    paths,
    components: components(),
  }
}
