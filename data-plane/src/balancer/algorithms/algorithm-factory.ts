/** The algorithms by the names an upstream's `algorithm` field takes. */
import type { UpstreamRow } from '../../runtime/entity-rows.ts'
import type { Algorithm, Member } from '../types.ts'
import { createConsistentHashing } from './consistent-hashing.ts'
import { createLatency } from './latency.ts'
import { createLeastConnections } from './least-connections.ts'
import { createRoundRobin } from './round-robin.ts'

/** Builds an algorithm over a fixed member list; `slots` is the upstream's (consistent hashing's ring size). */
export type AlgorithmFactory = (members: readonly Member[], slots: number) => Algorithm

export const ALGORITHMS: Readonly<Record<UpstreamRow['algorithm'], AlgorithmFactory>> = {
  'round-robin': createRoundRobin,
  'consistent-hashing': createConsistentHashing,
  'least-connections': createLeastConnections,
  latency: createLatency,
}
