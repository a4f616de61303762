import { createHash } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { createActor, fromCallback, fromPromise, waitFor } from 'xstate';
import { safetyMachine } from '$machines/safety.machine';
import { fingerprintOf, groupCode, safetyCode, safetyCodeOf, SafetyCodeError } from '$machines/actors/safety-code';
import { readVerified, saveVerified, verifiedCode } from '$machines/actors/verified';
import { useCertificate } from '$machines/actors/call-extras';

const fpA = 'sha-256 ' + Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':');
const fpB = 'sha-256 ' + Array.from({ length: 32 }, (_, i) => (255 - i).toString(16).padStart(2, '0').toUpperCase()).join(':');
const sdp = (fp: string) => `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=fingerprint:${fp}  \r\na=setup:actpass\r\n`;

/** The rule, written again with Node's crypto. */
function rule(a: string, b: string): string {
	const digest = createHash('sha256').update([a, b].sort().join('\n'), 'utf8').digest();
	return groupCode((digest.readBigUInt64BE(0) % 1_000_000_000_000n).toString().padStart(12, '0'));
}

describe('the safety code rule', () => {
	test('the same code on both sides, equal to the rule computed independently, twelve digits in groups of four', async () => {
		const one = await safetyCode(fpA, fpB);
		expect(await safetyCode(fpB, fpA)).toBe(one);
		expect(one).toBe(rule(fpA, fpB));
		expect(one).toMatch(/^\d{4} \d{4} \d{4}$/);
		expect(await safetyCode(fpA, fpA)).not.toBe(one);
	});

	test('a known vector: leading zeros are kept', async () => {
		expect(groupCode('000000001234')).toBe('0000 0000 1234');
		// Fingerprints whose digest starts small enough to need padding are rare; the padding itself:
		expect(groupCode('12345678901')).toBe('1234 5678 901');
		const big = createHash('sha256').update('a\nb').digest().readBigUInt64BE(0);
		expect(await safetyCode('b', 'a')).toBe(groupCode((big % 10n ** 12n).toString().padStart(12, '0')));
	});

	test('the fingerprint is the first a=fingerprint value, trimmed; anything else is no fingerprint', () => {
		expect(fingerprintOf(sdp(fpA))).toBe(fpA);
		expect(fingerprintOf(`${sdp(fpA)}a=fingerprint:${fpB}\r\n`)).toBe(fpA);
		expect(fingerprintOf(sdp(fpA).replaceAll('\r\n', '\n'))).toBe(fpA);
		expect(fingerprintOf('v=0\r\n')).toBeNull();
		expect(fingerprintOf(sdp('sha-256 <img src=x onerror=alert(1)>'))).toBeNull();
		expect(fingerprintOf(sdp('sha-256 AB:CD'))).toBeNull();
		expect(fingerprintOf(null)).toBeNull();
		expect(fingerprintOf(42)).toBeNull();
		expect(fingerprintOf(sdp(fpA) + 'x'.repeat(300 * 1024))).toBeNull();
	});

	test('a pc without both descriptions, or without fingerprints, gives a typed error', async () => {
		await expect(safetyCodeOf({ localDescription: null, remoteDescription: null })).rejects.toMatchObject({ reason: 'no-description' });
		const withSdp = (local: string, remote: string) =>
			({ localDescription: { sdp: local }, remoteDescription: { sdp: remote } }) as unknown as RTCPeerConnection;
		await expect(safetyCodeOf(withSdp(sdp(fpA), 'v=0\r\n'))).rejects.toBeInstanceOf(SafetyCodeError);
		await expect(safetyCodeOf(withSdp(sdp(fpA), 'v=0\r\n'))).rejects.toMatchObject({ reason: 'no-fingerprint' });
		expect(await safetyCodeOf(withSdp(sdp(fpA), sdp(fpB)))).toBe(rule(fpA, fpB));
	});
});

/** A localStorage for Node, as hostile as a stranger with devtools could make it. */
class MemoryStorage {
	map = new Map<string, string>();
	getItem(k: string) {
		return this.map.get(k) ?? null;
	}
	setItem(k: string, v: string) {
		this.map.set(k, String(v));
	}
	removeItem(k: string) {
		this.map.delete(k);
	}
}
const g = globalThis as unknown as { localStorage?: MemoryStorage };
afterEach(() => {
	delete g.localStorage;
});

