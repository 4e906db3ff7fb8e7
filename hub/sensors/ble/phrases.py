"""What the hub says aloud about health readings and devices, in each language.

Same format as :mod:`hub.phrases` (key → language → text); kept here so Bluetooth owns
its words. Calm and plain: say what happened, that someone was told, and at most one
simple thing to do. Never a number that could frighten, never "danger".
"""

__all__ = ["PHRASES", "phrase"]

PHRASES: dict[str, dict[str, str]] = {
    "bp_high": {
        "en": "Your blood pressure is higher than usual. The care centre has been told.",
        "zh_CN": "您的血压比平时高。已经通知了服务中心。",
        "ko": "혈압이 평소보다 높습니다. 돌봄 센터에 알렸습니다.",
    },
    "spo2_low": {
        "en": "Your oxygen level is lower than usual. Please sit down and rest. "
              "The care centre has been told.",
        "zh_CN": "您的血氧比平时低。请坐下休息。已经通知了服务中心。",
        "ko": "산소 수치가 평소보다 낮습니다. 앉아서 쉬세요. 돌봄 센터에 알렸습니다.",
    },
    "glucose_low": {
        "en": "Your blood sugar is low. Please eat or drink something sweet now. "
              "The care centre has been told.",
        "zh_CN": "您的血糖偏低。请现在吃点或喝点甜的东西。已经通知了服务中心。",
        "ko": "혈당이 낮습니다. 지금 단 것을 드세요. 돌봄 센터에 알렸습니다.",
    },
    "temperature_high": {
        "en": "Your temperature is higher than usual. Please rest and drink some water. "
              "The care centre has been told.",
        "zh_CN": "您的体温比平时高。请休息，多喝水。已经通知了服务中心。",
        "ko": "체온이 평소보다 높습니다. 쉬시고 물을 드세요. 돌봄 센터에 알렸습니다.",
    },
    "glucose_lo": {
        "en": "Your blood sugar is too low for the meter to measure. Please eat or drink "
              "something sweet now. The care centre has been told.",
        "zh_CN": "您的血糖太低，血糖仪测不出来。请现在吃点或喝点甜的东西。已经通知了服务中心。",
        "ko": "혈당이 너무 낮아 측정기가 잴 수 없습니다. 지금 단 것을 드세요. 돌봄 센터에 알렸습니다.",
    },
    "glucose_hi": {
        "en": "Your blood sugar is too high for the meter to measure. "
              "The care centre has been told.",
        "zh_CN": "您的血糖太高，血糖仪测不出来。已经通知了服务中心。",
        "ko": "혈당이 너무 높아 측정기가 잴 수 없습니다. 돌봄 센터에 알렸습니다.",
    },
    "out_of_range": {
        "en": "The device could not measure this value: it is outside its range. "
              "The care centre has been told.",
        "zh_CN": "设备测不出这个数值，超出了它的测量范围。已经通知了服务中心。",
        "ko": "기기가 이 값을 잴 수 없습니다. 측정 범위를 벗어났습니다. 돌봄 센터에 알렸습니다.",
    },
    "reading_saved": {
        "en": "Your {what} reading is saved.",
        "zh_CN": "您的{what}测量结果已保存。",
        "ko": "{what} 측정 결과를 저장했습니다.",
    },
    "device_paired": {
        "en": "The {name} is now connected to this hub.",
        "zh_CN": "{name}已经连接到本设备。",
        "ko": "{name}이(가) 이 기기에 연결되었습니다.",
    },
    "enter_pin": {
        "en": "Please type the number shown on the device.",
        "zh_CN": "请输入设备上显示的数字。",
        "ko": "기기에 표시된 숫자를 입력해 주세요.",
    },
}

# {what} in reading_saved, per reading kind.
KIND_WORDS: dict[str, dict[str, str]] = {
    "blood_pressure": {"en": "blood pressure", "zh_CN": "血压", "ko": "혈압"},
    "body_temperature": {"en": "temperature", "zh_CN": "体温", "ko": "체온"},
    "glucose": {"en": "blood sugar", "zh_CN": "血糖", "ko": "혈당"},
    "body_weight": {"en": "weight", "zh_CN": "体重", "ko": "체중"},
    "spo2": {"en": "oxygen", "zh_CN": "血氧", "ko": "산소"},
    "heart_rate": {"en": "heart rate", "zh_CN": "心率", "ko": "심박수"},
}


def phrase(key: str, language: str, **params) -> str:
    """Return the phrase ``key`` in ``language`` (English if missing), filled in.

    :raises KeyError: an unknown phrase key (a programming error).
    """
    texts = PHRASES[key]
    if "what" in params and params["what"] in KIND_WORDS:
        words = KIND_WORDS[params["what"]]
        params["what"] = words.get(language, words["en"])
    return texts.get(language, texts["en"]).format(**params)
