import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type ConfigEntities, type Snapshot, type SnapshotFeed, sealSnapshot } from '@turnpike/shared'
import Fastify, { type FastifyInstance } from 'fastify'
import { type TestDatabase, testDatabases } from '../db/test-databases.ts'
import { clusterMetrics } from './cluster-metrics.ts'
import { registerClusteringRoutes } from './clustering-routes.ts'
import { DataPlaneRegistry } from './data-plane-registry.ts'
import { createRegistryStore, type RegistryStore } from './registry-store.ts'
import { type DataPlaneHello, StreamState } from './stream-state.ts'
import { nodeUuid } from './test-dp-client.ts'

const v1 = sealSnapshot(1, { services: [] } as unknown as ConfigEntities)
const v2 = sealSnapshot(2, { services: [{ id: nodeUuid(99), host: 'x' }] } as unknown as ConfigEntities)
const feed: SnapshotFeed = { current: () => v2, subscribe: () => () => {} }

function dataPlane(n: number, now: () => number, over: Partial<DataPlaneHello> = {}): StreamState {
  return new StreamState(
    {
      node_id: nodeUuid(n),
      hostname: `dp-${n}`,
      ip: `10.0.0.${n}`,
      version: '0.1.0',
      labels: { region: 'eu' },
      config_version: 0,
      config_hash: '',
      plugins: [],
      capabilities: [],
      cert_expiry: 2_000_000_000,
      ...over,
    },
    { version: '0.1.0', plugins: new Map(), now },
  )
}

/** Brings a DP to `snapshot` as an Ack would. */
function serve(state: StreamState, snapshot: Snapshot) {
  const out = state.offer(snapshot)
  if (out && out.kind !== 'refusal') state.ack({ version: snapshot.version, hash: snapshot.hash, nonce: out.nonce })
}

function app(options: Parameters<typeof registerClusteringRoutes>[1]): FastifyInstance {
  const a = Fastify()
  registerClusteringRoutes(a, options)
  return a
}

for (const target of testDatabases) {
  describe(`data plane registry on ${target.name}`, { skip: target.skip, timeout: 30_000 }, () => {
    let t: TestDatabase
    let store: RegistryStore
    let now = 1_700_000_000_000
    const clock = () => now
    before(async () => {
      t = await target.open()
      store = createRegistryStore(t.db)
    })
    after(() => t?.close())

    it('lists every data plane in Kong’s shape, paginated, with Turnpike’s extra fields', async () => {
      const registry = new DataPlaneRegistry({ store, controlPlaneId: 'cp-a', now: clock })
      const states = [1, 2, 3].map((n) => dataPlane(n, clock))
      for (const s of states) registry.connected(s)
      serve(states[0]!, v2)
      serve(states[1]!, v1)
      await registry.flush()

      const api = app({ role: 'control_plane', registry, store })
      const page1 = await api.inject('/clustering/data-planes?size=2')
      assert.equal(page1.statusCode, 200)
      const body = page1.json()
      assert.equal(body.data.length, 2)
      assert.match(body.next, /^\/clustering\/data-planes\?offset=.+&size=2$/)
      const first = body.data[0]
      assert.deepEqual(
        { ...first, created_at: 0, updated_at: 0 },
        {
          id: nodeUuid(1),
          hostname: 'dp-1',
          ip: '10.0.0.1',
          version: '0.1.0',
          config_version: 2,
          config_hash: v2.hash,
          last_seen: 1_700_000_000,
          sync_status: 'normal',
          last_error: null,
          labels: { region: 'eu' },
          cert_details: { expiry_timestamp: 2_000_000_000 },
          connected: true,
          control_plane_id: 'cp-a',
          created_at: 0,
          updated_at: 0,
        },
      )
      const page2 = (await api.inject(body.next)).json()
      assert.deepEqual(
        page2.data.map((d: { id: string }) => d.id),
        [nodeUuid(3)],
      )
      assert.equal(page2.next, null)

      const status = await api.inject('/clustering/status')
      assert.equal(status.headers.deprecation, 'true')
      assert.deepEqual(status.json()[nodeUuid(2)], {
        config_hash: v1.hash,
        hostname: 'dp-2',
        ip: '10.0.0.2',
        last_seen: 1_700_000_000,
      })
    })

    it('keeps another control plane’s row when a stale stream ends here', async () => {
      const a = new DataPlaneRegistry({ store, controlPlaneId: 'cp-a', now: clock })
      const b = new DataPlaneRegistry({ store, controlPlaneId: 'cp-b', now: clock })
      const onA = dataPlane(7, clock)
      a.connected(onA)
      await a.flush()
      const onB = dataPlane(7, clock)
      b.connected(onB)
      await b.flush()
      onA.disconnected()
      a.disconnected(onA)
      await a.flush()
      const row = (await store.page(100)).data.find((r) => r.id === nodeUuid(7))!
      assert.deepEqual([row.control_plane_id, row.connected], ['cp-b', true])
    })

    it('writes last_seen at most every few seconds, and purges data planes silent past the delay', async () => {
      const registry = new DataPlaneRegistry({ store, controlPlaneId: 'cp-a', now: clock, purgeDelaySeconds: 3600 })
      const s = dataPlane(8, clock)
      registry.connected(s)
      await registry.flush()
      now += 5_000
      s.seen()
      registry.seen(s)
      await registry.flush()
      const seen = async () => (await store.page(100)).data.find((r) => r.id === nodeUuid(8))?.last_seen
      assert.equal(await seen(), 1_700_000_000, 'a heartbeat 5 s later is not written')
      now += 10_000
      s.seen()
      registry.seen(s)
      await registry.flush()
      assert.equal(await seen(), 1_700_000_015)

      s.disconnected()
      registry.disconnected(s)
      await registry.flush()
      now += 3601_000
      await registry.purge()
      assert.equal(await seen(), undefined)
      assert.equal(registry.get(nodeUuid(8)), undefined)
    })
  })
}

