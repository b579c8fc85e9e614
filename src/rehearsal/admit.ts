/**
 * The workers' gate for rehearsal traffic, the twin of the API's (gate.ts). A message's side is
 * told by its header (REHEARSAL_MESSAGE_HEADER) and the side of the worker taking it: production
 * workers take untagged messages only; shadow workers (connected to the shadow account, with the
 * shadow credentials) take tagged ones only, and only if they declared themselves rehearsal-aware
 * and the tag's MAC is good. A refused message is dead-lettered with a stable code and never
 * worked on, so tagged work never falls through to production.
 */

import { REHEARSAL_MESSAGE_HEADER } from '../queue/propagating-queue.ts';
import type { MessageHeaders, QueueMessage } from '../queue/queue.ts';
import { DEAD_LETTER_SUBJECT_PREFIX } from '../queue/streams.ts';
import { type AWARE, type RehearsalContext, runAsRehearsal } from './context.ts';
import { verifyTagSignature } from './tag.ts';

/** Which side a worker runs on: the shadow side holds the rehearsal key to check tags with. */
export type WorkerSide = { kind: 'production' } | { kind: 'shadow'; rehearsalKey: Buffer };
export const PRODUCTION_SIDE: WorkerSide = { kind: 'production' };

export interface RehearsalDeclaration {
  readonly name: string;
  /** Declares the worker rehearsal-aware: without it, it refuses every tagged message. */
  readonly rehearsal?: typeof AWARE;
}

export type WorkerRefusal =
  | 'REHEARSAL_ON_PRODUCTION'
  | 'REHEARSAL_NOT_AWARE'
  | 'REHEARSAL_TAG_INVALID'
  | 'REHEARSAL_UNTAGGED';

export type Admission =
  | { ok: true; context: RehearsalContext | undefined }
  | { ok: false; code: WorkerRefusal; reason: string };

const refused = (code: WorkerRefusal, why: string): Admission => ({
  ok: false,
  code,
  reason: `${code}: ${why}`,
});

export function admitMessage(
  worker: RehearsalDeclaration,
  side: WorkerSide,
  headers: MessageHeaders,
): Admission {
  const header = headers[REHEARSAL_MESSAGE_HEADER];
  if (side.kind === 'production') {
    return header === undefined
      ? { ok: true, context: undefined }
      : refused('REHEARSAL_ON_PRODUCTION', `a tagged message reached the production ${worker.name}`);
  }
  if (header === undefined)
    return refused('REHEARSAL_UNTAGGED', `an untagged message reached the shadow ${worker.name}`);
  if (worker.rehearsal !== 'aware') {
    return refused('REHEARSAL_NOT_AWARE', `${worker.name} has not declared itself rehearsal-aware`);
  }
  const tag = verifyTagSignature(side.rehearsalKey, header);
  if (!tag) return refused('REHEARSAL_TAG_INVALID', 'the message carries a tag that does not verify');
  return { ok: true, context: { tag, header } };
}

/** Runs `fn` as the admitted message's work: inside its rehearsal context when it has one. */
export function inMessageContext<T>(context: RehearsalContext | undefined, fn: () => T): T {
  return context ? runAsRehearsal(context, fn) : fn();
}

/** Dead letters of refused messages that name no order (an order's go to its own subject). */
export const REFUSED_SUBJECT = `${DEAD_LETTER_SUBJECT_PREFIX}.refused`;

/** The dead letter of a refused message: its reason and the message as it came, untouched. */
export function refusalLetter(
  workerName: string,
  message: QueueMessage,
  reason: string,
): { subject: string; data: Buffer; msgId: string | undefined } {
  const record = {
    reason,
    worker: workerName,
    subject: message.subject,
    msg_id: message.msgId ?? null,
    delivery_count: message.deliveryCount,
    data: Buffer.from(message.data).toString('utf8'),
    at: new Date().toISOString(),
  };
  const msgId = message.msgId ? `refused:${workerName}:${message.msgId}` : undefined;
  return { subject: `${REFUSED_SUBJECT}.${workerName}`, data: Buffer.from(JSON.stringify(record)), msgId };
}
