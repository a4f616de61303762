/**
 * The home screen's people section's strings (your name, recent calls, call notifications):
 * they come with that section (People.svelte, loaded once the camera and the ID are ready),
 * not with the first load, and not with the later screens' catalog (i18n.later.ts).
 */
import { addLater } from './i18n.svelte';

export const peopleEn = {
	'profile.name': 'Your name',
	'profile.namePlaceholder': 'Shown to the people you call',
	'recent.title': 'Recent calls',
	'recent.none': 'Your calls will be listed here.',
	'recent.in': 'Incoming',
	'recent.out': 'Outgoing',
	'recent.answered': 'Answered',
	'recent.missed': 'Missed',
	'recent.declined': 'Declined',
	'recent.no-answer': 'No answer',
	'recent.busy': 'Busy',
	'recent.cancelled': 'Cancelled',
	'recent.failed': 'Did not connect',
	'recent.call': 'Call {id}',
	'recent.save': 'Save {id} as a contact',
	'recent.saveShort': 'Save',
	'recent.nickname': 'Nickname',
	'recent.saveContact': 'Save contact',
	'notify.enable': 'Notify me of calls while the app is in the background',
	'notify.on': 'Calls ring with a notification while the app is in the background.',
	'notify.blocked': 'Notifications are off for this site: a call while the app is in the background flashes its title only.',
};

export const peopleZh: Record<keyof typeof peopleEn, string> = {
	'profile.name': '你的名字',
	'profile.namePlaceholder': '会显示给你呼叫的人',
	'recent.title': '最近通话',
	'recent.none': '你的通话会列在这里。',
	'recent.in': '呼入',
	'recent.out': '呼出',
	'recent.answered': '已接通',
	'recent.missed': '未接',
	'recent.declined': '已拒绝',
	'recent.no-answer': '无人接听',
	'recent.busy': '对方忙',
	'recent.cancelled': '已取消',
	'recent.failed': '未能接通',
	'recent.call': '呼叫 {id}',
	'recent.save': '把 {id} 存为联系人',
	'recent.saveShort': '保存',
	'recent.nickname': '昵称',
	'recent.saveContact': '保存联系人',
	'notify.enable': '应用在后台时用通知提醒我来电',
	'notify.on': '应用在后台时，来电会显示通知。',
	'notify.blocked': '此网站的通知已关闭：应用在后台时来电只会闪烁标题。',
};

addLater(peopleEn, peopleZh);
