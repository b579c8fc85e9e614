/**
 * fast-check arbitraries for requests to any route of the API, built from the route's own OpenAPI
 * operation: path and query parameters and bodies that are valid-looking (from the schema, with
 * the ids that exist) or garbage at any depth, random credentials, Idempotency-Keys, content types
 * and request ids. Bodies are JSON text, so literals a JS value cannot hold (-0, 1e400, 30-digit
 * integers) and prototype-poisoning keys reach the server as a client would send them.
 */
import fc from 'fast-check';

/** The subset of JSON Schema the API's TypeBox schemas use. */
export interface JsonSchema {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
}

export interface Operation {
  method: string;
  /** OpenAPI path, `/v1/loans/{id}` */
  path: string;
  pathParams: string[];
  query: Record<string, JsonSchema>;
  body: JsonSchema | undefined;
}

/** Ids that exist, by what they name, so valid-looking requests reach the handlers' depths. */
export interface KnownIds {
  customers: string[];
  merchants: string[];
  goods: string[];
  products: string[];
  loans: string[];
  orders: string[];
  decisions: string[];
}

export interface Caller {
  name: string;
  headers: Record<string, string>;
}

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload: string | undefined;
  remoteAddress: string;
}

/** Bounds that keep generated values (not the deliberate huge ones) small and the runs fast. */
export const MAX_GENERATED_STRING = 40;
export const MAX_GENERATED_ARRAY = 5;
export const MAX_SCHEMA_DEPTH = 4;

const RAW = '@@RAW@@';
/** JSON literals that no JS value stringifies to; replaced into the body text after JSON.stringify. */
const RAW_LITERALS = [
  '-0',
  '1e308',
  '-1e308',
  '1e400',
  '-1e400',
  '5e-324',
  '123456789012345678901234567890',
  '-9223372036854775809',
  '0.1000000000000000055511151231257827021181583404541015625',
  '1.0',
  '1E2',
].map((literal) => `${RAW}${literal}`);

/** Texts that look like numbers, ids or amounts and are not quite, or are out of every range. */
const TRICKY_TEXTS = [
  '',
  ' ',
  '0',
  '-0',
  '-1',
  '00',
  '1.5',
  '0.',
  '.5',
  '1e3',
  '1e308',
  '0x10',
  'NaN',
  'Infinity',
  '-Infinity',
  'null',
  'true',
  'undefined',
  '1,000.00',
  '12000.001',
  '12000.0000000000001',
  '0.000000000000000000000000001',
  '99999999999999999999.99',
  '99999999999999.999999',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '18446744073709551616',
  '99999999999999999999',
  '1'.repeat(19),
  '9'.repeat(19),
  '1'.repeat(400),
  '١٢٣',
  '１２３',
  '²',
  '💸',
  'me',
  '%00',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '../',
  "'; drop table loans; --",
  '{"a":1}',
  '2024-02-30',
  '0000-00-00',
  '9999-99-99',
  '__proto__',
  'constructor',
];

const TRICKY_PATH_TEXTS = [
  '0',
  '1',
  '-1',
  '1.5',
  'abc',
  'me',
  '1e3',
  '0x1',
  ' 1',
  '1 ',
  'null',
  '١٢٣',
  '１',
  '💸',
  '9223372036854775806',
  '9223372036854775807',
  '9223372036854775808',
  '9999999999999999999',
  '99999999999999999999',
  '12345678901234567890123',
  '1'.repeat(200),
  '00000000000000000001',
  '%',
  '%zz',
  '..',
];

const jsonValue = fc.jsonValue({ maxDepth: 3 });

/** null most of the time, now and then a value of `arb`. */
const rarely = <T>(arb: fc.Arbitrary<T>, oneIn = 6): fc.Arbitrary<T | null> =>
  fc.oneof({ arbitrary: fc.constant(null), weight: oneIn - 1 }, { arbitrary: arb, weight: 1 });

