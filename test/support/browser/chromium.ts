/**
 * Real Chromium for end-to-end tests: the system's Chromium driven by playwright-core
 * (never a downloaded browser), and a site of the repository's TypeScript modules for it
 * to load from a Switchboard node's static directory (`cuttlefish.staticDir`).
 */
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { stripTypeScriptTypes } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      // Chromium's sandbox refuses to run as root and needs user namespaces containers rarely allow.
      '--no-sandbox',
      // No GPU on test machines.
      '--disable-gpu',
      // There is no internet: keep Chromium from trying to reach Google's services.
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Chromium hides a page's host addresses behind random `<uuid>.local` mDNS names
      // unless the page holds camera/microphone permission. The device (node-datachannel)
      // cannot resolve them (libdatachannel's lookup of the name just fails), so every
      // candidate the browser trickles would be useless to it, and with no STUN there are
      // no others: a connection would only come about through Chromium's checks reaching
      // the device's candidates. This feature switch makes Chromium offer its real host
      // addresses, so candidates work in both directions, as with a real device.
      '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
}

export interface ModuleSite {
  /** The directory to serve. */
  readonly dir: string;
  remove(): Promise<void>;
}

/**
 * Writes a site into a fresh temporary directory: each module of `modules` (repository
 * paths of `.ts` files, or of directories meaning all their `.ts` files) with its types
 * stripped by Node, at its repository path, and an `index.html` importing `entry`.
 *
 * The copies are named `.js`, and an import map points each `.ts` URL at its copy. Why:
 * the static handler serves `.ts` as `application/octet-stream`, and browsers refuse a
 * module script without a JavaScript MIME type. With the map, the modules keep their own
 * `./x.ts` imports and the browser runs exactly what Node's type stripping produced.
 */
export async function writeModuleSite(modules: string[], entry: string): Promise<ModuleSite> {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-browser-'));
  const imports: Record<string, string> = {};
  for (const path of await expandModules(modules)) {
    const javascript = path.replace(/\.ts$/, '.js');
    await mkdir(dirname(join(dir, javascript)), { recursive: true });
    await writeFile(join(dir, javascript), stripTypeScriptTypes(await readFile(join(REPO_ROOT, path), 'utf8')));
    imports[`/${path}`] = `/${javascript}`;
  }
  // The empty icon keeps Chromium from asking for /favicon.ico and logging the 404 as an error.
  const html = `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<script type="importmap">${JSON.stringify({ imports })}</script>
<script type="module">import ${JSON.stringify(`/${entry}`)};</script>
`;
  await writeFile(join(dir, 'index.html'), html);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

async function expandModules(modules: string[]): Promise<string[]> {
  const paths: string[] = [];
  for (const module of modules) {
    if (module.endsWith('.ts')) paths.push(module);
    else for (const name of await readdir(join(REPO_ROOT, module))) if (name.endsWith('.ts')) paths.push(posix.join(module, name));
  }
  return paths;
}
