/**
 * The scan least-connections and latency share: the available member with the lowest score, starting after the
 * last pick so that ties rotate.
 */
import type { Member } from '../types.ts'

export function lowestScore(
  list: readonly Member[],
  score: (m: Member, index: number) => number,
): (available: (m: Member) => boolean) => Member | undefined {
  const n = list.length
  let start = 0
  return (available) => {
    let best = -1
    let bestScore = Infinity
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n
      const m = list[i]!
      if (m.weight <= 0 || !available(m)) continue
      const s = score(m, i)
      if (s < bestScore) {
        bestScore = s
        best = i
      }
    }
    if (best === -1) return undefined
    start = (best + 1) % n
    return list[best]
  }
}
