import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type ConfigEntities, createLogger, sealSnapshot } from '@turnpike/shared'
import { PeerPools } from '../backend/peer-pools.ts'
import { SnapshotApplier } from './snapshot-applier.ts'

const logger = createLogger('silent')
const S1 = '00000000-0000-4000-8000-000000000001'
const S2 = '00000000-0000-4000-8000-000000000002'
const R1 = '00000000-0000-4000-8000-0000000000a1'
const R2 = '00000000-0000-4000-8000-0000000000a2'

const svc = (id: string, host: string) => ({ id, name: `svc-${host}`, host, port: 80, protocol: 'http' })
const rte = (id: string, service: string, path: string) => ({ id, paths: [path], service: { id: service } })

function entities(extra: Partial<ConfigEntities> = {}): ConfigEntities {
  return { services: [svc(S1, 'one.test')], routes: [rte(R1, S1, '/one')], ...extra }
}

function matchPath(applier: SnapshotApplier, path: string) {
  return applier.current?.router.match({
    method: 'GET',
    host: 'x.test',
    port: 80,
    path,
    scheme: 'http',
    sni: undefined,
    headers: {},
  })
}

describe('SnapshotApplier', () => {
  it('applies a valid snapshot and serves it', async () => {
    const pools = new PeerPools(logger)
    const applier = new SnapshotApplier({ pools }, logger)
    assert.equal(applier.currentRef(), undefined)
    const snapshot = sealSnapshot(1, entities())
    assert.deepEqual(await applier.apply(snapshot), { ok: true })
    assert.deepEqual(applier.currentRef(), { version: 1, hash: snapshot.hash })
    assert.equal(matchPath(applier, '/one/x')?.route.row.id, R1)
    assert.equal(applier.current?.backends.get(S1)?.fixed?.peer.origin, 'http://one.test:80')
    await pools.closeAll(0)
  })

  it('rejects a route whose service is missing and keeps the old config serving', async () => {
    const pools = new PeerPools(logger)
    const applier = new SnapshotApplier({ pools }, logger)
    const good = sealSnapshot(1, entities())
    await applier.apply(good)
    const bad = sealSnapshot(2, entities({ routes: [rte(R1, S1, '/one'), rte(R2, S2, '/two')] }))
    const result = await applier.apply(bad)
    assert.equal(result.ok, false)
    assert.match(!result.ok ? result.error : '', new RegExp(`routes\\[${R2}\\]: service: service ${S2} does not exist`))
    assert.deepEqual(applier.currentRef(), { version: 1, hash: good.hash })
    assert.equal(matchPath(applier, '/one')?.route.row.id, R1)
    await pools.closeAll(0)
  })

  it('rejects field violations with Kong-style messages', async () => {
    const applier = new SnapshotApplier({ pools: new PeerPools(logger) }, logger)
    const cases: [ConfigEntities, RegExp][] = [
      [entities({ routes: [rte(R1, S1, '~/(unclosed')] }), /paths\.1: invalid regex/],
      [entities({ routes: [rte(R1, S1, 'no-slash')] }), /paths\.1: should start with/],
      [entities({ routes: [{ id: R1, service: { id: S1 } }] }), /must set one of 'methods', 'hosts'/],
      [entities({ services: [{ id: S1, port: 80 }] }), /host: required field missing/],
      [entities({ services: [{ ...svc(S1, 'one.test'), port: 70000 }] }), /port: value should be between 0 and 65535/],
      [entities({ routes: [rte(R1, S1, '/a'), rte(R1, S1, '/b')] }), /id: duplicate id/],
    ]
    for (const [content, pattern] of cases) {
      const result = await applier.apply(sealSnapshot(1, content))
      assert.equal(result.ok, false, `expected rejection matching ${pattern}`)
      assert.match(!result.ok ? result.error : '', pattern)
    }
    assert.equal(applier.current, undefined)
  })

  it('skips recompiling when the hash is unchanged but records the new version', async () => {
    const pools = new PeerPools(logger)
    const applier = new SnapshotApplier({ pools }, logger)
    await applier.apply(sealSnapshot(1, entities()))
    const router = applier.current?.router
    assert.deepEqual(await applier.apply(sealSnapshot(2, entities())), { ok: true })
    assert.equal(applier.current?.version, 2)
    assert.equal(applier.current?.router, router)
    await pools.closeAll(0)
  })

  it('shares pools across snapshots and closes one only after its last request', async () => {
    const pools = new PeerPools(logger)
    const applier = new SnapshotApplier({ pools }, logger)
    await applier.apply(sealSnapshot(1, entities({ services: [svc(S1, 'one.test'), svc(S2, 'two.test')] })))
    assert.equal(pools.size, 2)
    const pool = applier.current?.backends.get(S1)?.fixed?.pool

    const lease = applier.acquire()!
    await applier.apply(sealSnapshot(2, entities()))
    assert.equal(applier.current?.backends.get(S1)?.fixed?.pool, pool, 'same origin keeps its pool')
    assert.equal(pools.size, 2, "the dropped service's pool lives while a request holds the old config")
    applier.release(lease)
    assert.equal(pools.size, 1)

    await applier.apply(sealSnapshot(3, { services: [], routes: [] }))
    assert.equal(pools.size, 0)
    assert.equal(pool?.closed, true)
  })

  it('leaves disabled services and non-HTTP routes out of the router', async () => {
    const pools = new PeerPools(logger)
    const applier = new SnapshotApplier({ pools }, logger)
    const content = entities({
      services: [svc(S1, 'one.test'), { ...svc(S2, 'two.test'), enabled: false }],
      routes: [rte(R1, S1, '/one'), rte(R2, S2, '/two')],
    })
    assert.deepEqual(await applier.apply(sealSnapshot(1, content)), { ok: true })
    assert.equal(matchPath(applier, '/two'), undefined)
    assert.equal(applier.current?.stats.skipped_routes, 1)
    assert.equal(applier.current?.backends.has(S2), false)
    await pools.closeAll(0)
  })

  describe('incremental compile by part hashes', () => {
    const C1 = '00000000-0000-4000-8000-0000000000c1'
    const consumer = (custom_id: string) => ({ id: C1, username: 'alice', custom_id })

    it('reuses the validated rows, router and backends when only consumers change', async () => {
      const pools = new PeerPools(logger)
      const applier = new SnapshotApplier({ pools }, logger)
      await applier.apply(sealSnapshot(1, entities({ consumers: [consumer('a')] })))
      const before = applier.current!
      const lease = applier.acquire()!
      const next = sealSnapshot(2, entities({ consumers: [consumer('b')] }))
      assert.notEqual(next.hash, before.hash)
      assert.deepEqual(await applier.apply(next), { ok: true })
      const after = applier.current!
      assert.notEqual(after, before)
      assert.deepEqual(applier.currentRef(), { version: 2, hash: next.hash })
      assert.equal(after.router, before.router, 'same router object')
      assert.equal(after.backends, before.backends)
      assert.equal(after.certificates, before.certificates)
      assert.equal(after.rows.services, before.rows.services)
      assert.equal(after.rows.routes, before.rows.routes)
      assert.equal(matchPath(applier, '/one')?.route.row.id, R1)
      // The shared backends hold their pools once per config: releasing the old config keeps them open.
      applier.release(lease)
      assert.equal(pools.size, 1)
      assert.equal(after.backends.get(S1)?.fixed?.pool.closed, false)
      await applier.apply(sealSnapshot(3, { services: [], routes: [] }))
      assert.equal(pools.size, 0)
    })

    it('still rejects a services-only change that leaves a route without its service', async () => {
      const pools = new PeerPools(logger)
      const applier = new SnapshotApplier({ pools }, logger)
      const routes = [rte(R1, S1, '/one'), rte(R2, S2, '/two')]
      const good = sealSnapshot(1, { services: [svc(S1, 'one.test'), svc(S2, 'two.test')], routes })
      await applier.apply(good)
      const router = applier.current?.router
      const bad = sealSnapshot(2, { services: [svc(S1, 'one.test')], routes })
      assert.equal(bad.part_hashes.routes, good.part_hashes.routes, 'routes unchanged')
      const result = await applier.apply(bad)
      assert.equal(result.ok, false)
      assert.match(
        !result.ok ? result.error : '',
        new RegExp(`routes\\[${R2}\\]: service: service ${S2} does not exist`),
      )
      assert.deepEqual(applier.currentRef(), { version: 1, hash: good.hash })
      assert.equal(applier.current?.router, router)
      assert.equal(matchPath(applier, '/two')?.route.row.id, R2)
      assert.equal(pools.size, 2)

      // A valid services-only change rebuilds the router and backends from the new services.
      const moved = sealSnapshot(3, { services: [svc(S1, 'one.test'), svc(S2, 'moved.test')], routes })
      assert.deepEqual(await applier.apply(moved), { ok: true })
      assert.notEqual(applier.current?.router, router)
      assert.equal(applier.current?.backends.get(S2)?.fixed?.peer.origin, 'http://moved.test:80')
      await pools.closeAll(0)
    })

    it('rebuilds the router when routes change', async () => {
      const pools = new PeerPools(logger)
      const applier = new SnapshotApplier({ pools }, logger)
      await applier.apply(sealSnapshot(1, entities()))
      const before = applier.current!
      assert.equal(matchPath(applier, '/two'), undefined)
      const next = sealSnapshot(2, entities({ routes: [rte(R1, S1, '/one'), rte(R2, S1, '/two')] }))
      assert.deepEqual(await applier.apply(next), { ok: true })
      assert.notEqual(applier.current?.router, before.router)
      assert.notEqual(applier.current?.rows.routes, before.rows.routes)
      assert.equal(applier.current?.backends, before.backends, 'services unchanged: backends reused')
      assert.equal(matchPath(applier, '/two')?.route.row.id, R2)
      assert.equal(applier.current?.stats.routes, 2)
      await pools.closeAll(0)
    })
  })
})
