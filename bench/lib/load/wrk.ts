/** wrk adapter: one thread, a generated Lua script for request cycling, pacing and a JSON summary. */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { track } from '../processes.ts'
import type { LoadGenerator, LoadResult, LoadSpec } from './types.ts'

const MARK = 'WRK_JSON '

/** Script dirs of runs in progress, removed even when Ctrl-C ends the harness mid-run. */
const scriptDirs = new Set<string>()
process.once('exit', () => {
  for (const dir of scriptDirs) rmSync(dir, { recursive: true, force: true })
})

const lua = (s: string) => JSON.stringify(s) // JSON string escapes are valid Lua escapes for our ASCII paths.

function headerTable(headers: Record<string, string>): string {
  return `{${Object.entries(headers)
    .map(([k, v]) => `[${lua(k)}]=${lua(v)}`)
    .join(',')}}`
}

/**
 * Fixed-rate pacing with wrk's delay() (whole ms, after each response): every connection waits a uniformly random
 * 0–2×PACE_MS between requests, so connections do not fire in lock-step bursts; rate ≈ connections / (PACE_MS +
 * latency). The achieved rate is what the result reports.
 */
const PACE_MS = 10

export function pacedConnections(rate: number): number {
  return Math.max(1, Math.round((rate * PACE_MS) / 1000))
}

export function wrkScript(spec: LoadSpec, paced: boolean): string {
  const lines: string[] = []
  const extra = spec.headers ?? {}
  if (spec.requests.length === 1) {
    // Static request: wrk builds it once, the cheapest path for the load generator.
    const r = spec.requests[0]
    lines.push(`wrk.path = ${lua(r.path)}`)
    for (const [k, v] of Object.entries({ ...extra, ...(r.host ? { Host: r.host } : {}) }))
      lines.push(`wrk.headers[${lua(k)}] = ${lua(v)}`)
  } else {
    lines.push('local reqs = {')
    for (const r of spec.requests)
      lines.push(`  {${lua(r.path)}, ${headerTable({ ...extra, ...(r.host ? { Host: r.host } : {}) })}},`)
    lines.push('}')
    lines.push(
      'local formatted, n, i = {}, #reqs, 0',
      'function init(args)',
      '  for j = 1, n do formatted[j] = wrk.format("GET", reqs[j][1], reqs[j][2]) end',
      'end',
      'function request()',
      '  i = i % n + 1',
      '  return formatted[i]',
      'end',
    )
  }
  if (paced) lines.push(`function delay() return math.random(0, ${2 * PACE_MS}) end`)
  lines.push(
    'function done(summary, latency, requests)',
    '  local e = summary.errors',
    `  io.write(string.format('${MARK}{"requests":%d,"duration_us":%d,"p50":%.1f,"p90":%.1f,"p99":%.1f,"max":%.1f,"errors":%d,"status":%d}\\n',`,
    '    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),',
    '    latency.max, e.connect + e.read + e.write + e.timeout, e.status))',
    'end',
  )
  return `${lines.join('\n')}\n`
}

export function wrkGenerator(bin = 'wrk'): LoadGenerator {
  return {
    name: 'wrk',
    resolutionMs: 0.001,
    connectionClose: true,
    async run(spec: LoadSpec): Promise<LoadResult> {
      const connections = spec.rate ? pacedConnections(spec.rate) : spec.connections
      const dir = mkdtempSync(join(tmpdir(), 'turnpike-bench-wrk-'))
      scriptDirs.add(dir)
      const script = join(dir, 'bench.lua')
      writeFileSync(script, wrkScript(spec, spec.rate !== undefined))
      const args = ['-t1', `-c${connections}`, `-d${spec.durationSec}s`, '--timeout', '5s', '-s', script, spec.url]
      try {
        const out = await new Promise<string>((resolve, reject) => {
          const p = track(spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] }))
          let text = ''
          p.stdout.on('data', (d: Buffer) => {
            text += d.toString()
          })
          p.stderr.on('data', (d: Buffer) => {
            text += d.toString()
          })
          p.once('error', reject)
          p.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`))))
        })
        const at = out.indexOf(MARK)
        if (at < 0) throw new Error(`wrk printed no summary:\n${out}`)
        const j = JSON.parse(out.slice(at + MARK.length, out.indexOf('\n', at))) as Record<string, number>
        const durationSec = j.duration_us / 1e6
        return {
          requests: j.requests,
          durationSec,
          rps: j.requests / durationSec,
          p50Ms: j.p50 / 1000,
          p90Ms: j.p90 / 1000,
          p99Ms: j.p99 / 1000,
          maxMs: j.max / 1000,
          errors: j.errors,
          non2xx: j.status,
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
        scriptDirs.delete(dir)
      }
    },
  }
}
