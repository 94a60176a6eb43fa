/**
 * Upstream health on a control plane: simulated data planes report over the sync stream, the Admin API shows each
 * one's view and the fleet's, and manual overrides reach the data planes that accept them.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  AckSchema,
  type ControlPlaneMessage,
  create,
  grpc,
  HEALTH_CAPABILITY,
  HealthReportSchema,
  HelloSchema,
} from '@turnpike/proto'
import { type ConfigEntities, sealSnapshot, TURNPIKE_VERSION } from '@turnpike/shared'
import { type Json, openTestAdmin, type TestAdmin } from '../admin/test-admin.ts'
import { testDatabases, testLogger } from '../db/test-databases.ts'
import { DataPlaneRegistry } from '../sync/data-plane-registry.ts'
import { type SyncServer, startSyncServer } from '../sync/grpc-server.ts'
import { StreamState } from '../sync/stream-state.ts'
import { connectRawDataPlane, manualFeed, nodeUuid, type RawDataPlane, until } from '../sync/test-dp-client.ts'
import { clusterHealthSource } from './health-source.ts'

const CP_ID = '00000000-0000-4000-8000-0000000000c0'
const DP1 = nodeUuid(1)
const DP2 = nodeUuid(2)
const DP3 = nodeUuid(3)

const emptyConfig = (n: number) =>
  sealSnapshot(n, { services: [{ id: nodeUuid(900 + n), host: `h${n}.test`, port: 80 }] } as unknown as ConfigEntities)

/** The next message of `kind`, passing over heartbeats and config pushes (which these DPs leave unanswered). */
async function nextOf(dp: RawDataPlane, kind: ControlPlaneMessage['kind']['case']): Promise<ControlPlaneMessage> {
  for (;;) {
    const m = await dp.next()
    if (m.kind.case === kind) return m
    if (!['heartbeat', 'snapshot', 'delta'].includes(String(m.kind.case)))
      throw new Error(`expected ${kind}, got ${m.kind.case}`)
  }
}

function hello(dp: RawDataPlane, nodeId: string, capabilities: string[]) {
  dp.send({
    kind: {
      case: 'hello',
      value: create(HelloSchema, {
        nodeId,
        hostname: `dp-${nodeId.slice(-1)}`,
        version: TURNPIKE_VERSION,
        capabilities: ['encoding:rows+gzip', ...capabilities],
      }),
    },
  })
}

const rows = (r: { body: Json }) => r.body.data ?? []
/** A nested object of an answer, for reading its fields. */
const obj = (v: unknown) => v as Json & { addresses: Json[] }
const byTarget = (r: { body: Json }, target: string) => rows(r).find((t) => t.target === target)

const db = testDatabases.find((t) => t.name === 'pglite')!

