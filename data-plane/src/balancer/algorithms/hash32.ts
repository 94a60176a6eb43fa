/**
 * MurmurHash3 (x86, 32-bit) for hash keys and ring points. Strings are hashed by UTF-16 code units, two per block,
 * so a pick hashes its key without encoding it to bytes; the result is the same on every node, which is what lets
 * several data planes send one key to the same member.
 */

const C1 = 0xcc9e2d51
const C2 = 0x1b873593

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1)
  k = (k << 15) | (k >>> 17)
  k = Math.imul(k, C2)
  h ^= k
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

/** The avalanche step: every input bit flips each output bit with probability ~1/2. */
export function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** An unsigned 32-bit hash of `s`. */
export function hashString(s: string, seed = 0): number {
  let h = seed | 0
  const n = s.length
  const even = n & ~1
  for (let i = 0; i < even; i += 2) h = mixBlock(h, s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16))
  if (even !== n) {
    let k = Math.imul(s.charCodeAt(even), C1)
    k = (k << 15) | (k >>> 17)
    h ^= Math.imul(k, C2)
  }
  return fmix32(h ^ (n * 2))
}

/** An unsigned 32-bit hash of one 32-bit value under `seed` (a bijection in `seed` for a fixed value). */
export function hashInt(value: number, seed: number): number {
  return fmix32(mixBlock(seed | 0, value | 0) ^ 4)
}