describe('verified codes (localStorage, read back as untrusted)', () => {
	test('saved, read, replaced and forgotten per peer; malformed entries are dropped', () => {
		g.localStorage = new MemoryStorage();
		expect(verifiedCode('bob')).toBeNull();
		saveVerified('bob', '1234 5678 9012');
		saveVerified('ann', '0000 1111 2222');
		expect(verifiedCode('bob')).toBe('1234 5678 9012');
		saveVerified('bob', '9999 5678 9012');
		expect(verifiedCode('bob')).toBe('9999 5678 9012');
		saveVerified('bob', null);
		expect(verifiedCode('bob')).toBeNull();
		expect(verifiedCode('ann')).toBe('0000 1111 2222');
		// Not a code, not an ID: nothing saved.
		saveVerified('carl', '<b>1</b>');
		saveVerified('__proto__', '1234 5678 9012');
		expect(Object.keys(readVerified())).toEqual(['ann']);

		g.localStorage.setItem(
			'camcall.verified',
			'{"__proto__":"1234 5678 9012","ok":"1234 5678 9012","bad":"12345678 9012","x y":5,"constructor":"1111 2222 3333"}'
		);
		const all = readVerified();
		expect(Object.entries(all)).toEqual([
			['ok', '1234 5678 9012'],
			['constructor', '1111 2222 3333']
		]);
		expect(verifiedCode('toString')).toBeNull();
		g.localStorage.setItem('camcall.verified', 'not json');
		expect(readVerified()).toEqual({});
		g.localStorage.setItem('camcall.verified', '["1234 5678 9012"]');
		expect(readVerified()).toEqual({});
	});

	test('without storage nothing throws', () => {
		expect(verifiedCode('bob')).toBeNull();
		expect(() => saveVerified('bob', '1234 5678 9012')).not.toThrow();
	});
});

describe('the certificate reaches every later pc of the Peer', () => {
	test('set on a copy of the config (PeerJS shares its cloud defaults between Peers), once', () => {
		const shared = { iceServers: [{ urls: 'stun:x' }] };
		const peer = { options: { config: shared as RTCConfiguration } };
		const cert = { expires: 1 } as unknown as RTCCertificate;
		useCertificate(peer, cert);
		expect(peer.options.config).toEqual({ iceServers: [{ urls: 'stun:x' }], certificates: [cert] });
		expect(shared).toEqual({ iceServers: [{ urls: 'stun:x' }] });
		const set = peer.options.config;
		useCertificate(peer, cert);
		expect(peer.options.config).toBe(set);
		useCertificate(peer, null);
		expect(peer.options.config).toBe(set);
		expect(() => useCertificate(null, cert)).not.toThrow();
	});
});

