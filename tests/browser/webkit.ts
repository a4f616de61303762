/**
 * WebKit, the engine of every iOS browser, for browser tests: Debian's WebKitGTK MiniBrowser
 * under its own Xvfb display, driven by WebKitWebDriver with plain W3C WebDriver calls (no
 * client library: a dozen endpoints are all a test needs). MiniBrowser's mock capture devices
 * stand in for the phone's cameras ("Mock video device 1" and "2").
 *
 * Debian's WebKitGTK has no RTCPeerConnection, so calls stay untested in WebKit here; the
 * camera, photos, the gallery, the inspector and the app's "calls unavailable" state are.
 *
 * On CI (`CI=1`) a missing engine fails the tests that need it; elsewhere they are skipped with
 * the reason (as the TURN test does in ./turn.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { onCi } from './harness';

export const webkitDriverPath = process.env.WEBKIT_DRIVER_PATH ?? '/usr/bin/WebKitWebDriver';
export const miniBrowserPath =
	process.env.MINIBROWSER_PATH ??
	['/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', '/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser', '/usr/libexec/webkit2gtk-4.1/MiniBrowser'].find(
		(p) => fs.existsSync(p)
	) ??
	'';
export const xvfbPath = process.env.XVFB_PATH ?? '/usr/bin/Xvfb';

/** Why WebKit cannot run here, or null when it can. */
export function webkitMissing(): string | null {
	const missing = [
		fs.existsSync(webkitDriverPath) ? null : `WebKitWebDriver (${webkitDriverPath}; Debian: webkit2gtk-driver)`,
		miniBrowserPath ? null : 'MiniBrowser (Debian: webkit2gtk-driver installs it with libwebkit2gtk-4.1)',
		fs.existsSync(xvfbPath) ? null : `Xvfb (${xvfbPath}; Debian: xvfb)`
	].filter(Boolean);
	return missing.length ? `WebKit tests need ${missing.join(', ')}` : null;
}

/** On CI a missing engine is an error; locally, a reason to skip. */
export const skipWebkit = (() => {
	const why = webkitMissing();
	if (why && onCi()) throw new Error(`${why}: .ci/run installs them.`);
	if (why) console.warn(`Skipping WebKit tests: ${why}`);
	return why !== null;
})();

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.once('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address() as net.AddressInfo;
			srv.close(() => resolve(port));
		});
	});
}

