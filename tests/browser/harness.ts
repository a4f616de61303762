/**
 * Real parts for browser tests and benchmarks: the production build served with the embedded
 * PeerServer on loopback, and Debian's Chromium with fake cameras driven by playwright-core.
 */
import path from 'node:path';
import fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { serve } from '../../src/server/app.js';

export const root = path.resolve(import.meta.dirname, '../..');
export const buildDir = path.join(root, 'build');

export interface Served {
	url: string;
	port: number;
	close(): Promise<void>;
}

export interface ServerOptions {
	port?: number;
	extraStatic?: Record<string, string>;
	iceServers?: RTCIceServer[];
	iceTransportPolicy?: RTCIceTransportPolicy;
	/** false: the app only, advertising a PeerServer on `signalingPort`. */
	peerServer?: boolean;
	signalingPort?: number;
	/** false: a PeerServer only. */
	app?: boolean;
	/** url path → body served instead of the build's file while it returns one. */
	overrides?: Record<string, () => string | undefined>;
	/** Origins besides the server's own that may use its /peerjs (ALLOWED_ORIGINS). */
	allowedOrigins?: string[];
	/** Where ID reservations persist (DATA_DIR); default in memory. */
	dataDir?: string;
	/** Per-address limits on /peerjs (RATE_LIMIT); default on, as `npm start` runs. */
	rateLimit?: boolean;
}

export async function startServer(options: ServerOptions = {}): Promise<Served> {
	if (!fs.existsSync(path.join(buildDir, 'index.html'))) {
		throw new Error('No production build: run `npm run build` first (npm test does).');
	}
	return serve({ buildDir, host: '127.0.0.1', iceServers: [], ...options, port: options.port ?? 0 });
}

/**
 * Set (and not `0`/`false`) on CI: .ci/run exports CI=1 and installs what the tests need, so a
 * missing coturn, Firefox or WebKit fails its tests there instead of skipping them (turn.ts,
 * firefox.ts, webkit.ts).
 */
export function onCi(): boolean {
	const ci = process.env.CI?.trim().toLowerCase();
	return !!ci && ci !== '0' && ci !== 'false';
}

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface LaunchOptions {
	/** Auto-accept camera/mic prompts (off to test denial). */
	fakeUi?: boolean;
	/** Number of fake cameras; 0 means none. */
	deviceCount?: number;
	args?: string[];
}

export function chromiumArgs({ fakeUi = true, deviceCount = 3, args = [] }: LaunchOptions = {}): string[] {
	return [
		'--no-sandbox',
		'--disable-gpu',
		'--disable-quic',
		'--no-first-run',
		'--disable-background-networking',
		'--disable-component-update',
		'--disable-sync',
		'--autoplay-policy=no-user-gesture-required',
		`--use-fake-device-for-media-stream=device-count=${deviceCount}`,
		...(fakeUi ? ['--use-fake-ui-for-media-stream'] : []),
		...args
	];
}

export async function launch(options: LaunchOptions = {}): Promise<Browser> {
	const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs(options) });
	// Every context (newPage makes one too) reports its CSP violations.
	const newContext = browser.newContext.bind(browser);
	browser.newContext = async (contextOptions) => {
		const context = await newContext(contextOptions);
		await watchCsp(context);
		return context;
	};
	return browser;
}

const cspViolations: string[] = [];

/** The CSP violations seen since the last call, and forgets them. tests/browser/setup.ts fails
 * any test that leaves one behind. */
export function takeCspViolations(): string[] {
	return cspViolations.splice(0);
}

/**
 * Collects the context's CSP violations: the page's own `securitypolicyviolation` events, and
 * the console errors Chromium logs for them (which also name violations before any script ran).
 * Contexts from launch() are watched already; persistent contexts need this call.
 */
export async function watchCsp(context: BrowserContext): Promise<void> {
	await context.addInitScript(logCspViolations);
	context.on('console', (message) => {
		if (message.type() === 'error') noteCspViolation(message.text(), message.location().url);
	});
}

/** Init script: the page logs each CSP violation it sees as a console error. */
export const logCspViolations = () => {
	document.addEventListener('securitypolicyviolation', (e) => {
		console.error(`CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber} ${e.sample}`);
	});
};

/** Records a console error for takeCspViolations when it reports a CSP violation (any engine). */
export function noteCspViolation(text: string, where: string): void {
	if (/Content.Security.Policy|CSP violation/i.test(text)) cspViolations.push(`${where}: ${text}`);
}

/**
 * Records every request `context`'s pages make from now on: what went to the network (requests,
 * WebSockets) and what the page tried but its CSP blocked (those never reach the network, so
 * neither Playwright nor CDP reports them; the page's `securitypolicyviolation` does). Pages
 * opened or reloaded after this call are covered.
 */