const decimalStrings = fc
  .tuple(
    fc.bigInt({ min: 0n, max: 10n ** 40n }),
    fc.bigInt({ min: 0n, max: 10n ** 40n }),
    fc.boolean(),
    fc.boolean(),
  )
  .map(
    ([whole, fraction, negative, withFraction]) =>
      `${negative ? '-' : ''}${whole}${withFraction ? `.${fraction}` : ''}`,
  );

/** Any JSON value of a shape nobody asked for. */
export const garbage: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom<unknown>(...TRICKY_TEXTS), weight: 4 },
  { arbitrary: fc.constantFrom(...RAW_LITERALS), weight: 2 },
  { arbitrary: decimalStrings, weight: 2 },
  {
    arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 2 ** 53, -(2 ** 31), 1.5, [], {}),
    weight: 2,
  },
  { arbitrary: fc.integer(), weight: 1 },
  { arbitrary: fc.double(), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: MAX_GENERATED_STRING }), weight: 2 },
  { arbitrary: jsonValue, weight: 2 },
  { arbitrary: fc.constant('x'.repeat(5_000)), weight: 1 },
);

const idPool = (known: KnownIds, hint: string): string[] => {
  const name = hint.toLowerCase();
  if (name.includes('customer')) return known.customers;
  if (name.includes('merchant')) return known.merchants;
  if (name.includes('goods')) return known.goods;
  if (name.includes('product')) return known.products;
  if (name.includes('loan')) return known.loans;
  if (name.includes('order')) return known.orders;
  if (name.includes('application') || name.includes('review')) return known.decisions;
  return [
    ...known.customers,
    ...known.merchants,
    ...known.goods,
    ...known.products,
    ...known.loans,
    ...known.orders,
    ...known.decisions,
  ];
};

const IdLike = /^\^\(?\\d\{1,19\}/;

/** A value the schema admits (or nearly: lengths of generated strings are not enforced). */
function valid(
  schema: JsonSchema,
  known: KnownIds,
  hint: string,
  depth: number,
  dirty: boolean,
): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => valid(s, known, hint, depth, dirty)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string': {
      if (schema.pattern && IdLike.test(schema.pattern)) {
        const pool = idPool(known, hint);
        return fc.oneof(
          { arbitrary: fc.constantFrom(...pool), weight: 3 },
          { arbitrary: fc.stringMatching(/^\d{1,19}$/), weight: 1 },
        );
      }
      if (schema.pattern) {
        const matching = fc.stringMatching(new RegExp(schema.pattern));
        return schema.maxLength === undefined
          ? matching
          : matching.filter((s) => s.length <= (schema.maxLength as number));
      }
      return fc.string({
        minLength: schema.minLength ?? 0,
        maxLength: Math.max(schema.minLength ?? 0, Math.min(schema.maxLength ?? 20, MAX_GENERATED_STRING)),
      });
    }
    case 'integer': {
      const min = schema.minimum ?? -1_000_000;
      const max = schema.maximum ?? 1_000_000;
      return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));
    }
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(schema.items ? fuzzValue(schema.items, known, hint, dirty, depth + 1) : jsonValue, {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? MAX_GENERATED_ARRAY, MAX_GENERATED_ARRAY),
      });
    case 'object': {
      const properties = schema.properties ?? {};
      const model = Object.fromEntries(
        Object.entries(properties).map(([key, s]) => [key, fuzzValue(s, known, key, dirty, depth + 1)]),
      );
      const required = (schema.required ?? []).filter((k) => k in properties);
      const optional = Object.keys(properties).filter((k) => !required.includes(k));
      // Any subset of the optional fields, or (so that one-form-or-the-other bodies such as quotes
      // get through) just one or two of them.
      const some =
        optional.length === 0
          ? fc.constant({})
          : fc.oneof(
              fc.record(model, { requiredKeys: [] }),
              fc
                .subarray(optional, { minLength: 0, maxLength: Math.min(2, optional.length) })
                .chain((keys) => fc.record(Object.fromEntries(keys.map((k) => [k, model[k]!])))),
            );
      // Required fields are present, when dirty sometimes missing, with extra fields now and then.
      return fc
        .tuple(
          some,
          fc.record(
            Object.fromEntries(required.map((k) => [k, model[k]!])) as Record<string, fc.Arbitrary<unknown>>,
          ),
          dirty ? fc.boolean() : fc.constant(true),
          dirty
            ? rarely(fc.dictionary(fc.string({ maxLength: 12 }), garbage, { maxKeys: 2 }))
            : fc.constant(null),
        )
        .map(([some, needed, keepRequired, extra]) => ({
          ...(extra ?? {}),
          ...some,
          ...(keepRequired ? needed : {}),
        }));
    }
    default:
      return jsonValue;
  }
}

