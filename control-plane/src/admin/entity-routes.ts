/**
 * Kong's generated endpoints (`kong/api/endpoints.lua`) for every entity definition: the collection,
 * the entity by id or endpoint key, and for each foreign field the nested children
 * (`/services/{s}/routes[/{r}]`) and the parent of a child (`/routes/{r}/service`).
 */
import { randomUUID } from 'node:crypto'
import type { EntityDef, EntityRow } from '@turnpike/shared'
import { entityByName } from '@turnpike/shared'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { EntityStore } from '../db/entity-store.ts'
import { parsePageQuery } from './page-query.ts'
import { readInput } from './request-body.ts'
import { addPath, methodNotAllowed, notFound } from './routing.ts'

type Params = { key: string; child?: string }

const params = (req: FastifyRequest) => req.params as Params

/** The id a foreign field of `row` points at, if any. */
function foreignId(row: EntityRow, field: string): string | undefined {
  return (row[field] as { id?: string } | null)?.id
}

export function registerEntityRoutes(app: FastifyInstance, store: EntityStore, defs: readonly EntityDef[]): void {
  const sendEntity = (reply: FastifyReply, row: EntityRow | undefined) => (row ? reply.send(row) : notFound(reply))

  async function list(
    def: EntityDef,
    req: FastifyRequest,
    reply: FastifyReply,
    path: string,
    foreign?: { field: string; id: string },
  ) {
    const q = parsePageQuery(req.query as Record<string, unknown>)
    const page = await store.page(def, { ...q, foreign })
    if (!page.offset) return reply.send({ data: page.data, next: null })
    const tags = q.rawTags === undefined ? '' : `&tags=${encodeURIComponent(q.rawTags)}`
    const next = `${path}?offset=${encodeURIComponent(page.offset)}${tags}&size=${q.size}`
    return reply.send({ data: page.data, offset: page.offset, next })
  }

  for (const def of defs) {
    const base = `/${def.admin_path}`
    addPath(app, base, {
      GET: (req, reply) => list(def, req, reply, base),
      POST: async (req, reply) => reply.code(201).send(await store.insert(def, await readInput(req, def))),
    })
    addPath(app, `${base}/:key`, {
      GET: async (req, reply) => sendEntity(reply, await store.select(def, params(req).key)),
      PUT: async (req, reply) => reply.send(await store.upsert(def, params(req).key, await readInput(req, def))),
      PATCH: async (req, reply) => reply.send(await store.update(def, params(req).key, await readInput(req, def))),
      DELETE: async (req, reply) => {
        await store.delete(def, params(req).key)
        return reply.code(204).send()
      },
    })

    for (const [field, f] of Object.entries(def.fields)) {
      if (f.type !== 'foreign') continue
      const parent = entityByName(f.reference ?? '')
      if (!parent) throw new Error(`${def.name}.${field} references unknown entity '${f.reference}'`)
      registerChildren(def, field, parent)
      registerParentOfChild(def, field, parent)
    }
  }

  /** `/services/{s}/routes` and `/services/{s}/routes/{r}`. */
  function registerChildren(def: EntityDef, field: string, parent: EntityDef) {
    const base = `/${parent.admin_path}/:key/${def.admin_path}`
    const parentOf = (req: FastifyRequest) => store.select(parent, params(req).key)
    /** The child named in the URL, only if it belongs to the parent. */
    const childOf = async (req: FastifyRequest, p: EntityRow) => {
      const child = await store.select(def, params(req).child ?? '')
      return child && foreignId(child, field) === p.id ? child : undefined
    }

    addPath(app, base, {
      GET: async (req, reply) => {
        const p = await parentOf(req)
        if (!p) return notFound(reply)
        return list(def, req, reply, `/${parent.admin_path}/${p.id}/${def.admin_path}`, { field, id: p.id })
      },
      POST: async (req, reply) => {
        const p = await parentOf(req)
        if (!p) return notFound(reply)
        const input = await readInput(req, def)
        return reply.code(201).send(await store.insert(def, { ...input, [field]: { id: p.id } }))
      },
    })
    addPath(app, `${base}/:child`, {
      GET: async (req, reply) => {
        const p = await parentOf(req)
        return sendEntity(reply, p && (await childOf(req, p)))
      },
      // As Kong: PUT creates the child under this parent, or moves an existing one to it.
      PUT: async (req, reply) => {
        const p = await parentOf(req)
        if (!p) return notFound(reply)
        const input = await readInput(req, def)
        return reply.send(await store.upsert(def, params(req).child ?? '', { ...input, [field]: { id: p.id } }))
      },
      PATCH: async (req, reply) => {
        const p = await parentOf(req)
        const child = p && (await childOf(req, p))
        if (!p || !child) return notFound(reply)
        const input = await readInput(req, def)
        return reply.send(await store.update(def, child.id, { [field]: { id: p.id }, ...input }))
      },
      DELETE: async (req, reply) => {
        const p = await parentOf(req)
        const child = p && (await childOf(req, p))
        if (!p || !child) return notFound(reply)
        await store.delete(def, child.id)
        return reply.code(204).send()
      },
    })
  }

  /** `/routes/{r}/service`: the parent through the child; it cannot be deleted from there. */
  function registerParentOfChild(def: EntityDef, field: string, parent: EntityDef) {
    const childOf = (req: FastifyRequest) => store.select(def, params(req).key)
    addPath(app, `/${def.admin_path}/:key/${field}`, {
      GET: async (req, reply) => {
        const child = await childOf(req)
        const id = child && foreignId(child, field)
        return sendEntity(reply, id ? await store.select(parent, id) : undefined)
      },
      PUT: async (req, reply) => {
        const child = await childOf(req)
        if (!child) return notFound(reply)
        const input = await readInput(req, parent)
        const id = foreignId(child, field)
        if (id) return reply.send(await store.upsert(parent, id, input))
        // No parent yet: create one and associate it, as Kong does.
        const created = await store.upsert(parent, randomUUID(), input)
        await store.update(def, child.id, { [field]: { id: created.id } })
        return reply.send(created)
      },
      PATCH: async (req, reply) => {
        const child = await childOf(req)
        const id = child && foreignId(child, field)
        if (!id) return notFound(reply)
        return reply.send(await store.update(parent, id, await readInput(req, parent)))
      },
      DELETE: async (req, reply) => {
        const child = await childOf(req)
        return child && foreignId(child, field) ? methodNotAllowed(reply) : notFound(reply)
      },
    })
  }
}
