/** Test support for Redis-backed features: say why Redis is missing, and keep counting tests inside one window. */
import { connect } from 'node:net'

/** Why Redis at 127.0.0.1:6379 is unusable, or undefined when it accepts connections. */
export function redisUnavailable(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: 6379 }, () => {
      s.destroy()
      resolve(undefined)
    })
    s.on('error', (e) => resolve(`Redis at 127.0.0.1:6379 is not reachable (${e.message})`))
  })
}

/** Minute windows roll over on the minute: start a counting test well inside one. */
export async function awayFromMinuteEdge(): Promise<void> {
  const intoMinute = Date.now() % 60_000
  if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 50))
}
