/**
 * The local CA behind `HTTPS=1` (src/server/certs.js), checked with openssl and a real TLS
 * client: it vouches for this machine and private networks only (a certificate for a public
 * name signed with its key fails to verify), lives a year at most, keeps its keys private, is
 * replaced when it lacks those limits or nears expiry, and the server it certifies is trusted
 * by a client that trusts nothing but ca.crt.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ensureCertificates, isPermittedAddress, PERMITTED } from '../../src/server/certs.js';
import { serve } from '../../src/server/app.js';

const buildDir = path.resolve(import.meta.dirname, '../../build');
const DAY = 86_400_000;

let dir: string;
beforeEach(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camcall-certs-'));
});
afterEach(() => {
	fs.rmSync(dir, { recursive: true, force: true });
});

const file = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' }).toString();

/** `openssl verify` of a leaf against the CA only. */
function verify(leaf: string): { ok: boolean; output: string } {
	const result = spawnSync('openssl', ['verify', '-CAfile', file('ca.crt'), leaf], { encoding: 'utf8' });
	return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

/** A leaf for `san`, signed with the CA's key: what someone holding ca.key could make. (Its CN
 * is no host name: OpenSSL would check a host-like CN against the constraints too.) */
function signLeaf(san: string): { cert: string; key: string } {
	const name = san.replace(/\W/g, '_');
	const key = file(`${name}.key`);
	const cert = file(`${name}.crt`);
	openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', file(`${name}.csr`), '-subj', '/CN=leaf');
	fs.writeFileSync(file(`${name}.ext`), `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
	openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-set_serial', '0x1234',
		'-days', '30', '-extfile', file(`${name}.ext`), '-out', cert);
	return { cert, key };
}

const x509 = (name: string) => new crypto.X509Certificate(fs.readFileSync(file(name)));
const lifetimeDays = (cert: crypto.X509Certificate) => (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY;
const mode = (name: string) => fs.statSync(file(name)).mode & 0o777;

/** A CA as the previous version made it: no name constraints, 825 days. */
function oldStyleCa(days = 825, constraints = false) {
	openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', String(days),
		'-subj', '/CN=CamCall local CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
		...(constraints ? ['-addext', `nameConstraints=critical,${PERMITTED.map((p) => `permitted;${p}`).join(',')}`] : []));
	fs.chmodSync(file('ca.key'), 0o644);
}

/** A server certificate as the previous version made it (397 days then; 200 here, so only its
 * signature tells it from a current one), for the names it would name now. */
function oldStyleServer() {
	fs.writeFileSync(file('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
	openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=CamCall');
	openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
		'-out', file('server.crt'), '-days', '200', '-extfile', file('server.ext'));
	fs.writeFileSync(file('server.san'), 'DNS:localhost,IP:127.0.0.1');
}

describe('a fresh local CA', () => {
	test('signs a server certificate for localhost and the private LAN addresses that verifies against it', () => {
		const certs = ensureCertificates(dir, ['192.168.1.23', '10.1.2.3', '172.20.0.5', '100.64.0.1', '8.8.8.8']);
		expect(certs.caCreated).toBe(true);
		expect(verify(file('server.crt'))).toMatchObject({ ok: true });
		expect(x509('server.crt').subjectAltName).toBe(
			'DNS:localhost, IP Address:127.0.0.1, IP Address:192.168.1.23, IP Address:10.1.2.3, IP Address:172.20.0.5'
		);
		// Outside the constraints: left out (they would make the certificate fail), and said so.
		expect(certs.skipped).toEqual(['100.64.0.1', '8.8.8.8']);
		expect(certs.cert).toBe(fs.readFileSync(file('server.crt'), 'utf8'));
		expect(x509('server.crt').checkPrivateKey(crypto.createPrivateKey(certs.key))).toBe(true);
	});

	test('is a CA phones install: basicConstraints CA:TRUE critical, keyUsage keyCertSign critical; critical name constraints for localhost, .local and private IPv4', () => {
		ensureCertificates(dir, []);
		const text = openssl('x509', '-in', file('ca.crt'), '-noout', '-ext', 'basicConstraints,keyUsage,nameConstraints');
		expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
		expect(text).toMatch(/Key Usage: critical\s+Certificate Sign/);
		expect(text).toMatch(/Name Constraints: critical\s+Permitted:/);
		for (const subtree of ['DNS:localhost', 'DNS:local', 'IP:127.0.0.0/255.0.0.0', 'IP:10.0.0.0/255.0.0.0', 'IP:172.16.0.0/255.240.0.0', 'IP:192.168.0.0/255.255.0.0']) {
			expect(text).toContain(subtree);
		}
		expect(text).not.toContain('Excluded');
		expect(x509('ca.crt').ca).toBe(true);
	});

	test('a certificate for a public name or address signed with the CA key fails to verify (name constraints); local names pass', () => {
		ensureCertificates(dir, []);
		for (const san of ['DNS:example.com', 'DNS:www.google.com', 'DNS:evillocal', 'IP:8.8.8.8', 'IP:172.32.0.1']) {
			const result = verify(signLeaf(san).cert);
			expect(result.ok, san).toBe(false);
			expect(result.output, san).toMatch(/subtree violation/);
		}
		for (const san of ['DNS:phone.local', 'DNS:localhost', 'IP:10.9.8.7', 'IP:192.168.0.10', 'IP:172.31.255.1', 'IP:127.0.0.2']) {
			expect(verify(signLeaf(san).cert), san).toMatchObject({ ok: true });
		}
	});

	test('lives a year at most; the server certificate ends before the CA', () => {
		ensureCertificates(dir, []);
		const ca = x509('ca.crt');
		const server = x509('server.crt');
		expect(lifetimeDays(ca)).toBeLessThanOrEqual(366);
		expect(lifetimeDays(server)).toBeLessThanOrEqual(366);
		expect(lifetimeDays(server)).toBeGreaterThan(300);
		expect(Date.parse(server.validTo)).toBeLessThanOrEqual(Date.parse(ca.validTo));
		expect(Date.parse(server.validFrom)).toBeLessThanOrEqual(Date.now());
	});

	test('its keys are readable by their owner only (0600), in a folder only the owner can enter', () => {
		ensureCertificates(dir, []);
		expect(mode('ca.key').toString(8)).toBe('600');
		expect(mode('server.key').toString(8)).toBe('600');
		expect((fs.statSync(dir).mode & 0o777).toString(8)).toBe('700');
	});

	test('isPermittedAddress follows the private ranges', () => {
		for (const a of ['127.0.0.1', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.255.1']) expect(isPermittedAddress(a), a).toBe(true);
		for (const a of ['172.15.255.255', '172.32.0.0', '192.169.0.1', '100.64.0.1', '8.8.8.8', '::1', 'fe80::1', '']) expect(isPermittedAddress(a), a).toBe(false);
	});
});

describe('an existing CA', () => {
	test('a healthy one is kept, with its server certificate; a new LAN address re-issues only the server certificate', () => {
		ensureCertificates(dir, ['192.168.1.23']);
		const ca = x509('ca.crt').fingerprint256;
		const server = x509('server.crt').fingerprint256;
		const again = ensureCertificates(dir, ['192.168.1.23']);
		expect(again.caCreated).toBe(false);
		expect(x509('ca.crt').fingerprint256).toBe(ca);
		expect(x509('server.crt').fingerprint256).toBe(server);

		ensureCertificates(dir, ['192.168.1.23', '192.168.1.40']);
		expect(x509('ca.crt').fingerprint256).toBe(ca);
		expect(x509('server.crt').fingerprint256).not.toBe(server);
		expect(x509('server.crt').subjectAltName).toContain('192.168.1.40');
		expect(verify(file('server.crt'))).toMatchObject({ ok: true });
	});

	test('one without name constraints is replaced, and its server certificate with it', () => {
		// As the previous version made it (825 days), and a young one within a year.
		for (const days of [825, 300]) {
			oldStyleCa(days);
			oldStyleServer();
			const old = x509('ca.crt').fingerprint256;
			const certs = ensureCertificates(dir, []);
			expect(certs.caCreated, `${days} days`).toBe(true);
			expect(x509('ca.crt').fingerprint256).not.toBe(old);
			expect(openssl('x509', '-in', file('ca.crt'), '-noout', '-ext', 'nameConstraints')).toContain('DNS:local');
			expect(verify(file('server.crt'))).toMatchObject({ ok: true });
			expect(mode('ca.key').toString(8)).toBe('600');
		}
	});

	test('one near expiry, or living longer than a year, is replaced', () => {
		oldStyleCa(10, true);
		const near = x509('ca.crt').fingerprint256;
		expect(ensureCertificates(dir, []).caCreated).toBe(true);
		expect(x509('ca.crt').fingerprint256).not.toBe(near);

		oldStyleCa(800, true);
		const long = x509('ca.crt').fingerprint256;
		expect(ensureCertificates(dir, []).caCreated).toBe(true);
		expect(x509('ca.crt').fingerprint256).not.toBe(long);
		expect(lifetimeDays(x509('ca.crt'))).toBeLessThanOrEqual(366);
	});

	test('a key left world-readable is made private again', () => {
		ensureCertificates(dir, []);
		fs.chmodSync(file('server.key'), 0o644);
		fs.chmodSync(file('ca.key'), 0o644);
		expect(ensureCertificates(dir, []).caCreated).toBe(false);
		expect(mode('ca.key').toString(8)).toBe('600');
		expect(mode('server.key').toString(8)).toBe('600');
	});
});

describe('over TLS', () => {
	function get(port: number, options: https.RequestOptions): Promise<number> {
		return new Promise((resolve, reject) => {
			const req = https.request({ host: '127.0.0.1', port, path: '/signaling.json', agent: false, ...options }, (res) => {
				res.resume();
				resolve(res.statusCode ?? 0);
			});
			req.on('error', reject);
			req.end();
		});
	}

	test('a Node https client that trusts only ca.crt connects to the HTTPS server; one that does not is refused', async () => {
		const certs = ensureCertificates(dir, []);
		const ca = fs.readFileSync(certs.caPath);
		const server = await serve({ buildDir, host: '127.0.0.1', port: 0, peerServer: false, app: false, tls: { key: certs.key, cert: certs.cert } });
		try {
			expect(await get(server.port, { ca })).toBe(200);
			expect(await get(server.port, { ca, servername: 'localhost', headers: { host: 'localhost' } })).toBe(200);
			await expect(get(server.port, {})).rejects.toThrow(/self.signed|unable to (get|verify)/i);
		} finally {
			await server.close();
		}
	});

	test('a server presenting a public name signed with the CA key is refused by that same client', async () => {
		ensureCertificates(dir, []);
		const rogue = signLeaf('DNS:example.com');
		const server = https.createServer({ key: fs.readFileSync(rogue.key), cert: fs.readFileSync(rogue.cert) }, (_req, res) => res.end('hi'));
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const { port } = server.address() as import('node:net').AddressInfo;
		try {
			await expect(get(port, { ca: fs.readFileSync(file('ca.crt')), servername: 'example.com', headers: { host: 'example.com' } })).rejects.toThrow(
				/subtree|constraint/i
			);
		} finally {
			server.close();
		}
	});
});
