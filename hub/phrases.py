"""What the core says aloud, in each language: short, calm, never frightening.

The core speaks for itself (an alarm must be heard even when the kiosk is down),
so its phrases live here rather than in the kiosk's gettext catalogs.
"""

__all__ = ["PHRASES", "phrase"]

PHRASES: dict[str, dict[str, str]] = {
    "sos_countdown": {
        "en": "Calling for help in {seconds} seconds. Press cancel if you are all right.",
        "zh_CN": "{seconds}秒后将呼叫求助。如果您没事，请按取消。",
        "ko": "{seconds}초 후에 도움을 요청합니다. 괜찮으시면 취소를 누르세요.",
    },
    "sos_countdown_voice": {
        "en": "Calling for help in {seconds} seconds. Say cancel to stop.",
        "zh_CN": "{seconds}秒后将呼叫求助。说“取消”可以停止。",
        "ko": "{seconds}초 후에 도움을 요청합니다. 멈추려면 취소라고 말씀하세요.",
    },
    "sos_cancelled": {
        "en": "Cancelled. No alarm was sent.",
        "zh_CN": "已取消，没有发送求助。",
        "ko": "취소했습니다. 알림을 보내지 않았습니다.",
    },
    "sos_raised": {
        "en": "Calling for help now.",
        "zh_CN": "正在呼叫求助。",
        "ko": "지금 도움을 요청하고 있습니다.",
    },
    "sos_delivered": {
        "en": "Your alarm was received. Help is being arranged.",
        "zh_CN": "您的求助已收到，正在安排帮助。",
        "ko": "알림이 전달되었습니다. 도움을 준비하고 있습니다.",
    },
    "sos_acknowledged": {
        "en": "{responder} is coming to help you.",
        "zh_CN": "{responder}正在赶来帮助您。",
        "ko": "{responder} 님이 도우러 오고 있습니다.",
    },
    "sos_not_delivered": {
        "en": "Your alarm has not been received yet. The hub keeps trying. "
              "If you can, call for help by phone or open the door and shout.",
        "zh_CN": "您的求助还没有送达，设备正在继续尝试。如果可以，请打电话求助，或开门大声呼救。",
        "ko": "알림이 아직 전달되지 않았습니다. 계속 시도하고 있습니다. "
              "가능하면 전화로 도움을 요청하거나 문을 열고 소리쳐 주세요.",
    },
    "sos_refused": {
        "en": "The care centre's system did not accept your alarm. The hub keeps sending it. "
              "Please call for help by phone now, or open the door and shout.",
        "zh_CN": "服务中心的系统没有接受您的求助，设备正在继续发送。请现在打电话求助，或开门大声呼救。",
        "ko": "돌봄 센터 시스템이 알림을 받아들이지 않았습니다. 계속 보내고 있습니다. "
              "지금 전화로 도움을 요청하거나 문을 열고 소리쳐 주세요.",
    },
    "sos_resolved": {
        "en": "The alarm is over. Take care.",
        "zh_CN": "求助已结束，请多保重。",
        "ko": "알림이 끝났습니다. 건강 조심하세요.",
    },
    "checkin_thanks": {
        "en": "Thank you. Your family will see that you are well.",
        "zh_CN": "谢谢，您的家人会知道您一切安好。",
        "ko": "감사합니다. 가족분들이 잘 지내신다는 것을 알게 됩니다.",
    },
    "checkin_question": {
        "en": "Good morning. Are you all right today?",
        "zh_CN": "早上好。您今天好吗？",
        "ko": "안녕하세요. 오늘 괜찮으세요?",
    },
    "checkin_missed_told": {
        "en": "We did not hear from you this morning. Your family has been told.",
        "zh_CN": "今天早上没有收到您的消息，已经告诉您的家人了。",
        "ko": "오늘 아침에 소식이 없으셔서 가족분들께 알렸습니다.",
    },
    "reminder_due": {
        "en": "Time for your {label}.",
        "zh_CN": "该{label}了。",
        "ko": "{label} 시간입니다.",
    },
    "reminder_dose": {
        "en": "Time for your {label}: {dose}.",
        "zh_CN": "该{label}了：{dose}。",
        "ko": "{label} 시간입니다. {dose}.",
    },
    "reminders_missed": {
        "en": "While the hub was off, {count} reminders were missed. Please check your medicines.",
        "zh_CN": "设备关闭期间，错过了{count}个提醒。请检查您的药。",
        "ko": "기기가 꺼져 있는 동안 알림 {count}개를 놓쳤습니다. 약을 확인해 주세요.",
    },
    "service_requested": {
        "en": "Your request has been sent. You will hear when it is accepted.",
        "zh_CN": "您的请求已发送。受理后会告诉您。",
        "ko": "요청을 보냈습니다. 접수되면 알려 드리겠습니다.",
    },
    "service_accepted": {
        "en": "Your request has been accepted.",
        "zh_CN": "您的请求已受理。",
        "ko": "요청이 접수되었습니다.",
    },
    "service_scheduled": {
        "en": "Your request has been scheduled.",
        "zh_CN": "您的请求已安排。",
        "ko": "요청이 예약되었습니다.",
    },
    "service_scheduled_today": {
        "en": "Someone will come today at {time}.",
        "zh_CN": "今天{time}会有人来。",
        "ko": "오늘 {time}에 방문합니다.",
    },
    "service_scheduled_tomorrow": {
        "en": "Someone will come tomorrow at {time}.",
        "zh_CN": "明天{time}会有人来。",
        "ko": "내일 {time}에 방문합니다.",
    },
    "service_scheduled_on": {
        "en": "Someone will come on {day}/{month} at {time}.",
        "zh_CN": "{month}月{day}日{time}会有人来。",
        "ko": "{month}월 {day}일 {time}에 방문합니다.",
    },
    "service_on_the_way": {
        "en": "Someone is on the way to you now.",
        "zh_CN": "工作人员正在路上。",
        "ko": "지금 찾아가는 중입니다.",
    },
    "service_done": {
        "en": "Your service is done.",
        "zh_CN": "服务已完成。",
        "ko": "서비스가 끝났습니다.",
    },
    "service_cancelled": {
        "en": "Your request was cancelled. You can ask again at any time.",
        "zh_CN": "您的请求已取消。您可以随时再次请求。",
        "ko": "요청이 취소되었습니다. 언제든지 다시 요청하실 수 있습니다.",
    },
    "service_rate_question": {
        "en": "How was it? Press a face.",
        "zh_CN": "服务怎么样？请按一个表情。",
        "ko": "어떠셨어요? 얼굴을 하나 눌러 주세요.",
    },
    "service_thanks_rating": {
        "en": "Thank you for telling us.",
        "zh_CN": "谢谢您的评价。",
        "ko": "알려 주셔서 감사합니다.",
    },
    "callback_requested": {
        "en": "{contact} will be asked to call you.",
        "zh_CN": "会请{contact}给您回电话。",
        "ko": "{contact}께 전화해 달라고 전하겠습니다.",
    },
    "callback_accepted": {
        "en": "{contact} has been asked to call you.",
        "zh_CN": "已经请{contact}给您回电话。",
        "ko": "{contact}께 전화해 달라고 전했습니다.",
    },
    "callback_done": {
        "en": "{contact} has called you back.",
        "zh_CN": "{contact}已给您回电话。",
        "ko": "{contact}께서 전화하셨습니다.",
    },
    "inactivity_question": {
        "en": "Are you all right?",
        "zh_CN": "您还好吗？",
        "ko": "괜찮으세요?",
    },
    "inactivity_told": {
        "en": "We did not hear from you, so the care centre has been told. They will check on you.",
        "zh_CN": "我们没有收到您的回答，已通知服务中心，他们会来看看您。",
        "ko": "대답이 없어서 돌봄 센터에 알렸습니다. 곧 확인하러 올 것입니다.",
    },
    "night_door": {
        "en": "The door is open. Please close it if you are going back to bed.",
        "zh_CN": "门开着。如果您要回去睡觉，请把门关好。",
        "ko": "문이 열려 있습니다. 다시 주무실 거면 문을 닫아 주세요.",
    },
}

# Said when the responder's name is unknown.
SOMEONE = {"en": "Someone", "zh_CN": "工作人员", "ko": "담당자"}


def phrase(key: str, language: str, **params) -> str:
    """Return the phrase ``key`` in ``language`` (English if missing), filled in.

    :raises KeyError: an unknown phrase key (a programming error).
    """
    texts = PHRASES[key]
    if "responder" in params and not params["responder"]:
        params["responder"] = SOMEONE.get(language, SOMEONE["en"])
    return texts.get(language, texts["en"]).format(**params)