describe('upstream health on a control plane, per data plane', { timeout: 30_000 }, () => {
  const feed = manualFeed()
  const registry = new DataPlaneRegistry()
  let sync: SyncServer
  let a: TestAdmin
  let up: Json
  const t: Record<string, Json> = {}
  const dps: RawDataPlane[] = []
  let dp1: RawDataPlane
  let dp2: RawDataPlane
  let dp3: RawDataPlane

  before(async () => {
    feed.publish(emptyConfig(1))
    sync = await startSyncServer({
      feed,
      logger: testLogger,
      listen: { host: '127.0.0.1', port: 0, ssl: false, http2: false },
      credentials: grpc.ServerCredentials.createInsecure(),
      registry,
      plugins: new Map(),
    })
    a = await openTestAdmin(
      db,
      {},
      {
        nodeId: CP_ID,
        health: clusterHealthSource(registry, sync.overrideHealth, HEALTH_CAPABILITY),
        clustering: { role: 'control_plane', registry },
      },
    )
    up = (await a.call('POST', '/upstreams', { name: 'backend.test' })).body
    for (const [name, target, weight] of [
      ['a', '10.0.0.1:80', 100],
      ['b', 'svc.test:80', 50],
      ['c', 'gone.test:80', 10],
    ] as const)
      t[name] = (await a.call('POST', '/upstreams/backend.test/targets', { target, weight })).body

    dp1 = connectRawDataPlane(sync.address)
    dp2 = connectRawDataPlane(sync.address)
    dp3 = connectRawDataPlane(sync.address)
    dps.push(dp1, dp2, dp3)
    hello(dp1, DP1, [HEALTH_CAPABILITY])
    hello(dp2, DP2, [HEALTH_CAPABILITY])
    // An older data plane: connected, but it neither reports nor takes overrides.
    hello(dp3, DP3, [])
    await until(() => registry.list().filter((s) => s.connected).length === 3)
  })

  after(async () => {
    for (const dp of dps) dp.close()
    await sync?.close()
    await a?.close()
  })

  const upstreamId = () => String(up.id)

  it('keeps each data plane’s latest report', async () => {
    // dp-1 sees both resolvable targets healthy.
    dp1.send({
      kind: {
        case: 'healthReport',
        value: create(HealthReportSchema, {
          configVersion: 1n,
          upstreams: [
            {
              upstreamId: upstreamId(),
              upstreamName: 'backend.test',
              health: 'HEALTHY',
              weight: { total: 200n, available: 200n, unavailable: 0n },
              targets: [
                {
                  targetId: String(t.a!.id),
                  target: '10.0.0.1:80',
                  weight: 100,
                  health: 'HEALTHY',
                  addresses: [{ ip: '10.0.0.1', port: 80, health: 'HEALTHY', weight: 100 }],
                },
                {
                  targetId: String(t.b!.id),
                  target: 'svc.test:80',
                  weight: 50,
                  health: 'HEALTHY',
                  addresses: [
                    { ip: '10.0.1.1', port: 80, health: 'HEALTHY', weight: 50 },
                    { ip: '10.0.1.2', port: 80, health: 'HEALTHY', weight: 50 },
                  ],
                },
              ],
            },
          ],
        }),
      },
    })
    // dp-2 cannot reach 10.0.0.1 and did not resolve svc.test; its first report is superseded.
    dp2.send({ kind: { case: 'healthReport', value: create(HealthReportSchema, { configVersion: 1n }) } })
    dp2.send({
      kind: {
        case: 'healthReport',
        value: create(HealthReportSchema, {
          configVersion: 1n,
          upstreams: [
            {
              upstreamId: upstreamId(),
              upstreamName: 'backend.test',
              health: 'UNHEALTHY',
              weight: { total: 100n, available: 0n, unavailable: 100n },
              targets: [
                {
                  targetId: String(t.a!.id),
                  target: '10.0.0.1:80',
                  weight: 100,
                  health: 'UNHEALTHY',
                  addresses: [{ ip: '10.0.0.1', port: 80, health: 'UNHEALTHY', weight: 100 }],
                },
              ],
            },
          ],
        }),
      },
    })
    await until(() => {
      const reports = registry.healthReports()
      return reports.length === 2 && reports.every((r) => r.report.upstreams.length === 1)
    })
    assert.deepEqual(
      registry
        .healthReports()
        .map((r) => r.dp.node_id)
        .sort(),
      [DP1, DP2],
    )
  })

  it('GET /upstreams/{u}/health: Kong’s shape over the fleet (worst verdict), and each data plane’s view', async () => {
    const res = await a.call('GET', '/upstreams/backend.test/health')
    assert.equal(res.status, 200)
    assert.equal(res.body.node_id, CP_ID)
    assert.equal(res.body.next, null)
    assert.deepEqual(byTarget(res, '10.0.0.1:80'), {
      ...t.a,
      health: 'UNHEALTHY',
      data: {
        host: '10.0.0.1',
        port: 80,
        nodeWeight: 100,
        weight: { total: 200, available: 100, unavailable: 100 },
        addresses: [
          { ip: '10.0.0.1', port: 80, health: 'HEALTHY', weight: 100, node_id: DP1 },
          { ip: '10.0.0.1', port: 80, health: 'UNHEALTHY', weight: 100, node_id: DP2 },
        ],
      },
    })
    // Healthy on dp-1, unresolved on dp-2.
    const b = byTarget(res, 'svc.test:80')!
    assert.equal(b.health, 'DNS_ERROR')
    assert.deepEqual(
      obj(b.data).addresses?.map((x) => x.node_id),
      [DP1, DP1],
    )
    assert.deepEqual(byTarget(res, 'gone.test:80'), { ...t.c, health: 'DNS_ERROR' })

    const planes = res.body.data_planes as Json[]
    assert.deepEqual(
      planes.map((p) => [p.node_id, p.hostname, p.connected, p.config_version, p.health]),
      [
        [DP1, 'dp-1', true, 1, 'HEALTHY'],
        [DP2, 'dp-2', true, 1, 'UNHEALTHY'],
      ],
    )
    assert.equal(typeof planes[0]!.reported_at, 'number')
    assert.deepEqual(planes[1]!.weight, { total: 100, available: 0, unavailable: 100 })
    assert.deepEqual(
      (planes[0]!.targets as Json[]).map((x) => [x.target, x.health]),
      [
        ['10.0.0.1:80', 'HEALTHY'],
        ['svc.test:80', 'HEALTHY'],
      ],
    )
    assert.deepEqual(planes[1]!.targets, [
      {
        target_id: t.a!.id,
        target: '10.0.0.1:80',
        weight: 100,
        health: 'UNHEALTHY',
        addresses: [{ ip: '10.0.0.1', port: 80, health: 'UNHEALTHY', weight: 100 }],
      },
    ])
  })

  it('?node_id= gives one data plane’s answer, as that node would give it', async () => {
    const res = await a.call('GET', `/upstreams/backend.test/health?node_id=${DP1}`)
    assert.equal(res.status, 200)
    assert.equal(byTarget(res, '10.0.0.1:80')?.health, 'HEALTHY')
    assert.equal(byTarget(res, 'svc.test:80')?.health, 'HEALTHY')
    assert.deepEqual(
      (res.body.data_planes as Json[]).map((p) => p.node_id),
      [DP1],
    )
    const paged = await a.call('GET', `/upstreams/backend.test/health?node_id=${DP1}&size=1`)
    assert.match(String(paged.body.next), new RegExp(`&node_id=${DP1}&size=1$`))
    assert.equal((await a.call('GET', `/upstreams/backend.test/health?node_id=${DP3}`)).status, 404)
  })

  it('?balancer_health=1: the fleet’s balancer (weights summed, hosts merged) and each one’s', async () => {
    const res = await a.call('GET', '/upstreams/backend.test/health?balancer_health=1')
    assert.equal(res.status, 200)
    const data = obj(res.body.data)
    assert.deepEqual([data.health, data.balancer_health, data.id], ['UNHEALTHY', 'UNHEALTHY', up.id])
    const details = data.details as Json
    assert.deepEqual(details.weight, { total: 300, available: 200, unavailable: 100 })
    assert.equal(details.healthy, false)
    const hosts = details.hosts as Json[]
    assert.deepEqual(
      hosts.map((h) => [h.host, (h.addresses as Json[]).map((x) => `${x.node_id}:${x.healthy}`)]),
      [
        ['10.0.0.1', [`${DP1}:true`, `${DP2}:false`]],
        ['svc.test', [`${DP1}:true`, `${DP1}:true`]],
      ],
    )
    const planes = res.body.data_planes as Json[]
    assert.deepEqual(
      planes.map((p) => [p.node_id, p.health, p.balancer_health, (p.details as Json).healthy]),
      [
        [DP1, 'HEALTHY', 'HEALTHY', true],
        [DP2, 'UNHEALTHY', 'UNHEALTHY', false],
      ],
    )
  })

  it('PUT …/unhealthy reaches every connected data plane that accepts overrides (204)', async () => {
    const res = await a.call('PUT', '/upstreams/backend.test/targets/10.0.0.1:80/unhealthy')
    assert.equal(res.status, 204)
    for (const dp of [dp1, dp2]) {
      const m = await nextOf(dp, 'healthOverride')
      assert.equal(m.kind.case, 'healthOverride')
      const o = m.kind.value
      assert.deepEqual(
        { upstreamId: o.upstreamId, target: o.target, address: o.address, healthy: o.healthy },
        { upstreamId: up.id, target: '10.0.0.1:80', address: '', healthy: false },
      )
    }
  })

  it('?node_id= sends to one data plane only; one without the capability or unknown is refused', async () => {
    const one = await a.call('POST', `/upstreams/${up.id}/targets/svc.test:80/10.0.1.2:80/healthy?node_id=${DP2}`)
    assert.equal(one.status, 204)
    const unknown = await a.call('PUT', `/upstreams/backend.test/targets/10.0.0.1:80/healthy?node_id=${nodeUuid(77)}`)
    assert.deepEqual(
      [unknown.status, unknown.body],
      [404, { message: `data plane '${nodeUuid(77)}' is not known to this control plane` }],
    )
    const old = await a.call('PUT', `/upstreams/backend.test/targets/10.0.0.1:80/healthy?node_id=${DP3}`)
    assert.equal(old.status, 503)
    assert.match(String(old.body.message), /does not accept health overrides/)

    // Then one to all: dp-1's next override is that one, so the targeted one never reached it.
    assert.equal((await a.call('PUT', '/upstreams/backend.test/targets/gone.test:80/healthy')).status, 204)
    const atDp2 = (await nextOf(dp2, 'healthOverride')).kind.value as { target: string; address: string }
    assert.deepEqual([atDp2.target, atDp2.address], ['svc.test:80', '10.0.1.2:80'])
    assert.equal(((await nextOf(dp2, 'healthOverride')).kind.value as { target: string }).target, 'gone.test:80')
    assert.equal(((await nextOf(dp1, 'healthOverride')).kind.value as { target: string }).target, 'gone.test:80')

    // dp-3 got none: after answering its config, the next thing it hears is the next config.
    const first = await nextOf(dp3, 'snapshot')
    const v = first.kind.value as { version: bigint; hash: string; nonce: string }
    dp3.send({ kind: { case: 'ack', value: create(AckSchema, { version: v.version, hash: v.hash, nonce: v.nonce }) } })
    await until(() => registry.get(DP3)?.config_version === 1)
    feed.publish(emptyConfig(2))
    for (;;) {
      const m = await dp3.next()
      if (m.kind.case === 'heartbeat') continue
      assert.equal(m.kind.case, 'snapshot')
      break
    }
  })

  it('404 for an unknown upstream or target on a control plane too', async () => {
    assert.equal((await a.call('PUT', '/upstreams/nope.test/targets/10.0.0.1:80/healthy')).status, 404)
    assert.equal((await a.call('PUT', '/upstreams/backend.test/targets/10.9.9.9:80/healthy')).status, 404)
    assert.equal((await a.call('GET', '/upstreams/nope.test/health')).status, 404)
  })

  it('with no data plane connected: 503 for overrides, stale reports shown but not counted', async () => {
    dp1.close()
    dp2.close()
    await until(() => !registry.get(DP1)?.connected && !registry.get(DP2)?.connected)
    const res = await a.call('PUT', '/upstreams/backend.test/targets/10.0.0.1:80/healthy')
    assert.deepEqual(
      [res.status, res.body],
      [
        503,
        {
          message:
            'no data plane that accepts health overrides is connected to this control plane; the override was not sent',
        },
      ],
    )
    const targeted = await a.call('PUT', `/upstreams/backend.test/targets/10.0.0.1:80/healthy?node_id=${DP1}`)
    assert.equal(targeted.status, 503)
    assert.match(String(targeted.body.message), /is not connected to this control plane/)

    const health = await a.call('GET', '/upstreams/backend.test/health')
    assert.deepEqual(
      rows(health).map((r) => [r.target, r.health, 'data' in r]),
      rows(health).map((r) => [r.target, 'HEALTHCHECKS_OFF', false]),
    )
    assert.deepEqual(
      (health.body.data_planes as Json[]).map((p) => [p.node_id, p.connected]),
      [
        [DP1, false],
        [DP2, false],
      ],
    )
    // Asked for by name, an ended stream's last report is still that node's answer.
    const last = await a.call('GET', `/upstreams/backend.test/health?node_id=${DP1}`)
    assert.equal(byTarget(last, '10.0.0.1:80')?.health, 'HEALTHY')
  })
})

