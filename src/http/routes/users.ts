/** Users: SPEC §2. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Services } from '../../services.js';
import { toUserView } from '../../users/user-service.js';
import { principalOf } from '../auth-context.js';
import { bodyFields } from '../body.js';
import { Credentials, UserView } from '../schemas.js';

const bearer = [{ bearer: [] }];
const Username = Type.Object({ username: Type.String() });

export function userPublicRoutes(app: FastifyInstance, s: Services): void {
  app.post(
    '/v1/register',
    {
      schema: {
        tags: ['users'],
        summary: 'Sign up (only when COFFER_OPEN_REGISTRATION=true)',
        body: Credentials,
        response: { 201: Type.Object({ public_id: Type.String(), username: Type.String(), admin: Type.Boolean() }) },
      },
    },
    async (request, reply) => reply.code(201).send(toUserView(await s.users.register(bodyFields(request)))),
  );
}

export function userRoutes(app: FastifyInstance, s: Services): void {
  app.post(
    '/v1/users',
    {
      config: { scope: 'admin' },
      schema: { tags: ['users'], summary: 'Create a user (admin)', security: bearer, body: Credentials, response: { 201: UserView } },
    },
    async (request, reply) => reply.code(201).send(toUserView(await s.users.create(principalOf(request), bodyFields(request)))),
  );

  app.get(
    '/v1/users',
    {
      config: { scope: 'admin' },
      schema: { tags: ['users'], summary: 'List users (admin); never password hashes', security: bearer, response: { 200: Type.Object({ users: Type.Array(UserView) }) } },
    },
    async () => ({ users: (await s.users.list()).map(toUserView) }),
  );

  app.get(
    '/v1/users/me',
    { config: { scope: 'any' }, schema: { tags: ['users'], summary: "The caller's own record", security: bearer, response: { 200: UserView } } },
    async (request) => toUserView(principalOf(request).user),
  );

  app.get(
    '/v1/users/:username',
    {
      config: { scope: 'admin' },
      schema: { tags: ['users'], summary: 'One user (admin)', security: bearer, params: Username, response: { 200: UserView } },
    },
    async (request) => {
      const { username } = request.params as { username: string };
      const user = await s.users.get(username);
      return toUserView(user);
    },
  );

  app.patch(
    '/v1/users/:username',
    {
      config: { scope: 'any' },
      schema: {
        tags: ['users'],
        summary: 'Change password (self, with current_password) or disabled/grants/admin (admin)',
        security: bearer,
        params: Username,
        response: { 200: UserView },
      },
    },
    async (request) => {
      const { username } = request.params as { username: string };
      return toUserView(await s.users.update(principalOf(request), username, bodyFields(request)));
    },
  );

  app.delete(
    '/v1/users/:username',
    {
      config: { scope: 'admin' },
      schema: { tags: ['users'], summary: 'Delete a user and all their data (admin)', security: bearer, params: Username },
    },
    async (request) => {
      const { username } = request.params as { username: string };
      await s.users.remove(principalOf(request), username);
      return { username, deleted: true };
    },
  );
}
