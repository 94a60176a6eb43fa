/**
 * Least connections, weighted: the member with the fewest requests in flight per unit of weight, counting the one
 * about to be sent ((inFlight + 1) / weight), so among idle members the heavier goes first. Ties rotate: the scan
 * starts after the last pick.
 */
import type { Algorithm, Member } from '../types.ts'

export function createLeastConnections(members: readonly Member[], _slots: number): Algorithm {
  const list = members.slice()
  const n = list.length
  let start = 0
  return {
    pick(_hash, available) {
      let best = -1
      let bestScore = Infinity
      for (let k = 0; k < n; k++) {
        const i = (start + k) % n
        const m = list[i]
        if (m.weight <= 0 || !available(m)) continue
        const score = (m.inFlight + 1) / m.weight
        if (score < bestScore) {
          bestScore = score
          best = i
        }
      }
      if (best === -1) return undefined
      start = (best + 1) % n
      return list[best]
    },
  }
}
