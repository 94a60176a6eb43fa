/** Picks the load generator: wrk when installed (µs latencies, cheap), autocannon otherwise. */
import { hasCommand } from '../processes.ts'
import { autocannonGenerator } from './autocannon.ts'
import type { LoadGenerator } from './types.ts'
import { wrkGenerator } from './wrk.ts'

export type LoadGeneratorChoice = 'auto' | 'wrk' | 'autocannon'

const AUTOCANNON_CAVEAT =
  'autocannon records whole milliseconds and, being one JS thread, can saturate before the fastest targets (watch loadgen CPU); install wrk for sound figures'

export function pickLoadGenerator(choice: LoadGeneratorChoice): { gen: LoadGenerator; note?: string } {
  if (choice === 'autocannon') return { gen: autocannonGenerator(), note: AUTOCANNON_CAVEAT }
  if (hasCommand('wrk')) return { gen: wrkGenerator('wrk') }
  if (choice === 'wrk') throw new Error('wrk is not installed (apt-get install wrk), or use --loadgen autocannon')
  return { gen: autocannonGenerator(), note: `wrk not found, using autocannon: ${AUTOCANNON_CAVEAT}` }
}

export { pacedGenerator } from './paced.ts'
export type { LoadGenerator, LoadResult, LoadSpec } from './types.ts'
