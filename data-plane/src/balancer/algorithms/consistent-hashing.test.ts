import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { everyone, member } from '../testing/fixtures.ts'
import type { Member } from '../types.ts'
import { createConsistentHashing } from './consistent-hashing.ts'
import { hashString } from './hash32.ts'

const keys = Array.from({ length: 5000 }, (_, i) => hashString(`user-${i}`))

function assign(members: readonly Member[], available: (m: Member) => boolean = everyone): string[] {
  const ch = createConsistentHashing(members, 10000)
  return keys.map((h) => ch.pick(h, available)?.key ?? '-')
}

const five = () => [1, 2, 3, 4, 5].map((i) => member(`10.0.0.${i}:80`))

describe('consistent-hashing', () => {
  it('sends one key to one member, the same on every build', () => {
    const members = five()
    const a = assign(members)
    const b = assign(five())
    assert.deepEqual(a, b)
    const ch = createConsistentHashing(members, 10000)
    for (const h of keys.slice(0, 50)) assert.equal(ch.pick(h, everyone), ch.pick(h, everyone))
  })

  it('spreads keys by weight', () => {
    const a = member('10.0.0.1:80', 100)
    const b = member('10.0.0.2:80', 300)
    const got = assign([a, b])
    const share = got.filter((k) => k === a.key).length / got.length
    assert.ok(share > 0.2 && share < 0.3, `weight 1 of 4 got ${share}`)
    const equal = assign(five())
    for (const m of five()) {
      const s = equal.filter((k) => k === m.key).length / equal.length
      assert.ok(s > 0.15 && s < 0.25, `${m.key} got ${s}`)
    }
  })

  it('moves only the removed member’s keys when one of N goes', () => {
    const members = five()
    const before = assign(members)
    const removed = members[2]
    const after = assign(members.filter((m) => m !== removed))
    let moved = 0
    for (let i = 0; i < keys.length; i++)
      if (before[i] !== after[i]) {
        moved++
        assert.equal(before[i], removed.key, `key ${i} moved from ${before[i]} to ${after[i]}`)
      }
    const share = moved / keys.length
    assert.ok(share > 0.15 && share < 0.25, `moved ${share} of the keys`)
    // And coming back restores the old assignment exactly.
    assert.deepEqual(assign(five()), before)
  })

  it('walks to the next member for unavailable ones, and back when they return', () => {
    const members = five()
    const before = assign(members)
    const down = members[0]
    const during = assign(members, (m) => m !== down)
    for (let i = 0; i < keys.length; i++) {
      if (before[i] === down.key) assert.notEqual(during[i], down.key)
      else assert.equal(during[i], before[i], 'keys of healthy members stay')
    }
    // The displaced keys spread over the others rather than piling onto one.
    const displaced = new Set(during.filter((_, i) => before[i] === down.key))
    assert.ok(displaced.size >= 3, `displaced keys went to ${displaced.size} members`)
  })

  it('retries go to other members until none is left', () => {
    const members = five()
    const ch = createConsistentHashing(members, 10000)
    const tried: Member[] = []
    for (let i = 0; i < 5; i++) {
      const m = ch.pick(keys[7], (x) => !tried.includes(x))
      assert.ok(m)
      tried.push(m)
    }
    assert.equal(new Set(tried).size, 5)
    assert.equal(
      ch.pick(keys[7], (x) => !tried.includes(x)),
      undefined,
    )
  })

  it('never picks weight 0; spreads requests without a key', () => {
    const zero = member('10.0.0.9:80', 0)
    const members = [zero, ...five()]
    const ch = createConsistentHashing(members, 1000)
    const seen = new Map<string, number>()
    for (let i = 0; i < 1000; i++) {
      const m = ch.pick(undefined, everyone)!
      seen.set(m.key, (seen.get(m.key) ?? 0) + 1)
    }
    assert.equal(seen.get(zero.key), undefined)
    assert.equal(seen.size, 5)
    for (const [k, n] of seen) assert.ok(n > 120 && n < 280, `${k}: ${n}`)
    assert.equal(createConsistentHashing([zero], 100).pick(1, everyone), undefined)
  })
})
