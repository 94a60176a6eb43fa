/** The fixed-rate open-loop generator (paced-child.ts): steady traffic in time, for failover measurements. */
import { runNodeChild } from './node-child.ts'
import type { LoadGenerator, LoadResult, LoadSpec } from './types.ts'

export function pacedGenerator(): LoadGenerator {
  return {
    name: 'undici open loop',
    resolutionMs: 0.001,
    connectionClose: false,
    async run(spec: LoadSpec): Promise<LoadResult> {
      if (!spec.rate) throw new Error('the paced load generator needs a rate')
      const out = await runNodeChild(new URL('./paced-child.ts', import.meta.url), [JSON.stringify(spec)])
      return JSON.parse(out) as LoadResult
    },
  }
}
