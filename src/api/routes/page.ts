/**
 * The one page envelope of every list route: `{ items, next_cursor }`. The client passes
 * `next_cursor` back as `cursor` for the next page; `null` means the last page.
 */
import { type TSchema, Type } from 'typebox';

export const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: 'pass back as cursor for the next page; null on the last page',
});

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), next_cursor: NextCursor });

/** The cursor after a page: the last item's key when the page is full, else null (no more). */
export function nextCursor<T>(
  items: readonly T[],
  limit: number,
  keyOf: (item: T) => bigint | number,
): string | null {
  const last = items.at(-1);
  return items.length === limit && last !== undefined ? keyOf(last).toString() : null;
}
