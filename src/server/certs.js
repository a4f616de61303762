// HTTPS=1: a small local certificate authority, made once at first start (in a git-ignored
// folder), and a server certificate for localhost and this machine's LAN addresses signed by
// it. A phone that trusts the CA (served at /ca.crt) gets a real secure context, so the camera,
// the service worker and install all work; a bare self-signed certificate would break the
// service worker.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * @param {string} dir
 * @param {string[]} addresses LAN IPv4 addresses to name in the server certificate
 */
export function ensureCertificates(dir, addresses) {
	fs.mkdirSync(dir, { recursive: true });
	const file = (/** @type {string} */ name) => path.join(dir, name);
	const openssl = (/** @type {string[]} */ ...args) => execFileSync('openssl', args, { stdio: 'pipe' });

	if (!fs.existsSync(file('ca.key')) || !fs.existsSync(file('ca.crt'))) {
		openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.crt'),
			'-days', '825', '-subj', '/CN=CamCall local CA', '-addext', 'basicConstraints=critical,CA:TRUE',
			'-addext', 'keyUsage=critical,keyCertSign,cRLSign');
	}

	const names = ['DNS:localhost', 'IP:127.0.0.1', ...addresses.map((a) => `IP:${a}`)];
	const san = names.join(',');
	const sanFile = file('server.san');
	const current = fs.existsSync(sanFile) ? fs.readFileSync(sanFile, 'utf8') : '';
	if (current !== san || !fs.existsSync(file('server.crt'))) {
		fs.writeFileSync(file('server.ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
		openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'),
			'-subj', '/CN=CamCall');
		openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'),
			'-CAcreateserial', '-out', file('server.crt'), '-days', '397', '-extfile', file('server.ext'));
		fs.writeFileSync(sanFile, san);
	}
	return {
		key: fs.readFileSync(file('server.key'), 'utf8'),
		cert: fs.readFileSync(file('server.crt'), 'utf8'),
		caPath: file('ca.crt')
	};
}