describe('safety machine', () => {
	/** The machine with a store that starts with `saved` and records what it is told. */
	function start(saved: string | null, code: Promise<string> | (() => Promise<string>) = Promise.resolve('1111 2222 3333')) {
		const stored: (string | null)[] = [];
		const pcs: unknown[] = [];
		const machine = safetyMachine.provide({
			actors: {
				verifiedStore: fromCallback(({ sendBack, receive }) => {
					sendBack({ type: 'safety.saved', code: saved });
					receive((e) => void stored.push((e as unknown as { code: string | null }).code));
				}) as never,
				computeSafetyCode: fromPromise(({ input }: { input: { pc: unknown } }) => {
					pcs.push(input.pc);
					return typeof code === 'function' ? code() : code;
				}) as never
			}
		});
		const actor = createActor(machine, { input: { remoteId: 'bob' } }).start();
		return { actor, stored, pcs };
	}
	const pc = { id: 'pc1' } as unknown as RTCPeerConnection;

	test('waits for the call, computes on its pc, and shows an unverified code', async () => {
		const { actor, pcs, stored } = start(null);
		expect(actor.getSnapshot().value).toBe('waiting');
		actor.send({ type: 'safety.check', pc });
		expect(actor.getSnapshot().value).toBe('computing');
		await waitFor(actor, (s) => s.matches('shown'));
		expect(actor.getSnapshot().value).toEqual({ shown: 'unverified' });
		expect(actor.getSnapshot().context.code).toBe('1111 2222 3333');
		expect(pcs).toEqual([pc]);
		expect(stored).toEqual([]);
	});

	test('verify keeps the code with the contact; unverify forgets it', async () => {
		const { actor, stored } = start(null);
		actor.send({ type: 'safety.check', pc });
		await waitFor(actor, (s) => s.matches('shown'));
		actor.send({ type: 'safety.verify' });
		expect(actor.getSnapshot().value).toEqual({ shown: 'verified' });
		expect(actor.getSnapshot().context.saved).toBe('1111 2222 3333');
		expect(stored).toEqual(['1111 2222 3333']);
		actor.send({ type: 'safety.verify' });
		expect(stored).toHaveLength(1);
		actor.send({ type: 'safety.unverify' });
		expect(actor.getSnapshot().value).toEqual({ shown: 'unverified' });
		expect(stored).toEqual(['1111 2222 3333', null]);
	});

	test('the code verified before: shown as verified', async () => {
		const { actor } = start('1111 2222 3333');
		actor.send({ type: 'safety.check', pc });
		await waitFor(actor, (s) => s.matches('shown'));
		expect(actor.getSnapshot().value).toEqual({ shown: 'verified' });
	});

	test('another code verified before: changed, until compared again', async () => {
		const { actor, stored } = start('9999 2222 3333');
		actor.send({ type: 'safety.check', pc });
		await waitFor(actor, (s) => s.matches('shown'));
		expect(actor.getSnapshot().value).toEqual({ shown: 'changed' });
		expect(actor.getSnapshot().context.code).toBe('1111 2222 3333');
		// Unverify means nothing here: there is nothing verified for this code.
		actor.send({ type: 'safety.unverify' });
		expect(actor.getSnapshot().value).toEqual({ shown: 'changed' });
		actor.send({ type: 'safety.verify' });
		expect(actor.getSnapshot().value).toEqual({ shown: 'verified' });
		expect(stored).toEqual(['1111 2222 3333']);
	});

	test('verify before the code is shown does nothing', () => {
		const { actor, stored } = start(null, new Promise(() => {}));
		actor.send({ type: 'safety.verify' });
		actor.send({ type: 'safety.check', pc });
		actor.send({ type: 'safety.verify' });
		expect(actor.getSnapshot().value).toBe('computing');
		expect(stored).toEqual([]);
	});

	test('no fingerprint: failed with the reason; a later check (after a re-dial) computes again', async () => {
		let n = 0;
		const { actor, pcs } = start(null, () => (n++ === 0 ? Promise.reject(new SafetyCodeError('no-fingerprint')) : Promise.resolve('4444 5555 6666')));
		actor.send({ type: 'safety.check', pc });
		await waitFor(actor, (s) => s.matches('failed'));
		expect(actor.getSnapshot().context).toMatchObject({ code: null, failure: 'no-fingerprint' });
		const pc2 = { id: 'pc2' } as unknown as RTCPeerConnection;
		actor.send({ type: 'safety.check', pc: pc2 });
		await waitFor(actor, (s) => s.matches('shown'));
		expect(actor.getSnapshot().context).toMatchObject({ code: '4444 5555 6666', failure: null });
		expect(pcs).toEqual([pc, pc2]);
	});

	test('an unknown error is no fingerprint; no description has its own reason', async () => {
		const a = start(null, Promise.reject(new Error('boom')));
		a.actor.send({ type: 'safety.check', pc });
		await waitFor(a.actor, (s) => s.matches('failed'));
		expect(a.actor.getSnapshot().context.failure).toBe('no-fingerprint');
		const b = start(null, Promise.reject(new SafetyCodeError('no-description')));
		b.actor.send({ type: 'safety.check', pc });
		await waitFor(b.actor, (s) => s.matches('failed'));
		expect(b.actor.getSnapshot().context.failure).toBe('no-description');
	});

	test('a code that changes on a re-check is compared with the verified one again', async () => {
		const codes = ['1111 2222 3333', '7777 8888 9999'];
		const { actor } = start('1111 2222 3333', () => Promise.resolve(codes.shift()!));
		actor.send({ type: 'safety.check', pc });
		await waitFor(actor, (s) => s.matches({ shown: 'verified' }));
		actor.send({ type: 'safety.check', pc });
		await waitFor(actor, (s) => s.matches({ shown: 'changed' }));
	});

	test('the real store reads and saves through localStorage', async () => {
		g.localStorage = new MemoryStorage();
		saveVerified('bob', '1111 2222 3333');
		const machine = safetyMachine.provide({ actors: { computeSafetyCode: fromPromise(() => Promise.resolve('1111 2222 3333')) as never } });
		const actor = createActor(machine, { input: { remoteId: 'bob' } }).start();
		expect(actor.getSnapshot().context.saved).toBe('1111 2222 3333');
		actor.send({ type: 'safety.check', pc });
		await waitFor(actor, (s) => s.matches({ shown: 'verified' }));
		actor.send({ type: 'safety.unverify' });
		expect(verifiedCode('bob')).toBeNull();
		actor.send({ type: 'safety.verify' });
		expect(verifiedCode('bob')).toBe('1111 2222 3333');
	});
});
