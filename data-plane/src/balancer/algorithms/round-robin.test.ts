import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { everyone, member } from '../testing/fixtures.ts'
import type { Member } from '../types.ts'
import { createRoundRobin } from './round-robin.ts'

function counts(picks: readonly (Member | undefined)[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const m of picks) if (m) out.set(m.key, (out.get(m.key) ?? 0) + 1)
  return out
}

describe('round-robin', () => {
  it('gives three equal members a third each', () => {
    const members = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'].map((k) => member(k))
    const rr = createRoundRobin(members, 10000)
    const c = counts(Array.from({ length: 300 }, () => rr.pick(undefined, everyone)))
    for (const m of members) assert.equal(c.get(m.key), 100, `${m.key}: ${c.get(m.key)}`)
  })

  it('spreads weights 1:3 as 25/75, interleaved rather than in bursts', () => {
    const a = member('10.0.0.1:80', 1)
    const b = member('10.0.0.2:80', 3)
    const rr = createRoundRobin([a, b], 10000)
    const picks = Array.from({ length: 400 }, () => rr.pick(undefined, everyone)!)
    const c = counts(picks)
    assert.equal(c.get(a.key), 100)
    assert.equal(c.get(b.key), 300)
    // Smooth: every window of 4 picks holds exactly one of a.
    for (let i = 0; i + 4 <= picks.length; i += 4)
      assert.equal(picks.slice(i, i + 4).filter((m) => m === a).length, 1, `window at ${i}`)
  })

  it('skips unavailable members and keeps the spread among the others', () => {
    const members = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'].map((k) => member(k))
    const rr = createRoundRobin(members, 10000)
    const down = members[1]
    const c = counts(Array.from({ length: 200 }, () => rr.pick(undefined, (m) => m !== down)))
    assert.equal(c.get(down.key), undefined)
    assert.equal(c.get(members[0].key), 100)
    assert.equal(c.get(members[2].key), 100)
    // Back in: it gets its share again.
    const after = counts(Array.from({ length: 300 }, () => rr.pick(undefined, everyone)))
    for (const m of members) assert.ok(Math.abs((after.get(m.key) ?? 0) - 100) <= 2, `${m.key}: ${after.get(m.key)}`)
  })

  it('never picks weight 0, and gives undefined when nothing is available', () => {
    const zero = member('10.0.0.1:80', 0)
    const one = member('10.0.0.2:80', 1)
    const rr = createRoundRobin([zero, one], 10000)
    for (let i = 0; i < 20; i++) assert.equal(rr.pick(undefined, everyone), one)
    assert.equal(
      rr.pick(undefined, () => false),
      undefined,
    )
    assert.equal(createRoundRobin([zero], 10000).pick(undefined, everyone), undefined)
    assert.equal(createRoundRobin([], 10000).pick(undefined, everyone), undefined)
  })
})