export async function recordRequests(context: BrowserContext) {
	const urls: string[] = [];
	await context.exposeBinding('__recordBlocked', (_source, url: string) => urls.push(url));
	await context.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			if (/^(https?|wss?):/.test(e.blockedURI)) (window as unknown as { __recordBlocked(u: string): void }).__recordBlocked(e.blockedURI);
		});
	});
	context.on('request', (r) => urls.push(r.url()));
	const watch = (page: Page) => page.on('websocket', (ws) => urls.push(ws.url()));
	context.on('page', watch);
	context.pages().forEach(watch);
	return {
		urls,
		/** Every URL whose host is not loopback (0.peerjs.com would be one). */
		offLoopback: () =>
			urls.filter((u) => {
				const host = URL.canParse(u) ? new URL(u).hostname : '';
				return !/^(127\.0\.0\.1|localhost|\[::1\])$/.test(host) && !/^(data|blob):/.test(u);
			})
	};
}

/** A phone-sized page. */
export async function phonePage(browser: Browser, context?: BrowserContext): Promise<Page> {
	const ctx = context ?? (await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 }));
	return ctx.newPage();
}

export function app(page: Page) {
	return page.locator('[data-testid="app"]');
}

/**
 * What the in-page helpers below need of a page: Playwright's Page fits as it is; a Puppeteer
 * page (Firefox, tests/browser/firefox.ts) through a one-line adapter.
 */
export interface PageLike {
	evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}

/** In page: whether the root element's data-<attr> is one of `list`. */
export const appStateIn = ([attr, list]: readonly [string, readonly string[]]): boolean => {
	const el = document.querySelector('[data-testid="app"]');
	return !!el && list.includes(el.getAttribute(`data-${attr}`) ?? '');
};

/** Waits until the root element's data-<name> equals one of `values`. */
export async function waitForState(page: Page, name: string, values: string | string[], timeout = 15_000) {
	const wanted = Array.isArray(values) ? values : [values];
	await page.waitForFunction(appStateIn, [name, wanted] as const, { timeout });
}

export async function stateOf(page: Page, name: string): Promise<string | null> {
	return app(page).getAttribute(`data-${name}`);
}

/** Resolves when the video element decodes new frames (requestVideoFrameCallback twice). */
export async function decodesFrames(page: PageLike, testid: string, timeout = 10_000): Promise<boolean> {
	return page.evaluate(
		([id, ms]) =>
			new Promise<boolean>((resolve) => {
				const video = document.querySelector(`[data-testid="${id}"]`) as HTMLVideoElement | null;
				if (!video) return resolve(false);
				const timer = setTimeout(() => resolve(false), ms as number);
				let frames = 0;
				const onFrame = () => {
					frames += 1;
					if (frames >= 3) {
						clearTimeout(timer);
						resolve(video.videoWidth > 0);
					} else video.requestVideoFrameCallback(onFrame);
				};
				video.requestVideoFrameCallback(onFrame);
			}),
		[testid, timeout] as const
	);
}

/**
 * Counts RTCPeerConnections and their closing from page start: an init script wraps the
 * constructor, so a test can assert that nothing is left open after hang-up.
 */
export const instrumentWebRtc = () => {
	const w = window as unknown as {
		__pcs: RTCPeerConnection[];
		__offers: number;
		__answers: number;
		__gum: MediaStreamTrack[];
	};
	w.__pcs = [];
	w.__offers = 0;
	w.__answers = 0;
	w.__gum = [];
	const Native = window.RTCPeerConnection;
	class Counted extends Native {
		constructor(config?: RTCConfiguration) {
			super(config);
			w.__pcs.push(this);
		}
	}
	window.RTCPeerConnection = Counted as typeof RTCPeerConnection;
	// Offers for media (data-only control connections have no transceivers).
	const createOffer = Native.prototype.createOffer;
	Native.prototype.createOffer = function (this: RTCPeerConnection, ...args: unknown[]) {
		if (this.getTransceivers().length) w.__offers += 1;
		return (createOffer as (...a: unknown[]) => Promise<RTCSessionDescriptionInit>).apply(this, args);
	} as typeof createOffer;
	// Answers of any kind: a connection we answered has handed over our ICE candidates.
	const createAnswer = Native.prototype.createAnswer;
	Native.prototype.createAnswer = function (this: RTCPeerConnection, ...args: unknown[]) {
		w.__answers += 1;
		return (createAnswer as (...a: unknown[]) => Promise<RTCSessionDescriptionInit>).apply(this, args);
	} as typeof createAnswer;
	const gum = navigator.mediaDevices?.getUserMedia?.bind(navigator.mediaDevices);
	if (gum) {
		navigator.mediaDevices.getUserMedia = async (c) => {
			const stream = await gum(c);
			w.__gum.push(...stream.getTracks());
			return stream;
		};
	}
};

