// @ts-nocheck: the framework-free baseline page for `npm run bench`, kept as plain browser JS.
/* global peerjs */
// Bare PeerJS client: the benchmark's baseline. Deliberately framework-free.
(async () => {
	const $ = (id) => document.getElementById(id);
	const config = await (await fetch('/signaling.json')).json();
	let camera = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
	$('local-video').srcObject = camera;
	const peer = new peerjs.Peer({
		host: config.host,
		port: config.port,
		path: config.path,
		secure: config.secure,
		key: config.key,
		config: { iceServers: config.iceServers }
	});
	window.__peerCreated = performance.now();
	let current = null;
	let mic = null;
	let pending = null;
	const setCall = (state) => (document.body.dataset.call = state);
	peer.on('open', (id) => {
		window.__peerOpened = performance.now();
		$('peer-id').textContent = id;
		document.body.dataset.signaling = 'open';
	});
	const outgoing = async () => {
		mic = (await navigator.mediaDevices.getUserMedia({ audio: true, video: false })).getAudioTracks()[0];
		return new MediaStream([...camera.getVideoTracks(), mic]);
	};
	const watch = (call) => {
		current = call;
		call.on('stream', (stream) => {
			$('remote-video').srcObject = stream;
		});
		call.on('iceStateChanged', (s) => {
			if (s === 'connected' || s === 'completed') setCall('connected');
		});
		call.on('close', () => end());
	};
	const end = () => {
		current?.close();
		current = null;
		mic?.stop();
		mic = null;
		$('remote-video').srcObject = null;
		setCall('ended');
	};
	peer.on('call', (call) => {
		pending = call;
		$('accept').hidden = false;
		setCall('ringing');
	});
	$('accept').onclick = async () => {
		const call = pending;
		pending = null;
		$('accept').hidden = true;
		call.answer(await outgoing());
		watch(call);
	};
	$('dial').onclick = async () => {
		setCall('calling');
		watch(peer.call($('dial-input').value, await outgoing()));
	};
	$('hangup').onclick = () => end();
	$('flip').onclick = async () => {
		const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
		const now = camera.getVideoTracks()[0].getSettings().deviceId;
		const next = devices[(devices.findIndex((d) => d.deviceId === now) + 1) % devices.length];
		camera.getVideoTracks().forEach((t) => t.stop());
		camera = await navigator.mediaDevices.getUserMedia({
			video: { deviceId: { exact: next.deviceId }, width: { ideal: 1280 }, height: { ideal: 720 } },
			audio: false
		});
		$('local-video').srcObject = camera;
		const sender = current?.peerConnection?.getTransceivers().find((t) => t.receiver.track?.kind === 'video')?.sender;
		await sender?.replaceTrack(camera.getVideoTracks()[0]);
	};
})();
