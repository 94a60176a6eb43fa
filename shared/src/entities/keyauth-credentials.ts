import { defineEntity } from '../schema/define.ts'

/** key-auth's `keyauth_credentials`: an API key of a consumer (Admin API `/key-auths`, nested `/consumers/{c}/key-auth`). */
export const keyauthCredentials = defineEntity({
  name: 'keyauth_credentials',
  admin_path: 'key-auths',
  nested_path: 'key-auth',
  endpoint_key: 'key',
  in_snapshot: true,
  ttl: true,
  fields: {
    consumer: { type: 'foreign', reference: 'consumers', required: true, on_delete: 'cascade' },
    // Generated when absent (auto-values.ts); stored as a keyed hash (design §7), shown in clear only on creation.
    key: { type: 'string', unique: true, auto: true, hashed: 'api_key' },
  },
})
