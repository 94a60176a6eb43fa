/**
 * Request path normalization before routing, as Kong's `kong.tools.uri.normalize` does it (RFC 3986 §6.2.2):
 * escapes of reserved characters (`%2F`, `%3F`…) stay encoded but uppercased, so segment boundaries never move;
 * every other escape is decoded (unreserved ones, and "others" such as `%20` or UTF-8 bytes, which Kong decodes
 * for matching and escapes again when forwarding); then dot segments are removed and repeated slashes merged.
 * Paths are byte strings here: one char per byte (latin1), as node:http hands over the request target.
 */

const HEX = '0123456789ABCDEF'

/** RFC 3986 reserved characters plus `%`: their escapes are never decoded. */
const RESERVED = new Uint8Array(256)
for (const c of "!*'();:@&=+$,/?%#[]") RESERVED[c.charCodeAt(0)] = 1

/** Characters Kong sends upstream as they are (its `escape` pattern); every other byte goes out as `%XX`. */
const SAFE = new Uint8Array(256)
for (const c of "!#$&'()*+,/:;=?@[]-_.~%") SAFE[c.charCodeAt(0)] = 1
for (let c = 0x30; c <= 0x39; c++) SAFE[c] = 1
for (let c = 0x41; c <= 0x5a; c++) SAFE[c] = 1
for (let c = 0x61; c <= 0x7a; c++) SAFE[c] = 1

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

/** Decodes escapes of non-reserved characters and uppercases the rest; malformed escapes are kept as they are. */
export function normalizePercentEncoding(path: string): string {
  let out = ''
  let last = 0
  for (let i = path.indexOf('%'); i !== -1 && i + 2 < path.length; i = path.indexOf('%', i + 1)) {
    const hi = hexValue(path.charCodeAt(i + 1))
    const lo = hexValue(path.charCodeAt(i + 2))
    if (hi < 0 || lo < 0) continue
    const code = hi * 16 + lo
    out += path.slice(last, i) + (RESERVED[code] === 1 ? `%${HEX[hi]}${HEX[lo]}` : String.fromCharCode(code))
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

/** Escapes what a normalized path may hold that cannot go upstream verbatim (spaces, quotes, bytes ≥ 0x80…). */
export function escapePath(path: string): string {
  let i = 0
  while (i < path.length && SAFE[path.charCodeAt(i)] === 1) i++
  if (i === path.length) return path
  let out = path.slice(0, i)
  for (; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (SAFE[c] === 1) out += path[i]
    else if (c < 256) out += `%${HEX[c >> 4]}${HEX[c & 15]}`
    // A char above 0xFF never comes from a request; a route's own text is UTF-8 encoded first.
    else for (const b of Buffer.from(path[i]!, 'utf8')) out += `%${HEX[b >> 4]}${HEX[b & 15]}`
  }
  return out
}

/** A configured path (prefix or regex source) as the byte string requests are compared with. */
export function toByteString(text: string): string {
  for (let i = 0; i < text.length; i++)
    if (text.charCodeAt(i) > 0x7f) return Buffer.from(text, 'utf8').toString('latin1')
  return text
}
