/** Options every suite receives from bench/run.ts. */
import type { LoadGeneratorChoice } from './load/index.ts'

export interface BenchOptions {
  /** Seconds per measurement. */
  durationSec: number
  /** Seconds of discarded load before each measurement. */
  warmupSec: number
  /** Measured runs per target and scenario; the least disturbed (lowest other CPU) is reported. */
  repeat: number
  /** Concurrent connections for closed-loop (max throughput) runs. */
  connections: number
  quick: boolean
  loadgen: LoadGeneratorChoice
  /** Only these scenarios (by name), when set. */
  scenarios?: string[]
  /** Only these targets (by name), when set; baselines needed for ratios are still listed as missing. */
  targets?: string[]
  /** Start node targets (data plane, minimal and fastify proxies) with --cpu-prof, profiles under bench/results/profiles. */
  cpuProf: boolean
  resultsDir: string
}

export interface SuiteResult {
  /** Human-readable tables, printed by run.ts. */
  text: string
  /** Written to bench/results/<suite>-<timestamp>.json. */
  data: Record<string, unknown>
}

export interface Suite {
  name: string
  summary: string
  run(opts: BenchOptions): Promise<SuiteResult>
}
