import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { createLogger, type EntityRow, validatePlugin } from '@turnpike/shared'
import type { RouteRow } from '../runtime/entity-rows.ts'
import { resolveInstance } from './chain.ts'
import { compilePipeline } from './compile.ts'

const logger = createLogger('silent')
const route = (id: string, service_id: string | null) => ({ id, service_id }) as RouteRow
const plugin = (name: string, scope: Record<string, unknown>, config: Record<string, unknown> = {}) => {
  const r = validatePlugin({ id: randomUUID(), name, config, ...scope })
  assert.ok(r.ok)
  return r.value as EntityRow
}

test('no enabled plugin: no pipeline at all', () => {
  assert.equal(compilePipeline({ entities: { plugins: [] }, routes: [], logger }), null)
  const off = { ...plugin('cors', {}), enabled: false }
  assert.equal(compilePipeline({ entities: { plugins: [off] }, routes: [], logger }), null)
})

test('routes without plugins have no chain; routes with the same plugins share one', () => {
  const [r1, r2, r3] = [randomUUID(), randomUUID(), randomUUID()]
  const s1 = randomUUID()
  const p = compilePipeline({
    entities: { plugins: [plugin('cors', { service: { id: s1 } })] },
    routes: [route(r1, s1), route(r2, s1), route(r3, null)],
    logger,
  })!
  assert.equal(p.chainFor(r3), undefined)
  assert.ok(p.chainFor(r1))
  assert.equal(p.chainFor(r1), p.chainFor(r2))
  assert.deepEqual(p.stats, { instances: 1, routes_with_plugins: 2, chains: 1 })
})

test('chains run in priority order and resolve consumer overlays by Kong precedence', () => {
  const r = randomUUID()
  const s = randomUUID()
  const c = randomUUID()
  const p = compilePipeline({
    entities: {
      consumers: [{ id: c, username: 'c' }],
      plugins: [
        plugin('rate-limiting', {}, { minute: 1 }),
        plugin('key-auth', { route: { id: r } }),
        plugin('cors', {}),
        plugin('rate-limiting', { consumer: { id: c } }, { minute: 2 }),
        plugin('rate-limiting', { service: { id: s }, consumer: { id: c } }, { minute: 3 }),
      ],
    },
    routes: [route(r, s)],
    logger,
  })!
  const chain = p.chainFor(r)!
  assert.deepEqual(
    chain.entries.map((e) => e.name),
    ['cors', 'key-auth', 'rate-limiting'],
  )
  assert.ok(chain.consumerScoped)
  const rl = chain.entries[2]
  const limit = (consumer: string | undefined) =>
    (resolveInstance(rl, consumer, false)!.config as { limits: { limit: number }[] }).limits[0].limit
  assert.equal(limit(undefined), 1)
  assert.equal(limit(randomUUID()), 1)
  assert.equal(limit(c), 3)
})

test('an instance whose route belongs to another service never applies', () => {
  const r = randomUUID()
  const p = compilePipeline({
    entities: { plugins: [plugin('cors', { route: { id: r }, service: { id: randomUUID() } })] },
    routes: [route(r, randomUUID())],
    logger,
  })!
  assert.equal(p.chainFor(r), undefined)
})

test('unknown plugins and bad configs reject the snapshot with the instance named', () => {
  const id = randomUUID()
  assert.throws(
    () => compilePipeline({ entities: { plugins: [{ id, name: 'nope', config: {} }] }, routes: [], logger }),
    new RegExp(`plugins\\[${id}\\] \\(nope\\): plugin 'nope' is not known`),
  )
  assert.throws(
    () =>
      compilePipeline({
        entities: { plugins: [{ id, name: 'request-transformer', config: { add: { headers: ['x:$(os.exit())'] } } }] },
        routes: [],
        logger,
      }),
    /unsupported template expression/,
  )
})
