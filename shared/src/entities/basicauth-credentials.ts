import { defineEntity } from '../schema/define.ts'

/** basic-auth's `basicauth_credentials` (Admin API `/basic-auths`, nested `/consumers/{c}/basic-auth`). */
export const basicauthCredentials = defineEntity({
  name: 'basicauth_credentials',
  admin_path: 'basic-auths',
  nested_path: 'basic-auth',
  endpoint_key: 'username',
  in_snapshot: true,
  fields: {
    consumer: { type: 'foreign', reference: 'consumers', required: true, on_delete: 'cascade' },
    username: { type: 'string', required: true, unique: true },
    // Hashed on write (Kong: salted SHA-1; Turnpike: a password hash, design §7).
    password: { type: 'string', required: true, hashed: 'password' },
  },
})
