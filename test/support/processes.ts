/** Real `turnpike` processes for end-to-end tests: spawn on free loopback ports, wait, stop. */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/turnpike.ts', import.meta.url))

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `turnpike-${label}-`))
}

export interface TurnpikeProcess {
  proc: ChildProcess
  /** Everything the process wrote, for failure messages. */
  output(): string
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Runs `turnpike <args>` with the given TURNPIKE_* environment (and nothing inherited but PATH/HOME). */
export function spawnTurnpike(env: Record<string, string>, args: string[] = ['start']): TurnpikeProcess {
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TURNPIKE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  return {
    proc,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      return exited
    },
  }
}

export interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a `turnpike` command to its end (an operator tool, not a node), with the given TURNPIKE_* environment. */
export function runTurnpike(env: Record<string, string>, args: string[]): Promise<CommandResult> {
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  proc.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  return new Promise((resolve) => proc.once('close', (code) => resolve({ code, stdout, stderr })))
}

/** Polls `check` until it returns a truthy value or the deadline passes (then throws with the last error). */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await check()
      if (v) return v
    } catch (e) {
      last = e
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
}

/** Runs `turnpike cert gen -o dir` and returns the TURNPIKE_* variables that make a node use the pair. */
export async function clusterCertEnv(dir: string): Promise<Record<string, string>> {
  const gen = await runTurnpike({}, ['cert', 'gen', '-o', dir])
  if (gen.code !== 0) throw new Error(`turnpike cert gen failed (${gen.code}): ${gen.stderr}`)
  return {
    TURNPIKE_CLUSTER_MTLS: 'shared',
    TURNPIKE_CLUSTER_CERT: join(dir, 'cluster.crt'),
    TURNPIKE_CLUSTER_CERT_KEY: join(dir, 'cluster.key'),
  }
}

export interface LocalNode {
  node: TurnpikeProcess
  /** The environment it was started with, to start it again on the same ports and prefix. */
  env: Record<string, string>
  admin: string
  proxy: string
  status: string
}

/** A single-process node (traditional or DB-less) on free loopback ports. */
export async function startLocalNode(env: Record<string, string>): Promise<LocalNode> {
  const ports = { admin: await freePort(), proxy: await freePort(), status: await freePort() }
  const full = {
    ...env,
    TURNPIKE_ADMIN_LISTEN: `127.0.0.1:${ports.admin}`,
    TURNPIKE_PROXY_LISTEN: `127.0.0.1:${ports.proxy}`,
    TURNPIKE_STATUS_LISTEN: `127.0.0.1:${ports.status}`,
  }
  return {
    node: spawnTurnpike(full),
    env: full,
    admin: `http://127.0.0.1:${ports.admin}`,
    proxy: `http://127.0.0.1:${ports.proxy}`,
    status: `http://127.0.0.1:${ports.status}`,
  }
}
