import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, it } from 'node:test'
import { createLogger } from '@turnpike/shared'
import { BalancerRegistry } from './balancer-registry.ts'
import { aRecords, eventually, FakeResolver, hashInput, sleep, targetRow, upstreamRow } from './testing/fixtures.ts'
import type { Balancer, Member } from './types.ts'

const logger = createLogger('silent')
const anyone = hashInput({})
const registries: BalancerRegistry[] = []
after(() => {
  for (const r of registries) r.close()
})

function registry(o: { halfOpenAfterMs?: number; changeDelayMs?: number } = {}) {
  const resolver = new FakeResolver()
  const r = new BalancerRegistry({ resolver, logger, ...o })
  registries.push(r)
  return { r, resolver }
}

function keysOf(b: Balancer, n: number): Set<string> {
  const out = new Set<string>()
  for (let i = 0; i < n; i++) {
    const p = b.pick(anyone, null)
    if (!p) continue
    out.add(p.member.key)
    b.done(p.member, { kind: 'response', status: 200 }, 1)
  }
  return out
}

const passive = { healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } }

/** Fails the member with `key` through proxied traffic. */
function trip(b: Balancer, key: string): void {
  for (let i = 0; i < 100; i++) {
    const p = b.pick(anyone, null)!
    const hit = p.member.key === key
    b.done(p.member, hit ? { kind: 'tcp_failure' } : { kind: 'response', status: 200 }, 1)
    if (hit) return
  }
  assert.fail(`${key} never picked`)
}

async function backend(): Promise<{ server: Server; port: number; status: number; hits: number }> {
  const b = { server: undefined as unknown as Server, port: 0, status: 200, hits: 0 }
  b.server = createServer((_req, res) => {
    b.hits++
    res.writeHead(b.status).end()
  })
  await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', r))
  b.port = (b.server.address() as AddressInfo).port
  after(() => b.server.close())
  return b
}

