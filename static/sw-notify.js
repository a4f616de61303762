// Imported by the generated service worker (vite.config.ts, workbox importScripts): tapping an
// incoming-call notification brings the app forward, or opens it, on the call screen.
self.addEventListener('notificationclick', (event) => {
	event.notification.close();
	event.waitUntil(
		self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
			const open = windows.find((w) => 'focus' in w);
			return open ? open.focus() : self.clients.openWindow('/');
		})
	);
});
