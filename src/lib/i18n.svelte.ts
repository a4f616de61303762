/**
 * English and Simplified Chinese catalogs for every user-visible string, error messages
 * included. The language comes from `navigator.languages` unless the user picked one (saved).
 */
import { captureMessages, signalingMessages, callMessages, photoMessages } from '$machines/errors';

const en = {
	'app.name': 'CamCall',
	'lang.label': 'Language',
	'nav.inspect': 'State chart',
	'nav.gallery': 'Gallery',
	'nav.back': 'Back to camera',
	'camera.start': 'Start camera',
	'camera.startHint': 'Tap to turn on your camera. The microphone only opens when a call starts.',
	'camera.flip': 'Switch camera',
	'camera.retry': 'Try again',
	'camera.info': '{label} · {width}×{height}',
	'photo.take': 'Take photo',
	'share.yourId': 'Your ID',
	'share.link': 'Call link',
	'share.copy': 'Copy link',
	'share.copied': 'Link copied',
	'share.share': 'Share',
	'share.qr': 'QR code of your call link (tap to enlarge)',
	'share.qrClose': 'Close QR code',
	'share.shareText': 'Call me on CamCall',
	'share.waiting': 'Getting your ID…',
	'share.temporary': 'Another tab holds your saved ID, so this tab uses a temporary one.',
	'dial.label': 'ID of the person to call',
	'dial.placeholder': 'Their ID',
	'dial.call': 'Call',
	'dial.invalid': 'IDs use only letters, digits and single dashes, underscores or spaces between them.',
	'dial.empty': 'Enter the ID of the person to call.',
	'dial.tooLong': 'That ID is too long (at most 64 characters).',
	'dial.notConnected': 'Not connected to the signaling server yet. Try again in a moment.',
	'incoming.title': 'Incoming call',
	'incoming.from': 'from {id}',
	'call.accept': 'Accept',
	'call.decline': 'Decline',
	'call.hangup': 'Hang up',
	'call.cancel': 'Cancel call',
	'call.mute': 'Mute microphone',
	'call.unmute': 'Unmute microphone',
	'call.cameraOff': 'Turn camera off',
	'call.cameraOn': 'Turn camera on',
	'call.dismiss': 'Dismiss',
	'call.noMic': 'No microphone: the call is video only.',
	'call.stats': 'RTT {rtt} ms · {fps} fps · {route}',
	'call.remoteLabel': 'Video of {id}',
	'call.localLabel': 'Your camera',
	'signaling.retry': 'Retry',
	'signaling.freshId': 'Use a new ID',
	'state.permission.checking': 'Checking camera permission…',
	'state.permission.prompt': 'Camera permission not yet given.',
	'state.permission.granted': 'Camera permission granted.',
	'state.permission.denied': 'Camera permission denied.',
	'state.permission.unsupported': 'This browser cannot use the camera here.',
	'state.capture.idle': 'Camera off.',
	'state.capture.acquiring': 'Opening the camera…',
	'state.capture.live': 'Camera on.',
	'state.capture.switching': 'Switching camera…',
	'state.capture.failed': 'Camera failed.',
	'state.signaling.connecting': 'Connecting…',
	'state.signaling.open': 'Online',
	'state.signaling.disconnected': 'Offline, retrying',
	'state.signaling.reconnecting': 'Reconnecting…',
	'state.signaling.failed': 'Signaling failed',
	'state.call.idle': 'No call.',
	'state.call.calling': 'Calling {id}…',
	'state.call.ringing': 'Incoming call from {id}.',
	'state.call.connecting': 'Connecting the call with {id}…',
	'state.call.connected': 'In a call with {id}.',
	'state.call.recovering': 'Connection unstable: recovering…',
	'state.call.ended': 'Call ended.',
	'state.call.failed': 'Call failed.',
	'update.available': 'A new version is available.',
	'update.apply': 'Update',
	'update.afterCall': 'Update after the call',
	'install.button': 'Install app',
	'install.ios': 'To install: tap Share, then “Add to Home Screen”.',
	'gallery.title': 'Photos',
	'gallery.empty': 'No photos yet. Take one from the camera screen.',
	'inspect.title': 'State chart',
	'photo.saved': 'Photo saved.',
	'photo.taking': 'Taking photo…',
	'photo.sendLast': 'Send the last photo to {id}',
	'photo.send': 'Send to {id}',
	'photo.sending': 'Sending photo to {id}…',
	'photo.sent': 'Photo sent to {id}.',
	'photo.receiving': 'Receiving a photo from {id}…',
	'photo.received': 'Photo received from {id}.',
	'photo.progress': 'Transfer progress',
	'photo.cancel': 'Cancel sending',
	'photo.retrySave': 'Try saving again',
	'photo.downloadUnsaved': 'Download the photo',
	'photo.dismiss': 'Dismiss',
	'photo.viewGallery': 'Open gallery',
	'gallery.count': '{count} photos',
	'gallery.countOne': '1 photo',
	'gallery.open': 'Open photo taken {date}',
	'gallery.openReceived': 'Open photo from {id}, received {date}',
	'gallery.from': 'From {id}',
	'gallery.alt': 'Photo taken {date}',
	'gallery.altReceived': 'Photo from {id}, received {date}',
	'gallery.close': 'Close',
	'gallery.delete': 'Delete',
	'gallery.deleted': 'Photo deleted.',
	'gallery.download': 'Download',
	'gallery.share': 'Share',
	'gallery.details': '{width}×{height} · {size}',
	'gallery.loading': 'Loading photos…',
	'gallery.reload': 'Try again'
} as const;

