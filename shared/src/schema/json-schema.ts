/**
 * Entity and field definitions as JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1): the one translation the
 * OpenAPI document and `GET /schemas/{entity}?format=json-schema` use, so files can be validated offline.
 * Rules only code can express (`custom`, entity checks) are not carried; the Admin API remains the judge.
 */
import type { EntityDef, FieldDef } from './types.ts'

export type JsonSchema = Record<string, unknown>

/** `input`: what a client may send (POST/PUT bodies); `output`: what the Admin API returns. */
export type SchemaMode = 'input' | 'output'

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

function withNull(schema: JsonSchema): JsonSchema {
  const t = schema.type
  if (typeof t === 'string') return { ...schema, type: [t, 'null'] }
  return { anyOf: [schema, { type: 'null' }] }
}

/** One field; `nullable` adds null to its type. */
export function fieldJsonSchema(def: FieldDef, mode: SchemaMode = 'input'): JsonSchema {
  const s: JsonSchema = {}
  switch (def.type) {
    case 'string': {
      s.type = 'string'
      const min = def.len_min ?? 1
      if (min > 0) s.minLength = min
      if (def.len_max !== undefined) s.maxLength = def.len_max
      if (def.uuid) s.format = 'uuid'
      if (def.one_of) s.enum = [...def.one_of]
      const patterns: string[] = []
      if (def.starts_with !== undefined) patterns.push(`^${escapeRegex(def.starts_with)}`)
      if (def.match !== undefined) patterns.push(def.match)
      if (patterns.length === 1) s.pattern = patterns[0]
      else if (patterns.length > 1) s.allOf = patterns.map((pattern) => ({ pattern }))
      break
    }
    case 'integer':
    case 'number':
      s.type = def.type
      if (def.between) {
        s.minimum = def.between[0]
        s.maximum = def.between[1]
      }
      if (def.gt !== undefined) s.exclusiveMinimum = def.gt
      if (def.one_of) s.enum = [...def.one_of]
      break
    case 'boolean':
      s.type = 'boolean'
      break
    case 'array':
    case 'set':
      s.type = 'array'
      if (def.elements) s.items = fieldJsonSchema(def.elements, mode)
      if (def.len_min !== undefined) s.minItems = def.len_min
      if (def.len_max !== undefined) s.maxItems = def.len_max
      if (def.type === 'set') s.uniqueItems = true
      break
    case 'record':
      Object.assign(s, recordJsonSchema(def.fields ?? {}, mode))
      break
    case 'map':
      s.type = 'object'
      if (def.keys) s.propertyNames = fieldJsonSchema(def.keys, mode)
      if (def.values) s.additionalProperties = fieldJsonSchema(def.values, mode)
      break
    case 'foreign':
      s.type = 'object'
      s.properties = { id: { type: 'string', format: 'uuid' } }
      if (mode === 'output') {
        s.required = ['id']
        s.additionalProperties = false
      } else s.description = `A reference to a ${def.reference} entity: {"id": …}, or by its endpoint key`
      break
    case 'json':
      break
  }
  if (def.default !== undefined) s.default = def.default
  if (def.description !== undefined && s.description === undefined) s.description = def.description
  if (def.hashed) s.description = `Stored hashed (${def.hashed === 'api_key' ? 'keyed HMAC-SHA256' : 'scrypt'}).`
  return s
}

/** Whether a field may be left out of an input (it has a default, is generated, or is optional). */
function optionalOnInput(def: FieldDef): boolean {
  return !def.required || def.auto === true || def.default !== undefined
}

/** A record of fields: every property typed; nullable where a field may be null. */
export function recordJsonSchema(fields: Record<string, FieldDef>, mode: SchemaMode = 'input'): JsonSchema {
  const properties: Record<string, JsonSchema> = {}
  const required: string[] = []
  for (const [name, f] of Object.entries(fields)) {
    const schema = fieldJsonSchema(f, mode)
    // On output a required or defaulted field is always set; on input any optional field may be sent as null.
    const nullable = mode === 'input' ? optionalOnInput(f) : !(f.required || f.auto)
    properties[name] = nullable && f.type !== 'json' ? withNull(schema) : schema
    if (mode === 'output' || !optionalOnInput(f)) required.push(name)
  }
  const s: JsonSchema = { type: 'object', properties, additionalProperties: false }
  if (required.length) s.required = required
  return s
}

/** An entity as JSON Schema, with its input-only shorthands and transient lists, and TTL on output. */
export function entityJsonSchema(def: EntityDef, mode: SchemaMode = 'input'): JsonSchema {
  const s = recordJsonSchema(def.fields, mode)
  const properties = s.properties as Record<string, JsonSchema>
  for (const t of def.transient_children ?? [])
    properties[t.field] = { type: 'array', items: { type: 'string' }, description: `${t.child} ${t.key}s` }
  if (mode === 'input') {
    for (const name of Object.keys(def.shorthands ?? {}))
      if (!(name in properties)) properties[name] = { description: 'Input-only shorthand, expanded into other fields' }
    if (def.ttl) properties.ttl = { type: 'integer', minimum: 0, description: 'Seconds until the entity expires' }
  } else if (def.ttl) {
    properties.ttl = { type: ['integer', 'null'], description: 'Seconds left before the entity expires' }
    ;(s.required as string[]).push('ttl')
  }
  return { title: def.name, ...s }
}
