/**
 * Text placed into the HTML documents fenqi writes (statements, risk reports, rehearsal reports):
 * every character that could open a tag, an attribute or an entity is written as an entity.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
