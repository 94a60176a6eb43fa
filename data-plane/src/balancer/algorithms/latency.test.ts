import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { everyone, member } from '../testing/fixtures.ts'
import { createLatency, DECAY_MS } from './latency.ts'

describe('latency (peak EWMA)', () => {
  it('tries unmeasured members first, then prefers the fast one', () => {
    let now = 0
    const fast = member('10.0.0.1:80')
    const slow = member('10.0.0.2:80')
    const lat = createLatency([fast, slow], 10000, () => now)
    const first = [lat.pick(undefined, everyone)!, lat.pick(undefined, everyone)!]
    assert.deepEqual(new Set(first), new Set([fast, slow]), 'both unmeasured members get tried')
    lat.observe!(fast, 5)
    lat.observe!(slow, 50)
    let fastPicks = 0
    for (let i = 0; i < 100; i++) {
      now += 10
      const m = lat.pick(undefined, everyone)!
      if (m === fast) fastPicks++
      lat.observe!(m, m === fast ? 5 : 50)
    }
    assert.ok(fastPicks >= 95, `fast got ${fastPicks} of 100`)
  })

  it('weighs in requests in flight', () => {
    const a = member('10.0.0.1:80')
    const b = member('10.0.0.2:80')
    const lat = createLatency([a, b], 10000, () => 0)
    lat.observe!(a, 10)
    lat.observe!(b, 20)
    a.inFlight = 3 // cost 10 × 4 = 40 against 20 × 1
    assert.equal(lat.pick(undefined, everyone), b)
  })

  it('jumps to a slower sample at once, and lets a slow member fade back in', () => {
    let now = 0
    const a = member('10.0.0.1:80')
    const b = member('10.0.0.2:80')
    const lat = createLatency([a, b], 10000, () => now)
    lat.observe!(a, 10)
    lat.observe!(b, 12)
    assert.equal(lat.pick(undefined, everyone), a)
    lat.observe!(a, 500) // a peak: a is now the slow one
    assert.equal(lat.pick(undefined, everyone), b)
    // b keeps answering in 12 ms while a gets nothing; a's cost decays until it is worth a try.
    now += 5 * DECAY_MS
    lat.observe!(b, 12)
    assert.equal(lat.pick(undefined, everyone), a)
  })

  it('keeps a pending unmeasured member from taking a burst', () => {
    const a = member('10.0.0.1:80')
    const b = member('10.0.0.2:80')
    const lat = createLatency([a, b], 10000, () => 0)
    lat.observe!(b, 30)
    a.inFlight = 1
    assert.equal(lat.pick(undefined, everyone), b)
  })

  it('never picks weight 0 or unavailable members', () => {
    const zero = member('10.0.0.1:80', 0)
    const down = member('10.0.0.2:80')
    const lat = createLatency([zero, down], 10000)
    assert.equal(
      lat.pick(undefined, (m) => m !== down),
      undefined,
    )
  })
})
