import Fastify from 'fastify';
import { createHmac } from 'node:crypto';
const port = Number(process.env.BARE_PORT);
const app = Fastify({ logger: false });
const GET_BODY = JSON.stringify({ key: 'k', value: 'v'.repeat(100) });
app.post('/v1/login', async () => ({ access_token: 'x.y.z' }));
app.get('/v1/data/*', async (req, reply) => { reply.header('content-type', 'application/json; charset=utf-8'); return GET_BODY; });
app.listen({ port, host: '127.0.0.1' });
