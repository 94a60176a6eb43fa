/** Small HTTP helpers for tests: form posts as the Kong tutorials do, JSON reads. */

export interface Reply {
  status: number
  headers: Headers
  json: Record<string, unknown>
  text: string
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text()
  let json: Record<string, unknown> = {}
  try {
    json = JSON.parse(text)
  } catch {}
  return { status: res.status, headers: res.headers, json, text }
}

/** Sends `fields` form-encoded (`curl -d name=value`); arrays become `key[]=v` pairs. */
export async function sendForm(method: string, url: string, fields: Record<string, string | string[]>): Promise<Reply> {
  const body = new URLSearchParams()
  for (const [k, v] of Object.entries(fields)) {
    if (Array.isArray(v)) for (const item of v) body.append(`${k}[]`, item)
    else body.append(k, v)
  }
  return reply(await fetch(url, { method, body }))
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  return reply(await fetch(url, { headers }))
}
