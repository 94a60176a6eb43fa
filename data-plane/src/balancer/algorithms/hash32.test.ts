import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { hashInt, hashString } from './hash32.ts'

/** Byte-wise MurmurHash3 x86_32, straight from the algorithm's description, to check the UTF-16 fast path. */
function reference(bytes: Uint8Array, seed: number): number {
  let h = seed >>> 0
  const blocks = bytes.length >> 2
  const mix = (k: number) => {
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    return Math.imul(k, 0x1b873593)
  }
  for (let i = 0; i < blocks; i++) {
    const k = bytes[i * 4] | (bytes[i * 4 + 1] << 8) | (bytes[i * 4 + 2] << 16) | (bytes[i * 4 + 3] << 24)
    h ^= mix(k)
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  const tail = blocks * 4
  const rest = bytes.length & 3
  if (rest > 0) {
    let k = 0
    for (let i = rest - 1; i >= 0; i--) k = (k << 8) | bytes[tail + i]
    h ^= mix(k)
  }
  h ^= bytes.length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

describe('murmur3 (32-bit)', () => {
  it('matches the published vectors', () => {
    assert.equal(hashString(''), 0)
    assert.equal(hashString('', 1), 0x514e28b7)
    assert.equal(hashString('', 0xffffffff), 0x81f16f39)
    assert.equal(hashInt(0, 0), 0x2362f9de)
    assert.equal(hashInt(-1, 0), 0x76293b50)
    assert.equal(hashInt(0x87654321, 0), 0xf55b516b)
    assert.equal(hashInt(0x87654321, 0x5082edee), 0x2362f9de)
  })

  it('hashes a string as its UTF-16LE bytes', () => {
    for (const s of ['a', 'ab', 'abc', 'user-42', '10.0.0.1', 'ünïcødé ☃', 'x'.repeat(101)])
      assert.equal(hashString(s, 7), reference(Buffer.from(s, 'utf16le'), 7), s)
  })
})
