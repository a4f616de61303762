/**
 * The HTTP side of `npm start` (src/server/app.js + static.js) against the production build,
 * over real sockets with a raw client (no fetch: it would add Accept-Encoding and decompress):
 * encodings per Accept-Encoding, ETags and 304, HEAD, the security headers and their CSP, the
 * cache policy, 404s, and the SPA fallback.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serve } from '../../src/server/app.js';
import { ensureCertificates } from '../../src/server/certs.js';
import { chooseEncoding } from '../../src/server/static.js';
import { needsPrecompress, precompress } from '../../src/server/precompress.js';

const root = path.resolve(import.meta.dirname, '../..');
const buildDir = path.join(root, 'build');

type Served = Awaited<ReturnType<typeof serve>>;
interface Reply {
	status: number;
	headers: http.IncomingHttpHeaders;
	body: Buffer;
}

function request(
	url: string,
	{ method = 'GET', headers = {}, ca }: { method?: string; headers?: Record<string, string>; ca?: string } = {}
): Promise<Reply> {
	return new Promise((resolve, reject) => {
		const client = url.startsWith('https:') ? https : http;
		const req = client.request(url, { method, headers, ca, agent: false }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (c: Buffer) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
		});
		req.on('error', reject);
		req.end();
	});
}

const decoders: Record<string, (b: Buffer) => Buffer> = {
	br: (b) => zlib.brotliDecompressSync(b),
	gzip: (b) => zlib.gunzipSync(b),
	identity: (b) => b
};
const decoded = (reply: Reply) => decoders[(reply.headers['content-encoding'] as string) ?? 'identity'](reply.body);

/** The CSP as directive → sources. */
function parseCsp(header: string | undefined): Map<string, string[]> {
	expect(header, 'Content-Security-Policy').toBeTruthy();
	const out = new Map<string, string[]>();
	for (const part of header!.split(';')) {
		const [name, ...sources] = part.trim().split(/\s+/);
		if (name) {
			expect(out.has(name), `directive ${name} given twice`).toBe(false);
			out.set(name, sources);
		}
	}
	return out;
}

/** The inline scripts of an HTML document, hashed the way a browser does for CSP. */
function inlineHashes(html: string): string[] {
	return [...html.matchAll(/<script(\s[^>]*)?>([\s\S]*?)<\/script>/g)]
		.filter((m) => !/\ssrc=/.test(m[1] ?? ''))
		.map((m) => `'sha256-${crypto.createHash('sha256').update(m[2]).digest('base64')}'`);
}

const built = (file: string) => fs.readFileSync(path.join(buildDir, file));
const builtFiles = (dir: string, ext: string) =>
	fs.readdirSync(path.join(buildDir, dir)).filter((f) => f.endsWith(ext)).map((f) => `${dir}/${f}`);
/** The biggest file of a kind: the one where compression matters. */
const biggest = (files: string[]) => files.sort((a, b) => built(b).length - built(a).length)[0];

let server: Served;
let url: string;
let chunk: string;
let css: string;
let workbox: string;

beforeAll(async () => {
	if (!fs.existsSync(path.join(buildDir, 'index.html'))) throw new Error('No production build: run `npm run build` first (npm test does).');
	server = await serve({ buildDir, host: '127.0.0.1', port: 0 });
	url = server.url;
	chunk = biggest(builtFiles('_app/immutable/chunks', '.js'));
	css = biggest(builtFiles('_app/immutable/assets', '.css'));
	workbox = fs.readdirSync(buildDir).find((f) => /^workbox-.*\.js$/.test(f))!;
	expect(workbox).toBeTruthy();
});
afterAll(async () => {
	await server?.close();
});

