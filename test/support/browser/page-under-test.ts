/**
 * A Chromium page running one of the test pages in this folder. Its waits fail at once,
 * with the page's own error, when the page throws: a failing page would otherwise only
 * show as a timeout far from its cause.
 */
import assert from 'node:assert/strict';
import type { JSHandle, Page } from 'playwright-core';
import { withTimeout } from '../waiting.ts';

const LOG = Boolean(process.env.SWITCHBOARD_TEST_LOG);

export class PageUnderTest {
  readonly page: Page;
  /** Uncaught errors in the page, also those thrown while nothing was waiting. */
  readonly pageErrors: string[] = [];
  readonly #consoleErrors: string[] = [];
  readonly #pageError: Promise<never>;

  constructor(page: Page) {
    this.page = page;
    this.#pageError = new Promise<never>((_, reject) => {
      page.on('pageerror', (error) => {
        if (LOG) process.stderr.write(`[chromium page error] ${error.stack ?? error.message}\n`);
        this.pageErrors.push(error.message);
        reject(new Error(`page error in Chromium: ${error.message}`));
      });
    });
    // Only ever raced against; never left to reject unobserved.
    this.#pageError.catch(() => {});
    page.on('console', (message) => {
      if (message.type() === 'error') this.#consoleErrors.push(message.text());
      if (LOG) process.stderr.write(`[chromium console.${message.type()}] ${message.text()}\n`);
    });
  }

  /** Loads `url` and returns what the page's module put at `window[global]`. */
  async load<T>(url: string, global: string): Promise<JSHandle<T>> {
    await this.wait('page load', this.page.goto(url));
    // Module scripts run before `load`, so the global exists now unless a module failed to load.
    const handle = await this.page.evaluateHandle((name) => (window as unknown as Record<string, unknown>)[name], global);
    const missing = await handle.evaluate((value) => value === undefined);
    assert.ok(!missing, `the page script did not run; Chromium's console errors: ${JSON.stringify(this.#consoleErrors)}`);
    return handle as JSHandle<T>;
  }

  wait<T>(what: string, promise: Promise<T>): Promise<T> {
    return withTimeout(Promise.race([promise, this.#pageError]), what);
  }
}
