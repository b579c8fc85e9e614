/**
 * Customers: registration (public), their own profile, staff reading a profile, the bank card.
 * A customer asking for another customer's id gets 404, exactly as for an id that does not exist,
 * so ids cannot be probed.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
import { mask } from '../../privacy/masking.ts';
import {
  type CustomerProfile,
  createCustomer,
  getCustomer,
  LEGAL_NAME_MAX_LENGTH,
  maskBankCard,
  parseBankCard,
  parseLegalName,
  parseNationalId,
  parsePhone,
  setBankCard,
} from '../../store/customers.ts';
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../store/passwords.ts';
import { requireRole } from '../auth.ts';
import { notFound, refuse } from '../errors.ts';
import { IdString, idFromPath } from './ids.ts';

/** Raw text bounds before parsing: generous for spaces and dashes, tight enough to refuse junk. */
const PHONE_TEXT_MAX = 20;
const ID_TEXT_MAX = 24;
const CARD_TEXT_MAX = 32;

const Registration = Type.Object(
  {
    phone: Type.String({
      minLength: 1,
      maxLength: PHONE_TEXT_MAX,
      description: 'mainland mobile, 11 digits',
    }),
    password: Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH }),
    legal_name: Type.String({ minLength: 1, maxLength: LEGAL_NAME_MAX_LENGTH * 2 }),
    national_id: Type.String({ minLength: 1, maxLength: ID_TEXT_MAX, description: '18 characters' }),
    bank_card: Type.Optional(Type.String({ minLength: 1, maxLength: CARD_TEXT_MAX })),
  },
  { additionalProperties: false },
);
const Created = Type.Object({ id: Type.String() });
const Profile = Type.Object({
  id: Type.String(),
  phone: Type.String(),
  legal_name: Type.String(),
  national_id: Type.String(),
  bank_card: Type.Union([Type.String(), Type.Null()], { description: 'masked: only the last four digits' }),
  status: Type.String(),
  created_at: Type.String(),
});
const BankCardBody = Type.Object(
  { bank_card: Type.String({ minLength: 1, maxLength: CARD_TEXT_MAX }) },
  { additionalProperties: false },
);

/** What staff see of a customer: masked by the one rule table (privacy/masking.ts). */
const staffView = (c: CustomerProfile) => ({
  ...view(c),
  phone: mask('phone', c.phone, 'staff'),
  legal_name: mask('legal_name', c.legalName, 'staff'),
  national_id: mask('national_id', c.nationalId, 'staff'),
  bank_card: c.bankCard === null ? null : mask('bank_card', c.bankCard, 'staff'),
});

const view = (c: CustomerProfile) => ({
  id: c.id.toString(),
  phone: c.phone,
  legal_name: c.legalName,
  national_id: c.nationalId,
  bank_card: c.bankCard === null ? null : maskBankCard(c.bankCard),
  status: c.status,
  created_at: c.createdAt.toISOString(),
});

function bankCardOf(raw: string): string {
  const card = parseBankCard(raw);
  if (!card) throw refuse('INVALID_BANK_CARD', 'a bank card number is 12-19 digits');
  return card;
}

export function customerRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const { db, logger } = platform;
  const { crypto, authThrottle } = platform.services;

  /**
   * Registration answers whether a phone or id number is taken (the product needs it: that person
   * should log in instead), so the answers are limited per client address (auth/throttle.ts).
   */
  const admitRegistration = async (address: string) => {
    const admission = await authThrottle.admitRegistration(address);
    if (admission.allowed) return;
    logger.info({ address, limit: admission.limit }, 'registration refused: too many attempts');
    throw refuse(
      'TOO_MANY_ATTEMPTS',
      'too many registrations from this address; try again later',
      {},
      { 'retry-after': String(admission.retryAfterS) },
    );
  };

  return async (app) => {
    app.post(
      '/v1/customers',
      {
        schema: {
          tags: ['customers'],
          summary: 'Register a customer',
          body: Registration,
          response: { 201: Created },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const phone = parsePhone(body.phone);
        if (!phone) throw refuse('INVALID_PHONE', 'a mobile number is 11 digits starting with 1');
        const nationalId = parseNationalId(body.national_id);
        if (!nationalId) {
          throw refuse(
            'INVALID_NATIONAL_ID',
            'a national id number is 18 characters with a valid birth date and check character',
          );
        }
        const legalName = parseLegalName(body.legal_name);
        if (!legalName) {
          throw refuse(
            'INVALID_LEGAL_NAME',
            `a legal name is 1-${LEGAL_NAME_MAX_LENGTH} printable characters`,
          );
        }
        const bankCard = body.bank_card === undefined ? undefined : bankCardOf(body.bank_card);
        await admitRegistration(request.ip);
        const passwordHash = await hashPassword(body.password);
        const created = await createCustomer(db.sql, crypto, {
          phone,
          nationalId,
          legalName,
          bankCard,
          passwordHash,
        });
        if (!created.ok) {
          throw created.conflict === 'phone'
            ? refuse('PHONE_TAKEN', 'a customer with this phone number exists')
            : refuse('NATIONAL_ID_TAKEN', 'a customer with this national id number exists');
        }
        await authThrottle.registrationSucceeded(request.ip);
        return reply.status(201).send({ id: created.id.toString() });
      },
    );

    app.get(
      '/v1/customers/me',
      {
        preHandler: requireRole('customer'),
        schema: {
          tags: ['customers'],
          summary: 'The calling customer, decrypted (bank card masked)',
          security: [{ bearer: [] }],
          response: { 200: Profile },
        },
      },
      async (request) => {
        const customer = await getCustomer(db.sql, crypto, request.principal!.id);
        if (!customer) throw notFound('customer');
        return view(customer);
      },
    );

    app.get(
      '/v1/customers/:id',
      {
        preHandler: requireRole('customer', 'risk', 'ops'),
        schema: {
          tags: ['customers'],
          summary: 'A customer by id (staff, masked; a customer only their own id)',
          security: [{ bearer: [] }],
          params: Type.Object({ id: IdString }),
          response: { 200: Profile },
        },
      },
      async (request) => {
        const id = idFromPath(request.params.id);
        const principal = request.principal!;
        if (id === undefined || (principal.role === 'customer' && principal.id !== id))
          throw notFound('customer');
        const customer = await getCustomer(db.sql, crypto, id);
        if (!customer) throw notFound('customer');
        return principal.role === 'customer' ? view(customer) : staffView(customer);
      },
    );

    app.put(
      '/v1/customers/me/bank-card',
      {
        preHandler: requireRole('customer'),
        schema: {
          tags: ['customers'],
          summary: 'Set the bank card cash loans are paid out to',
          security: [{ bearer: [] }],
          body: BankCardBody,
          response: { 200: Type.Object({ bank_card: Type.String() }) },
        },
      },
      async (request) => {
        const card = bankCardOf(request.body.bank_card);
        if (!(await setBankCard(db.sql, crypto, request.principal!.id, card))) throw notFound('customer');
        return { bank_card: maskBankCard(card) };
      },
    );
  };
}
