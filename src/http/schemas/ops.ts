/** Operations (SPEC §6). */
import { Type } from '@sinclair/typebox';

export const Text = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });

export const Health = Type.Object({ status: Type.Literal('ok') });

const Check = Type.Union([Type.Literal('ok'), Type.Literal('failing')]);
export const Readiness = Type.Object({ status: Type.Literal('ready'), checks: Type.Object({ database: Check, blob_store: Check }) });

export const NotReady = {
  description: 'not ready: a problem with the same checks',
  content: {
    'application/problem+json': {
      schema: Type.Object({ checks: Readiness.properties.checks }, { additionalProperties: true }),
    },
  },
};