describe('balancer registry', () => {
  it('keys balancers by lowercased name and keeps unchanged ones', () => {
    const { r } = registry()
    const a = upstreamRow({ id: 'ua', name: 'A.Internal' })
    const b = upstreamRow({ id: 'ub', name: 'b.internal' })
    const targets = [targetRow('10.0.0.1:80', 100, 't1', 'ua'), targetRow('10.0.0.2:80', 100, 't2', 'ub')]
    const first = r.update([a, b], targets)
    assert.deepEqual([...first.keys()], ['a.internal', 'b.internal'])
    const second = r.update([a, { ...b, slots: 100 }], targets)
    assert.equal(second.get('a.internal'), first.get('a.internal'), 'unchanged upstream: same balancer')
    assert.notEqual(second.get('b.internal'), first.get('b.internal'), 'changed upstream: new balancer')
  })

  it('keeps health and in-flight counts across config swaps, and drops them with the upstream', () => {
    const { r } = registry()
    const row = upstreamRow(passive)
    const t = [targetRow('10.0.0.1:80'), targetRow('10.0.0.2:80')]
    const old = r.update([row], t).get('pool.internal')!
    trip(old, '10.0.0.1:80')
    const inFlight = old.pick(anyone, null)!
    // A weight change of the other target: a new balancer, the same verdicts.
    const next = r.update([row], [t[0], { ...t[1], weight: 50 }]).get('pool.internal')!
    assert.notEqual(next, old)
    assert.deepEqual([...keysOf(next, 10)], ['10.0.0.2:80'])
    assert.equal(r.report()[0].targets[0].health, 'UNHEALTHY')
    // The old config's request ends on the old balancer: no crash, counts stay sane.
    old.done(inFlight.member, { kind: 'response', status: 200 }, 2)
    assert.equal(inFlight.member.inFlight, 0)
    // An unchanged member is carried over with its in-flight count.
    const again = upstreamRow({ ...passive, slots: 99 })
    const p = next.pick(anyone, null)!
    const third = r.update([again], [t[0], { ...t[1], weight: 50 }]).get('pool.internal')!
    const carried = third.members().find((m) => m.key === p.member.key)
    assert.equal(carried, p.member)
    assert.equal(carried?.inFlight, 1)
    third.done(carried!, { kind: 'response', status: 200 }, 1)
    // Removed and re-added: a fresh start.
    r.update([], [])
    assert.deepEqual(r.report(), [])
    assert.equal(r.override({ upstream_id: row.id, target: '10.0.0.1:80', healthy: true }), false)
    next.done(p.member, { kind: 'tcp_failure' }, 1) // late, for a removed upstream: ignored
    const fresh = r.update([row], t).get('pool.internal')!
    assert.equal(keysOf(fresh, 10).size, 2)
  })

  it('watches DNS names while some upstream uses them', () => {
    const { r, resolver } = registry()
    resolver.ok('a.internal', aRecords('10.1.0.1'))
    resolver.ok('b.internal', aRecords('10.2.0.1'))
    const u1 = upstreamRow({ id: 'u1', name: 'one' })
    const u2 = upstreamRow({ id: 'u2', name: 'two' })
    r.update([u1, u2], [targetRow('a.internal:80', 100, 'ta', 'u1'), targetRow('b.internal:80', 100, 'tb', 'u2')])
    assert.deepEqual(resolver.watchedNames.sort(), ['a.internal', 'b.internal'])
    r.update([u1], [targetRow('a.internal:80', 50, 'ta', 'u1')])
    assert.deepEqual(resolver.watchedNames, ['a.internal'])
    assert.equal(resolver.watching('a.internal'), 1, 'the replaced balancer let go')
    r.close()
    assert.deepEqual(resolver.watchedNames, [])
  })

  it('reports and applies overrides by upstream id', () => {
    const { r } = registry()
    const row = upstreamRow()
    const b = r.update([row], [targetRow('10.0.0.1:80'), targetRow('10.0.0.2:80')]).get('pool.internal')!
    assert.equal(r.report()[0].health, 'HEALTHCHECKS_OFF')
    assert.ok(r.override({ upstream_id: 'u1', target: '10.0.0.2:80', healthy: false }))
    assert.deepEqual([...keysOf(b, 10)], ['10.0.0.1:80'])
    assert.equal(r.override({ upstream_id: 'nope', target: '10.0.0.2:80', healthy: false }), false)
  })

  it('coalesces change notifications', async () => {
    const { r } = registry({ changeDelayMs: 30 })
    let calls = 0
    r.onChange(() => calls++)
    const b = r
      .update(
        [upstreamRow(passive)],
        [1, 2, 3].map((i) => targetRow(`10.0.0.${i}:80`)),
      )
      .get('pool.internal')!
    trip(b, '10.0.0.1:80')
    trip(b, '10.0.0.2:80')
    r.override({ upstream_id: 'u1', target: '10.0.0.1:80', healthy: true })
    await eventually(() => calls > 0, 'a notification')
    await sleep(80)
    assert.equal(calls, 1)
    trip(b, '10.0.0.3:80')
    await eventually(() => calls === 2, 'the next notification')
  })

  it('active checks take a dead member out within interval × threshold and bring it back', async () => {
    const { r } = registry()
    const good = await backend()
    const bad = await backend()
    const row = upstreamRow({
      healthchecks: {
        active: {
          http_path: '/health',
          healthy: { interval: 0.03, successes: 2 },
          unhealthy: { interval: 0.03, http_failures: 2 },
        },
      },
    })
    const targets = [targetRow(`127.0.0.1:${good.port}`), targetRow(`127.0.0.1:${bad.port}`)]
    const b = r.update([row], targets).get('pool.internal')!
    const badKey = `127.0.0.1:${bad.port}`
    bad.status = 503
    await eventually(() => r.report()[0].targets[1].health === 'UNHEALTHY', 'the dead member out')
    assert.deepEqual([...keysOf(b, 10)], [`127.0.0.1:${good.port}`])
    // A new config (threshold change) keeps checking with the same state.
    const b2 = r
      .update([{ ...row, healthchecks: { ...row.healthchecks, threshold: 10 } }], targets)
      .get('pool.internal')!
    assert.ok(!keysOf(b2, 10).has(badKey))
    bad.status = 200
    await eventually(() => keysOf(b2, 10).has(badKey), 'the member back')
    // Checks turned off: probing stops.
    r.update([upstreamRow()], targets)
    await sleep(60)
    const hits = good.hits
    await sleep(120)
    assert.equal(good.hits, hits)
  })

  it('close() stops the active checkers', async () => {
    const { r } = registry()
    const s = await backend()
    r.update(
      [upstreamRow({ healthchecks: { active: { healthy: { interval: 0.02 } } } })],
      [targetRow(`127.0.0.1:${s.port}`)],
    )
    await eventually(() => s.hits > 0, 'probes')
    r.close()
    await sleep(50)
    const hits = s.hits
    await sleep(120)
    assert.equal(s.hits, hits)
    assert.deepEqual(r.report(), [])
  })

  it('half-open (opt-in) gives a passively tripped member one request after the wait', async () => {
    const { r } = registry({ halfOpenAfterMs: 40 })
    const b = r
      .update([upstreamRow(passive)], [targetRow('10.0.0.1:80'), targetRow('10.0.0.2:80')])
      .get('pool.internal')!
    trip(b, '10.0.0.1:80')
    assert.ok(!keysOf(b, 10).has('10.0.0.1:80'))
    await sleep(60)
    const picks: Member[] = []
    for (let i = 0; i < 6; i++) picks.push(b.pick(anyone, null)!.member)
    assert.equal(picks.filter((m) => m.key === '10.0.0.1:80').length, 1, 'exactly one trial')
    const trial = picks.find((m) => m.key === '10.0.0.1:80')!
    b.done(trial, { kind: 'response', status: 200 }, 1)
    assert.equal(keysOf(b, 10).size, 2, 'a successful trial brings it back')
  })
})
