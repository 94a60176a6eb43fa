/** Child processes for benchmark targets: spawn, wait until ready, and never leave one behind. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { createConnection, createServer } from 'node:net'

/** The line a target script prints on stdout once it listens: `BENCH_READY {"url": …}`. */
export const READY_MARK = 'BENCH_READY '

export interface Child {
  name: string
  proc: ChildProcess
  /** Everything the process wrote so far (bounded), for error messages. */
  output(): string
  /** Resolves with the JSON after READY_MARK; rejects if the process exits first or the timeout passes. */
  ready(timeoutMs?: number): Promise<Record<string, unknown>>
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

const live = new Set<ChildProcess>()
let cleanupInstalled = false

/** Kills every child still running; called on exit and on SIGINT/SIGTERM. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => stopProcess(p, 2000)))
}

function installCleanup(): void {
  if (cleanupInstalled) return
  cleanupInstalled = true
  process.on('exit', () => {
    for (const p of live) p.kill('SIGKILL')
  })
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: stopping ${live.size} child process(es)…\n`)
      stopAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143))
    })
  }
}

function stopProcess(proc: ChildProcess, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
    proc.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    proc.kill('SIGTERM')
  })
}

/** Registers a process spawned elsewhere (the load generator) so exit and Ctrl-C stop it too. */
export function track<P extends ChildProcess>(proc: P): P {
  installCleanup()
  live.add(proc)
  proc.once('exit', () => live.delete(proc))
  return proc
}

export interface SpawnOptions {
  env?: Record<string, string>
}

/** Starts `command args` as a tracked child. stdin stays open so node targets can exit when we die. */
export function spawnChild(name: string, command: string, args: string[], opts: SpawnOptions = {}): Child {
  const proc = track(
    spawn(command, args, {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  )
  let out = ''
  const append = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000)
  }
  proc.stdout?.on('data', append)
  proc.stderr?.on('data', append)
  return {
    name,
    proc,
    output: () => out,
    ready: (timeoutMs = 30_000) => waitReadyLine(name, proc, () => out, timeoutMs),
    stop: (graceMs = 3000) => stopProcess(proc, graceMs),
  }
}

function waitReadyLine(
  name: string,
  proc: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const fail = (why: string) => {
      cleanup()
      reject(new Error(`${name}: ${why}\n--- output ---\n${output().slice(-4000)}`))
    }
    const onData = (d: Buffer) => {
      buf += d.toString()
      const at = buf.indexOf(READY_MARK)
      if (at < 0) return
      const end = buf.indexOf('\n', at)
      if (end < 0) return
      cleanup()
      try {
        resolve(JSON.parse(buf.slice(at + READY_MARK.length, end)) as Record<string, unknown>)
      } catch (e) {
        reject(new Error(`${name}: bad ready line: ${(e as Error).message}`))
      }
    }
    const onExit = (code: number | null, signal: string | null) => fail(`exited before ready (code ${code}, ${signal})`)
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs)
    const cleanup = () => {
      clearTimeout(timer)
      proc.stdout?.off('data', onData)
      proc.off('exit', onExit)
    }
    proc.stdout?.on('data', onData)
    proc.once('exit', onExit)
  })
}

/** Starts a bench/targets/*.ts script with this process's Node (so Node 24 even under plain `npm run`). */
export function spawnNodeScript(
  name: string,
  script: URL,
  args: string[],
  opts: SpawnOptions & { nodeArgs?: string[] } = {},
): Child {
  const path = decodeURIComponent(script.pathname)
  return spawnChild(name, process.execPath, [...(opts.nodeArgs ?? []), path, ...args], opts)
}

const commandCache = new Map<string, boolean>()

/** Whether `name` is runnable (on PATH or an absolute path). */
export function hasCommand(name: string): boolean {
  let known = commandCache.get(name)
  if (known === undefined) {
    known = spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0
    commandCache.set(name, known)
  }
  return known
}

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

/** Polls until a TCP connect to 127.0.0.1:port succeeds. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
