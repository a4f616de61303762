/**
 * What a call brings besides its media: this device's certificate (for a stable safety code)
 * and the machines a call runs beside its own (the safety code, the chat). The call machine's chunk is fetched before any call, so
 * this module only holds the loaders; the code they load arrives when a call starts.
 */
import { fromCallback } from 'xstate';
import type { safetyMachine } from '../safety.machine';
import type { chatMachine } from '../chat.machine';
import { alertIo } from './alert';
import { microphoneIo } from './microphone';
import { deviceIo } from './device';

/**
 * Events sent back:
 * - `certificate.ready { certificate }`: this device's RTCCertificate, for every pc.
 * - `certificate.none`: none can be had here (no IndexedDB or generateCertificate, storage
 *   refused): the call goes on with the browser's own certificate.
 * - `extras.loaded { safety, chat }`: the two machines' code arrived.
 * - `extras.failed`: it could not (offline before it was cached): the call goes on without.
 */
export type ExtrasEvent =
	| { type: 'certificate.ready'; certificate: RTCCertificate }
	| { type: 'certificate.none' }
	| { type: 'extras.loaded'; safety: typeof safetyMachine; chat: typeof chatMachine }
	| { type: 'extras.failed' };

let certificate: Promise<RTCCertificate | null> | null = null;

/** This device's certificate, read (or made and stored) once per page: the first call after a
 * page load must not wait for IndexedDB. A page left open past the renewal date goes on with
 * the one it read, still valid for a month; the next load renews it. */
function loadCertificate(): Promise<RTCCertificate | null> {
	certificate ??= import('./certificate')
		.then((m) => m.loadDeviceCertificate())
		.catch((err: unknown) => {
			certificate = null;
			throw err;
		});
	return certificate;
}

/**
 * What the first call would otherwise wait for, loaded ahead of it: the certificate (its
 * IndexedDB read took up to half a second on a fresh page, measured) and the code a call runs
 * beside its own (the safety code and chat machines, the ring, the microphone's work, the
 * screen lock and system controls). The session runs this once the call machine's code is in
 * (after the camera and the ID), when the page is idle.
 */
export function prepareCalls(): () => void {
	// One line, also src/lib/session.svelte.ts's whenIdle (the views'): the machines import
	// nothing from the views, and a file of its own was one more request on a first visit
	// (wire.test.ts), which costs more than the line.
	const whenIdle = typeof requestIdleCallback === 'function' ? requestIdleCallback : (run: () => void) => setTimeout(run, 0);
	let stopped = false;
	whenIdle(() => {
		if (stopped || typeof indexedDB === 'undefined' || typeof RTCPeerConnection === 'undefined') return;
		if ((RTCPeerConnection as { generateCertificate?: unknown }).generateCertificate) void loadCertificate().catch(() => {});
		// Failures here are the call's to meet and report, as before.
		void Promise.all([import('../safety.machine'), import('../chat.machine'), alertIo.load(), microphoneIo.load(), deviceIo.load()]).catch(() => {});
	});
	return () => {
		stopped = true;
	};
}

export const deviceCertificate = fromCallback<{ type: string }>(({ sendBack }) => {
	let stopped = false;
	const send = (e: ExtrasEvent) => {
		if (!stopped) sendBack(e);
	};
	// Said at once where nothing could work (and under Node, so tests need no fake).
	if (typeof indexedDB === 'undefined' || typeof RTCPeerConnection === 'undefined' || !RTCPeerConnection.generateCertificate) {
		send({ type: 'certificate.none' });
		return;
	}
	loadCertificate().then(
			(certificate) => send(certificate ? { type: 'certificate.ready', certificate } : { type: 'certificate.none' }),
			() => send({ type: 'certificate.none' })
		);
	return () => {
		stopped = true;
	};
});

export const callExtras = fromCallback<{ type: string }>(({ sendBack }) => {
	let stopped = false;
	Promise.all([import('../safety.machine'), import('../chat.machine')]).then(
		([safety, chat]) => !stopped && sendBack({ type: 'extras.loaded', safety: safety.safetyMachine, chat: chat.chatMachine } satisfies ExtrasEvent),
		() => !stopped && sendBack({ type: 'extras.failed' } satisfies ExtrasEvent)
	);
	return () => {
		stopped = true;
	};
});

/** Gives the Peer's later connections this device's certificate. PeerJS passes its `config`
 * option unchanged to `new RTCPeerConnection` whenever it makes one (calls, answers, data
 * connections), so setting it before dial or answer is enough; a new object, because PeerJS's
 * cloud defaults are one object shared by every Peer. */
export function useCertificate(peer: { options?: { config?: RTCConfiguration } } | null, certificate: RTCCertificate | null): void {
	const options = peer?.options;
	if (!options || !certificate || options.config?.certificates?.[0] === certificate) return;
	options.config = { ...options.config, certificates: [certificate] };
}
