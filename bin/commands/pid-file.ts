/** The running node's pid file, `<prefix>/pids/turnpike.pid` (Kong keeps `<prefix>/pids/nginx.pid`). */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { TurnpikeError } from '@turnpike/shared'

export function pidFilePath(prefix: string): string {
  return join(prefix, 'pids', 'turnpike.pid')
}

/** Writes this process's pid; refuses when a live node already runs under `prefix`. */
export function writePidFile(prefix: string): string {
  const path = pidFilePath(prefix)
  const running = runningPid(prefix)
  if (running !== undefined && running !== process.pid)
    throw new TurnpikeError(
      'INVALID_OPTIONS',
      `a node is already running under prefix ${prefix} (pid ${running}, ${path})`,
    )
  mkdirSync(join(prefix, 'pids'), { recursive: true })
  writeFileSync(path, `${process.pid}\n`)
  return path
}

export function removePidFile(prefix: string): void {
  if (runningPid(prefix) === process.pid) rmSync(pidFilePath(prefix), { force: true })
}

/** The pid in the file if that process is alive; undefined for no file or a stale one. */
export function runningPid(prefix: string): number | undefined {
  let pid: number
  try {
    pid = Number(readFileSync(pidFilePath(prefix), 'utf8').trim())
  } catch {
    return undefined
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    process.kill(pid, 0)
    return pid
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined
  }
}
