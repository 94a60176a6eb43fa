/**
 * Kong's generated endpoints (`kong/api/endpoints.lua`) for every entity definition: the collection,
 * the entity by id or endpoint key, and for each foreign field the nested children
 * (`/services/{s}/routes[/{r}]`, `/consumers/{c}/key-auth`) and the parent of a child (`/routes/{r}/service`).
 */
import { randomUUID } from 'node:crypto'
import type { EntityDef, EntityRow } from '@turnpike/shared'
import { entityByName } from '@turnpike/shared'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { EntityStore, Scope, WriteOptions } from '../db/entity-store.ts'
import { pageBody, parsePageQuery } from './page-query.ts'
import { readInput } from './request-body.ts'
import { addPath, methodNotAllowed, notFound } from './routing.ts'

const param = (req: FastifyRequest, name: string) => (req.params as Record<string, string>)[name] ?? ''

/** The id a foreign field of `row` points at, if any. */
function foreignId(row: EntityRow, field: string): string | undefined {
  return (row[field] as { id?: string } | null)?.id
}

/** Kong's `ttl` on TTL entities: from the body (Kong) or the query string; taken out of the input. */
function writeOptions(def: EntityDef, req: FastifyRequest, input: Record<string, unknown>, scope?: Scope) {
  const options: WriteOptions = { scope }
  if (!def.ttl) return options
  const query = (req.query as Record<string, unknown>).ttl
  const ttl = 'ttl' in input ? input.ttl : Array.isArray(query) ? query[0] : query
  delete input.ttl
  if (ttl !== undefined && ttl !== null) options.ttl = ttl as number
  return options
}

