/**
 * Language for both apps: Chinese first, English second. Every string a person reads comes from a
 * message catalogue registered here (each app registers its own; error codes live in
 * ./messages.js), so no page builds sentences in code. The choice sticks in localStorage; without
 * one, the browser's languages decide, and Chinese wins whenever it is among them or none matches.
 *
 * Dates and amounts are formatted with the browser's Intl for the chosen locale: 2027年1月4日 /
 * 4 Jan 2027, ¥1,293.94 in both. Amounts arrive as the API's decimal strings and stay exact (see
 * ./money.js): Intl only groups digits of a BigInt, never a float.
 */

export const LOCALES = ['zh-CN', 'en'];
export const DEFAULT_LOCALE = 'zh-CN';
const STORAGE_KEY = 'fenqi.lang';
/** Fired on window when the language changes, so the shell can redraw the current view. */
export const LOCALE_EVENT = 'fenqi:locale';

/** locale → key → message; a message is a string with {name} placeholders. */
const catalogues = new Map(LOCALES.map((l) => [l, new Map()]));
let current;

/** Adds messages: register({ 'zh-CN': { key: '…' }, en: { key: '…' } }). A key defined twice is a bug. */
export function register(byLocale) {
  for (const [loc, messages] of Object.entries(byLocale)) {
    const target = catalogues.get(loc);
    if (!target) throw new Error(`unknown locale ${loc}`);
    for (const [key, text] of Object.entries(messages)) {
      if (target.has(key)) throw new Error(`message ${key} registered twice for ${loc}`);
      target.set(key, text);
    }
  }
}

/** The keys registered for a locale (tests compare the locales' key sets). */
export const keysOf = (loc) => [...(catalogues.get(loc)?.keys() ?? [])];

function pick(candidates) {
  for (const c of candidates) {
    if (!c) continue;
    if (LOCALES.includes(c)) return c;
    if (c.toLowerCase().startsWith('zh')) return 'zh-CN';
    if (c.toLowerCase().startsWith('en')) return 'en';
  }
  return DEFAULT_LOCALE;
}

/** The language in use: the stored choice, else the browser's, else Chinese. */
export function locale() {
  if (!current) {
    let stored = null;
    try {
      stored = localStorage.getItem(STORAGE_KEY);
    } catch {
      // storage can be off (private mode); the browser's languages still decide
    }
    current = pick([stored, ...(globalThis.navigator?.languages ?? [])]);
    if (globalThis.document) document.documentElement.lang = current;
  }
  return current;
}

/** Switches language, remembers it and tells the page to redraw. */
export function setLocale(loc) {
  if (!LOCALES.includes(loc)) throw new Error(`unknown locale ${loc}`);
  current = loc;
  try {
    localStorage.setItem(STORAGE_KEY, loc);
  } catch {
    // the switch still holds for this page
  }
  document.documentElement.lang = loc;
  window.dispatchEvent(new CustomEvent(LOCALE_EVENT, { detail: loc }));
}

/**
 * The message for `key` in the current language with {name} placeholders filled. A key missing in
 * the current language falls back to the other one, then to the key itself (a test finds those).
 */
export function t(key, params = {}) {
  const loc = locale();
  const text = catalogues.get(loc).get(key) ?? catalogues.get(loc === 'en' ? 'zh-CN' : 'en').get(key) ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Whether a message exists (e.g. for an error code the catalogue may not know). */
export const has = (key) => catalogues.get(locale()).has(key);

const DATE = /^(\d{4})-(\d{2})-(\d{2})/;

/** "2027-01-04" (or an ISO timestamp) → "2027年1月4日" / "4 Jan 2027"; the calendar date as sent, no time zone shift. */
export function formatDate(text, { withTime = false } = {}) {
  if (!text) return '';
  const m = DATE.exec(String(text));
  if (!m) return String(text);
  if (withTime) {
    const at = new Date(text);
    if (Number.isNaN(at.getTime())) return String(text);
    return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(at);
  }
  const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  const style = locale() === 'zh-CN' ? 'long' : 'medium';
  return new Intl.DateTimeFormat(locale(), { dateStyle: style, timeZone: 'UTC' }).format(day);
}

/** A count for people: 12,345 / 12,345. */
export const formatCount = (n) => new Intl.NumberFormat(locale()).format(n);
