/**
 * A YAML writer for plain JSON-like data in decK's layout (block maps, sequences not indented under their key).
 * The `yaml` package's stringify costs ~9 s for 100k consumers; this one writes the same subset in well under one.
 * Strings are plain only where YAML 1.1 (lyaml's, and the reader's) reads them back as the same string; otherwise
 * JSON-quoted, which is valid YAML; multi-line strings (PEM) are literal blocks.
 */

// Starts with a letter, `_` or `/`; no spaces, no `:`/`#` and nothing YAML gives meaning to.
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@+=-]*$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
// YAML 1.1 booleans and null spelled as words.
const RESERVED = /^(?:y|yes|n|no|true|false|on|off|null)$/i
// Line breaks in YAML 1.1 (NEL, LS, PS), C1 controls, DEL and BOM: escaped inside quoted strings.
const NEEDS_ESCAPE = /[\u007f-\u009f\u2028\u2029\ufeff]/g
/** Whether a literal block cannot carry `s` faithfully: control characters (but tab and newline), YAML 1.1 breaks. */
function unfitForLiteral(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (
      (c < 0x20 && c !== 0x09 && c !== 0x0a) ||
      (c >= 0x7f && c <= 0x9f) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0xfeff
    )
      return true
  }
  return false
}

const pads: string[] = []
function pad(n: number): string {
  let p = pads[n]
  if (p === undefined) {
    p = ' '.repeat(n)
    pads[n] = p
  }
  return p
}

/** JSON text made safe as YAML: the characters YAML 1.1 treats as breaks or forbids are escaped too. */
function jsonText(v: unknown): string {
  return JSON.stringify(v).replace(NEEDS_ESCAPE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function stringScalar(s: string): string {
  if ((PLAIN.test(s) && !RESERVED.test(s)) || UUID.test(s)) return s
  return jsonText(s)
}

/** Lines of a literal block, or undefined when the string should be quoted instead. */
function literalBlock(s: string): { header: string; lines: string[] } | undefined {
  if (!s.includes('\n') || unfitForLiteral(s) || /^[ \t\n]/.test(s)) return undefined
  const body = s.endsWith('\n') ? s.slice(0, -1) : s
  // More than one trailing newline, or whitespace-only lines, do not survive a literal block's indentation rules.
  if (body.endsWith('\n')) return undefined
  const lines = body.split('\n')
  if (lines.some((l) => l !== '' && l.trim() === '')) return undefined
  return { header: s.endsWith('\n') ? '|' : '|-', lines }
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'string') return stringScalar(v)
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null'
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  // Nested arrays (and anything else) as a JSON flow collection, which YAML reads as is.
  return jsonText(v)
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Writes `key: value` at `indent`; `lead` replaces the indentation of the first line (a sequence item's `- `). */
function writeEntry(out: string[], lead: string, indent: number, key: string, v: unknown): void {
  const k = `${lead}${stringScalar(key)}:`
  if (Array.isArray(v)) {
    if (v.length === 0) out.push(`${k} []`)
    else {
      out.push(k)
      writeSequence(out, indent, v)
    }
  } else if (isMap(v)) {
    if (Object.keys(v).length === 0) out.push(`${k} {}`)
    else {
      out.push(k)
      writeMap(out, indent + 2, v)
    }
  } else {
    const block = typeof v === 'string' ? literalBlock(v) : undefined
    if (!block) out.push(`${k} ${scalar(v)}`)
    else {
      out.push(`${k} ${block.header}`)
      for (const line of block.lines) out.push(line === '' ? '' : `${pad(indent + 2)}${line}`)
    }
  }
}

function writeMap(out: string[], indent: number, map: Record<string, unknown>, firstLead?: string): void {
  let first = true
  for (const [key, v] of Object.entries(map)) {
    if (v === undefined) continue
    writeEntry(out, first && firstLead !== undefined ? firstLead : pad(indent), indent, key, v)
    first = false
  }
}

function writeSequence(out: string[], indent: number, list: unknown[]): void {
  const dash = `${pad(indent)}- `
  for (const item of list) {
    if (isMap(item) && Object.keys(item).length > 0) writeMap(out, indent + 2, item, dash)
    else if (isMap(item)) out.push(`${dash}{}`)
    else if (Array.isArray(item)) out.push(`${dash}${jsonText(item)}`)
    else {
      const block = typeof item === 'string' ? literalBlock(item) : undefined
      if (!block) out.push(`${dash}${scalar(item)}`)
      else {
        out.push(`${dash}${block.header}`)
        for (const line of block.lines) out.push(line === '' ? '' : `${pad(indent + 2)}${line}`)
      }
    }
  }
}

/** A YAML document for a JSON-like map (keys in insertion order), ending with a newline. */
export function writeYaml(doc: Record<string, unknown>): string {
  const out: string[] = []
  writeMap(out, 0, doc)
  return `${out.join('\n')}\n`
}
