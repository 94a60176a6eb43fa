/**
 * Latency (peak EWMA, as Kong's after Finagle): each member's cost is an exponentially weighted moving average of
 * its response times that jumps straight to any slower sample (peaks count at once) and decays with a 10 s time
 * constant, also while the member gets no traffic, so a slow member is tried again once its cost has faded. A
 * pick takes the lowest cost × (inFlight + 1) / weight. A member never measured costs nothing, so it is tried
 * first; while its first answer is pending it costs a penalty instead, so a burst does not all land on it.
 */
import type { Algorithm, Member } from '../types.ts'
import { lowestScore } from './lowest-score.ts'

/** Kong's DECAY_TIME: the time constant of the average, in ms. */
export const DECAY_MS = 10_000
/** The cost of an unmeasured member with requests pending: above any real latency. */
const PENALTY_MS = 1e9

interface Ewma {
  /** ms; meaningful once `measured`. */
  value: number
  /** When `value` was last updated (clock ms). */
  stamp: number
  measured: boolean
}

/**
 * Kept per member object, not per algorithm: members that survive a rebuild (DNS, config) are the same objects,
 * so their averages survive too; dropped members are collected with their state.
 */
const averages = new WeakMap<Member, Ewma>()

function ewmaOf(m: Member): Ewma {
  let e = averages.get(m)
  if (e === undefined) {
    e = { value: 0, stamp: 0, measured: false }
    averages.set(m, e)
  }
  return e
}

export function createLatency(
  members: readonly Member[],
  _slots: number,
  now: () => number = () => performance.now(),
): Algorithm {
  const list = members.slice()
  const states = list.map(ewmaOf)
  let t = 0
  const pick = lowestScore(list, (m, i) => {
    const e = states[i]!
    const cost = e.measured ? e.value * Math.exp(-(t - e.stamp) / DECAY_MS) : m.inFlight === 0 ? 0 : PENALTY_MS
    return (cost * (m.inFlight + 1)) / m.weight
  })
  return {
    pick(_hash, available) {
      t = now()
      return pick(available)
    },
    observe(member, latencyMs) {
      const e = ewmaOf(member)
      const t = now()
      const rtt = Number.isFinite(latencyMs) ? Math.max(latencyMs, 0) : 0
      if (!e.measured || rtt > e.value) e.value = rtt
      else {
        const w = Math.exp(-(t - e.stamp) / DECAY_MS)
        e.value = e.value * w + rtt * (1 - w)
      }
      e.measured = true
      e.stamp = t
    },
  }
}