describe('health reports in the data plane registry', () => {
  it('are kept per data plane, ignored from a replaced stream, and dropped when the data plane is purged', async () => {
    let now = 1_700_000_000_000
    const clock = () => now
    const registry = new DataPlaneRegistry({ now: clock, purgeDelaySeconds: 60 })
    const stream = () =>
      new StreamState(
        {
          node_id: DP1,
          hostname: 'dp-1',
          ip: '10.0.0.1',
          version: TURNPIKE_VERSION,
          labels: {},
          config_version: 0,
          config_hash: '',
          plugins: [],
          capabilities: [HEALTH_CAPABILITY],
          cert_expiry: null,
        },
        { version: TURNPIKE_VERSION, plugins: new Map(), now: clock },
      )
    const old = stream()
    registry.connected(old)
    registry.reportHealth(old, { upstreams: [], config_version: 1 })
    const current = stream()
    registry.connected(current)
    registry.reportHealth(old, { upstreams: [], config_version: 99 })
    assert.deepEqual(
      registry.healthReports().map((r) => [r.dp.node_id, r.report.config_version, r.report.received_at]),
      [[DP1, 1, 1_700_000_000]],
    )
    registry.reportHealth(current, { upstreams: [], config_version: 2 })
    assert.equal(registry.healthReports()[0]?.report.config_version, 2)

    current.disconnected()
    registry.disconnected(current)
    await registry.purge()
    assert.equal(registry.healthReports().length, 1, 'kept while the data plane is listed')
    now += 61_000
    await registry.purge()
    assert.deepEqual(registry.healthReports(), [])
    assert.equal(registry.get(DP1), undefined)
    // Back after its purge, it has no report until it sends one.
    registry.connected(stream())
    assert.deepEqual(registry.healthReports(), [])
  })
})