/** An X display of its own: Xvfb picks a free number and writes it to the fd we read. */
function startXvfb(): Promise<{ display: string; proc: ChildProcess }> {
	return new Promise((resolve, reject) => {
		const proc = spawn(xvfbPath, ['-displayfd', '1', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {
			stdio: ['ignore', 'pipe', 'ignore']
		});
		let out = '';
		const timer = setTimeout(() => reject(new Error('Xvfb did not start in 10 s')), 10_000);
		proc.once('error', (err) => {
			clearTimeout(timer);
			reject(err);
		});
		proc.stdout!.on('data', (chunk: Buffer) => {
			out += chunk.toString();
			const n = out.match(/^(\d+)\n/);
			if (n) {
				clearTimeout(timer);
				resolve({ display: `:${n[1]}`, proc });
			}
		});
	});
}

export interface WebKitOptions {
	/** MiniBrowser's mock cameras (default on); off, the engine reports no camera at all. */
	mockCameras?: boolean;
	/** MediaStream support (default on); off, the engine has no getUserMedia. */
	mediaStream?: boolean;
}

/** One WebDriver session: one MiniBrowser window with a phone-sized viewport. */
export class WebKitPage {
	constructor(
		private readonly base: string,
		readonly id: string,
		private readonly ended: () => void
	) {}

	private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
		const res = await fetch(`${this.base}/session/${this.id}${path}`, {
			method,
			headers: { 'content-type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body)
		});
		const json = (await res.json()) as { value: T & { error?: string; message?: string } };
		if (!res.ok) throw new Error(`WebDriver ${method} ${path}: ${json.value?.error}: ${json.value?.message}`);
		return json.value;
	}

	goto(url: string): Promise<void> {
		return this.call('POST', '/url', { url });
	}

	/** Runs `body` (a function body: `return …`) in the page; a returned promise is awaited. */
	run<T>(body: string, ...args: unknown[]): Promise<T> {
		return this.call('POST', '/execute/sync', { script: body, args });
	}

	/** The root's `data-<name>` state attribute, or null before the app renders. */
	stateOf(name: string): Promise<string | null> {
		return this.run(`const r = document.querySelector('[data-testid="app"]'); return r ? r.getAttribute(arguments[0]) : null`, `data-${name}`);
	}

	/** Polls `read` until `ok` holds (every 100 ms), or fails with what it last read. */
	async poll<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeout = 15_000): Promise<T> {
		const until = Date.now() + timeout;
		let last: T = await read();
		while (!ok(last)) {
			if (Date.now() > until) throw new Error(`Timed out after ${timeout} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
			await new Promise((r) => setTimeout(r, 100));
			last = await read();
		}
		return last;
	}

	waitForState(name: string, values: string | string[], timeout = 15_000): Promise<string | null> {
		const want = Array.isArray(values) ? values : [values];
		return this.poll(() => this.stateOf(name), (v) => v !== null && want.includes(v), `data-${name} in ${want.join('|')}`, timeout);
	}

	/** Visible text of the first element with that test id ('' when there is none). */
	textOf(testid: string): Promise<string> {
		return this.run(`const e = document.querySelector('[data-testid="' + arguments[0] + '"]'); return e ? e.innerText : ''`, testid);
	}

	count(selector: string): Promise<number> {
		return this.run(`return document.querySelectorAll(arguments[0]).length`, selector);
	}

	/** A real click through WebDriver (a user gesture), on the first element with that test id. */
	async tap(testid: string): Promise<void> {
		const el = await this.call<Record<string, string>>('POST', '/element', { using: 'css selector', value: `[data-testid="${testid}"]` });
		await this.call('POST', `/element/${Object.values(el)[0]}/click`, {});
	}

	/** A PNG of the window (for looking at a screen while debugging). */
	async screenshot(file: string): Promise<void> {
		fs.writeFileSync(file, Buffer.from(await this.call<string>('GET', '/screenshot'), 'base64'));
	}

	/** Ends the session (MiniBrowser quits) and its driver. */
	async close(): Promise<void> {
		try {
			await this.call('DELETE', '');
		} finally {
			this.ended();
		}
	}
}

/** A WebKitWebDriver on a free port, on `display`; it answers within a few hundred ms. */
async function startDriver(display: string): Promise<{ base: string; proc: ChildProcess }> {
	const port = await freePort();
	const proc = spawn(webkitDriverPath, [`--port=${port}`], { env: { ...process.env, DISPLAY: display }, stdio: 'ignore' });
	const base = `http://127.0.0.1:${port}`;
	const until = Date.now() + 10_000;
	for (;;) {
		const up = await fetch(`${base}/status`).then(
			(r) => r.ok,
			() => false
		);
		if (up) return { base, proc };
		if (Date.now() > until) {
			proc.kill();
			throw new Error('WebKitWebDriver did not answer in 10 s');
		}
		await new Promise((r) => setTimeout(r, 100));
	}
}

/**
 * An Xvfb display for WebKit windows; `open()` starts a MiniBrowser (with a WebKitWebDriver of
 * its own: a driver holds one session at a time, and a test may want two windows).
 */
export async function launchWebKit(): Promise<{ open(options?: WebKitOptions): Promise<WebKitPage>; close(): Promise<void> }> {
	const xvfb = await startXvfb();
	const pages = new Set<WebKitPage>();
	return {
		async open({ mockCameras = true, mediaStream = true }: WebKitOptions = {}) {
			const driver = await startDriver(xvfb.display);
			try {
				const res = await fetch(`${driver.base}/session`, {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({
						capabilities: {
							alwaysMatch: {
								'webkitgtk:browserOptions': {
									binary: miniBrowserPath,
									args: [
										'--automation',
										`--enable-mock-capture-devices=${mockCameras}`,
										`--enable-media-stream=${mediaStream}`,
										'--enable-write-console-messages-to-stdout=false'
									]
								}
							}
						}
					})
				});
				const json = (await res.json()) as { value: { sessionId: string; message?: string } };
				if (!res.ok) throw new Error(`WebKitWebDriver: no session: ${json.value?.message}`);
				const page = new WebKitPage(driver.base, json.value.sessionId, () => {
					pages.delete(page);
					driver.proc.kill();
				});
				pages.add(page);
				// A phone's portrait size (the window; the page gets what the frame leaves).
				await fetch(`${driver.base}/session/${page.id}/window/rect`, {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({ width: 390, height: 844 })
				});
				return page;
			} catch (err) {
				driver.proc.kill();
				throw err;
			}
		},
		async close() {
			await Promise.allSettled([...pages].map((p) => p.close()));
			xvfb.proc.kill();
		}
	};
}
