import { defineEntity } from '../schema/define.ts'

/**
 * acl's `acls`: a consumer's membership of a group (Admin API `/acls`, nested `/consumers/{c}/acls`).
 * Kong also resolves `/consumers/{c}/acls/{group}` by group name within that consumer.
 */
export const acls = defineEntity({
  name: 'acls',
  admin_path: 'acls',
  in_snapshot: true,
  fields: {
    consumer: { type: 'foreign', reference: 'consumers', required: true, on_delete: 'cascade' },
    group: { type: 'string', required: true },
  },
  unique_together: [['consumer', 'group']],
})
