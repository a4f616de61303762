// HTTPS=1: a small local certificate authority, made at first start (in a git-ignored
// folder), and a server certificate for localhost and this machine's LAN addresses signed by
// it. A phone that trusts the CA (served at /ca.crt) gets a real secure context, so the camera,
// the service worker and install all work; a bare self-signed certificate would break the
// service worker.
//
// A CA on a phone is trusted for every site, so this one is made harmless outside the LAN: its
// name constraints let it vouch only for localhost, *.local and private addresses (a
// certificate for a public name signed with its key fails to verify), it lives a year at most
// (phones trust it again after that), and its key is readable by its owner only.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const DAY = 86_400_000;
/** The CA's lifetime, and the server certificate's at most (which never outlives the CA). */
export const MAX_DAYS = 365;
/** Certificates with less left than this are made again (the CA: a new one to trust). */
export const RENEW_DAYS = 30;

/** Private IPv4 ranges the CA may name, as [network, prefix length]. */
const PRIVATE_V4 = /** @type {const} */ ([
	['127.0.0.0', 8],
	['10.0.0.0', 8],
	['172.16.0.0', 12],
	['192.168.0.0', 16]
]);

/** @param {number} bits */
const maskOf = (bits) => [0, 8, 16, 24].map((shift) => ((0xffffffff << (32 - bits)) >>> (24 - shift)) & 0xff).join('.');

/**
 * The CA's permitted subtrees (RFC 5280 name constraints). `DNS:local` is the name `local` and
 * every name under it (`phone.local`), where a leading dot is not understood by every verifier.
 */
export const PERMITTED = ['DNS:localhost', 'DNS:local', ...PRIVATE_V4.map(([net, bits]) => `IP:${net}/${maskOf(bits)}`)];

/** @param {string} address */
function toInt(address) {
	return address.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}

/** True for an IPv4 address inside the CA's constraints. @param {string} address */
export function isPermittedAddress(address) {
	if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) return false;
	return PRIVATE_V4.some(([net, bits]) => (toInt(address) & (0xffffffff << (32 - bits))) >>> 0 === toInt(net));
}

/** @param {string} file @param {string | Buffer} data */
function writePrivate(file, data) {
	fs.rmSync(file, { force: true });
	fs.writeFileSync(file, data, { mode: 0o600 });
	fs.chmodSync(file, 0o600);
}

/** @param {string} file */
function readCert(file) {
	try {
		return new crypto.X509Certificate(fs.readFileSync(file));
	} catch {
		return null;
	}
}

/** @param {crypto.X509Certificate} cert */
const daysLeft = (cert) => (Date.parse(cert.validTo) - Date.now()) / DAY;
/** @param {crypto.X509Certificate} cert */
const lifetimeDays = (cert) => (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY;

/**
 * @typedef {object} Certificates
 * @property {string} key      the server's private key (PEM)
 * @property {string} cert     the server certificate (PEM)
 * @property {string} caPath   the CA certificate, for /ca.crt
 * @property {boolean} caCreated  a new CA was made: phones must trust it (again)
 * @property {string[]} skipped   addresses left out of the server certificate: not private
 */

/**
 * @param {string} dir
 * @param {string[]} addresses LAN IPv4 addresses to name in the server certificate
 * @returns {Certificates}
 */
export function ensureCertificates(dir, addresses) {
	fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
	fs.chmodSync(dir, 0o700);
	const file = (/** @type {string} */ name) => path.join(dir, name);
	/** @param {string[]} args @param {string} [input] */
	const openssl = (args, input) => execFileSync('openssl', args, { stdio: 'pipe', input });
	const newKey = () => openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
	const serial = () => `0x${crypto.randomBytes(16).toString('hex')}`;

	let ca = readCert(file('ca.crt'));
	const caUsable =
		!!ca &&
		fs.existsSync(file('ca.key')) &&
		ca.ca &&
		daysLeft(ca) > RENEW_DAYS &&
		lifetimeDays(ca) <= MAX_DAYS + 1 &&
		hasConstraints(file('ca.crt'), openssl);
	if (!caUsable) {
		writePrivate(file('ca.key'), newKey());
		openssl(['req', '-x509', '-key', file('ca.key'), '-out', file('ca.crt'), '-days', String(MAX_DAYS),
			'-subj', '/CN=CamCall local CA', '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0',
			'-addext', 'keyUsage=critical,keyCertSign,cRLSign',
			'-addext', `nameConstraints=critical,${PERMITTED.map((p) => `permitted;${p}`).join(',')}`]);
		ca = /** @type {crypto.X509Certificate} */ (readCert(file('ca.crt')));
	}
	const caCert = /** @type {crypto.X509Certificate} */ (ca);

	const permitted = addresses.filter(isPermittedAddress);
	const names = ['DNS:localhost', 'IP:127.0.0.1', ...permitted.map((a) => `IP:${a}`)];
	const san = names.join(',');
	const sanFile = file('server.san');
	const current = fs.existsSync(sanFile) ? fs.readFileSync(sanFile, 'utf8') : '';
	const server = readCert(file('server.crt'));
	const serverUsable =
		!!server &&
		current === san &&
		fs.existsSync(file('server.key')) &&
		// Signed by this CA's key (not by one it replaced).
		server.verify(caCert.publicKey) &&
		daysLeft(server) > RENEW_DAYS &&
		Date.parse(server.validTo) <= Date.parse(caCert.validTo);
	if (!serverUsable) {
		// Within the CA's lifetime: a day short of what it has left, a year at most.
		const days = Math.min(MAX_DAYS, Math.floor(daysLeft(caCert)) - 1);
		writePrivate(file('server.key'), newKey());
		fs.writeFileSync(
			file('server.ext'),
			[
				'basicConstraints=critical,CA:FALSE',
				'keyUsage=critical,digitalSignature,keyEncipherment',
				'extendedKeyUsage=serverAuth',
				`subjectAltName=${san}`,
				'subjectKeyIdentifier=hash',
				'authorityKeyIdentifier=keyid'
			].join('\n') + '\n'
		);
		const csr = openssl(['req', '-new', '-key', file('server.key'), '-subj', '/CN=CamCall']);
		openssl(['x509', '-req', '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-set_serial', serial(),
			'-days', String(days), '-extfile', file('server.ext'), '-out', file('server.crt')], csr.toString());
		fs.writeFileSync(sanFile, san);
	}
	// Keys from before this rule (or copied in) are made private too.
	for (const key of ['ca.key', 'server.key']) fs.chmodSync(file(key), 0o600);
	return {
		key: fs.readFileSync(file('server.key'), 'utf8'),
		cert: fs.readFileSync(file('server.crt'), 'utf8'),
		caPath: file('ca.crt'),
		caCreated: !caUsable,
		skipped: addresses.filter((a) => !permitted.includes(a))
	};
}

/**
 * The CA certificate carries exactly our critical name constraints (older CAs had none).
 * @param {string} caFile
 * @param {(args: string[]) => Buffer} openssl
 */
function hasConstraints(caFile, openssl) {
	let text;
	try {
		text = openssl(['x509', '-in', caFile, '-noout', '-ext', 'nameConstraints']).toString();
	} catch {
		return false;
	}
	if (!/Name Constraints: critical/.test(text) || /Excluded/.test(text)) return false;
	const listed = text
		.split('\n')
		.map((line) => line.trim())
		.filter((line) => /^(DNS|IP):/.test(line));
	return listed.length === PERMITTED.length && PERMITTED.every((p) => listed.includes(p));
}