export type MessageKey = keyof typeof en;
type Catalog = Record<MessageKey, string>;

const zh: Catalog = {
	'app.name': 'CamCall',
	'lang.label': '语言',
	'nav.inspect': '状态图',
	'nav.gallery': '相册',
	'nav.back': '返回相机',
	'camera.start': '打开相机',
	'camera.startHint': '点按打开相机。麦克风只在通话开始时打开。',
	'camera.flip': '切换摄像头',
	'camera.retry': '重试',
	'camera.info': '{label} · {width}×{height}',
	'photo.take': '拍照',
	'share.yourId': '你的 ID',
	'share.link': '通话链接',
	'share.copy': '复制链接',
	'share.copied': '链接已复制',
	'share.share': '分享',
	'share.qr': '通话链接的二维码（点按放大）',
	'share.qrClose': '关闭二维码',
	'share.shareText': '用 CamCall 给我打电话',
	'share.waiting': '正在获取你的 ID…',
	'share.temporary': '另一个标签页正在使用你保存的 ID，此标签页使用临时 ID。',
	'dial.label': '要呼叫的人的 ID',
	'dial.placeholder': '对方的 ID',
	'dial.call': '呼叫',
	'dial.invalid': 'ID 只能包含字母、数字，以及字符之间单个的短横线、下划线或空格。',
	'dial.empty': '请输入要呼叫的人的 ID。',
	'dial.tooLong': 'ID 太长（最多 64 个字符）。',
	'dial.notConnected': '尚未连接到信令服务器，请稍后再试。',
	'incoming.title': '来电',
	'incoming.from': '来自 {id}',
	'call.accept': '接听',
	'call.decline': '拒绝',
	'call.hangup': '挂断',
	'call.cancel': '取消呼叫',
	'call.mute': '麦克风静音',
	'call.unmute': '取消静音',
	'call.cameraOff': '关闭摄像头',
	'call.cameraOn': '打开摄像头',
	'call.dismiss': '关闭',
	'call.noMic': '没有麦克风：本次通话只有视频。',
	'call.stats': '往返 {rtt} 毫秒 · {fps} 帧/秒 · {route}',
	'call.remoteLabel': '{id} 的视频',
	'call.localLabel': '你的摄像头',
	'signaling.retry': '重试',
	'signaling.freshId': '使用新 ID',
	'state.permission.checking': '正在检查相机权限…',
	'state.permission.prompt': '尚未授予相机权限。',
	'state.permission.granted': '已授予相机权限。',
	'state.permission.denied': '相机权限被拒绝。',
	'state.permission.unsupported': '此浏览器无法在这里使用相机。',
	'state.capture.idle': '相机已关闭。',
	'state.capture.acquiring': '正在打开相机…',
	'state.capture.live': '相机已打开。',
	'state.capture.switching': '正在切换摄像头…',
	'state.capture.failed': '相机出错。',
	'state.signaling.connecting': '正在连接…',
	'state.signaling.open': '在线',
	'state.signaling.disconnected': '离线，正在重试',
	'state.signaling.reconnecting': '正在重新连接…',
	'state.signaling.failed': '信令失败',
	'state.call.idle': '没有通话。',
	'state.call.calling': '正在呼叫 {id}…',
	'state.call.ringing': '{id} 来电。',
	'state.call.connecting': '正在与 {id} 建立通话…',
	'state.call.connected': '正在与 {id} 通话。',
	'state.call.recovering': '连接不稳定，正在恢复…',
	'state.call.ended': '通话已结束。',
	'state.call.failed': '通话失败。',
	'update.available': '有新版本可用。',
	'update.apply': '更新',
	'update.afterCall': '通话结束后更新',
	'install.button': '安装应用',
	'install.ios': '安装方法：点按“分享”，然后选择“添加到主屏幕”。',
	'gallery.title': '照片',
	'gallery.empty': '还没有照片。请在相机页面拍一张。',
	'inspect.title': '状态图',
	'photo.saved': '照片已保存。',
	'photo.taking': '正在拍照…',
	'photo.sendLast': '把刚拍的照片发给 {id}',
	'photo.send': '发送给 {id}',
	'photo.sending': '正在向 {id} 发送照片…',
	'photo.sent': '照片已发送给 {id}。',
	'photo.receiving': '正在接收来自 {id} 的照片…',
	'photo.received': '已收到来自 {id} 的照片。',
	'photo.progress': '传输进度',
	'photo.cancel': '取消发送',
	'photo.retrySave': '重新保存',
	'photo.downloadUnsaved': '下载这张照片',
	'photo.dismiss': '关闭',
	'photo.viewGallery': '打开相册',
	'gallery.count': '{count} 张照片',
	'gallery.countOne': '1 张照片',
	'gallery.open': '打开 {date} 拍摄的照片',
	'gallery.openReceived': '打开来自 {id} 的照片（{date} 收到）',
	'gallery.from': '来自 {id}',
	'gallery.alt': '{date} 拍摄的照片',
	'gallery.altReceived': '来自 {id} 的照片，{date} 收到',
	'gallery.close': '关闭',
	'gallery.delete': '删除',
	'gallery.deleted': '照片已删除。',
	'gallery.download': '下载',
	'gallery.share': '分享',
	'gallery.details': '{width}×{height} · {size}',
	'gallery.loading': '正在加载照片…',
	'gallery.reload': '重试'
};

