/**
 * Firefox for the cross-engine tests: Debian's Firefox ESR driven by puppeteer-core over
 * WebDriver BiDi, with its built-in fake camera and microphone. The in-page helpers of
 * harness.ts (decodesFrames, openPcs, liveTracks, inboundMedia, instrumentWebRtc) work here
 * too, through pageLike(); this file adds only what differs: launching, and waiting and
 * tapping with Puppeteer's API. Import it as a namespace (`import * as ff`), so its names
 * mirror the harness's.
 */
import fs from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { appStateIn, instrumentWebRtc, logCspViolations, noteCspViolation, onCi, type PageLike } from './harness';

export const firefoxPath = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export function firefoxAvailable(): boolean {
	return fs.existsSync(firefoxPath);
}

/**
 * Whether the Firefox tests run. Locally they are skipped without Firefox; on CI they always
 * run, so a missing Firefox fails them (launchFirefox says why) instead of quietly dropping the
 * only other engine.
 */
export function firefoxTestsRun(): boolean {
	return onCi() || firefoxAvailable();
}

/** The preferences the tests need, and why each one. */
export const firefoxPrefs: Record<string, unknown> = {
	// A fake camera (640×480) and microphone (a tone), opened without a prompt.
	'media.navigator.streams.fake': true,
	'media.navigator.permission.disabled': true
	// No ICE prefs: Firefox keeps hiding its host addresses behind mDNS names, as it does for
	// real users; Chromium pairs with it through the peer-reflexive candidates Firefox's
	// connectivity checks reveal (measured: Chromium's selected pair is host → prflx).
	// media.peerconnection.ice.loopback does not help where a machine has loopback only:
	// neither engine gathers a candidate there (the Chromium tests need an interface too).
};

/**
 * Launches headless Firefox. Puppeteer makes a fresh temporary profile for each launch and
 * deletes it when the browser closes.
 */
export async function launchFirefox(): Promise<Browser> {
	if (!firefoxAvailable()) {
		throw new Error(
			`Firefox is missing (no ${firefoxPath}): the cross-engine call and photo tests need it, and on CI they must run. ` +
				'Install it (apt-get install -y firefox-esr; .ci/run does) or point FIREFOX_PATH at a Firefox.'
		);
	}
	return puppeteer.launch({
		browser: 'firefox',
		executablePath: firefoxPath,
		headless: true,
		extraPrefsFirefox: firefoxPrefs
	});
}

/** The harness's in-page helpers for a Puppeteer page. */
export function pageLike(page: Page): PageLike {
	return {
		// Puppeteer types its argument through its handle machinery; the helpers pass plain data.
		evaluate: <A, R>(fn: (arg: A) => R | Promise<R>, arg: A) => page.evaluate(fn as (arg: unknown) => R, arg) as Promise<R>
	};
}

/** Waits until the root element's data-<name> equals one of `values`. */
export async function waitForState(page: Page, name: string, values: string | string[], timeout = 15_000): Promise<void> {
	const wanted = Array.isArray(values) ? values : [values];
	try {
		await page.waitForFunction(appStateIn, { timeout, polling: 100 }, [name, wanted] as const);
	} catch (err) {
		const now = await stateOf(page, name).catch(() => '(page gone)');
		throw new Error(`Firefox: data-${name} stayed ${now}, not ${wanted.join('|')}, for ${timeout} ms`, { cause: err });
	}
}

export async function stateOf(page: Page, name: string): Promise<string | null> {
	return page.$eval('[data-testid="app"]', (el, attr) => el.getAttribute(`data-${attr}`), name);
}

/** Taps a control by test id once it is there and enabled. */
export async function tap(page: Page, testid: string, timeout = 15_000): Promise<void> {
	const selector = `[data-testid="${testid}"]:not([disabled])`;
	await page.waitForSelector(selector, { visible: true, timeout });
	await page.click(selector);
}

export async function peerIdOf(page: Page): Promise<string> {
	return page.$eval('[data-testid="peer-id"]', (el) => (el.textContent ?? '').trim());
}

/** The visible text of a test id, or '' when absent. Use with expect.poll. */
export async function textOf(page: Page, testid: string): Promise<string> {
	return page.evaluate((id) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '', testid);
}

export async function dialId(from: Page, to: string): Promise<void> {
	await from.locator('[data-testid="dial-input"]').fill(to);
	await tap(from, 'dial');
}

/**
 * A phone-sized, WebRTC-instrumented app page in a context of its own (its own storage, so its
 * own ID), with its camera live and signaling open. Firefox's Permissions API answers `prompt`
 * for the camera under the fake-media prefs, before getUserMedia and after it (they skip the
 * prompt; they grant nothing), so this taps camera-start, as a person does on a first visit.
 */
export async function openAppPage(browser: Browser, url: string): Promise<Page> {
	const context = await browser.createBrowserContext();
	const page = await context.newPage();
	await page.setViewport({ width: 390, height: 844 });
	await page.evaluateOnNewDocument(instrumentWebRtc);
	await page.evaluateOnNewDocument(logCspViolations);
	page.on('console', (message) => {
		if (message.type() === 'error') noteCspViolation(message.text(), `firefox ${message.location().url ?? page.url()}`);
	});
	await page.goto(url);
	await waitForState(page, 'permission', ['prompt', 'granted']);
	if ((await stateOf(page, 'permission')) === 'prompt') await tap(page, 'camera-start');
	await waitForState(page, 'capture', 'live');
	await waitForState(page, 'signaling', 'open');
	return page;
}

/** Closes the page's browser context (and its storage) with it. */
export async function closeApp(page: Page): Promise<void> {
	await page.browserContext().close();
}
