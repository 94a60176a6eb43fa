import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createLogger } from '@turnpike/shared'
import { UpstreamHealthState } from './health/upstream-health-state.ts'
import { aRecords, FakeResolver, hashInput, targetRow, upstreamRow } from './testing/fixtures.ts'
import type { Member, Pick } from './types.ts'
import { UpstreamBalancer } from './upstream-balancer.ts'

const logger = createLogger('silent')
const anyone = hashInput({})

function setup(
  patch: Parameters<typeof upstreamRow>[0],
  targets: ReturnType<typeof targetRow>[],
  resolver = new FakeResolver(),
) {
  const row = upstreamRow(patch)
  const health = new UpstreamHealthState({
    upstreamId: row.id,
    upstreamName: row.name,
    config: row.healthchecks,
    logger,
  })
  const b = new UpstreamBalancer({ row, targets, health, resolver, logger })
  return { b, health, resolver, row }
}

function spread(b: UpstreamBalancer, n: number, input = anyone): Map<string, number> {
  const out = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const p = b.pick(input, null)
    if (!p) continue
    out.set(p.member.key, (out.get(p.member.key) ?? 0) + 1)
    b.done(p.member, { kind: 'response', status: 200 }, 1)
  }
  return out
}

describe('upstream balancer', () => {
  it('balances over IP targets, as the weights say', () => {
    const { b } = setup({}, [targetRow('10.0.0.1:80'), targetRow('10.0.0.2:80'), targetRow('10.0.0.3:80')])
    const c = spread(b, 300)
    assert.deepEqual([...c.values()], [100, 100, 100])
    const w = setup({}, [targetRow('10.0.0.1:80', 100), targetRow('10.0.0.2:80', 300)]).b
    const cw = spread(w, 400)
    assert.equal(cw.get('10.0.0.1:80'), 100)
    assert.equal(cw.get('10.0.0.2:80'), 300)
  })

  it('never picks a weight-0 target, and has nothing when all are 0', () => {
    const { b } = setup({}, [targetRow('10.0.0.1:80', 0), targetRow('10.0.0.2:80')])
    assert.deepEqual([...spread(b, 10).keys()], ['10.0.0.2:80'])
    assert.equal(setup({}, [targetRow('10.0.0.1:80', 0)]).b.pick(anyone, null), undefined)
    assert.equal(setup({}, []).b.pick(anyone, null), undefined)
  })

  it('counts requests in flight: pick raises, done lowers', () => {
    const { b } = setup({ algorithm: 'least-connections' }, [targetRow('10.0.0.1:80'), targetRow('10.0.0.2:80')])
    const first = b.pick(anyone, null)!
    assert.equal(first.member.inFlight, 1)
    const second = b.pick(anyone, null)!
    assert.notEqual(second.member, first.member, 'least-connections goes to the idle one')
    b.done(first.member, { kind: 'response', status: 200 }, 3)
    assert.equal(first.member.inFlight, 0)
    b.done(first.member, { kind: 'response', status: 200 }, 3)
    assert.equal(first.member.inFlight, 0, 'never below zero')
  })

  it('retries go to members not tried yet, then none', () => {
    const { b } = setup({}, [targetRow('10.0.0.1:80'), targetRow('10.0.0.2:80'), targetRow('10.0.0.3:80')])
    const tried: Member[] = []
    for (let i = 0; i < 3; i++) {
      const p = b.pick(anyone, tried)!
      assert.ok(!tried.includes(p.member))
      tried.push(p.member)
    }
    assert.equal(b.pick(anyone, tried), undefined)
  })

  it('hashes: the same key sticks, retries move on, a cookie is handed out when missing', () => {
    const targets = [1, 2, 3, 4].map((i) => targetRow(`10.0.0.${i}:80`))
    const { b } = setup({ algorithm: 'consistent-hashing', hash_on: 'header', hash_on_header: 'x-user' }, targets)
    for (const user of ['a', 'b', 'c', 'd', 'e']) {
      const input = hashInput({ headers: { 'x-user': user } })
      const first = b.pick(input, null)!
      for (let i = 0; i < 5; i++) assert.equal(b.pick(input, null)!.member, first.member)
      assert.notEqual(b.pick(input, [first.member])!.member, first.member)
    }
    const c = setup({ algorithm: 'consistent-hashing', hash_on: 'cookie', hash_on_cookie: 'sid' }, targets).b
    const fresh = c.pick(hashInput({}), null)!
    assert.ok(fresh.setCookie)
    const again = c.pick(hashInput({ cookies: { sid: fresh.setCookie } }), null)!
    assert.equal(again.member, fresh.member)
    assert.equal(again.setCookie, undefined)
  })

  it('hashing on anything means consistent hashing, whatever the algorithm field says (Kong’s shorthand)', () => {
    const targets = [1, 2, 3, 4].map((i) => targetRow(`10.0.0.${i}:80`))
    const { b } = setup({ algorithm: 'round-robin', hash_on: 'consumer' }, targets)
    for (const consumer of ['a', 'b', 'c']) {
      const input = hashInput({ consumer })
      const first = b.pick(input, null)!.member
      for (let i = 0; i < 8; i++) assert.equal(b.pick(input, null)!.member, first)
    }
  })

  it('passive checks take a member out; proxied successes alone do not bring it back', () => {
    const { b } = setup({ healthchecks: { passive: { healthy: { successes: 1 }, unhealthy: { http_failures: 2 } } } }, [
      targetRow('10.0.0.1:80'),
      targetRow('10.0.0.2:80'),
    ])
    let bad: Pick | undefined
    for (let i = 0; i < 4; i++) {
      const p = b.pick(anyone, null)!
      const status = p.member.key === '10.0.0.1:80' ? 500 : 200
      if (status === 500) bad = p
      b.done(p.member, { kind: 'response', status }, 1)
    }
    assert.ok(bad)
    const after = spread(b, 20)
    assert.deepEqual([...after.keys()], ['10.0.0.2:80'])
    // A late success for the member taken out (a request that was already in flight) does not revive it.
    b.done(bad.member, { kind: 'response', status: 200 }, 1)
    assert.deepEqual([...spread(b, 10).keys()], ['10.0.0.2:80'])
    const report = b.report()
    assert.equal(report.health, 'HEALTHY')
    assert.deepEqual(report.weight, { total: 200, available: 100, unavailable: 100 })
    assert.equal(report.targets[0].health, 'UNHEALTHY')
    assert.equal(report.targets[0].addresses[0].health, 'UNHEALTHY')
  })

  it('gives nothing when the available weight is below the threshold', () => {
    const targets = [1, 2, 3, 4].map((i) => targetRow(`10.0.0.${i}:80`))
    const { b } = setup({ healthchecks: { threshold: 60, passive: { unhealthy: { tcp_failures: 1 } } } }, targets)
    const fail = (key: string) => {
      for (;;) {
        const p = b.pick(anyone, null)!
        b.done(p.member, p.member.key === key ? { kind: 'tcp_failure' } : { kind: 'response', status: 200 }, 1)
        if (p.member.key === key) return
      }
    }
    fail('10.0.0.1:80') // 75% left
    assert.ok(b.pick(anyone, null))
    fail('10.0.0.2:80') // 50% < 60%
    assert.equal(b.pick(anyone, null), undefined)
    assert.equal(b.report().health, 'UNHEALTHY')
    assert.ok(b.override({ upstream_id: 'u1', target: '10.0.0.1:80', healthy: true }))
    assert.ok(b.pick(anyone, null), 'back to 75%')
  })

  it('expands names: A records with the target port, SRV records with their own port and weight', () => {
    const resolver = new FakeResolver()
    resolver.ok('a.internal', aRecords('10.1.0.1', '10.1.0.2'))
    resolver.ok('srv.internal', [
      { address: '10.2.0.1', port: 9001, weight: 10, srvName: 'x.srv.internal' },
      { address: '10.2.0.2', port: 9002, weight: 0, srvName: 'y.srv.internal' },
    ])
    const { b } = setup({}, [targetRow('a.internal:8080', 50), targetRow('srv.internal:80')], resolver)
    const members = b.members().map((m) => [m.key, m.port, m.weight, m.srvName])
    assert.deepEqual(members, [
      ['10.1.0.1:8080', 8080, 50, undefined],
      ['10.1.0.2:8080', 8080, 50, undefined],
      ['10.2.0.1:9001', 9001, 10, 'x.srv.internal'],
      ['10.2.0.2:9002', 9002, 1, 'y.srv.internal'],
    ])
    const report = b.report()
    assert.deepEqual(
      report.targets.map((t) => [t.target, t.health, t.addresses.length]),
      [
        ['a.internal:8080', 'HEALTHCHECKS_OFF', 2],
        ['srv.internal:80', 'HEALTHCHECKS_OFF', 2],
      ],
    )
    assert.equal(report.health, 'HEALTHCHECKS_OFF')
  })

  it('follows DNS changes without disturbing requests in flight', () => {
    const resolver = new FakeResolver()
    resolver.ok('a.internal', aRecords('10.1.0.1', '10.1.0.2'))
    const { b, health } = setup({ algorithm: 'least-connections' }, [targetRow('a.internal:80')], resolver)
    const out = b.pick(anyone, null)!
    const kept = out.member.key === '10.1.0.1:80' ? '10.1.0.1' : '10.1.0.2'
    const dropped = kept === '10.1.0.1' ? '10.1.0.2' : '10.1.0.1'
    const dropPick = b.pick(anyone, null)!
    assert.equal(dropPick.member.address, dropped)
    resolver.ok('a.internal', aRecords(kept, '10.1.0.3'))
    const keys = b.members().map((m) => m.key)
    assert.deepEqual(keys.sort(), [`${kept}:80`, '10.1.0.3:80'].sort())
    assert.equal(
      b.members().find((m) => m.address === kept),
      out.member,
      'an unchanged member is the same object',
    )
    assert.equal(out.member.inFlight, 1)
    assert.equal(health.peek(`${dropped}:80`), undefined, 'health of the dropped member is pruned')
    // The request on the dropped member ends on its old object; nothing breaks.
    b.done(dropPick.member, { kind: 'tcp_failure' }, 5)
    assert.equal(dropPick.member.inFlight, 0)
    // The new member is idle, the kept one still busy: least-connections goes to the new one.
    assert.equal(b.pick(anyone, null)!.member.address, '10.1.0.3')
    b.done(out.member, { kind: 'response', status: 200 }, 5)
    assert.equal(out.member.inFlight, 0)
  })

  it('a name that fails with no stale answer has no members and says DNS_ERROR; stale answers still serve', () => {
    const resolver = new FakeResolver()
    resolver.fail('gone.internal', 'could not resolve')
    resolver.fail('flaky.internal', 'timeout', aRecords('10.3.0.1'))
    const { b } = setup({}, [targetRow('gone.internal:80'), targetRow('flaky.internal:80')], resolver)
    assert.deepEqual(
      b.members().map((m) => m.key),
      ['10.3.0.1:80'],
    )
    const report = b.report()
    assert.equal(report.targets[0].health, 'DNS_ERROR')
    assert.deepEqual(report.targets[0].addresses, [])
    assert.equal(report.targets[1].health, 'HEALTHCHECKS_OFF')
    // Resolves later: members appear.
    resolver.ok('gone.internal', aRecords('10.4.0.1'))
    assert.equal(b.members().length, 2)
    assert.equal(b.report().targets[0].health, 'HEALTHCHECKS_OFF')
  })

  it('overrides one address or a whole target, with Kong-style address forms', () => {
    const resolver = new FakeResolver()
    resolver.ok('a.internal', aRecords('10.1.0.1', '10.1.0.2'))
    const { b } = setup({}, [targetRow('a.internal:80'), targetRow('[::1]:8080')], resolver)
    assert.equal(b.override({ upstream_id: 'u1', target: 'nope:80', healthy: false }), false)
    assert.equal(
      b.override({ upstream_id: 'u1', target: 'a.internal:80', address: '10.9.9.9:80', healthy: false }),
      false,
    )
    assert.ok(b.override({ upstream_id: 'u1', target: 'a.internal:80', address: '10.1.0.1:80', healthy: false }))
    assert.deepEqual([...spread(b, 10).keys()].sort(), [
      '10.1.0.2:80',
      '[0000:0000:0000:0000:0000:0000:0000:0001]:8080',
    ])
    assert.ok(
      b.override({ upstream_id: 'u1', target: '[::1]:8080', address: '[0:0::1]:8080', healthy: false }),
      'IPv6 written another way',
    )
    assert.ok(b.override({ upstream_id: 'u1', target: 'a.internal:80', healthy: false }))
    assert.equal(b.pick(anyone, null), undefined)
    const report = b.report()
    assert.equal(report.health, 'UNHEALTHY', 'checks off, but members taken out by hand show')
    assert.equal(report.targets[0].health, 'UNHEALTHY')
    assert.ok(b.override({ upstream_id: 'u1', target: 'a.internal:80', healthy: true }))
    assert.deepEqual([...spread(b, 10).keys()].sort(), ['10.1.0.1:80', '10.1.0.2:80'])
  })

  it('feeds latencies to the latency algorithm', () => {
    const { b } = setup({ algorithm: 'latency' }, [targetRow('10.0.0.1:80'), targetRow('10.0.0.2:80')])
    const counts = new Map<string, number>()
    for (let i = 0; i < 200; i++) {
      const p = b.pick(anyone, null)!
      counts.set(p.member.key, (counts.get(p.member.key) ?? 0) + 1)
      b.done(p.member, { kind: 'response', status: 200 }, p.member.key === '10.0.0.1:80' ? 2 : 40)
    }
    assert.ok((counts.get('10.0.0.1:80') ?? 0) >= 190, `fast got ${counts.get('10.0.0.1:80')}`)
  })

  it('a retired balancer keeps serving what is in flight and follows DNS no more', () => {
    const resolver = new FakeResolver()
    resolver.ok('a.internal', aRecords('10.1.0.1'))
    const { b } = setup({}, [targetRow('a.internal:80')], resolver)
    const p = b.pick(anyone, null)!
    b.retire()
    assert.equal(resolver.watching('a.internal'), 0)
    resolver.ok('a.internal', aRecords('10.1.0.9'))
    assert.deepEqual(
      b.members().map((m) => m.address),
      ['10.1.0.1'],
    )
    b.done(p.member, { kind: 'timeout' }, 100)
    assert.equal(p.member.inFlight, 0)
  })
})
