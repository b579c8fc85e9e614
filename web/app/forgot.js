/**
 * Forgot password, phone first: the mobile number, a code by SMS, then the code and a new password.
 * The platform answers "sent" whether or not the number has an account (so the page says "if it is
 * registered"), and every session from before the reset ends. Reached from the log-in page.
 */
import { busy, field, go, h, notice, statusArea } from '../shared/dom.js';
import { t } from '../shared/i18n.js';
import { api } from './client.js';

/** Mirrors the platform's bounds (src/domain/password-reset.ts, src/store/passwords.ts) for early, local answers. */
const CODE_DIGITS = 6;
const PASSWORD_MIN = 8;

export function forgotView() {
  const phone = h('input', {
    name: 'phone',
    type: 'tel',
    inputmode: 'numeric',
    autocomplete: 'tel',
    maxlength: 20,
    required: true,
  });
  const send = h('button', { type: 'submit' }, t('forgot.send'));
  const code = h('input', {
    name: 'code',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: `\\d{${CODE_DIGITS}}`,
    maxlength: CODE_DIGITS,
  });
  const password = h('input', {
    name: 'new_password',
    type: 'password',
    autocomplete: 'new-password',
    minlength: PASSWORD_MIN,
    maxlength: 128,
  });
  const reset = h('button', { type: 'submit' }, t('forgot.reset'));
  const sent = statusArea();
  const status = statusArea();
  const second = h(
    'form',
    {
      hidden: true,
      dataset: { testid: 'forgot-code' },
      onsubmit: async (event) => {
        event.preventDefault();
        status.clear();
        if (!new RegExp(`^\\d{${CODE_DIGITS}}$`).test(code.value.trim()))
          return status.error({ code: 'INVALID_CODE' });
        if (password.value.length < PASSWORD_MIN) return status.error({ code: 'PASSWORD_TOO_SHORT' });
        await busy(reset, async () => {
          try {
            await api.post('/v1/auth/password-reset/confirm', {
              phone: phone.value.trim(),
              code: code.value.trim(),
              new_password: password.value,
            });
            password.value = '';
            go('#/login?reset=done');
          } catch (err) {
            status.error(err);
          }
        });
      },
    },
    field(t('forgot.code'), code, t('forgot.code_hint', { n: CODE_DIGITS })),
    field(t('forgot.new_password'), password, t('signup.password_hint')),
    h('div', { class: 'actions' }, reset),
    status.el,
  );
  const first = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        sent.clear();
        await busy(send, async () => {
          try {
            const answer = await api.post('/v1/auth/password-reset', { phone: phone.value.trim() });
            sent.show(notice(t('forgot.sent', { minutes: Math.round(answer.expires_in_s / 60) })));
            send.textContent = t('forgot.send_again');
            second.hidden = false;
            code.focus();
          } catch (err) {
            sent.error(err);
          }
        });
      },
    },
    field(t('login.phone'), phone),
    h('div', { class: 'actions' }, send),
    sent.el,
  );
  return h(
    'section',
    {},
    h('h1', {}, t('forgot.title')),
    h('p', {}, t('forgot.intro')),
    first,
    second,
    h(
      'p',
      { class: 'actions' },
      h('a', { class: 'button secondary', href: '#/login' }, t('signup.have_account')),
    ),
  );
}
