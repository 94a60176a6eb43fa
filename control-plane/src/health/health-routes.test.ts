/** Kong's upstream health endpoints on a node with its own balancers (role traditional), over a fake LocalHealth. */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { HealthOverride, LocalHealth, UpstreamHealth } from '@turnpike/shared'
import { type Json, openTestAdmin, type TestAdmin } from '../admin/test-admin.ts'
import { testDatabases } from '../db/test-databases.ts'
import { LocalHealthSource } from './health-source.ts'

type TargetReport = UpstreamHealth['targets'][number]

const addressKey = (a: { ip: string; port: number }) =>
  a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`

/** Balancers as a data plane would report them; overrides flip addresses as Kong's healthchecker does. */
class FakeBalancers implements LocalHealth {
  upstreams: UpstreamHealth[] = []
  /** Every override asked for, applied or not. */
  readonly asked: HealthOverride[] = []

  report(): UpstreamHealth[] {
    return structuredClone(this.upstreams).map((u) => {
      const addresses = u.targets.flatMap((t) => t.addresses)
      const total = addresses.reduce((n, a) => n + a.weight, 0)
      const unavailable = addresses.filter((a) => a.health === 'UNHEALTHY').reduce((n, a) => n + a.weight, 0)
      return { ...u, weight: { total, available: total - unavailable, unavailable } }
    })
  }

  override(o: HealthOverride): boolean {
    this.asked.push(o)
    const t = this.upstreams.find((u) => u.upstream_id === o.upstream_id)?.targets.find((x) => x.target === o.target)
    if (!t) return false
    const hits = o.address ? t.addresses.filter((a) => addressKey(a) === o.address) : t.addresses
    if (!hits.length) return false
    for (const a of hits) a.health = o.healthy ? 'HEALTHY' : 'UNHEALTHY'
    t.health = t.addresses.some((a) => a.health === 'HEALTHY') ? 'HEALTHY' : 'UNHEALTHY'
    return true
  }

  onChange(): void {}
}

const rows = (r: { body: Json }) => r.body.data ?? []
/** A nested object of an answer, for reading its fields. */
const obj = (v: unknown) => v as Json & { addresses: Json[] }
const byTarget = (r: { body: Json }, target: string) => rows(r).find((t) => t.target === target)

for (const target of testDatabases) {
  describe(`upstream health endpoints (own balancers) on ${target.name}`, { skip: target.skip }, () => {
    let a: TestAdmin
    const source = new LocalHealthSource('00000000-0000-4000-8000-00000000beef')
    const balancers = new FakeBalancers()
    let up: Json
    let other: Json
    const t: Record<string, Json> = {}

    before(async () => {
      a = await openTestAdmin(target, {}, { nodeId: '00000000-0000-4000-8000-00000000beef', health: source })
      up = (await a.call('POST', '/upstreams', { name: 'backend.test' })).body
      other = (await a.call('POST', '/upstreams', { name: 'other.test' })).body
      for (const [name, target, weight] of [
        ['a', '10.0.0.1:80', 100],
        ['b', 'svc.test:80', 50],
        ['c', 'gone.test:80', 10],
      ] as const) {
        const r = await a.call('POST', '/upstreams/backend.test/targets', { target, weight })
        assert.equal(r.status, 201)
        t[name] = r.body
      }
      t.foreign = (await a.call('POST', '/upstreams/other.test/targets', { target: '10.9.9.9:80' })).body
      const report = (row: Json, addresses: TargetReport['addresses']): TargetReport => ({
        target_id: String(row.id),
        target: String(row.target),
        weight: Number(row.weight),
        health: 'HEALTHY',
        addresses,
      })
      balancers.upstreams = [
        {
          upstream_id: String(up.id),
          upstream_name: 'backend.test',
          health: 'HEALTHY',
          weight: { total: 0, available: 0, unavailable: 0 },
          // gone.test is missing: it did not resolve (Kong's DNS_ERROR).
          targets: [
            report(t.a!, [{ ip: '10.0.0.1', port: 80, health: 'HEALTHY', weight: 100 }]),
            report(t.b!, [
              { ip: '10.0.1.1', port: 80, health: 'HEALTHY', weight: 50 },
              { ip: '10.0.1.2', port: 80, health: 'HEALTHY', weight: 50 },
            ]),
          ],
        },
      ]
    })
    after(() => a?.close())

    it('without balancers: every target HEALTHCHECKS_OFF, the balancer view likewise, overrides refused', async () => {
      const res = await a.call('GET', '/upstreams/backend.test/health')
      assert.equal(res.status, 200)
      assert.equal(res.body.node_id, '00000000-0000-4000-8000-00000000beef')
      assert.equal(res.body.next, null)
      assert.deepEqual(
        rows(res).map((r) => [r.target, r.health, 'data' in r]),
        rows(res).map((r) => [r.target, 'HEALTHCHECKS_OFF', false]),
      )
      assert.equal(rows(res).length, 3)
      assert.equal(res.body.data_planes, undefined, 'a node with its own balancers answers as Kong')

      const balancer = await a.call('GET', `/upstreams/${up.id}/health?balancer_health=1`)
      assert.deepEqual(balancer.body, {
        data: { health: 'HEALTHCHECKS_OFF', id: up.id },
        next: null,
        node_id: '00000000-0000-4000-8000-00000000beef',
      })

      const put = await a.call('PUT', '/upstreams/backend.test/targets/10.0.0.1:80/unhealthy')
      assert.deepEqual([put.status, put.body], [400, { message: 'Upstream backend.test has no balancer' }])
      source.attach(balancers)
    })

    it('GET /upstreams/{u}/health: each target with its health and data.addresses, in Kong’s shape', async () => {
      const res = await a.call('GET', '/upstreams/backend.test/health')
      assert.equal(res.status, 200)
      assert.equal(res.body.node_id, (await a.call('GET', '/')).body.node_id)
      assert.deepEqual(byTarget(res, '10.0.0.1:80'), {
        ...t.a,
        health: 'HEALTHY',
        data: {
          host: '10.0.0.1',
          port: 80,
          nodeWeight: 100,
          weight: { total: 100, available: 100, unavailable: 0 },
          addresses: [{ ip: '10.0.0.1', port: 80, health: 'HEALTHY', weight: 100 }],
        },
      })
      assert.equal(byTarget(res, 'svc.test:80')?.health, 'HEALTHY')
      assert.equal(obj(byTarget(res, 'svc.test:80')!.data).addresses.length, 2)
      assert.deepEqual(byTarget(res, 'gone.test:80'), { ...t.c, health: 'DNS_ERROR' })
      assert.equal((await a.call('GET', '/upstreams/nope.test/health')).status, 404)
    })

    it('pages the health listing like any other, keeping the query', async () => {
      const page1 = await a.call('GET', '/upstreams/backend.test/health?size=2')
      assert.equal(rows(page1).length, 2)
      assert.equal(typeof page1.body.offset, 'string')
      assert.equal(
        page1.body.next,
        `/upstreams/${up.id}/health?offset=${encodeURIComponent(String(page1.body.offset))}&size=2`,
      )
      const page2 = await a.call('GET', String(page1.body.next))
      assert.equal(page2.status, 200)
      assert.equal(rows(page2).length, 1)
      assert.equal(page2.body.next, null)
      const all = [...rows(page1), ...rows(page2)].map((r) => r.target).sort()
      assert.deepEqual(all, ['10.0.0.1:80', 'gone.test:80', 'svc.test:80'])
      assert.ok([...rows(page1), ...rows(page2)].every((r) => typeof r.health === 'string'))
    })

    it('?balancer_health=1: the balancer’s health, weights and hosts (Kong’s get_balancer_health)', async () => {
      const res = await a.call('GET', '/upstreams/backend.test/health?balancer_health=1')
      assert.equal(res.status, 200)
      assert.deepEqual(res.body, {
        data: {
          health: 'HEALTHY',
          balancer_health: 'HEALTHY',
          id: up.id,
          details: {
            healthy: true,
            weight: { total: 200, available: 200, unavailable: 0 },
            hosts: [
              {
                host: '10.0.0.1',
                port: 80,
                nodeWeight: 100,
                weight: { total: 100, available: 100, unavailable: 0 },
                addresses: [{ ip: '10.0.0.1', port: 80, weight: 100, healthy: true }],
              },
              {
                host: 'svc.test',
                port: 80,
                nodeWeight: 50,
                weight: { total: 100, available: 100, unavailable: 0 },
                addresses: [
                  { ip: '10.0.1.1', port: 80, weight: 50, healthy: true },
                  { ip: '10.0.1.2', port: 80, weight: 50, healthy: true },
                ],
              },
            ],
          },
        },
        next: null,
        node_id: '00000000-0000-4000-8000-00000000beef',
      })
    })

    it('PUT and POST …/targets/{t}/unhealthy|healthy flip a target, by target or id (204)', async () => {
      const put = await a.call('PUT', '/upstreams/backend.test/targets/10.0.0.1:80/unhealthy')
      assert.deepEqual([put.status, put.headers['content-length']], [204, undefined])
      assert.deepEqual(balancers.asked.at(-1), { upstream_id: up.id, target: '10.0.0.1:80', healthy: false })
      let health = await a.call('GET', '/upstreams/backend.test/health')
      assert.equal(byTarget(health, '10.0.0.1:80')?.health, 'UNHEALTHY')
      assert.deepEqual(obj(byTarget(health, '10.0.0.1:80')!.data).weight, {
        total: 100,
        available: 0,
        unavailable: 100,
      })
      const balancer = await a.call('GET', '/upstreams/backend.test/health?balancer_health=1')
      assert.deepEqual((obj(balancer.body.data).details as Json).weight, {
        total: 200,
        available: 100,
        unavailable: 100,
      })

      // Kong 2's POST spelling, and the target by id.
      const post = await a.call('POST', `/upstreams/${up.id}/targets/${t.a!.id}/healthy`)
      assert.equal(post.status, 204)
      health = await a.call('GET', '/upstreams/backend.test/health')
      assert.equal(byTarget(health, '10.0.0.1:80')?.health, 'HEALTHY')
    })

    it('…/targets/{t}/{address}/unhealthy flips one address; its port defaults to 8000', async () => {
      const put = await a.call('PUT', '/upstreams/backend.test/targets/svc.test:80/10.0.1.2:80/unhealthy')
      assert.equal(put.status, 204)
      assert.deepEqual(balancers.asked.at(-1), {
        upstream_id: up.id,
        target: 'svc.test:80',
        address: '10.0.1.2:80',
        healthy: false,
      })
      const health = await a.call('GET', '/upstreams/backend.test/health')
      const b = byTarget(health, 'svc.test:80')!
      assert.equal(b.health, 'HEALTHY', 'a target with one healthy address is healthy, as in Kong')
      assert.deepEqual(
        obj(b.data).addresses?.map((x) => [x.ip, x.health]),
        [
          ['10.0.1.1', 'HEALTHY'],
          ['10.0.1.2', 'UNHEALTHY'],
        ],
      )
      assert.deepEqual(obj(b.data).weight, { total: 100, available: 50, unavailable: 50 })

      const noPort = await a.call('POST', `/upstreams/backend.test/targets/${t.b!.id}/10.0.1.2/healthy`)
      assert.equal(balancers.asked.at(-1)?.address, '10.0.1.2:8000')
      assert.deepEqual(noPort.body, {
        message:
          'the balancer of upstream backend.test on this node does not know address 10.0.1.2:8000 of target svc.test:80',
      })
      assert.equal(noPort.status, 400)

      const v6 = await a.call('PUT', '/upstreams/backend.test/targets/svc.test:80/[::1]:81/healthy')
      assert.equal(v6.status, 400)
      assert.equal(balancers.asked.at(-1)?.address, '[0000:0000:0000:0000:0000:0000:0000:0001]:81')
    })

    it('400 for a malformed address, 404 with Kong’s message for an unknown upstream or target', async () => {
      for (const address of ['999.1.1.1:80', 'not%20an%20address', '10.0.0.1:99999']) {
        const r = await a.call('PUT', `/upstreams/backend.test/targets/svc.test:80/${address}/unhealthy`)
        assert.equal(r.status, 400, address)
        assert.match(String(r.body.message), /^invalid address '.+': /)
      }
      const asked = balancers.asked.length
      const missingUpstream = '00000000-0000-4000-8000-000000000404'
      for (const [i, u] of [missingUpstream, 'nope.test', 'backend.test', String(up.id)].entries())
        for (const [j, tg] of [
          missingUpstream,
          'invalid:1234',
          String(t.foreign!.id),
          '10.0.0.1:80',
          t.a!.id,
        ].entries())
          for (const suffix of ['healthy', 'unhealthy']) {
            const path = `/upstreams/${u}/targets/${tg}/${suffix}`
            const r = await a.call('PUT', path)
            const expected = i >= 2 && j >= 3 ? 204 : 404
            assert.equal(r.status, expected, path)
            if (expected === 404) assert.deepEqual(r.body, { message: 'Not found' }, path)
          }
      assert.equal(balancers.asked.length - asked, 8, 'only the valid pairs reach the balancers')
      const unknownTarget = await a.call('PUT', '/upstreams/backend.test/targets/10.7.7.7:80/10.7.7.7:80/healthy')
      assert.deepEqual([unknownTarget.status, unknownTarget.body], [404, { message: 'Not found' }])
    })

    it('GET /upstreams/{u}/targets/all lists every target, paginated', async () => {
      const all = await a.call('GET', '/upstreams/backend.test/targets/all')
      assert.equal(all.status, 200)
      assert.deepEqual(
        rows(all)
          .map((r) => r.target)
          .sort(),
        ['10.0.0.1:80', 'gone.test:80', 'svc.test:80'],
      )
      assert.equal(all.body.next, null)
      const page1 = await a.call('GET', '/upstreams/backend.test/targets/all?size=2')
      assert.equal(rows(page1).length, 2)
      assert.equal(
        page1.body.next,
        `/upstreams/${up.id}/targets/all?offset=${encodeURIComponent(String(page1.body.offset))}&size=2`,
      )
      const page2 = await a.call('GET', String(page1.body.next))
      assert.deepEqual(
        [...rows(page1), ...rows(page2)].map((r) => r.id).sort(),
        rows(all)
          .map((r) => r.id)
          .sort(),
      )
      const empty = await a.call('GET', `/upstreams/${other.id}/targets/all`)
      assert.deepEqual(empty.body, { data: [t.foreign], next: null })
      assert.equal((await a.call('GET', '/upstreams/nope.test/targets/all')).status, 404)
      assert.equal((await a.call('DELETE', '/upstreams/backend.test/targets/all')).status, 405)
    })

    it('targets named `all`, `healthy` or `unhealthy` keep their own endpoints', async () => {
      for (const name of ['all', 'healthy', 'unhealthy']) {
        const created = await a.call('POST', '/upstreams/other.test/targets', { target: name })
        assert.deepEqual([created.status, created.body.target], [201, `${name}:8000`])
        const got = await a.call('GET', `/upstreams/other.test/targets/${name}:8000`)
        assert.equal(got.body.id, created.body.id)
        const patched = await a.call('PATCH', `/upstreams/other.test/targets/${name}:8000`, { weight: 7 })
        assert.deepEqual([patched.status, patched.body.weight], [200, 7])
        const put = await a.call('PUT', `/upstreams/other.test/targets/${name}:8000/unhealthy`)
        // Known to the database, not to the fake balancers (no upstream other.test there).
        assert.equal(put.status, 400)
        assert.deepEqual(balancers.asked.at(-1), { upstream_id: other.id, target: `${name}:8000`, healthy: false })
        const byId = await a.call('PUT', `/upstreams/other.test/targets/${created.body.id}/healthy`)
        assert.equal(byId.status, 400)
        assert.equal(balancers.asked.at(-1)?.target, `${name}:8000`)
      }
      const listed = await a.call('GET', '/upstreams/other.test/targets')
      assert.equal(rows(listed).length, 4)
      assert.equal((await a.call('DELETE', '/upstreams/other.test/targets/all:8000')).status, 204)
      assert.equal((await a.call('GET', '/upstreams/other.test/targets/all:8000')).status, 404)
    })

    it('answers 405 for the methods a health path does not serve, and lists the paths in /endpoints', async () => {
      assert.equal((await a.call('GET', '/upstreams/backend.test/targets/10.0.0.1:80/healthy')).status, 405)
      assert.equal((await a.call('DELETE', '/upstreams/backend.test/health')).status, 405)
      const paths = (await a.call('GET', '/endpoints')).body.data as unknown as string[]
      for (const p of [
        '/upstreams/{upstreams}/health',
        '/upstreams/{upstreams}/targets/all',
        '/upstreams/{upstreams}/targets/{targets}/healthy',
        '/upstreams/{upstreams}/targets/{targets}/unhealthy',
        '/upstreams/{upstreams}/targets/{targets}/{address}/healthy',
        '/upstreams/{upstreams}/targets/{targets}/{address}/unhealthy',
      ])
        assert.ok(paths.includes(p), p)
      const openapi = (await a.call('GET', '/openapi.json')).body.paths as Record<string, Json>
      const put = (openapi['/upstreams/{upstreams}/targets/{targets}/healthy'] as Record<string, Json>).put!
      assert.ok((put.responses as Json)[204])
    })

    it('?node_id= names this node only', async () => {
      const own = await a.call('GET', '/upstreams/backend.test/health?node_id=00000000-0000-4000-8000-00000000BEEF')
      assert.equal(own.status, 200)
      const nope = await a.call('GET', '/upstreams/backend.test/health?node_id=00000000-0000-4000-8000-000000000001')
      assert.equal(nope.status, 404)
      const put = await a.call(
        'PUT',
        '/upstreams/backend.test/targets/10.0.0.1:80/healthy?node_id=00000000-0000-4000-8000-000000000001',
      )
      assert.equal(put.status, 404)
    })
  })
}