/** Failure messages by reason, per language; English comes from machines/errors.ts. */
const zhReasons: Record<string, string> = {
	'capture.permission-denied': '相机访问被阻止。请在浏览器设置中允许此网站使用相机，然后重试。',
	'capture.no-camera': '此设备上没有找到摄像头。',
	'capture.camera-in-use': '摄像头正被其他应用使用。请关闭该应用后重试。',
	'capture.unsupported-constraint': '此摄像头无法提供应用请求的任何画面格式。',
	'capture.insecure-context': '相机需要安全连接（https 或 localhost）。请通过 https 地址打开应用。',
	'capture.aborted': '相机启动失败，请重试。',
	'capture.track-ended': '相机已停止（被拔出或访问权限被撤销）。',
	'capture.unknown': '无法打开相机。',
	'signaling.unavailable-id': '你的 ID 正在别处使用（另一台设备或浏览器占用了它）。',
	'signaling.invalid-id': '该 ID 对信令服务器无效。',
	'signaling.invalid-key': '信令服务器拒绝了 API 密钥。',
	'signaling.network': '无法连接信令服务器，正在重试…',
	'signaling.server-error': '信令服务器出错，正在重试…',
	'signaling.socket-error': '与信令服务器的连接失败，正在重试…',
	'signaling.socket-closed': '信令服务器关闭了连接，正在重试…',
	'signaling.disconnected': '已与信令服务器断开，正在重试…',
	'signaling.browser-incompatible': '此浏览器不支持 WebRTC 通话。',
	'signaling.ssl-unavailable': '信令服务器需要安全连接，但当前不可用。',
	'signaling.webrtc': '发生了 WebRTC 错误。',
	'signaling.unknown': '信令失败。',
	'call.hung-up': '通话已结束。',
	'call.remote-hung-up': '对方已挂断。',
	'call.declined': '对方拒绝了通话。',
	'call.busy': '对方正在另一个通话中。',
	'call.no-answer': '无人接听。',
	'call.missed': '未接来电：对方已挂断。',
	'call.peer-unavailable': '没有使用该 ID 的在线用户。请检查 ID 后重试。',
	'call.connection-lost': '连接已断开。',
	'call.media-error': '通话无法建立媒体连接。',
	'call.not-connected': '尚未连接到信令服务器，请稍后再试。',
	'photo.not-live': '相机未打开。请先打开相机再拍照。',
	'photo.capture-failed': '无法拍照，请重试。',
	'photo.storage-full': '照片无法保存：此应用的存储空间已满。请删除一些照片（或先下载），然后重试。已保存的照片不受影响。',
	'photo.storage-failed': '照片无法保存：此浏览器不允许应用存储它。',
	'photo.not-in-call': '发送照片需要已接通的通话。',
	'photo.not-found': '这张照片已不在相册中。',
	'photo.peer-unreachable': '对方现在无法接收照片。',
	'photo.transfer-failed': '照片传输中断。'
};

