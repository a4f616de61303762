// The built PWA, served from memory, and the headers every response carries.
//
// A phone on a first visit pays for every byte: each text file goes out as brotli or gzip,
// compressed once at build time (precompress.js) and chosen per request by Accept-Encoding.
// The Content-Security-Policy allows only the app's own scripts: its files, and the inline
// scripts of the built HTML by hash (computed here from the build, so a rebuild needs no edit).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { brotli, gzip, isCompressible, listFiles, SUFFIX } from './precompress.js';

/** @typedef {'br' | 'gzip' | 'identity'} Encoding */
/** @typedef {{ body: Buffer, etag: string }} Variant */
/**
 * @typedef {object} Asset
 * @property {string} type          Content-Type of the original file
 * @property {string} cacheControl
 * @property {Encoding[]} encodings  what this asset can be sent as, best first; identity last
 * @property {Partial<Record<Encoding, Variant>>} variants
 */
/**
 * @typedef {object} Build
 * @property {Map<string, Asset>} assets   URL path (`/_app/…`, `/index.html`) → asset
 * @property {string[]} scriptHashes       CSP sources (`'sha256-…'`) of the HTML's inline scripts
 */

/** @type {Record<string, string>} */
const TYPES = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.mjs': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.json': 'application/json; charset=utf-8',
	'.map': 'application/json; charset=utf-8',
	'.webmanifest': 'application/manifest+json; charset=utf-8',
	'.txt': 'text/plain; charset=utf-8',
	'.xml': 'application/xml; charset=utf-8',
	'.svg': 'image/svg+xml',
	'.png': 'image/png',
	'.jpg': 'image/jpeg',
	'.jpeg': 'image/jpeg',
	'.webp': 'image/webp',
	'.avif': 'image/avif',
	'.gif': 'image/gif',
	'.ico': 'image/x-icon',
	'.woff2': 'font/woff2',
	'.woff': 'font/woff',
	'.wasm': 'application/wasm'
};

