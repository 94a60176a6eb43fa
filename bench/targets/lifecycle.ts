/** Run inside each target child: announce readiness to the harness and exit cleanly when told to or orphaned. */
import { READY_MARK } from '../lib/processes.ts'

/** Prints the ready line the harness waits for. */
export function announceReady(info: Record<string, unknown>): void {
  process.stdout.write(`${READY_MARK}${JSON.stringify(info)}\n`)
}

/**
 * Closes and exits on SIGTERM/SIGINT, or when stdin ends (the harness died without signalling).
 * A normal exit matters: `--cpu-prof` only writes its profile on one.
 */
export function exitOnStop(close: () => Promise<void> | void): void {
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    const hardExit = setTimeout(() => process.exit(0), 2000)
    hardExit.unref()
    Promise.resolve()
      .then(close)
      .catch(() => {})
      .finally(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  process.stdin.on('end', stop)
  process.stdin.on('error', stop)
  process.stdin.resume()
}
