"""Disease names in Chinese for ICD-10 codes, so a worker can recognise and pick a disease by
name instead of a 诊断编码 (the guide, the coverage page and the claim forms).

The table holds the three-character categories (国家临床版 2.0 category names) that the
mutual-aid plans name — malignant neoplasms C00–C97, acute myocardial infarction, the
cerebrovascular diseases I60–I64 — and the diagnoses most often seen on inpatient claims. A
plan entry may be a category (`C50`), a code (`C50.901`) or a range (`C00-C97`); a range is
named as a whole when it is a chapter block people know by one name. Codes outside the table
are shown as they are (never guessed). Pure data, no Django.
"""

from __future__ import annotations

__all__ = ["DISEASE_NAMES", "RANGE_NAMES", "diagnosis_choices", "diagnosis_label"]

DISEASE_NAMES: dict[str, str] = {
    # Malignant neoplasms (恶性肿瘤), C00–C97
    "C00": "唇恶性肿瘤",
    "C01": "舌根恶性肿瘤",
    "C02": "舌其他部位恶性肿瘤",
    "C03": "牙龈恶性肿瘤",
    "C04": "口底恶性肿瘤",
    "C05": "腭恶性肿瘤",
    "C06": "口其他部位恶性肿瘤",
    "C07": "腮腺恶性肿瘤",
    "C08": "大涎腺恶性肿瘤",
    "C09": "扁桃体恶性肿瘤",
    "C10": "口咽恶性肿瘤",
    "C11": "鼻咽恶性肿瘤（鼻咽癌）",
    "C12": "梨状窦恶性肿瘤",
    "C13": "下咽恶性肿瘤",
    "C14": "唇、口腔和咽其他部位恶性肿瘤",
    "C15": "食管恶性肿瘤（食管癌）",
    "C16": "胃恶性肿瘤（胃癌）",
    "C17": "小肠恶性肿瘤",
    "C18": "结肠恶性肿瘤（结肠癌）",
    "C19": "直肠乙状结肠连接处恶性肿瘤",
    "C20": "直肠恶性肿瘤（直肠癌）",
    "C21": "肛门和肛管恶性肿瘤",
    "C22": "肝和肝内胆管恶性肿瘤（肝癌）",
    "C23": "胆囊恶性肿瘤",
    "C24": "胆道其他部位恶性肿瘤",
    "C25": "胰腺恶性肿瘤（胰腺癌）",
    "C26": "消化器官其他部位恶性肿瘤",
    "C30": "鼻腔和中耳恶性肿瘤",
    "C31": "鼻窦恶性肿瘤",
    "C32": "喉恶性肿瘤（喉癌）",
    "C33": "气管恶性肿瘤",
    "C34": "支气管和肺恶性肿瘤（肺癌）",
    "C37": "胸腺恶性肿瘤",
    "C38": "心脏、纵隔和胸膜恶性肿瘤",
    "C39": "呼吸系统和胸腔内器官其他部位恶性肿瘤",
    "C40": "四肢骨和关节软骨恶性肿瘤",
    "C41": "其他骨和关节软骨恶性肿瘤",
    "C43": "皮肤恶性黑色素瘤",
    "C44": "皮肤其他恶性肿瘤",
    "C45": "间皮瘤",
    "C46": "卡波西肉瘤",
    "C47": "周围神经和自主神经系统恶性肿瘤",
    "C48": "腹膜后和腹膜恶性肿瘤",
    "C49": "其他结缔组织和软组织恶性肿瘤",
    "C50": "乳房恶性肿瘤（乳腺癌）",
    "C51": "外阴恶性肿瘤",
    "C52": "阴道恶性肿瘤",
    "C53": "子宫颈恶性肿瘤（宫颈癌）",
    "C54": "子宫体恶性肿瘤（子宫内膜癌等）",
    "C55": "子宫恶性肿瘤，部位未特指",
    "C56": "卵巢恶性肿瘤（卵巢癌）",
    "C57": "女性生殖器官其他部位恶性肿瘤",
    "C58": "胎盘恶性肿瘤",
    "C60": "阴茎恶性肿瘤",
    "C61": "前列腺恶性肿瘤（前列腺癌）",
    "C62": "睾丸恶性肿瘤",
    "C63": "男性生殖器官其他部位恶性肿瘤",
    "C64": "肾恶性肿瘤（肾盂除外）",
    "C65": "肾盂恶性肿瘤",
    "C66": "输尿管恶性肿瘤",
    "C67": "膀胱恶性肿瘤（膀胱癌）",
    "C68": "泌尿器官其他部位恶性肿瘤",
    "C69": "眼和附器恶性肿瘤",
    "C70": "脑脊膜恶性肿瘤",
    "C71": "脑恶性肿瘤",
    "C72": "脊髓、颅神经和中枢神经系统其他部位恶性肿瘤",
    "C73": "甲状腺恶性肿瘤（甲状腺癌）",
    "C74": "肾上腺恶性肿瘤",
    "C75": "其他内分泌腺恶性肿瘤",
    "C76": "其他和不明确部位的恶性肿瘤",
    "C77": "淋巴结继发性恶性肿瘤",
    "C78": "呼吸和消化器官继发性恶性肿瘤",
    "C79": "其他部位继发性恶性肿瘤",
    "C80": "恶性肿瘤，部位未特指",
    "C81": "霍奇金淋巴瘤",
    "C82": "滤泡性淋巴瘤",
    "C83": "非滤泡性淋巴瘤",
    "C84": "成熟T/NK细胞淋巴瘤",
    "C85": "非霍奇金淋巴瘤，其他和未特指类型",
    "C86": "其他特指类型的T/NK细胞淋巴瘤",
    "C88": "恶性免疫增生性疾病",
    "C90": "多发性骨髓瘤和恶性浆细胞肿瘤",
    "C91": "淋巴样白血病",
    "C92": "髓样白血病",
    "C93": "单核细胞白血病",
    "C94": "其他特指细胞类型的白血病",
    "C95": "未特指细胞类型的白血病",
    "C96": "淋巴、造血和有关组织其他恶性肿瘤",
    "C97": "独立（原发）多部位恶性肿瘤",
    # Heart and brain (心脑血管)
    "I20": "心绞痛",
    "I21": "急性心肌梗死",
    "I22": "随后性心肌梗死",
    "I25": "慢性缺血性心脏病",
    "I50": "心力衰竭",
    "I60": "蛛网膜下腔出血",
    "I61": "脑内出血（脑出血）",
    "I62": "其他非创伤性颅内出血",
    "I63": "脑梗死",
    "I64": "脑卒中，未特指为出血或梗死",
    "I10": "原发性高血压",
    # Frequent inpatient diagnoses
    "E11": "2型糖尿病",
    "J18": "肺炎",
    "J44": "慢性阻塞性肺病",
    "K35": "急性阑尾炎",
    "K80": "胆石症",
    "K81": "胆囊炎",
    "M51": "椎间盘疾患",
    "N18": "慢性肾脏病",
    "N20": "肾和输尿管结石",
    "S72": "股骨骨折",
    "D25": "子宫平滑肌瘤（子宫肌瘤）",
}

