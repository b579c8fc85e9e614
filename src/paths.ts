/**
 * Every file the platform reads from its own checkout, resolved in one place. Nothing here points
 * outside the repository: a user who clones fenqi has exactly these files and no others
 * (test/foundation/repo-paths.test.ts holds the code to that).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root: this file lives in `<root>/src`. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const MIGRATIONS_DIR = path.join(REPO_ROOT, 'migrations');
export const WEB_ROOT = path.join(REPO_ROOT, 'web');
/**
 * The CJK web font both apps serve (npm @fontsource-variable/noto-sans-sc, SIL OFL 1.1): one
 * variable font (every weight in one file) cut into ~100 woff2 unicode-range slices, so a page
 * fetches only the slices of the characters it shows, and only where no system font has them.
 */
export const CJK_FONT_DIR = path.join(REPO_ROOT, 'node_modules', '@fontsource-variable', 'noto-sans-sc');

/** Statlog German Credit (CC BY 4.0), the bootstrap champion's training data; see data/README.md. */
export const GERMAN_CREDIT_CSV = path.join(REPO_ROOT, 'data', 'german_credit.csv');
/** The file's sha256 as published (data/README.md): a changed file would change every decision. */
export const GERMAN_CREDIT_SHA256 = 'ac003d1158e44018e3a1416381cebde213f96df542b2191910baec3b2afa7616';
