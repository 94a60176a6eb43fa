/**
 * An embedded PGlite data directory serves one process at a time (two would corrupt it, and PGlite does not
 * guard against that): a lock file holding the owner's pid. A lock whose process is gone is stale and taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { TurnpikeError } from '@turnpike/shared'

const LOCK_FILE = 'turnpike.lock'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Locks `dir` for this process; throws naming the holder when another live process has it. Returns the release. */
export function lockDirectory(dir: string): () => void {
  const path = join(dir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => {
        try {
          if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path)
        } catch {
          // Already gone.
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10)
    // Our own pid is a previous life's lock (a container restarted with the same volume and pid).
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid))
      throw new TurnpikeError(
        'DATABASE_UNAVAILABLE',
        `the embedded database at ${dir} is in use by process ${pid} (a running turnpike node?); stop it first, ` +
          `or talk to the running node with --admin-url (remove ${path} if no such process is turnpike)`,
      )
    // Stale: its process is gone.
    unlinkSync(path)
  }
  throw new TurnpikeError('DATABASE_UNAVAILABLE', `could not lock the embedded database at ${dir}`)
}
