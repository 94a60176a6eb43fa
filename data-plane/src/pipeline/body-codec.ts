/** Re-encoding a parsed request body after a plugin changed it, in the client's content type. */

/** JSON or form encoding per `contentType`; undefined for types we do not rewrite (multipart, unknown). */
export function encodeBody(contentType: string | undefined, body: Record<string, unknown>): string | undefined {
  const type = (contentType ?? '').toLowerCase()
  if (type.includes('application/json')) return JSON.stringify(body)
  if (type.includes('application/x-www-form-urlencoded')) {
    const p = new URLSearchParams()
    for (const [k, v] of Object.entries(body)) {
      if (Array.isArray(v)) for (const item of v) p.append(k, String(item))
      else if (v !== undefined && v !== null) p.append(k, String(v))
    }
    return p.toString()
  }
  return undefined
}
