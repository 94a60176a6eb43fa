import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createLogger } from '@turnpike/shared'
import { upstreamRow } from '../testing/fixtures.ts'
import { UpstreamHealthState } from './upstream-health-state.ts'

const logger = createLogger('silent')

function state(patch: Parameters<typeof upstreamRow>[0], o: { halfOpenAfterMs?: number; now?: () => number } = {}) {
  const row = upstreamRow(patch)
  let changes = 0
  const s = new UpstreamHealthState({
    upstreamId: row.id,
    upstreamName: row.name,
    config: row.healthchecks,
    logger,
    onChange: () => changes++,
    ...o,
  })
  return { s, changes: () => changes }
}

const passive = { healthchecks: { passive: { unhealthy: { http_failures: 2, tcp_failures: 1, timeouts: 3 } } } }

describe('upstream health state', () => {
  it('counts proxied outcomes by the passive statuses', () => {
    const { s, changes } = state(passive)
    const h = s.member('10.0.0.1:80')
    s.passive(h, { kind: 'response', status: 404 }, '10.0.0.1:80') // in neither list
    s.passive(h, { kind: 'response', status: 404 }, '10.0.0.1:80')
    assert.equal(h.healthy, true)
    s.passive(h, { kind: 'response', status: 500 }, '10.0.0.1:80')
    s.passive(h, { kind: 'response', status: 200 }, '10.0.0.1:80') // clears
    s.passive(h, { kind: 'response', status: 503 }, '10.0.0.1:80')
    assert.equal(h.healthy, true)
    s.passive(h, { kind: 'response', status: 429 }, '10.0.0.1:80')
    assert.equal(h.healthy, false)
    assert.equal(changes(), 1)
    const t = s.member('10.0.0.2:80')
    s.passive(t, { kind: 'tcp_failure' }, '10.0.0.2:80')
    assert.equal(t.healthy, false)
  })

  it('never brings a member back from proxied traffic alone (Kong)', () => {
    const { s } = state({
      healthchecks: { passive: { healthy: { successes: 1 }, unhealthy: { http_failures: 1 } } },
    })
    const h = s.member('k')
    s.passive(h, { kind: 'response', status: 500 }, 'k')
    assert.equal(h.healthy, false)
    for (let i = 0; i < 10; i++) s.passive(h, { kind: 'response', status: 200 }, 'k')
    assert.equal(h.healthy, false)
    assert.equal(s.admits(h), false)
  })

  it('active checks bring members back', () => {
    const { s } = state({
      healthchecks: {
        active: { healthy: { interval: 1, successes: 2 }, unhealthy: { interval: 1, http_failures: 1 } },
      },
    })
    const h = s.member('k')
    s.active(h, 'http_failure', 'k')
    assert.equal(h.healthy, false)
    s.active(h, 'success', 'k')
    assert.equal(h.healthy, false)
    s.active(h, 'success', 'k')
    assert.equal(h.healthy, true)
  })

  it('half-open (opt-in): one trial after the wait; success brings the member back, failure waits again', () => {
    let now = 1000
    const { s } = state(
      { healthchecks: { passive: { unhealthy: { http_failures: 1 } } } },
      { halfOpenAfterMs: 500, now: () => now },
    )
    const h = s.member('k')
    s.passive(h, { kind: 'response', status: 500 }, 'k')
    assert.equal(s.admits(h), false)
    now += 500
    assert.equal(s.admits(h), true)
    s.picked(h)
    assert.equal(s.admits(h), false, 'one trial at a time')
    s.passive(h, { kind: 'response', status: 503 }, 'k')
    assert.equal(h.healthy, false)
    assert.equal(s.admits(h), false, 'a failed trial restarts the wait')
    now += 500
    assert.equal(s.admits(h), true)
    s.picked(h)
    s.passive(h, { kind: 'response', status: 200 }, 'k')
    assert.equal(h.healthy, true)
  })

  it('half-open leaves members taken out by hand alone, and is off by default', () => {
    let now = 0
    const { s } = state(passive, { halfOpenAfterMs: 10, now: () => now })
    const h = s.member('k')
    s.override(h, false, 'k')
    now += 1000
    assert.equal(s.admits(h), false)
    const off = state(passive, { now: () => now }).s
    const p = off.member('k')
    off.passive(p, { kind: 'tcp_failure' }, 'k')
    now += 1e9
    assert.equal(off.admits(p), false)
  })

  it('overrides set the state and clear the counters', () => {
    const { s, changes } = state(passive)
    const h = s.member('k')
    s.passive(h, { kind: 'timeout' }, 'k')
    s.passive(h, { kind: 'timeout' }, 'k')
    s.override(h, true, 'k')
    assert.equal(h.timeouts, 0)
    assert.equal(changes(), 0, 'no flip, no change')
    s.override(h, false, 'k')
    assert.equal(h.healthy, false)
    assert.equal(changes(), 1)
  })

  it('prunes members and ignores reports after close', () => {
    const { s } = state(passive)
    s.member('a')
    const b = s.member('b')
    s.prune(new Set(['b']))
    assert.equal(s.size, 1)
    assert.equal(s.peek('b'), b)
    s.close()
    s.passive(b, { kind: 'tcp_failure' }, 'b')
    assert.equal(b.healthy, true)
    assert.equal(s.size, 0)
  })
})
