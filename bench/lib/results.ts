/** Writes a suite's JSON next to the others under bench/results (gitignored). */

import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, platform, release } from 'node:os'
import { join } from 'node:path'

export function machineInfo(): Record<string, unknown> {
  const c = cpus()
  return { node: process.version, platform: `${platform()} ${release()}`, cpus: c.length, cpu_model: c[0]?.model }
}

export function writeResults(dir: string, suite: string, data: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const file = join(dir, `${suite}-${stamp}.json`)
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`)
  return file
}
