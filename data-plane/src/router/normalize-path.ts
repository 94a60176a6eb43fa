/**
 * Request path normalization before routing (RFC 3986 §6.2.2, as Kong does): percent-escapes of unreserved
 * characters are decoded and the others uppercased, dot segments are removed and repeated slashes merged.
 * Reserved escapes such as `%2F` stay encoded, so segment boundaries never move.
 */

const HEX = '0123456789ABCDEF'

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x5f || // _
    c === 0x7e // ~
  )
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

/** Decodes escapes of unreserved characters and uppercases the rest; malformed escapes are kept as they are. */
export function normalizePercentEncoding(path: string): string {
  let out = ''
  let last = 0
  for (let i = path.indexOf('%'); i !== -1 && i + 2 < path.length; i = path.indexOf('%', i + 1)) {
    const hi = hexValue(path.charCodeAt(i + 1))
    const lo = hexValue(path.charCodeAt(i + 2))
    if (hi < 0 || lo < 0) continue
    const code = hi * 16 + lo
    out += path.slice(last, i) + (isUnreserved(code) ? String.fromCharCode(code) : `%${HEX[hi]}${HEX[lo]}`)
    last = i + 3
    i += 2
  }
  return last === 0 ? path : out + path.slice(last)
}

/** Removes `.` and `..` segments and merges `//`; a trailing dot segment leaves a trailing slash. */
function removeDotSegments(path: string): string {
  const input = path.split('/')
  const out: string[] = []
  const lastIndex = input.length - 1
  for (let i = 1; i <= lastIndex; i++) {
    const seg = input[i]
    if (seg === '..') {
      out.pop()
      if (i === lastIndex) out.push('')
    } else if (seg === '.') {
      if (i === lastIndex) out.push('')
    } else if (seg !== '' || i === lastIndex) {
      out.push(seg)
    }
  }
  return `/${out.join('/')}`
}

/** Whether a segment is empty or starts with a dot: only then do dot segments and `//` need handling. */
function hasDotOrEmptySegment(path: string): boolean {
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const next = path.charCodeAt(i + 1)
    if (next === 0x2f || next === 0x2e) return true
  }
  return false
}

/** Normalizes an origin-form request path (no query string); the common case returns the input untouched. */
export function normalizePath(path: string): string {
  const decoded = path.indexOf('%') === -1 ? path : normalizePercentEncoding(path)
  return hasDotOrEmptySegment(decoded) ? removeDotSegments(decoded) : decoded
}
