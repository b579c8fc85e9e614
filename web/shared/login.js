/**
 * The log-in page of the app and of the console: one identity field (phone or username) and a
 * password, POST /v1/auth/login, and a refusal when the token is for the other audience (customers
 * use the app, staff the console). On success the session is saved and the page asked for opens.
 */
import { busy, field, go, h, statusArea } from './dom.js';

/**
 * A router view. `identity` names the field: `{ label, name, attrs }` (attrs for its input);
 * `accepts(role)` says whether this page's audience holds the role; `refusal()` is the ApiError
 * shown otherwise; `submitLabel` and `passwordLabel` are the page's own words (its language).
 */
export function loginPage({
  api,
  title,
  identity,
  accepts,
  refusal,
  submitLabel = 'Log in',
  passwordLabel = 'Password',
}) {
  return (_params, query) => {
    const id = h('input', { name: identity.name, required: true, ...identity.attrs });
    const password = h('input', {
      name: 'password',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
      maxlength: 128,
    });
    const submit = h('button', { type: 'submit' }, submitLabel);
    const status = statusArea();
    const form = h(
      'form',
      {
        onsubmit: async (event) => {
          event.preventDefault();
          status.clear();
          await busy(submit, async () => {
            try {
              const token = await api.post('/v1/auth/login', {
                [identity.name]: id.value.trim(),
                password: password.value,
              });
              if (!accepts(token.role)) throw refusal();
              api.session.save(token.access_token, token.role);
              password.value = '';
              go(query.get('next') || '#/');
            } catch (err) {
              status.error(err);
            }
          });
        },
      },
      field(identity.label, id),
      field(passwordLabel, password),
      h('div', { class: 'actions' }, submit),
      status.el,
    );
    return h('section', {}, h('h1', {}, title), form);
  };
}