/** Summaries for the generated documentation. */
function summaries(what: string, kind: 'collection' | 'entity' | 'parent') {
  if (kind === 'collection') return { GET: `List ${what}`, POST: `Create ${what}` }
  return {
    GET: `Fetch ${what}`,
    PUT: `Create or replace ${what}`,
    PATCH: `Update ${what}`,
    DELETE: kind === 'parent' ? 'Not allowed (405)' : `Delete ${what}`,
  }
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
    return reply.send(pageBody(await store.page(def, { ...q, foreign }), path, q))
  }

  for (const def of defs) {
    if (def.admin_path === undefined) continue
    const base = `/${def.admin_path}`
    const key = def.name
    const doc = (kind: 'collection' | 'entity') => ({
      tag: def.name,
      kind,
      entity: def,
      summary: summaries(kind === 'collection' ? def.name : `one of ${def.name}`, kind),
    })
    addPath(
      app,
      base,
      {
        GET: (req, reply) => list(def, req, reply, base),
        POST: async (req, reply) => {
          const input = await readInput(req, def)
          return reply.code(201).send(await store.insert(def, input, writeOptions(def, req, input)))
        },
      },
      doc('collection'),
    )
    addPath(
      app,
      `${base}/{${key}}`,
      {
        GET: async (req, reply) => sendEntity(reply, await store.select(def, param(req, key))),
        PUT: async (req, reply) => {
          const input = await readInput(req, def)
          return reply.send(await store.upsert(def, param(req, key), input, writeOptions(def, req, input)))
        },
        PATCH: async (req, reply) => {
          // A plugin's form is decoded against its own config schema, so the stored name is needed first.
          const existing = def.name === 'plugins' ? await store.select(def, param(req, key)) : undefined
          const input = await readInput(req, def, existing?.name)
          return reply.send(await store.update(def, param(req, key), input, writeOptions(def, req, input)))
        },
        DELETE: async (req, reply) => {
          await store.delete(def, param(req, key))
          return reply.code(204).send()
        },
      },
      doc('entity'),
    )
  }

  // Nested endpoints come after every entity's own, so a parent's are all known.
  for (const def of defs) {
    if (def.admin_path === undefined) continue
    for (const [field, f] of Object.entries(def.fields)) {
      if (f.type !== 'foreign') continue
      const parent = entityByName(f.reference ?? '')
      if (!parent) throw new Error(`${def.name}.${field} references unknown entity '${f.reference}'`)
      if (parent.admin_path === undefined) continue
      registerChildren(def, field, parent)
      registerParentOfChild(def, field, parent)
    }
  }

  /** `/services/{s}/routes` and `/services/{s}/routes/{r}`; `/consumers/{c}/acls/{group}` by group. */
  function registerChildren(def: EntityDef, field: string, parent: EntityDef) {
    const segment = def.nested_path ?? def.admin_path
    const base = `/${parent.admin_path}/{${parent.name}}/${segment}`
    const parentOf = (req: FastifyRequest) => store.select(parent, param(req, parent.name))
    const scopeOf = (p: EntityRow): Scope => ({ field, id: p.id })
    /** The child named in the URL, only if it belongs to the parent. */
    const childOf = async (req: FastifyRequest, p: EntityRow) => {
      const child = await store.select(def, param(req, def.name), scopeOf(p))
      return child && foreignId(child, field) === p.id ? child : undefined
    }
    const what = `${def.name} of one of ${parent.name}`
    addPath(
      app,
      base,
      {
        GET: async (req, reply) => {
          const p = await parentOf(req)
          if (!p) return notFound(reply)
          return list(def, req, reply, `/${parent.admin_path}/${p.id}/${segment}`, { field, id: p.id })
        },
        POST: async (req, reply) => {
          const p = await parentOf(req)
          if (!p) return notFound(reply)
          const input = await readInput(req, def)
          const options = writeOptions(def, req, input)
          return reply.code(201).send(await store.insert(def, { ...input, [field]: { id: p.id } }, options))
        },
      },
      { tag: def.name, kind: 'collection', entity: def, summary: summaries(what, 'collection') },
    )
    addPath(
      app,
      `${base}/{${def.name}}`,
      {
        GET: async (req, reply) => {
          const p = await parentOf(req)
          return sendEntity(reply, p && (await childOf(req, p)))
        },
        // As Kong: PUT creates the child under this parent, or moves an existing one to it.
        PUT: async (req, reply) => {
          const p = await parentOf(req)
          if (!p) return notFound(reply)
          const input = await readInput(req, def)
          const options = writeOptions(def, req, input, scopeOf(p))
          return reply.send(await store.upsert(def, param(req, def.name), { ...input, [field]: { id: p.id } }, options))
        },
        PATCH: async (req, reply) => {
          const p = await parentOf(req)
          const child = p && (await childOf(req, p))
          if (!p || !child) return notFound(reply)
          const input = await readInput(req, def, child.name)
          const options = writeOptions(def, req, input)
          return reply.send(await store.update(def, child.id, { [field]: { id: p.id }, ...input }, options))
        },
        DELETE: async (req, reply) => {
          const p = await parentOf(req)
          const child = p && (await childOf(req, p))
          if (!p || !child) return notFound(reply)
          await store.delete(def, child.id)
          return reply.code(204).send()
        },
      },
      { tag: def.name, kind: 'entity', entity: def, summary: summaries(`one ${what}`, 'entity') },
    )
  }

  /** `/routes/{r}/service`: the parent through the child; it cannot be deleted from there. */
  function registerParentOfChild(def: EntityDef, field: string, parent: EntityDef) {
    const childOf = (req: FastifyRequest) => store.select(def, param(req, def.name))
    addPath(
      app,
      `/${def.admin_path}/{${def.name}}/${field}`,
      {
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
          if (id) return reply.send(await store.upsert(parent, id, input, writeOptions(parent, req, input)))
          // No parent yet: create one and associate it, as Kong does.
          const created = await store.upsert(parent, randomUUID(), input, writeOptions(parent, req, input))
          await store.update(def, child.id, { [field]: { id: created.id } })
          return reply.send(created)
        },
        PATCH: async (req, reply) => {
          const child = await childOf(req)
          const id = child && foreignId(child, field)
          if (!id) return notFound(reply)
          const input = await readInput(req, parent)
          return reply.send(await store.update(parent, id, input, writeOptions(parent, req, input)))
        },
        DELETE: async (req, reply) => {
          const child = await childOf(req)
          return child && foreignId(child, field) ? methodNotAllowed(reply) : notFound(reply)
        },
      },
      {
        tag: parent.name,
        kind: 'parent',
        entity: parent,
        summary: summaries(`the ${field} of one of ${def.name}`, 'parent'),
      },
    )
  }
}
