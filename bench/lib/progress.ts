/** Progress lines on stderr: what runs now and for how long; a live elapsed counter on a TTY. */

const tty = process.stderr.isTTY === true
const start = Date.now()

function clock(ms: number): string {
  const s = Math.floor(ms / 1000)
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
}

/** A one-off progress line, prefixed with the time since the suite started. */
export function note(text: string): void {
  process.stderr.write(`[${clock(Date.now() - start)}] ${text}\n`)
}

/** Shows `label` with a ticking elapsed/expected counter until the returned function is called. */
export function phase(label: string, expectedSec?: number): (result?: string) => void {
  const t0 = Date.now()
  if (!tty) {
    note(expectedSec ? `${label} (${expectedSec} s)…` : `${label}…`)
    return (result) => {
      if (result) note(`${label}: ${result}`)
    }
  }
  const draw = () => {
    const el = ((Date.now() - t0) / 1000).toFixed(1)
    process.stderr.write(
      `\r\x1b[2K[${clock(Date.now() - start)}] ${label} ${el}${expectedSec ? `/${expectedSec}` : ''} s`,
    )
  }
  draw()
  const timer = setInterval(draw, 250)
  return (result) => {
    clearInterval(timer)
    process.stderr.write('\r\x1b[2K')
    note(result ? `${label}: ${result}` : label)
  }
}