/** A valid-looking value for the schema; when dirty, at any depth sometimes garbage instead. */
export function fuzzValue(
  schema: JsonSchema,
  known: KnownIds,
  hint: string,
  dirty: boolean,
  depth = 0,
): fc.Arbitrary<unknown> {
  if (depth > MAX_SCHEMA_DEPTH) return garbage;
  if (!dirty) return valid(schema, known, hint, depth, dirty);
  return fc.oneof(
    { arbitrary: valid(schema, known, hint, depth, dirty), weight: 6 },
    { arbitrary: garbage, weight: 1 },
  );
}

/** JSON text of a value, with the raw literals put back and, sometimes, poisoned keys added. */
function jsonText(value: unknown, poison: string | null): string {
  let text = JSON.stringify(value) ?? 'null';
  text = text.replace(new RegExp(`"${RAW}([^"]*)"`, 'g'), '$1');
  if (poison && text.startsWith('{')) text = `{${poison}${text === '{}' ? '' : ','}${text.slice(1)}`;
  return text;
}

const POISONED_KEYS = [
  '"__proto__":{"admin":true}',
  '"constructor":{"prototype":{"admin":true}}',
  '"__proto__":null',
  '"amount":"1.00","amount":"2.00"',
];

const RAW_BODIES = [
  '',
  '{',
  '{"a":',
  'null',
  '[]',
  '"text"',
  '0',
  'true',
  '{}}',
  '\u0000',
  '{"a":1,"a":2}',
  '{"s":"\\ud800"}',
  'a=1&b=2',
  '[1,2',
];

const CONTENT_TYPES = [
  ...Array<string>(12).fill('application/json'),
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/json;;',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/vnd.api+json',
  'application/octet-stream',
  'garbage',
  '',
];

/** Header text a real client can send: visible ASCII and spaces. */
const headerText = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

const idempotencyKey = fc.oneof(
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,128}$/), weight: 4 },
  { arbitrary: fc.constant(''), weight: 1 },
  { arbitrary: fc.constant('k'.repeat(129)), weight: 1 },
  { arbitrary: fc.constant('k'.repeat(2_000)), weight: 1 },
  { arbitrary: headerText(60).filter((s) => s.trim() !== ''), weight: 2 },
  { arbitrary: fc.constantFrom('a b', 'ключ', 'key\t1', '\u00e9t\u00e9', '/'), weight: 1 },
);

const requestId = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._-]{8,64}$/),
  headerText(80),
  fc.constantFrom('short', 'x'.repeat(65), 'abc\u00e9defgh'),
);

const pathText = (known: KnownIds, hint: string) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...idPool(known, hint)), weight: 4 },
    { arbitrary: fc.constantFrom(...TRICKY_PATH_TEXTS), weight: 4 },
    { arbitrary: fc.stringMatching(/^\d{1,25}$/), weight: 2 },
    { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), weight: 2 },
  );

const queryText = (value: unknown): string =>
  typeof value === 'string' ? value.replace(new RegExp(`^${RAW}`), '') : (JSON.stringify(value) ?? '');

/**
 * A request for one operation, by any of the callers: half of them clean (every part valid-looking,
 * so they reach the handlers' depths: ids that exist, amounts, business refusals), half dirty
 * (garbage anywhere, extra and poisoned keys, odd headers and content types).
 */
export function requestFor(op: Operation, known: KnownIds, callers: Caller[]): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(requestOf(op, known, callers, false), requestOf(op, known, callers, true));
}