export async function openPcs(page: PageLike): Promise<number> {
	return page.evaluate(
		() => (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter((pc) => pc.signalingState !== 'closed').length,
		null
	);
}

/**
 * Inbound media by the RTCPeerConnections' own stats (instrumentWebRtc), summed over the open
 * ones: video frames decoded and audio packets received. Two readings a moment apart tell
 * whether media is arriving, in any engine.
 */
export async function inboundMedia(page: PageLike): Promise<{ framesDecoded: number; audioPackets: number }> {
	return page.evaluate(async () => {
		const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter((pc) => pc.signalingState !== 'closed');
		let framesDecoded = 0;
		let audioPackets = 0;
		for (const pc of pcs) {
			(await pc.getStats()).forEach((s: { type: string; kind?: string; framesDecoded?: number; packetsReceived?: number }) => {
				if (s.type !== 'inbound-rtp') return;
				if (s.kind === 'video') framesDecoded += s.framesDecoded ?? 0;
				if (s.kind === 'audio') audioPackets += s.packetsReceived ?? 0;
			});
		}
		return { framesDecoded, audioPackets };
	}, null);
}

export async function liveTracks(page: PageLike, kind?: 'audio' | 'video'): Promise<number> {
	return page.evaluate(
		(k) =>
			(window as unknown as { __gum: MediaStreamTrack[] }).__gum.filter(
				(t) => t.readyState === 'live' && (!k || t.kind === k)
			).length,
		kind
	);
}

/** The visible text of a test id, or '' when absent. Use with expect.poll. */
export async function textOf(page: Page, testid: string): Promise<string> {
	const el = page.getByTestId(testid);
	return (await el.count()) ? ((await el.first().textContent()) ?? '') : '';
}

/**
 * Sets the camera permission of the page's browser context through CDP (Playwright cannot
 * deny). Needs a browser launched without --use-fake-ui-for-media-stream, which overrides it.
 */
export async function setCameraPermission(
	browser: Browser,
	page: Page,
	origin: string,
	setting: 'granted' | 'denied' | 'prompt'
): Promise<void> {
	const cdp = await browser.newBrowserCDPSession();
	const { targetInfos } = await cdp.send('Target.getTargets');
	const mine = await page.evaluate(() => location.href);
	const target = targetInfos.find((t) => t.type === 'page' && t.url === mine) ?? targetInfos.find((t) => t.type === 'page');
	await cdp.send('Browser.setPermission', {
		origin,
		permission: { name: 'camera' },
		setting,
		browserContextId: target?.browserContextId
	});
	// Not detached: CDP drops its permission overrides when the session that set them goes.
}

/**
 * Hides or shows the page as the browser would: `document.visibilityState` / `document.hidden`
 * change and `visibilitychange` fires. Headless Chromium never hides a page by itself, and no
 * CDP call does it either (measured with Chromium 156: Page.setWebLifecycleState 'frozen' on a
 * visible page fires neither `freeze` nor `visibilitychange`; a second tab, Target.activateTarget,
 * bringToFront and a minimized window all leave the page 'visible'), so the document's own
 * properties are overridden, and deleted again to show it.
 */
export async function setPageHidden(page: Page, hidden: boolean): Promise<void> {
	await page.evaluate((hide) => {
		const doc = document as unknown as Record<string, unknown>;
		if (hide) {
			Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
			Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
		} else {
			delete doc.visibilityState;
			delete doc.hidden;
		}
		document.dispatchEvent(new Event('visibilitychange'));
	}, hidden);
}

/** The readyState of every video track getUserMedia gave the page (instrumentWebRtc), in order. */
export async function videoTrackStates(page: Page): Promise<string[]> {
	return page.evaluate(() =>
		(window as unknown as { __gum: MediaStreamTrack[] }).__gum.filter((t) => t.kind === 'video').map((t) => t.readyState)
	);
}

export interface AppPageOptions {
	/** Wait for signaling to open too (default true). */
	waitOpen?: boolean;
	/** Default a 390×844 phone. */
	viewport?: { width: number; height: number };
	/** Runs on the new context before the page loads: init scripts, permissions. */
	prepare?: (context: BrowserContext) => Promise<unknown>;
}

/** A phone-sized, WebRTC-instrumented app page with its camera live (and signaling open). */
export async function openAppPage(
	browser: Browser,
	url: string,
	{ waitOpen = true, viewport = { width: 390, height: 844 }, prepare }: AppPageOptions = {}
): Promise<Page> {
	const context = await browser.newContext({ viewport });
	await context.addInitScript(instrumentWebRtc);
	await prepare?.(context);
	const page = await context.newPage();
	await page.goto(url);
	await waitForState(page, 'capture', 'live');
	if (waitOpen) await waitForState(page, 'signaling', 'open');
	return page;
}

export async function peerIdOf(page: Page): Promise<string> {
	return ((await page.getByTestId('peer-id').textContent()) ?? '').trim();
}

export async function dialId(from: Page, to: string): Promise<void> {
	await from.getByTestId('dial-input').fill(to);
	await from.getByTestId('dial').click();
}

/** `a` dials `b`, `b` accepts; resolves when both are connected. */
export async function placeCall(a: Page, b: Page): Promise<void> {
	await dialId(a, await peerIdOf(b));
	await waitForState(b, 'call', 'ringing');
	await b.getByTestId('accept').click();
	await Promise.all([waitForState(a, 'call', 'connected'), waitForState(b, 'call', 'connected')]);
}

