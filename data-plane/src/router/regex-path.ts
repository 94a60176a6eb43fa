/**
 * Kong's `~` regex paths. They are anchored at the start, so a regex can only match paths beginning with its
 * leading literal text; indexing regexes by that literal prefix means a request only tries the few regexes that
 * could match it, instead of all of them.
 */

export interface RegexPath {
  regex: RegExp
  /** Text every matching path starts with ('' when nothing can be assumed). */
  literalPrefix: string
}

const SYNTAX = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}', '/', '-'])

/** Whether the pattern alternates at its top level (`/a|/b`): then no single prefix holds for every match. */
function hasTopLevelAlternation(source: string): boolean {
  let inClass = false
  let depth = 0
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (c === '\\') i++
    else if (inClass) inClass = c !== ']'
    else if (c === '[') inClass = true
    else if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === '|' && depth === 0) return true
  }
  return false
}

/** The literal text at the start of an anchored pattern (`source` without its leading `^`). */
export function literalPrefix(source: string): string {
  if (hasTopLevelAlternation(source)) return ''
  let prefix = ''
  for (let i = 0; i < source.length; i++) {
    let c = source[i]
    if (c === '\\') {
      const next = source[i + 1]
      if (next === undefined || !SYNTAX.has(next)) return prefix // \d, \w, \b …: not a literal
      c = next
      i++
    } else if ('^$.|?*+()[]{}'.includes(c)) {
      // A quantifier makes the previous literal optional (or repeatable); stop before it.
      return c === '?' || c === '*' || c === '{' ? prefix.slice(0, -1) : prefix
    }
    const after = source[i + 1]
    if (after === '?' || after === '*' || after === '{') return prefix
    prefix += c
  }
  return prefix
}

/** Compiles a route's `~` path: `~` stripped, anchored at the start, PCRE-style `(?P<name>` accepted. */
export function compileRegexPath(path: string): RegexPath {
  const source = path.slice(1).replaceAll('(?P<', '(?<')
  const body = source.startsWith('^') ? source.slice(1) : source
  return { regex: new RegExp(`^${body}`, 'u'), literalPrefix: literalPrefix(body) }
}