describe('compression', () => {
	const types: [string, string][] = [
		['index.html', 'text/html; charset=utf-8'],
		['__chunk__', 'text/javascript; charset=utf-8'],
		['__css__', 'text/css; charset=utf-8'],
		['manifest.webmanifest', 'application/manifest+json; charset=utf-8'],
		['favicon.svg', 'image/svg+xml'],
		['sw.js', 'text/javascript; charset=utf-8']
	];
	const fileOf = (name: string) => (name === '__chunk__' ? chunk : name === '__css__' ? css : name);

	test.each(types)('%s: br, gzip or identity as asked, each decompressing to the file, with its own type, length and Vary', async (name, type) => {
		const file = fileOf(name);
		const original = built(file);
		const sizes: Record<string, number> = {};
		for (const [ask, expected] of [
			['br', 'br'],
			['gzip', 'gzip'],
			['', 'identity'],
			['gzip, deflate, br, zstd', 'br'],
			['deflate', 'identity']
		] as const) {
			const reply = await request(`${url}/${file}`, { headers: ask ? { 'accept-encoding': ask } : {} });
			expect(reply.status, `${file} ${ask}`).toBe(200);
			expect(reply.headers['content-encoding'] ?? 'identity', `${file} asked "${ask}"`).toBe(expected);
			expect(reply.headers['content-type']).toBe(type);
			expect(reply.headers.vary).toBe('Accept-Encoding');
			expect(Number(reply.headers['content-length'])).toBe(reply.body.length);
			expect(decoded(reply).equals(original), `${file} ${expected} decodes to the file`).toBe(true);
			sizes[expected] = reply.body.length;
		}
		expect(sizes.br).toBeLessThanOrEqual(sizes.gzip);
		expect(sizes.gzip).toBeLessThan(sizes.identity);
	});

	test('`npm run build` left a .br and a .gz beside every text file', () => {
		expect(needsPrecompress(buildDir)).toBe(false);
		expect(fs.existsSync(path.join(buildDir, `${chunk}.br`))).toBe(true);
		expect(fs.existsSync(path.join(buildDir, 'index.html.gz'))).toBe(true);
	});

	test('the JavaScript goes out at under 30 % of its size (brotli at its best setting)', async () => {
		const reply = await request(`${url}/${chunk}`, { headers: { 'accept-encoding': 'br' } });
		expect(reply.body.length).toBeLessThan(built(chunk).length * 0.3);
		expect(reply.body.length).toBeLessThanOrEqual(zlib.brotliCompressSync(built(chunk)).length);
	});

	test('q=0 refuses an encoding; the highest q wins; ties go to br', async () => {
		const cases: [string, string][] = [
			['br;q=0, gzip', 'gzip'],
			['gzip, br;q=0', 'gzip'],
			['br;q=0, gzip;q=0', 'identity'],
			['br;q=0.4, gzip;q=0.5', 'gzip'],
			['BR;Q=0.9, gzip;q=0.5', 'br'],
			['gzip;q=1.0, br;q=1', 'br'],
			['*', 'br'],
			['*;q=0, gzip', 'gzip'],
			['*;q=0', 'identity'],
			['identity;q=0, gzip', 'gzip'],
			['x-gzip', 'gzip'],
			['br;q=0.000', 'identity']
		];
		for (const [ask, expected] of cases) {
			const reply = await request(`${url}/index.html`, { headers: { 'accept-encoding': ask } });
			expect(reply.headers['content-encoding'] ?? 'identity', `Accept-Encoding: ${ask}`).toBe(expected);
			expect(decoded(reply).equals(built('index.html'))).toBe(true);
		}
		expect(chooseEncoding(undefined, ['br', 'gzip', 'identity'])).toBe('identity');
		expect(chooseEncoding('br', ['identity'])).toBe('identity');
	});

	test('a file that compression would not shrink goes out as it is, without Vary; images are not compressed', async () => {
		const version = await request(`${url}/_app/version.json`, { headers: { 'accept-encoding': 'br, gzip' } });
		expect(version.status).toBe(200);
		expect(version.headers['content-encoding']).toBeUndefined();
		expect(version.headers.vary).toBeUndefined();
		expect(version.body.equals(built('_app/version.json'))).toBe(true);
		const icon = await request(`${url}/icons/icon-192.png`, { headers: { 'accept-encoding': 'br, gzip' } });
		expect(icon.headers['content-type']).toBe('image/png');
		expect(icon.headers['content-encoding']).toBeUndefined();
		expect(icon.body.equals(built('icons/icon-192.png'))).toBe(true);
	});

	test('a build without .br/.gz files (bare vite build) is still served compressed; precompress writes them', async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camcall-build-'));
		try {
			fs.cpSync(buildDir, dir, { recursive: true, filter: (src) => !/\.(br|gz)$/.test(src) });
			expect(needsPrecompress(dir)).toBe(true);
			const bare = await serve({ buildDir: dir, host: '127.0.0.1', port: 0, peerServer: false });
			try {
				const reply = await request(`${bare.url}/${chunk}`, { headers: { 'accept-encoding': 'br' } });
				expect(reply.headers['content-encoding']).toBe('br');
				expect(decoded(reply).equals(built(chunk))).toBe(true);
			} finally {
				await bare.close();
			}
			precompress(dir);
			expect(needsPrecompress(dir)).toBe(false);
			const br = fs.readFileSync(path.join(dir, `${chunk}.br`));
			const gz = fs.readFileSync(path.join(dir, `${chunk}.gz`));
			expect(zlib.brotliDecompressSync(br).equals(built(chunk))).toBe(true);
			expect(zlib.gunzipSync(gz).equals(built(chunk))).toBe(true);
			// The best settings: brotli quality 11 (Node's default), gzip level 9.
			expect(br.length).toBeLessThanOrEqual(zlib.brotliCompressSync(built(chunk)).length);
			expect(gz.length).toBe(zlib.gzipSync(built(chunk), { level: 9 }).length);
			expect(fs.existsSync(path.join(dir, 'icons/icon-192.png.br'))).toBe(false);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});

describe('validation and HEAD', () => {
	test('each variant has its own ETag; If-None-Match with it → 304 without a body', async () => {
		const file = `${url}/${chunk}`;
		const tags: Record<string, string> = {};
		for (const enc of ['br', 'gzip', 'identity']) {
			const reply = await request(file, { headers: { 'accept-encoding': enc } });
			tags[enc] = reply.headers.etag as string;
			expect(tags[enc]).toMatch(/^"[^"]+"$/);
		}
		expect(new Set(Object.values(tags)).size).toBe(3);

		const again = await request(file, { headers: { 'accept-encoding': 'br', 'if-none-match': tags.br } });
		expect(again.status).toBe(304);
		expect(again.body.length).toBe(0);
		expect(again.headers.etag).toBe(tags.br);
		expect(again.headers.vary).toBe('Accept-Encoding');
		expect(again.headers['cache-control']).toBe('public, max-age=31536000, immutable');
		for (const inm of [`W/${tags.br}`, `"nope", ${tags.br}`, '*']) {
			expect((await request(file, { headers: { 'accept-encoding': 'br', 'if-none-match': inm } })).status, inm).toBe(304);
		}
		// Another variant's tag, or a stale one: the full body.
		const other = await request(file, { headers: { 'accept-encoding': 'gzip', 'if-none-match': tags.br } });
		expect(other.status).toBe(200);
		expect(decoded(other).equals(built(chunk))).toBe(true);
		expect((await request(file, { headers: { 'if-none-match': '"stale"' } })).status).toBe(200);
	});

	test('the shell revalidates to 304 as well', async () => {
		const first = await request(`${url}/inspect`, { headers: { 'accept-encoding': 'gzip' } });
		const second = await request(`${url}/gallery`, { headers: { 'accept-encoding': 'gzip', 'if-none-match': first.headers.etag as string } });
		expect(second.status).toBe(304);
	});

	test('HEAD: the same headers as GET, no body', async () => {
		for (const target of ['/', `/${chunk}`, '/inspect']) {
			const get = await request(url + target, { headers: { 'accept-encoding': 'br' } });
			const head = await request(url + target, { method: 'HEAD', headers: { 'accept-encoding': 'br' } });
			expect(head.status).toBe(200);
			expect(head.body.length).toBe(0);
			for (const name of ['content-type', 'content-length', 'content-encoding', 'etag', 'cache-control', 'vary']) {
				expect(head.headers[name], `${target} ${name}`).toBe(get.headers[name]);
			}
		}
	});
});

describe('headers', () => {
	test('the HTML carries a CSP that allows exactly its own inline scripts, and locks the rest down', async () => {
		const reply = await request(`${url}/`, { headers: { 'accept-encoding': 'br' } });
		const html = decoded(reply).toString('utf8');
		const hashes = inlineHashes(html);
		// app.html's install-prompt keeper and SvelteKit's boot script.
		expect(hashes.length).toBeGreaterThanOrEqual(2);
		const csp = parseCsp(reply.headers['content-security-policy'] as string);
		const scriptSrc = csp.get('script-src') ?? [];
		expect(scriptSrc[0]).toBe("'self'");
		expect(scriptSrc.slice(1).sort()).toEqual([...hashes].sort());
		expect(csp.get('default-src')).toEqual(["'self'"]);
		expect(csp.get('style-src')).toEqual(["'self'"]);
		expect(csp.get('style-src-attr')).toEqual(["'unsafe-inline'"]);
		expect(csp.get('img-src')).toEqual(["'self'", 'blob:', 'data:']);
		expect(csp.get('media-src')).toEqual(["'self'", 'blob:']);
		expect(csp.get('connect-src')).toEqual(["'self'", 'blob:', `ws://127.0.0.1:${server.port}`]);
		expect(csp.get('worker-src')).toEqual(["'self'"]);
		expect(csp.get('manifest-src')).toEqual(["'self'"]);
		expect(csp.get('object-src')).toEqual(["'none'"]);
		expect(csp.get('base-uri')).toEqual(["'none'"]);
		expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
		expect(csp.get('form-action')).toEqual(["'self'"]);
		expect(reply.headers['content-security-policy']).not.toMatch(/unsafe-eval|\*/);
		expect(reply.headers['x-content-type-options']).toBe('nosniff');
		expect(reply.headers['referrer-policy']).toBe('no-referrer');
		expect(reply.headers['strict-transport-security']).toBeUndefined();
	});

	test('every response has nosniff and no-referrer; the CSP goes with everything but the hashed scripts and styles', async () => {
		for (const target of ['/', '/inspect', '/sw.js', `/${workbox}`, '/manifest.webmanifest', '/favicon.svg', '/signaling.json', '/_app/x.js', `/${chunk}`, `/${css}`]) {
			const reply = await request(url + target);
			expect(reply.headers['x-content-type-options'], target).toBe('nosniff');
			expect(reply.headers['referrer-policy'], target).toBe('no-referrer');
			const subresource = target === `/${chunk}` || target === `/${css}`;
			expect(!!reply.headers['content-security-policy'], target).toBe(!subresource);
		}
	});

	test('connect-src follows the Host the page was loaded from, and the advertised signaling port', async () => {
		const lan = await request(`${url}/`, { headers: { host: '192.168.1.20:8080' } });
		expect(parseCsp(lan.headers['content-security-policy'] as string).get('connect-src')).toEqual(["'self'", 'blob:', 'ws://192.168.1.20:8080']);
		const bare = await request(`${url}/`, { headers: { host: 'camcall.local' } });
		expect(parseCsp(bare.headers['content-security-policy'] as string).get('connect-src')).toEqual(["'self'", 'blob:', 'ws://camcall.local']);
		// Anything but a host name or address stays out of the header.
		const junk = await request(`${url}/`, { headers: { host: "evil.test; script-src *'" } });
		expect(junk.status).toBe(200);
		expect(parseCsp(junk.headers['content-security-policy'] as string).get('connect-src')).toEqual(["'self'", 'blob:']);

		const elsewhere = await serve({ buildDir, host: '127.0.0.1', port: 0, peerServer: false, signalingPort: 9999 });
		try {
			const reply = await request(`${elsewhere.url}/`);
			expect(parseCsp(reply.headers['content-security-policy'] as string).get('connect-src')).toEqual([
				"'self'",
				'blob:',
				'ws://127.0.0.1:9999',
				'http://127.0.0.1:9999'
			]);
		} finally {
			await elsewhere.close();
		}
	});
});

describe('caching', () => {
	test('hashed files are immutable for a year; the worker, its runtime, the shell and the manifest revalidate', async () => {
		for (const target of [`/${chunk}`, `/${css}`, '/_app/immutable/entry/' + fs.readdirSync(path.join(buildDir, '_app/immutable/entry'))[0]]) {
			expect((await request(url + target)).headers['cache-control'], target).toBe('public, max-age=31536000, immutable');
		}
		for (const target of ['/', '/index.html', '/inspect', '/sw.js', `/${workbox}`, '/manifest.webmanifest']) {
			expect((await request(url + target)).headers['cache-control'], target).toBe('no-cache');
		}
		expect((await request(`${url}/signaling.json`)).headers['cache-control']).toBe('no-store');
	});
});

describe('routes', () => {
	test('navigations to the app routes get the shell, 200, no-cache', async () => {
		const shell = built('index.html');
		for (const target of ['/', '/inspect', '/gallery', '/?call=abc-def', '/inspect/', '/gallery?x=1']) {
			const reply = await request(url + target, { headers: { 'accept-encoding': 'gzip' } });
			expect(reply.status, target).toBe(200);
			expect(reply.headers['content-type'], target).toBe('text/html; charset=utf-8');
			expect(reply.headers['cache-control'], target).toBe('no-cache');
			expect(decoded(reply).equals(shell), target).toBe(true);
		}
	});

	test('a missing file is a 404, never the shell: anything under /_app/, any path with an extension', async () => {
		for (const target of ['/_app/x.js', '/_app/immutable/chunks/gone.js', '/_app/immutable/assets/gone.css', '/_app/', '/_app/version', '/nope.png', '/robots.txt', '/index.html.br', `/${chunk}.gz`, '/icons/x.png']) {
			for (const method of ['GET', 'HEAD']) {
				const reply = await request(url + target, { method });
				expect(reply.status, `${method} ${target}`).toBe(404);
				expect(reply.headers['content-type'], target).not.toMatch(/html/);
			}
		}
		expect((await request(`${url}/%E0%A4%A`)).status).toBe(400);
	});

	test('/peerjs and other methods pass through to the handlers after it', async () => {
		const id = await request(`${url}/peerjs/peerjs/id`);
		expect(id.status).toBe(200);
		expect(id.body.toString()).toMatch(/^[\w-]+$/);
		const noPeer = await serve({ buildDir, host: '127.0.0.1', port: 0, peerServer: false });
		try {
			for (const target of ['/peerjs', '/peerjs/peerjs/id', '/peerjs/x.js']) {
				const reply = await request(noPeer.url + target);
				expect(reply.status, target).toBe(404);
				// Express's own 404, not the app's.
				expect(reply.body.toString(), target).toContain('Cannot GET');
			}
			expect((await request(`${noPeer.url}/`, { method: 'POST' })).body.toString()).toContain('Cannot POST');
		} finally {
			await noPeer.close();
		}
	});

	test('overrides and extraStatic still answer before the build', async () => {
		let swBody: string | undefined = '// changed';
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camcall-extra-'));
		fs.writeFileSync(path.join(dir, 'page.html'), '<p>bench</p>');
		const other = await serve({
			buildDir,
			host: '127.0.0.1',
			port: 0,
			peerServer: false,
			overrides: { '/sw.js': () => swBody },
			extraStatic: { '/bench': dir }
		});
		try {
			const sw = await request(`${other.url}/sw.js`);
			expect(sw.body.toString()).toBe('// changed');
			expect(sw.headers['cache-control']).toBe('no-cache');
			swBody = undefined;
			expect(decoded(await request(`${other.url}/sw.js`)).equals(built('sw.js'))).toBe(true);
			const page = await request(`${other.url}/bench/page.html`);
			expect(page.body.toString()).toBe('<p>bench</p>');
			expect(page.headers['x-content-type-options']).toBe('nosniff');
		} finally {
			await other.close();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});

describe('over HTTPS', () => {
	let dir: string;
	let secure: Served;
	let ca: string;
	beforeAll(async () => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camcall-tls-'));
		const certs = ensureCertificates(dir, []);
		ca = fs.readFileSync(certs.caPath, 'utf8');
		secure = await serve({ buildDir, host: '127.0.0.1', port: 0, peerServer: false, tls: { key: certs.key, cert: certs.cert }, caCertPath: certs.caPath });
	});
	afterAll(async () => {
		await secure?.close();
		fs.rmSync(dir, { recursive: true, force: true });
	});

	test('HSTS for a year, wss: for signaling; not for localhost (it would pin every localhost server)', async () => {
		const reply = await request(`${secure.url}/`, { ca });
		expect(reply.status).toBe(200);
		expect(reply.headers['strict-transport-security']).toBe('max-age=31536000');
		expect(parseCsp(reply.headers['content-security-policy'] as string).get('connect-src')).toEqual(["'self'", 'blob:', `wss://127.0.0.1:${secure.port}`]);
		const local = await request(`${secure.url}/`, { ca, headers: { host: `localhost:${secure.port}` } });
		expect(local.status).toBe(200);
		expect(local.headers['strict-transport-security']).toBeUndefined();
	});

	test('/ca.crt: the CA certificate, with the type phones install from', async () => {
		const reply = await request(`${secure.url}/ca.crt`, { ca });
		expect(reply.status).toBe(200);
		expect(reply.headers['content-type']).toBe('application/x-x509-ca-cert');
		expect(new crypto.X509Certificate(reply.body).ca).toBe(true);
		expect(reply.body.toString()).toBe(ca);
	});
});