const enReasons: Record<string, string> = {
	...Object.fromEntries(Object.entries(captureMessages).map(([k, v]) => [`capture.${k}`, v])),
	...Object.fromEntries(Object.entries(signalingMessages).map(([k, v]) => [`signaling.${k}`, v])),
	...Object.fromEntries(Object.entries(callMessages).map(([k, v]) => [`call.${k}`, v])),
	...Object.fromEntries(Object.entries(photoMessages).map(([k, v]) => [`photo.${k}`, v]))
};

export type Locale = 'en' | 'zh';
const catalogs: Record<Locale, Catalog> = { en, zh };
const reasons: Record<Locale, Record<string, string>> = { en: enReasons, zh: zhReasons };
const STORAGE_KEY = 'camcall.locale';

function detect(): Locale {
	try {
		const saved = localStorage.getItem(STORAGE_KEY);
		if (saved === 'en' || saved === 'zh') return saved;
	} catch {
		/* storage blocked: fall back to the browser's languages */
	}
	const languages = typeof navigator !== 'undefined' ? navigator.languages ?? [navigator.language] : [];
	for (const lang of languages) {
		if (/^zh\b/i.test(lang)) return 'zh';
		if (/^en\b/i.test(lang)) return 'en';
	}
	return 'en';
}

class I18n {
	locale = $state<Locale>(detect());

	set(locale: Locale) {
		this.locale = locale;
		try {
			localStorage.setItem(STORAGE_KEY, locale);
		} catch {
			/* not remembered, still switched */
		}
		document.documentElement.lang = locale === 'zh' ? 'zh-CN' : 'en';
	}

	t = (key: MessageKey, params: Record<string, string | number> = {}): string => {
		const text = catalogs[this.locale][key] ?? en[key];
		return text.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? ''));
	};

	/** A machine's failure in the current language: by reason, else the machine's English text. */
	reason = (scope: 'capture' | 'signaling' | 'call' | 'photo', failure: { reason: string; message: string } | null | undefined) => {
		if (!failure) return '';
		return reasons[this.locale][`${scope}.${failure.reason}`] ?? failure.message;
	};
}

export const i18n = new I18n();
