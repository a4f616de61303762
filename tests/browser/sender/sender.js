// @ts-nocheck: a plain browser script for the photo and chat safety tests (tests/browser/photo-safety.test.ts, chat.test.ts).
/* global peerjs */
// window.sender: { ready: Promise<id>, call(id), hangUp(), png(w, h), sendPhoto(to, offer, bytes), chat(to, callId, frames), connectOnly(to, metadata) }
(() => {
	let resolveReady;
	const ready = new Promise((r) => (resolveReady = r));
	let peer;
	let current = null;
	let callId = null;
	(async () => {
		const config = await (await fetch('/signaling.json')).json();
		peer = new peerjs.Peer({
			host: config.host,
			port: config.port,
			path: config.path,
			secure: config.secure,
			key: config.key,
			config: { iceServers: config.iceServers }
		});
		peer.on('open', (id) => {
			document.getElementById('peer-id').textContent = id;
			resolveReady(id);
		});
	})();

	const chunk = 16 * 1024;

	window.sender = {
		ready,
		/** Calls `to` the way the app does (a random callId in the metadata); resolves once the
		 * media flows (the callee accepted). */
		async call(to) {
			const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
			callId = Array.from(crypto.getRandomValues(new Uint8Array(9)), (b) => b.toString(16).padStart(2, '0')).join('');
			current = peer.call(to, stream, { metadata: { callId } });
			await new Promise((resolve, reject) => {
				current.on('stream', () => resolve());
				current.on('error', reject);
			});
			return callId;
		},
		callId: () => callId,
		/** A real PNG of w×h from a canvas. */
		async png(w, h) {
			const canvas = new OffscreenCanvas(w, h);
			const ctx = canvas.getContext('2d');
			ctx.fillStyle = '#3a7';
			ctx.fillRect(0, 0, w, h);
			ctx.fillStyle = '#fff';
			ctx.fillRect(w / 4, h / 4, w / 2, h / 2);
			const blob = await canvas.convertToBlob({ type: 'image/png' });
			return Array.from(new Uint8Array(await blob.arrayBuffer()));
		},
		/**
		 * Offers a photo on a new DataConnection (metadata { photo: offer }) and, on "ready",
		 * sends `bytes` (an array of numbers) in 16 KiB messages. Resolves with every text
		 * message the receiver sent, once it says done or refuse, or closes, or after 20 s.
		 */
		sendPhoto(to, offer, bytes) {
			const conn = peer.connect(to, { metadata: { photo: { callId, ...offer } }, serialization: 'raw', reliable: true });
			const said = [];
			return new Promise((resolve) => {
				let done = false;
				// `why` marks an end the receiver did not announce (closed, failed, timed out), so a
				// test that fails shows what happened instead of an empty list.
				const finish = (why) => {
					if (done) return;
					done = true;
					if (why) said.push({ t: why });
					clearTimeout(timer);
					setTimeout(() => conn.close(), 100);
					resolve(said);
				};
				const timer = setTimeout(() => finish('timeout'), 20_000);
				conn.on('data', (data) => {
					if (typeof data !== 'string') return;
					const msg = JSON.parse(data);
					said.push(msg);
					if (msg.t === 'ready') {
						const buf = new Uint8Array(bytes);
						for (let at = 0; at < buf.length; at += chunk) conn.send(buf.slice(at, at + chunk).buffer);
					}
					if (msg.t === 'done' || msg.t === 'refuse') finish();
				});
				conn.on('close', () => finish('closed'));
				conn.on('error', () => finish('error'));
			});
		},
		/**
		 * Opens a chat connection (metadata { chat: { callId } }, raw) and, once open, sends each
		 * of `frames` (strings, as they go on the wire). Resolves after `ms` with whether it
		 * opened and every frame the far side sent back.
		 */
		chat(to, chatCallId, frames, ms = 3000) {
			const conn = peer.connect(to, { metadata: { chat: { callId: chatCallId } }, serialization: 'raw', reliable: true });
			const said = [];
			let opened = false;
			conn.on('open', () => {
				opened = true;
				for (const frame of frames) conn.send(frame);
			});
			conn.on('data', (data) => said.push(typeof data === 'string' ? JSON.parse(data) : { binary: true }));
			return new Promise((resolve) => {
				setTimeout(() => {
					const pc = conn.peerConnection;
					const answered = !!pc && !!pc.remoteDescription;
					conn.close();
					resolve({ opened, answered, said });
				}, ms);
			});
		},
		/** Opens a DataConnection with any metadata and reports whether the far side answered:
		 * its data channel opened, or the pc got a remote description, within `ms`. */
		connectOnly(to, metadata, ms = 3000) {
			const conn = peer.connect(to, { metadata, serialization: 'json', reliable: true });
			return new Promise((resolve) => {
				let opened = false;
				conn.on('open', () => (opened = true));
				setTimeout(() => {
					const pc = conn.peerConnection;
					const answered = !!pc && !!pc.remoteDescription;
					conn.close();
					resolve({ opened, answered });
				}, ms);
			});
		}
	};
})();
