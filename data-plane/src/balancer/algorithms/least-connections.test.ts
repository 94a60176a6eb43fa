import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { everyone, member } from '../testing/fixtures.ts'
import { createLeastConnections } from './least-connections.ts'

describe('least-connections', () => {
  it('prefers the idle member', () => {
    const busy = member('10.0.0.1:80')
    const idle = member('10.0.0.2:80')
    busy.inFlight = 5
    const lc = createLeastConnections([busy, idle], 10000)
    for (let i = 0; i < 5; i++) assert.equal(lc.pick(undefined, everyone), idle)
  })

  it('fills members up evenly as requests stay in flight, relative to weight', () => {
    const a = member('10.0.0.1:80', 100)
    const b = member('10.0.0.2:80', 300)
    const lc = createLeastConnections([a, b], 10000)
    for (let i = 0; i < 40; i++) lc.pick(undefined, everyone)!.inFlight++
    assert.equal(a.inFlight, 10)
    assert.equal(b.inFlight, 30)
  })

  it('rotates among ties', () => {
    const members = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'].map((k) => member(k))
    const lc = createLeastConnections(members, 10000)
    const seen = new Set(Array.from({ length: 3 }, () => lc.pick(undefined, everyone)!.key))
    assert.equal(seen.size, 3)
  })

  it('skips unavailable and weight-0 members', () => {
    const zero = member('10.0.0.1:80', 0)
    const down = member('10.0.0.2:80')
    const up = member('10.0.0.3:80')
    up.inFlight = 100
    const lc = createLeastConnections([zero, down, up], 10000)
    assert.equal(
      lc.pick(undefined, (m) => m !== down),
      up,
    )
    assert.equal(
      lc.pick(undefined, () => false),
      undefined,
    )
  })
})