function requestOf(
  op: Operation,
  known: KnownIds,
  callers: Caller[],
  dirty: boolean,
): fc.Arbitrary<FuzzRequest> {
  // A path id's pool is named by the segment before it: /v1/loans/{id} takes loan ids.
  const hintOf = (name: string) => op.path.match(new RegExp(`([^/]+)/\\{${name}\\}`))?.[1] ?? name;
  const params = fc.tuple(
    ...op.pathParams.map((name) =>
      dirty ? pathText(known, hintOf(name)) : fc.constantFrom(...idPool(known, hintOf(name)), 'me'),
    ),
  );
  const queryModel = Object.fromEntries(
    Object.entries(op.query).map(([name, schema]) => [
      name,
      fuzzValue(schema, known, name, dirty).map(queryText),
    ]),
  );
  const queryKeys = Object.keys(op.query);
  const query = fc.tuple(
    fc.record(queryModel, { requiredKeys: [] }),
    dirty
      ? rarely(fc.dictionary(fc.string({ maxLength: 10 }), garbage.map(queryText), { maxKeys: 2 }))
      : fc.constant(null),
    dirty && queryKeys.length > 0
      ? rarely(fc.constantFrom(...queryKeys).chain((k) => fc.tuple(fc.constant(k), garbage.map(queryText))))
      : fc.constant(null),
  );
  const bodyValue = op.body ? fuzzValue(op.body, known, 'body', dirty) : jsonValue;
  const body = dirty
    ? fc.oneof(
        { arbitrary: fc.tuple(bodyValue, rarely(fc.constantFrom(...POISONED_KEYS), 4)), weight: 8 },
        { arbitrary: fc.constantFrom(...RAW_BODIES).map((raw) => ['@raw', raw] as const), weight: 1 },
        { arbitrary: fc.constant(undefined), weight: op.body ? 1 : 6 },
      )
    : op.body
      ? fc.tuple(bodyValue, fc.constant(null))
      : fc.constant(undefined);
  const extraHeaders = dirty
    ? fc.record(
        {
          'idempotency-key': idempotencyKey,
          'content-type': fc.constantFrom(...CONTENT_TYPES),
          'x-request-id': requestId,
          accept: fc.constantFrom('application/json', '*/*', 'text/event-stream', 'garbage'),
        },
        { requiredKeys: ['content-type'] },
      )
    : fc.record({ 'idempotency-key': fc.stringMatching(/^[A-Za-z0-9_.:-]{1,128}$/) });
  return fc
    .record({ params, query, body, caller: fc.constantFrom(...callers), extraHeaders, ip: fc.ipV4() })
    .map(({ params, query, body, caller, extraHeaders, ip }) => {
      let i = 0;
      const path = op.path.replace(/\{[^}]+\}/g, () => {
        const text = params[i++] as string;
        return /^%/.test(text) ? text : encodeURIComponent(text);
      });
      const search = new URLSearchParams();
      const [declared, extra, duplicate] = query;
      for (const [k, v] of Object.entries(declared)) search.append(k, v as string);
      for (const [k, v] of Object.entries(extra ?? {})) search.append(k, v);
      if (duplicate) search.append(duplicate[0], duplicate[1]);
      const qs = search.toString();
      let payload: string | undefined;
      if (body !== undefined) {
        payload = body[0] === '@raw' ? (body[1] as string) : jsonText(body[0], body[1] as string | null);
      }
      const headers: Record<string, string> = { ...caller.headers, ...extraHeaders };
      if (payload !== undefined && !dirty) headers['content-type'] = 'application/json';
      return {
        method: op.method.toUpperCase(),
        url: qs ? `${path}?${qs}` : path,
        headers,
        payload,
        remoteAddress: ip,
      };
    });
}

/** Every operation of an OpenAPI 3 document. */
export function operationsOf(spec: {
  paths: Record<string, Record<string, Record<string, unknown>>>;
}): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const parameters = (op.parameters ?? []) as { in: string; name: string; schema: JsonSchema }[];
      const requestBody = op.requestBody as { content?: Record<string, { schema: JsonSchema }> } | undefined;
      ops.push({
        method,
        path,
        pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!),
        query: Object.fromEntries(parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.schema])),
        body: requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return ops;
}
