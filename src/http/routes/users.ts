/** Users: SPEC §2. */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';
import { toUserView } from '../../users/user-service.js';
import { principalOf } from '../auth-context.js';
import { bodyFields } from '../body.js';
import { answers, bearer, formOrJson } from '../schemas/common.js';
import { NewUserBody, Registered, UserDeleted, UserList, Username, UserPatchBody, UserView } from '../schemas/users.js';

const tags = ['users'];

export function userPublicRoutes(app: FastifyInstance, s: Services): void {
  app.post(
    '/v1/register',
    {
      config: { rateLimit: {} },
      schema: {
        tags,
        summary: 'Sign up (only when COFFER_OPEN_REGISTRATION=true)',
        body: formOrJson(NewUserBody),
        response: answers({ 201: Registered }),
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
      schema: { tags, summary: 'Create a user (admin)', security: bearer, body: formOrJson(NewUserBody), response: answers({ 201: UserView }) },
    },
    async (request, reply) => reply.code(201).send(toUserView(await s.users.create(principalOf(request), bodyFields(request)))),
  );

  app.get(
    '/v1/users',
    {
      config: { scope: 'admin' },
      schema: { tags, summary: 'List users (admin); never password hashes', security: bearer, response: answers({ 200: UserList }) },
    },
    async () => ({ users: (await s.users.list()).map(toUserView) }),
  );

  app.get(
    '/v1/users/me',
    { config: { scope: 'any' }, schema: { tags, summary: "The caller's own record", security: bearer, response: answers({ 200: UserView }) } },
    async (request) => toUserView(principalOf(request).user),
  );

  app.get(
    '/v1/users/:username',
    {
      config: { scope: 'admin' },
      schema: { tags, summary: 'One user (admin)', security: bearer, params: Username, response: answers({ 200: UserView }) },
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
        tags,
        summary: 'Change password (self, with current_password) or disabled/grants/admin (admin); "me" is the caller',
        security: bearer,
        params: Username,
        body: formOrJson(UserPatchBody),
        response: answers({ 200: UserView }),
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
      schema: { tags, summary: 'Delete a user and all their data (admin)', security: bearer, params: Username, response: answers({ 200: UserDeleted }) },
    },
    async (request) => {
      const { username } = request.params as { username: string };
      await s.users.remove(principalOf(request), username);
      return { username, deleted: true };
    },
  );
}
