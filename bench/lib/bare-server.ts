/**
 * The intake ceiling: a minimal Fastify process on the same machine answering the same request
 * (JSON body parsed, a 202 with an id) and nothing else — no auth, no cache, no queue.
 *
 *   PORT=... node --import tsx bench/lib/bare-server.ts
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
let next = 0n;
app.post('/v1/orders', async (_request, reply) => {
  next++;
  return reply.status(202).send({ order_id: next.toString(), status: 'accepted' });
});
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`bare fastify on ${address}\n`);