/** @param {string} file */
export function contentType(file) {
	return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Hashed file names never change content; the worker, its workbox runtime, the HTML shell and
 * the manifest must be revalidated or updates never arrive; the rest (icons) revalidate too.
 * @param {string} urlPath
 */
export function cacheControlFor(urlPath) {
	if (urlPath.startsWith('/_app/immutable/')) return 'public, max-age=31536000, immutable';
	return 'no-cache';
}

/** @param {Buffer} body */
function etagOf(body) {
	return `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/**
 * The CSP sources of the inline scripts in `html`. The browser hashes a script's text as
 * parsed, where CRLF has become LF.
 * @param {string} html
 * @returns {string[]}
 */
export function inlineScriptHashes(html) {
	/** @type {string[]} */
	const hashes = [];
	for (const [, attributes, text] of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)) {
		if (/\bsrc\s*=/i.test(attributes)) continue;
		const source = text.replace(/\r\n?/g, '\n');
		hashes.push(`'sha256-${crypto.createHash('sha256').update(source, 'utf8').digest('base64')}'`);
	}
	return hashes;
}

/**
 * Reads the build into memory with its compressed variants (written by precompress.js; made
 * here instead, in memory, where missing or older than their file, e.g. after a bare
 * `vite build`).
 * @param {string} buildDir
 * @returns {Build}
 */
export function loadBuild(buildDir) {
	/** @type {Map<string, Asset>} */
	const assets = new Map();
	/** @type {Set<string>} */
	const scriptHashes = new Set();
	for (const file of listFiles(buildDir)) {
		const abs = path.join(buildDir, file);
		const body = fs.readFileSync(abs);
		/** @type {Partial<Record<Encoding, Variant>>} */
		const variants = { identity: { body, etag: etagOf(body) } };
		if (isCompressible(file)) {
			const mtime = fs.statSync(abs).mtimeMs;
			for (const encoding of /** @type {const} */ (['br', 'gzip'])) {
				const variantFile = abs + SUFFIX[encoding];
				const onDisk = fs.existsSync(variantFile) && fs.statSync(variantFile).mtimeMs >= mtime;
				const compressed = onDisk ? fs.readFileSync(variantFile) : encoding === 'br' ? brotli(body) : gzip(body);
				// A tiny file can grow when compressed: then it only goes out as it is.
				if (compressed.length < body.length) variants[encoding] = { body: compressed, etag: etagOf(compressed) };
			}
		}
		if (file.endsWith('.html')) for (const hash of inlineScriptHashes(body.toString('utf8'))) scriptHashes.add(hash);
		const urlPath = `/${file}`;
		assets.set(urlPath, {
			type: contentType(file),
			cacheControl: cacheControlFor(urlPath),
			encodings: /** @type {Encoding[]} */ (['br', 'gzip', 'identity']).filter((e) => variants[e]),
			variants
		});
	}
	return { assets, scriptHashes: [...scriptHashes] };
}

/**
 * Picks the encoding to send: the highest q the client gives among `available`, ties to the
 * earlier one (br before gzip before identity). An unlisted encoding takes the q of `*`, else
 * 0; identity, unless listed or refused through `*`, is acceptable but last (RFC 9110 12.5.3).
 * No header: identity. When the client refuses all of them, identity anyway.
 * @param {string | undefined} header  Accept-Encoding
 * @param {Encoding[]} available        best first
 * @returns {Encoding}
 */
export function chooseEncoding(header, available) {
	/** @type {Map<string, number>} */
	const q = new Map();
	for (const part of (header ?? '').split(',')) {
		const [name, ...params] = part.trim().toLowerCase().split(';');
		if (!name) continue;
		let value = 1;
		for (const param of params) {
			const [key, raw] = param.trim().split('=');
			if (key === 'q') value = Number.isFinite(Number(raw)) ? Number(raw) : 0;
		}
		q.set(name === 'x-gzip' ? 'gzip' : name, value);
	}
	const wildcard = q.get('*');
	/** @param {Encoding} encoding */
	const qualityOf = (encoding) => q.get(encoding) ?? wildcard ?? (encoding === 'identity' ? Number.MIN_VALUE : 0);
	/** @type {Encoding} */
	let best = 'identity';
	let bestQ = 0;
	for (const encoding of available) {
		const value = qualityOf(encoding);
		if (value > bestQ) [best, bestQ] = [encoding, value];
	}
	return best;
}

/** If-None-Match against an ETag, weak comparison (RFC 9110 13.1.2). @param {string | undefined} header @param {string} etag */
function notModified(header, etag) {
	if (!header) return false;
	if (header.trim() === '*') return true;
	return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/**
 * @param {import('express').Request} req
 * @param {import('express').Response} res
 * @param {Asset} asset
 */
function sendAsset(req, res, asset) {
	const encoding = chooseEncoding(req.headers['accept-encoding'], asset.encodings);
	const variant = /** @type {Variant} */ (asset.variants[encoding]);
	res.setHeader('Content-Type', asset.type);
	res.setHeader('Cache-Control', asset.cacheControl);
	if (asset.encodings.length > 1) res.vary('Accept-Encoding');
	if (encoding !== 'identity') res.setHeader('Content-Encoding', encoding);
	res.setHeader('ETag', variant.etag);
	if (notModified(req.headers['if-none-match'], variant.etag)) {
		res.statusCode = 304;
		res.end();
		return;
	}
	res.setHeader('Content-Length', variant.body.length);
	res.statusCode = 200;
	if (req.method === 'HEAD') res.end();
	else res.end(variant.body);
}

/** The file a URL path names: itself, or `x.html` / `x/index.html` for `x` (and `/`). @param {Build} build @param {string} urlPath */
function lookup(build, urlPath) {
	const exact = build.assets.get(urlPath);
	if (exact) return exact;
	if (urlPath.endsWith('/')) return build.assets.get(`${urlPath}index.html`);
	return build.assets.get(`${urlPath}.html`) ?? build.assets.get(`${urlPath}/index.html`);
}

/**
 * Serves the build: its files as they are, the app shell (index.html) for navigations to the
 * app's routes (/inspect, /gallery, /?call=…), and 404 for a missing file, so a stale
 * `/_app/` chunk or a mistyped asset fails visibly instead of arriving as HTML. Leaves
 * `/peerjs` and everything but GET and HEAD to later handlers.
 * @param {import('express').Express} app
 * @param {Build} build
 */
export function mountApp(app, build) {
	const shell = build.assets.get('/index.html');
	app.use((req, res, next) => {
		if (req.method !== 'GET' && req.method !== 'HEAD') return next();
		if (req.path === '/peerjs' || req.path.startsWith('/peerjs/')) return next();
		let urlPath;
		try {
			urlPath = decodeURIComponent(req.path);
		} catch {
			res.status(400).type('text/plain').send('Bad request');
			return;
		}
		const asset = lookup(build, urlPath);
		if (asset) return sendAsset(req, res, asset);
		if (!shell || urlPath.startsWith('/_app/') || path.posix.extname(urlPath)) {
			res.setHeader('Cache-Control', 'no-cache');
			res.status(404).type('text/plain').send('Not found');
			return;
		}
		sendAsset(req, res, shell);
	});
}

/**
 * @typedef {object} SecurityOptions
 * @property {string[]} [scriptHashes]  CSP sources of the inline scripts allowed to run
 * @property {boolean} [tls]            serving HTTPS: send HSTS
 * @property {number} [signalingPort]   the PeerServer is on this port of the same host
 */

/** A Host header's name part, when it is a plain DNS name or IP literal. @param {string} host */
function safeHostname(host) {
	const match = /^([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/i.exec(host);
	return match ? { name: match[1].toLowerCase(), port: match[2] } : null;
}

/**
 * The page's Content-Security-Policy. connect-src names the signaling WebSocket's origin
 * (ws: or wss:) explicitly: browsers before CSP level 3 do not match it with 'self'.
 * @param {string | undefined} host  the request's Host header
 * @param {SecurityOptions} options
 */
export function contentSecurityPolicy(host, { scriptHashes = [], tls = false, signalingPort } = {}) {
	/** @type {string[]} */
	const signaling = [];
	const parsed = safeHostname(host ?? '');
	if (parsed) {
		const port = signalingPort ?? parsed.port;
		const at = port ? `${parsed.name}:${port}` : parsed.name;
		signaling.push(`${tls ? 'wss' : 'ws'}://${at}`);
		// PeerJS asks a PeerServer on another port for a fresh ID over HTTP(S).
		if (signalingPort !== undefined) signaling.push(`${tls ? 'https' : 'http'}://${at}`);
	}
	return [
		"default-src 'self'",
		['script-src', "'self'", ...scriptHashes].join(' '),
		// Style sheets only from the app. Style attributes in markup are allowed: SvelteKit's
		// route announcer and app.html's wrapper have them (Svelte's own dynamic styles go through
		// the CSSOM, which CSP does not restrict). Browsers without CSP3 ignore style-src-attr and
		// drop those attributes (app.css hides the announcer for them).
		"style-src 'self'",
		"style-src-attr 'unsafe-inline'",
		// Photos and the gallery are blob: URLs, the QR code a data: SVG.
		"img-src 'self' blob: data:",
		"media-src 'self' blob:",
		// blob: reads back an object URL the page made itself (the tests hash a stored photo so);
		// it reaches no other origin.
		['connect-src', "'self'", 'blob:', ...signaling].join(' '),
		"worker-src 'self'",
		"manifest-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"frame-ancestors 'none'",
		"form-action 'self'"
	].join('; ');
}

