/**
 * Least connections, weighted: the member with the fewest requests in flight per unit of weight, counting the one
 * about to be sent ((inFlight + 1) / weight), so among idle members the heavier goes first. Ties rotate: the scan
 * starts after the last pick.
 */
import type { Algorithm, Member } from '../types.ts'
import { lowestScore } from './lowest-score.ts'

export function createLeastConnections(members: readonly Member[], _slots: number): Algorithm {
  const pick = lowestScore(members.slice(), (m) => (m.inFlight + 1) / m.weight)
  return { pick: (_hash, available) => pick(available) }
}