RANGE_NAMES: dict[str, str] = {
    "C00-C97": "恶性肿瘤（癌症）",
    "C00-C96": "恶性肿瘤（癌症）",
    "I60-I64": "脑血管病（脑出血、脑梗死等）",
    "I60-I69": "脑血管病",
    "I20-I25": "缺血性心脏病",
}


def _name_of(code: str) -> str | None:
    code = code.strip().upper()
    return DISEASE_NAMES.get(code.replace(".", "")[:3])


def diagnosis_label(entry: str) -> str:
    """`C50` -> `C50 乳房恶性肿瘤（乳腺癌）`; `C00-C97` -> `C00-C97 恶性肿瘤（癌症）`; a code
    not in the table stays as it is."""
    entry = entry.strip().upper()
    if "-" in entry:
        name = RANGE_NAMES.get(entry)
        return f"{entry} {name}" if name else entry
    name = _name_of(entry)
    return f"{entry} {name}" if name else entry


def _range_codes(entry: str) -> list[str]:
    low, high = (part.strip()[:3] for part in entry.split("-", 1))
    return [c for c in DISEASE_NAMES if low <= c <= high]


def diagnosis_choices(entries) -> list[tuple[str, str]]:
    """(code, name) pairs a worker can pick from for a benefit's diagnosis list: each
    category of the table inside a range, and each listed code with its name."""
    out: dict[str, str] = {}
    for entry in entries:
        entry = entry.strip().upper()
        codes = _range_codes(entry) if "-" in entry else [entry]
        for code in codes:
            name = _name_of(code)
            if name:
                out.setdefault(code, name)
    return sorted(out.items())
