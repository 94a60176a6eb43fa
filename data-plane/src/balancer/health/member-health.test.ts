import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { healthchecks } from '../testing/fixtures.ts'
import { outcomeVerdict, passiveRules } from './check-rules.ts'
import { MemberHealth } from './member-health.ts'

function rules(successes: number, http: number, tcp: number, timeouts: number) {
  const hc = healthchecks().passive
  hc.healthy.successes = successes
  hc.unhealthy.http_failures = http
  hc.unhealthy.tcp_failures = tcp
  hc.unhealthy.timeouts = timeouts
  return passiveRules(hc)
}

describe('member health counters', () => {
  it('trips when a failure counter reaches its threshold', () => {
    const h = new MemberHealth()
    const r = rules(0, 3, 2, 1)
    assert.equal(h.record('http_failure', r, true), false)
    assert.equal(h.record('http_failure', r, true), false)
    assert.equal(h.record('http_failure', r, true), true)
    const t = new MemberHealth()
    assert.equal(t.record('tcp_failure', r, true), false)
    assert.equal(t.record('tcp_failure', r, true), true)
    assert.equal(new MemberHealth().record('timeout', r, true), true)
  })

  it('a success clears the failure counters; a failure clears the successes', () => {
    const h = new MemberHealth()
    const r = rules(2, 3, 0, 0)
    h.record('http_failure', r, true)
    h.record('http_failure', r, true)
    h.record('success', r, true)
    assert.equal(h.httpFailures, 0)
    assert.equal(h.record('http_failure', r, true), false, 'counting starts over')
    h.set(false, 'active', 0)
    h.record('success', r, true)
    assert.equal(h.successes, 1)
    h.record('timeout', r, true)
    assert.equal(h.successes, 0)
    assert.equal(h.record('success', r, true), false)
    assert.equal(h.record('success', r, true), true, 'two in a row bring it back')
  })

  it('a threshold of 0 disables its counter', () => {
    const h = new MemberHealth()
    const r = rules(0, 0, 0, 0)
    for (let i = 0; i < 300; i++) assert.equal(h.record('http_failure', r, true), false)
    h.set(false, 'active', 0)
    for (let i = 0; i < 300; i++) assert.equal(h.record('success', r, true), false)
  })

  it('does not recover when recovery is not allowed (proxied traffic)', () => {
    const h = new MemberHealth()
    h.set(false, 'passive', 0)
    const r = rules(1, 1, 1, 1)
    assert.equal(h.record('success', r, false), false)
  })

  it('set() clears the counters', () => {
    const h = new MemberHealth()
    const r = rules(5, 5, 5, 5)
    h.record('http_failure', r, true)
    h.record('tcp_failure', r, true)
    h.set(true, 'manual', 1)
    assert.deepEqual([h.successes, h.httpFailures, h.tcpFailures, h.timeouts, h.cause], [0, 0, 0, 0, 'manual'])
  })
})

describe('passive check types', () => {
  it('tcp counts connections only; http classifies statuses', () => {
    const hc = healthchecks().passive
    hc.unhealthy.http_failures = 1
    hc.unhealthy.tcp_failures = 1
    const http = passiveRules(hc)
    assert.equal(outcomeVerdict(http, { kind: 'response', status: 500 }), 'http_failure')
    assert.equal(outcomeVerdict(http, { kind: 'response', status: 200 }), 'success')
    const tcp = passiveRules({ ...hc, type: 'tcp' })
    assert.equal(outcomeVerdict(tcp, { kind: 'response', status: 500 }), undefined)
    assert.equal(outcomeVerdict(tcp, { kind: 'tcp_failure' }), 'tcp_failure')
  })
})
