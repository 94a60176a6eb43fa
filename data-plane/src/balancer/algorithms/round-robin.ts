/**
 * Smooth weighted round-robin (nginx's): every pick adds each available member's weight to its running score and
 * takes the highest, which then pays back the sum. Weights 1:3 go b a b b, never a burst of one member, and a
 * member that is skipped (unhealthy, tried) simply stops scoring, so the others keep their spread.
 */
import type { Algorithm, Member } from '../types.ts'

export function createRoundRobin(members: readonly Member[], _slots: number): Algorithm {
  const list = members.slice()
  const weights = Float64Array.from(list, (m) => m.weight)
  const current = new Float64Array(list.length)
  return {
    pick(_hash, available) {
      let total = 0
      let best = -1
      for (let i = 0; i < list.length; i++) {
        const w = weights[i]
        if (w <= 0 || !available(list[i])) continue
        current[i] += w
        total += w
        if (best === -1 || current[i] > current[best]) best = i
      }
      if (best === -1) return undefined
      current[best] -= total
      return list[best]
    },
  }
}
