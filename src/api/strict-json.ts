/**
 * The API's one JSON body parser. Besides what JSON.parse checks it refuses, before any route or
 * schema sees the body:
 *   - a key given twice in one object (JSON.parse keeps the last silently: two readers of one
 *     request could disagree on what was asked) -> DUPLICATE_JSON_KEY;
 *   - text PostgreSQL cannot store, anywhere in any string or key: NUL (22021) and unpaired UTF-16
 *     surrogates (22P05, "unsupported Unicode escape") -> UNSTORABLE_TEXT. Refusing here, once,
 *     means no route can reach the database with it and answer 500;
 *   - prototype-poisoning keys (`__proto__`, `constructor.prototype`), as Fastify's own parser did.
 * The scan runs over text JSON.parse has already accepted, so it only tracks strings and nesting.
 */
import { refuse } from './errors.ts';

/** Nesting deeper than this is refused: no request of this API needs it, and it bounds the scan. */
export const JSON_MAX_DEPTH = 64;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** NUL, or a string that is not well-formed UTF-16 (an unpaired surrogate). */
export function isUnstorableText(text: string): boolean {
  return text.includes('\u0000') || UNPAIRED_SURROGATE.test(text);
}

interface Frame {
  isObject: boolean;
  keys: Set<string>;
  /** In an object: the next string is a key. */
  expectKey: boolean;
  /** The key whose value is being read (for `constructor.prototype`). */
  lastKey: string | undefined;
}

/** End index (exclusive) of the string literal starting at `start` (a quote). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function checkString(value: string, frame: Frame | undefined, parent: Frame | undefined): void {
  if (isUnstorableText(value)) {
    throw refuse('UNSTORABLE_TEXT', 'the body holds a NUL character or an unpaired surrogate', {});
  }
  if (!frame?.isObject || !frame.expectKey) return;
  if (frame.keys.has(value)) {
    throw refuse('DUPLICATE_JSON_KEY', `the key "${value.slice(0, 64)}" is given twice in one object`, {
      key: value.slice(0, 64),
    });
  }
  if (value === '__proto__' || (value === 'prototype' && parent?.lastKey === 'constructor')) {
    throw refuse('MALFORMED_JSON', 'the body holds a prototype-poisoning key');
  }
  frame.keys.add(value);
  frame.lastKey = value;
  frame.expectKey = false;
}

/** Walks valid JSON text, checking every string and every object's keys. */
function scan(text: string): void {
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const top = stack[stack.length - 1];
    if (c === '"') {
      const end = stringEnd(text, i);
      // a literal without escapes is its own text (JSON.parse has already accepted the whole body)
      const literal = text.slice(i + 1, end - 1);
      const value = literal.includes('\\') ? (JSON.parse(text.slice(i, end)) as string) : literal;
      checkString(value, top, stack[stack.length - 2]);
      i = end;
      continue;
    }
    if (c === '{' || c === '[') {
      if (stack.length >= JSON_MAX_DEPTH) throw refuse('MALFORMED_JSON', 'the body is nested too deeply');
      stack.push({ isObject: c === '{', keys: new Set(), expectKey: c === '{', lastKey: undefined });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',' && top?.isObject) {
      top.expectKey = true;
    }
    i += 1;
  }
}

/** Parses a JSON request body under the rules above; a syntax error stays MALFORMED_JSON. */
export function parseStrictJson(text: string): unknown {
  if (text.trim() === '') throw refuse('MALFORMED_JSON', 'body is empty but declared JSON');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw refuse('MALFORMED_JSON', 'body is not valid JSON');
  }
  scan(text);
  return value;
}
