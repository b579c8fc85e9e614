import type { Config } from '../config.ts';
import { JetStreamQueue, natsLinkOf } from './jetstream-queue.ts';
import { MemoryQueue } from './memory-queue.ts';
import type { Queue } from './queue.ts';

export { JetStreamQueue, type NatsLink, natsLinkOf } from './jetstream-queue.ts';
export { MemoryQueue } from './memory-queue.ts';
export * from './permissions.ts';
export * from './queue.ts';
export * from './streams.ts';

export function openQueue(config: Pick<Config, 'natsUrl' | 'natsTls' | 'natsUser' | 'natsPassword'>): Queue {
  return config.natsUrl ? new JetStreamQueue(config.natsUrl, 'fenqi', natsLinkOf(config)) : new MemoryQueue();
}
