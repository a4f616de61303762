/**
 * English and Simplified Chinese catalogs for every user-visible string, error messages
 * included. The language comes from `navigator.languages` unless the user picked one (saved).
 */
import { captureMessages, signalingMessages, callMessages } from '$machines/errors';

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
	'share.qr': 'QR code of your call link',
	'share.showQr': 'Show the QR code of your call link',
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
	'offline.note': 'You are offline. The camera works; calls resume when the network is back.',
	'gallery.title': 'Photos',
	'gallery.empty': 'No photos yet. Take one from the camera screen.',
	'inspect.title': 'State chart',
	'inspect.intro': 'Every machine of this session, drawn from its definition. Blue: the states the app is in now. Orange: the last transition. Pinch, or use the buttons, to zoom a chart.',
	'inspect.machines': 'Machines',
	'inspect.now': 'Now: {state}',
	'inspect.notRunning': 'Not running',
	'inspect.chartLabel': 'State chart of the {id} machine. Current state: {state}.',
	'inspect.zoomIn': 'Zoom in on {id}',
	'inspect.zoomOut': 'Zoom out of {id}',
	'inspect.zoomReset': 'Fit {id} to the screen',
	'inspect.log': 'Event log',
	'inspect.logEmpty': 'No events yet.',
	'inspect.logFilter': 'Show events of',
	'inspect.allMachines': 'All machines',
	'inspect.count': '{shown} of {total} events, newest first. Tap one to see its context.',
	'inspect.export': 'Export JSON',
	'inspect.transitions': 'Transitions taken',
	'inspect.context': 'Context after this event',
	'inspect.chartArea': 'Chart of {id}: drag sideways to move, pinch to zoom',
	'inspect.showNow': 'Current state: {state}. Show it in the chart',
	'inspect.search': 'Filter events by type or state',
	'inspect.searchPlaceholder': 'Filter, e.g. camera'
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
	'share.qr': '通话链接的二维码',
	'share.showQr': '显示通话链接的二维码',
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
	'offline.note': '你已离线。相机仍可使用；网络恢复后即可通话。',
	'gallery.title': '照片',
	'gallery.empty': '还没有照片。请在相机页面拍一张。',
	'inspect.title': '状态图',
	'inspect.intro': '本次会话的每个状态机，均由其定义绘制。蓝色：应用当前所处的状态。橙色：最近一次转换。双指缩放或使用按钮缩放图表。',
	'inspect.machines': '状态机',
	'inspect.now': '当前：{state}',
	'inspect.notRunning': '未运行',
	'inspect.chartLabel': '{id} 状态机的状态图。当前状态：{state}。',
	'inspect.zoomIn': '放大 {id}',
	'inspect.zoomOut': '缩小 {id}',
	'inspect.zoomReset': '将 {id} 适配屏幕',
	'inspect.log': '事件日志',
	'inspect.logEmpty': '还没有事件。',
	'inspect.logFilter': '显示哪个状态机的事件',
	'inspect.allMachines': '全部状态机',
	'inspect.count': '共 {total} 个事件，显示 {shown} 个，最新的在前。点按查看其上下文。',
	'inspect.export': '导出 JSON',
	'inspect.transitions': '触发的转换',
	'inspect.context': '此事件之后的上下文',
	'inspect.chartArea': '{id} 的图表：左右拖动可移动，双指捏合可缩放',
	'inspect.showNow': '当前状态：{state}。在图中显示',
	'inspect.search': '按事件类型或状态筛选',
	'inspect.searchPlaceholder': '筛选，例如 camera'
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
	'call.not-connected': '尚未连接到信令服务器，请稍后再试。'
};

const enReasons: Record<string, string> = {
	...Object.fromEntries(Object.entries(captureMessages).map(([k, v]) => [`capture.${k}`, v])),
	...Object.fromEntries(Object.entries(signalingMessages).map(([k, v]) => [`signaling.${k}`, v])),
	...Object.fromEntries(Object.entries(callMessages).map(([k, v]) => [`call.${k}`, v]))
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
	reason = (scope: 'capture' | 'signaling' | 'call', failure: { reason: string; message: string } | null | undefined) => {
		if (!failure) return '';
		return reasons[this.locale][`${scope}.${failure.reason}`] ?? failure.message;
	};
}

export const i18n = new I18n();