describe('clustering routes', () => {
  it('answer 400 on a node that is not a control plane, as Kong', async () => {
    const res = await app({ role: 'traditional' }).inject('/clustering/data-planes')
    assert.equal(res.statusCode, 400)
    assert.match(res.json().message, /only available when Turnpike is configured to run as Control Plane/)
  })

  it('list this replica’s own data planes while the database is away', async () => {
    const down: RegistryStore = {
      upsert: () => Promise.reject(new Error('connection refused')),
      page: () => Promise.reject(new Error('connection refused')),
      purge: () => Promise.reject(new Error('connection refused')),
    }
    const registry = new DataPlaneRegistry({ store: down })
    registry.connected(dataPlane(5, Date.now))
    await registry.flush()
    const res = await app({ role: 'control_plane', registry, store: down }).inject('/clustering/data-planes')
    assert.equal(res.statusCode, 200)
    assert.deepEqual(
      res.json().data.map((d: { id: string }) => d.id),
      [nodeUuid(5)],
    )
  })

  it('serve Prometheus gauges for connected data planes and their lag', async () => {
    const registry = new DataPlaneRegistry()
    const behind = dataPlane(1, Date.now)
    const current = dataPlane(2, Date.now)
    const gone = dataPlane(3, Date.now)
    serve(behind, v1)
    serve(current, v2)
    for (const s of [behind, current, gone]) registry.connected(s)
    gone.disconnected()
    const res = await app({ role: 'control_plane', registry, metrics: clusterMetrics(registry, feed) }).inject(
      '/metrics',
    )
    assert.equal(res.statusCode, 200)
    assert.match(res.headers['content-type'] as string, /text\/plain/)
    const text = res.body
    assert.match(text, /^turnpike_cluster_data_planes_connected 2$/m)
    assert.match(text, /^turnpike_cluster_config_version 2$/m)
    assert.match(text, /^turnpike_cluster_data_planes_out_of_sync 1$/m)
    assert.match(text, new RegExp(`^turnpike_cluster_data_plane_config_lag\\{node_id="${nodeUuid(1)}"\\} 1$`, 'm'))
    assert.match(text, new RegExp(`^turnpike_cluster_data_plane_config_lag\\{node_id="${nodeUuid(2)}"\\} 0$`, 'm'))
    assert.doesNotMatch(text, new RegExp(nodeUuid(3)))
    assert.match(text, /^turnpike_cluster_data_planes_by_status\{sync_status="normal"\} 2$/m)
  })
})
