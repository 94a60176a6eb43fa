import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { certificates } from '../entities/certificates.ts'
import { keyauthCredentials } from '../entities/keyauth-credentials.ts'
import { routes } from '../entities/routes.ts'
import { services } from '../entities/services.ts'
import { entityJsonSchema, fieldJsonSchema } from './json-schema.ts'
import { kongEntitySchema } from './kong-schema.ts'
import { validateEntity, validateField } from './validate.ts'

describe('JSON Schema from definitions', () => {
  it('maps types, bounds, enums, defaults and nullability', () => {
    const s = entityJsonSchema(services, 'input')
    const p = s.properties as Record<string, Record<string, unknown>>
    assert.deepEqual(s.required, ['host'])
    assert.equal(s.additionalProperties, false)
    assert.deepEqual(p.port, { type: ['integer', 'null'], minimum: 0, maximum: 65535, default: 80 })
    assert.deepEqual(p.protocol?.enum?.toString(), services.fields.protocol?.one_of?.toString())
    assert.equal(p.path?.pattern, '^/')
    assert.ok(p.url, 'shorthands are accepted on input')
    const out = entityJsonSchema(services, 'output')
    assert.deepEqual((out.properties as Record<string, { type: unknown }>).port?.type, 'integer')
    assert.ok((out.required as string[]).includes('tags'))
  })
  it('covers sets, maps, records, references, transient lists and TTL', () => {
    const r = entityJsonSchema(routes, 'output').properties as Record<string, Record<string, Record<string, unknown>>>
    assert.equal(r.methods?.uniqueItems, true)
    assert.equal(r.headers?.additionalProperties?.type, 'array')
    assert.deepEqual(r.service?.properties?.id, { type: 'string', format: 'uuid' })
    assert.ok((entityJsonSchema(certificates).properties as Record<string, unknown>).snis)
    assert.deepEqual(
      (entityJsonSchema(keyauthCredentials, 'output').properties as Record<string, { type: unknown }>).ttl?.type,
      ['integer', 'null'],
    )
    assert.deepEqual(fieldJsonSchema({ type: 'string', len_min: 0 }), { type: 'string' })
  })
  it('Kong’s shape lists fields in order as one-key objects', () => {
    const k = kongEntitySchema(routes)
    assert.equal(k.endpoint_key, 'name')
    assert.deepEqual(
      (k.fields as Record<string, unknown>[]).map((f) => Object.keys(f)[0]),
      Object.keys(routes.fields),
    )
  })
})

describe('validation additions', () => {
  it('rejects empty strings unless len_min is 0', () => {
    assert.deepEqual(validateField({ type: 'string' }, ''), { error: 'length must be at least 1' })
    assert.deepEqual(validateField({ type: 'string', len_min: 0 }, ''), { value: '' })
  })
  it('runs record-level checks, nesting their errors under the field', () => {
    const def = {
      type: 'record' as const,
      fields: { a: { type: 'integer' as const }, b: { type: 'integer' as const } },
      checks: [
        (r: Record<string, unknown>) => ((r.a as number) > (r.b as number) ? { b: 'must not be below a' } : undefined),
        () => 'always',
      ],
    }
    assert.deepEqual(validateField(def, { a: 2, b: 1 }), { error: { b: 'must not be below a', '@entity': ['always'] } })
  })
  it('merges entity check messages into one @entity list', () => {
    const def = { ...services, checks: [() => 'one', () => ({ '@entity': ['two'], host: 'bad' })] }
    const r = validateEntity(def, { host: 'x.test' })
    assert.ok(!r.ok)
    assert.deepEqual(r.errors, { '@entity': ['one', 'two'], host: 'bad' })
  })
})