/**
 * The build's hashed scripts and styles: only ever loaded by the page, never rendered as a
 * document nor run as a worker, so a browser ignores a CSP sent with them. Sending it anyway
 * costs ~0.5 KB per response, 8 KB of a first visit's 100 KB budget. (Vite puts workers under
 * `workers/`; those do get it.)
 */
const SUBRESOURCE = /^\/_app\/immutable\/(?!workers\/)[^?]*\.(js|css)$/;

/**
 * Headers for every response: the CSP for everything a browser may render or run as a worker,
 * nosniff, no referrer; HSTS only over HTTPS, and not for localhost: a browser would then
 * upgrade every other http://localhost server on the machine for a year.
 * @param {SecurityOptions} options
 * @returns {import('express').RequestHandler}
 */
export function securityHeaders(options) {
	return (req, res, next) => {
		if (!SUBRESOURCE.test(req.path)) res.setHeader('Content-Security-Policy', contentSecurityPolicy(req.headers.host, options));
		res.setHeader('X-Content-Type-Options', 'nosniff');
		res.setHeader('Referrer-Policy', 'no-referrer');
		if (options.tls && !/(^|\.)localhost$/i.test(req.hostname)) {
			res.setHeader('Strict-Transport-Security', 'max-age=31536000');
		}
		next();
	};
}
