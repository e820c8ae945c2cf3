"""Chinese text as a field-service department writes it, from seeded word lists.

Benchmarks that ship rows over a wire or store them need text that compresses like the
real thing: customer names and addresses, equipment models, fault descriptions and
diagnoses in Chinese, of the lengths people really type, never one sentence repeated.
Each function draws from a :class:`random.Random` it is given, so a seed decides every
character and no network or file is needed.
"""

from __future__ import annotations

import random

__all__ = ["Words"]

#: province (or municipality) → city → districts
PLACES: dict[str, dict[str, tuple[str, ...]]] = {
    "北京市": {"北京市": ("朝阳区", "海淀区", "丰台区", "昌平区", "大兴区", "通州区", "顺义区", "东城区", "西城区", "房山区")},
    "天津市": {"天津市": ("和平区", "南开区", "河西区", "河东区", "滨海新区", "西青区", "津南区")},
    "上海市": {"上海市": ("浦东新区", "徐汇区", "闵行区", "嘉定区", "宝山区", "松江区", "静安区")},
    "河北省": {"石家庄市": ("长安区", "桥西区", "裕华区", "新华区"), "保定市": ("竞秀区", "莲池区", "满城区"),
              "廊坊市": ("广阳区", "安次区"), "唐山市": ("路北区", "路南区", "丰润区")},
    "山东省": {"济南市": ("历下区", "市中区", "槐荫区", "天桥区"), "青岛市": ("市南区", "市北区", "崂山区", "黄岛区"),
              "淄博市": ("张店区", "淄川区"), "烟台市": ("芝罘区", "莱山区")},
    "江苏省": {"南京市": ("玄武区", "鼓楼区", "江宁区", "建邺区"), "苏州市": ("姑苏区", "吴中区", "相城区", "虎丘区"),
              "无锡市": ("梁溪区", "滨湖区", "新吴区")},
    "浙江省": {"杭州市": ("西湖区", "上城区", "拱墅区", "滨江区", "萧山区"), "宁波市": ("海曙区", "鄞州区", "北仑区"),
              "温州市": ("鹿城区", "瓯海区")},
    "广东省": {"广州市": ("天河区", "越秀区", "海珠区", "番禺区", "白云区"), "深圳市": ("南山区", "福田区", "宝安区", "龙岗区"),
              "东莞市": ("南城街道", "东城街道", "长安镇"), "佛山市": ("禅城区", "南海区", "顺德区")},
    "河南省": {"郑州市": ("金水区", "二七区", "中原区", "管城回族区"), "洛阳市": ("西工区", "涧西区")},
    "湖北省": {"武汉市": ("江汉区", "武昌区", "洪山区", "江岸区", "东西湖区"), "宜昌市": ("西陵区", "伍家岗区")},
    "四川省": {"成都市": ("锦江区", "武侯区", "青羊区", "成华区", "双流区"), "绵阳市": ("涪城区", "游仙区")},
    "陕西省": {"西安市": ("雁塔区", "碑林区", "未央区", "莲湖区", "长安区")},
    "辽宁省": {"沈阳市": ("和平区", "沈河区", "铁西区", "浑南区"), "大连市": ("中山区", "西岗区", "甘井子区")},
}
_STREET_NAMES = (
    "建设", "人民", "解放", "中山", "长江", "黄河", "和平", "胜利", "新华", "文化", "工业", "科技", "学府", "光明",
    "东风", "朝阳", "青年", "迎宾", "开发", "世纪", "滨河", "金融", "创业", "兴业", "民主", "友谊", "幸福", "振兴",
    "环城", "南湖", "北苑", "西园", "龙山", "凤凰", "花园", "红旗", "团结", "育才", "春晖", "丰收", "工农", "建国",
)
_STREET_KINDS = ("路", "北路", "南路", "东路", "西路", "大街", "大道", "街", "中路")
_BUILDINGS = ("大厦", "广场", "中心", "科技园", "工业园", "产业园", "商务楼", "小区", "花园", "公寓")
_BRANDS = (
    "华信", "鑫源", "恒通", "宏达", "金桥", "东方", "瑞丰", "安泰", "博远", "嘉和", "盛世", "永兴", "中诚", "天成",
    "汇丰", "德润", "新智", "海川", "远航", "中科", "华茂", "北辰", "正大", "同创", "长城", "联合", "万通", "利民",
    "康泰", "百川", "融信", "精诚", "昌盛", "恒远", "兴隆", "众和", "宇通", "信达", "明辉", "佳禾",
)
_TRADES = (
    "物流", "冷链物流", "印刷", "医疗器械", "精密机械", "电子科技", "建筑工程", "食品", "化工", "物业管理", "汽车服务",
    "酒店管理", "纺织", "制药", "环保设备", "商贸", "数据科技", "新能源", "包装材料", "农业发展", "钢结构", "供水",
)
_COMPANY_KINDS = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司", "集团有限公司")
_INSTITUTIONS = (
    "人民医院", "中医院", "妇幼保健院", "第一中学", "第三中学", "实验小学", "职业技术学院", "街道办事处", "公安分局",
    "税务局", "图书馆", "体育中心", "汽车客运站", "自来水公司", "供电公司", "热力公司", "农商银行支行",
)
_SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马",
    "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹", "袁", "邓", "许", "傅", "沈", "曾",
    "彭", "吕", "苏", "卢", "蒋", "蔡", "贾", "丁", "魏", "薛", "叶", "阎", "余", "潘", "杜", "戴", "夏", "钟", "汪",
    "田", "任", "姜", "范", "方", "石", "姚", "谭", "廖", "邹", "熊", "金", "陆", "郝", "孔", "白", "崔", "康", "毛",
)
_GIVEN = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞",
    "平", "刚", "桂英", "建华", "志强", "海燕", "晓东", "立新", "国庆", "春梅", "红梅", "德明", "文博", "子涵", "浩然",
    "雨轩", "思远", "宏伟", "振国", "丽华", "玉兰", "金凤", "永刚", "建军", "俊杰", "欣怡", "佳琪", "鹏", "辉", "斌",
)
_TITLES = ("经理", "主任", "工", "师傅", "先生", "女士", "科长", "主管", "老师", "所长")
_AREA_CODES = ("010", "022", "021", "0311", "0312", "0531", "0532", "025", "0512", "0571", "020", "0755", "0371",
               "027", "028", "029", "024", "0411")

#: equipment kinds: (name, model prefixes, rating format)
_EQUIPMENT = (
    ("柴油发电机组", ("HD", "YC", "WP"), "{n}kW"),
    ("螺杆空压机", ("DL", "SA", "LG"), "{n}kW"),
    ("内燃叉车", ("CPCD", "CPQD"), "{t}吨"),
    ("网络摄像机", ("IPC", "DS-2CD", "AS-IPC"), "{m}00万像素"),
    ("硬盘录像机", ("NVR", "DS-78", "AS-NVR"), "{c}路"),
    ("门禁控制器", ("AC", "MJ", "DS-K26"), "{d}门"),
    ("风冷模块机组", ("LSQWRF", "MAC", "GR-KS"), "{n}kW"),
    ("在线式UPS", ("UPS-KR", "UPS-GP", "UPS-HT"), "{k}kVA"),
    ("数控车床", ("CK", "HTC", "CAK"), "φ{p}"),
    ("变频供水设备", ("BPS", "ZWS", "GWS"), "{n}kW"),
)
_SUPPLIERS = ("华动", "东力", "恒驰", "安视", "科瑞", "格瑞", "康途", "海威", "博世达", "中瑞", "天宇", "精工")

_OPENERS = (
    "今日上午开机后", "昨天夜间值班时发现", "近一周以来", "连续下雨后", "机房搬迁后", "设备运行约{n}分钟后", "满负荷运行时",
    "早上冷启动时", "上次保养后", "周末停机两天再开机时", "客户值班人员巡检时发现", "用电高峰期间", "", "",
)
_SYMPTOMS = (
    "自动停机", "无法启动", "异响明显", "输出电压不稳", "画面无信号", "图像模糊并有横向条纹", "录像中断", "刷卡无反应",
    "制冷效果差", "底部漏油", "排气冒黑烟", "水温过高报警", "压力上不去", "显示屏黑屏", "网络频繁掉线", "散热风扇不转",
    "电池无法充电", "故障报警灯常亮", "振动明显加大", "噪音比平时大很多", "主轴转速不稳", "出水压力忽高忽低",
)
_DETAILS = (
    "面板显示故障代码E{e:02d}", "重启后故障依旧", "时好时坏", "已影响正常生产", "已持续{d}天", "共{c}路摄像头受影响",
    "油压表读数偏低", "电流表指针来回摆动", "闻到焦糊味", "控制面板按键失灵", "夜间尤其明显", "远程无法登录查看",
    "报警声响个不停", "设备外壳发烫", "备用机已顶上但负荷不够", "曾自行断电重启一次",
)
_REMARKS = (
    "客户称停机前听到咔哒声。", "客户要求尽快派人到现场。", "客户表示上次维修后仅正常运行两周。", "现场联系人下午三点后在。",
    "客户希望周末前修好。", "设备在保修期内，客户要求免费维修。", "请带备用电源板。", "进厂需提前登记，出示身份证。",
    "客户已自行更换过保险丝，无效。", "现场有专人配合。", "客户比较着急，语气不太好。", "",
)
_COMPONENTS = (
    "驱动皮带", "控制板接插件", "燃油滤清器", "喷油嘴", "启动电池", "电源适配器", "硬盘", "网线水晶头", "交换机端口",
    "压缩机启动电容", "温控传感器", "冷却风扇", "节温器", "中间继电器", "保险丝", "主板滤波电容", "电磁阀", "空气滤芯",
    "机油泵", "光模块", "读卡器模块", "电机轴承", "变频器功率模块", "压力传感器", "进气阀", "整流桥",
)
_PROBLEMS = (
    "磨损严重", "松动", "老化开裂", "堵塞", "烧毁", "接触不良", "鼓包漏液", "短路", "参数漂移", "坏道较多", "氧化发黑",
    "卡滞", "间隙过大", "绝缘下降",
)
_CONSEQUENCES = (
    "导致设备间歇性停机", "造成供电不稳", "引起画面丢失", "使散热不良而触发保护", "导致压力建立不起来", "引起异常振动",
    "导致通讯中断", "造成启动困难", "使控制信号时有时无",
)
_CHECKS = (
    "测得输出电压{v}V，偏离额定值", "绝缘电阻{r}MΩ", "用诊断软件读取历史故障码{e:02d}次", "空载运行{n}分钟未复现",
    "带载后{n}分钟复现故障", "线路通断测试正常", "油样发黑有金属屑", "端口丢包率{p}%", "电流{a}A，三相不平衡",
)
_LOOKS = (
    "机身无明显损伤", "封条完好，无私自拆修痕迹", "接线端子有烧蚀痕迹", "滤网积灰严重", "机柜内有积水痕迹",
    "铭牌清晰，序列号与档案一致", "外壳有磕碰但不影响使用", "线缆被老鼠咬破一处",
)
_ACTIONS = (
    "更换{c}", "紧固{c}", "清洁{c}及周边", "重新压接{c}", "调整{c}参数", "更新控制程序", "对{c}做防潮处理",
    "重新布线并做标识", "补充润滑油", "校准{c}",
)
_RESULTS = (
    "设备恢复正常运行，客户确认。", "故障排除，已交付使用。", "试运行{n}分钟无异常，客户满意。",
    "暂时恢复，需等备件到货后彻底更换。", "无法现场修复，已带回维修并开具领取收据。",
)
_NOTES = (
    "到达现场，联系人{p}在场。", "路上堵车，已电话告知客户晚到{n}分钟。", "等待客户开门禁。", "已拍照留存故障现象。",
    "备件不足，已申请调拨。", "客户临时要求增加一台设备检查。", "下雨，室外作业暂停。", "工作完成，现场已清理。",
)
_COMPLAINTS = (
    "工程师比约定时间晚到{n}小时，也未提前通知。", "维修后{n}天同样故障再次出现。", "工程师服务态度差，与现场人员争吵。",
    "更换的配件收费与报价不符。", "报修后{n}天无人联系。", "维修完成后现场未清理，留下大量垃圾。",
)
_SURVEY = (
    "服务态度好，维修及时。", "师傅很专业，解释得很清楚。", "到得有点晚，但修得不错。", "希望以后能提前电话联系。",
    "配件价格偏高。", "满意。", "非常满意，感谢！", "",
)
_PART_QUALIFIERS = ("总成", "组件", "（原厂）", "（通用型）", "套件", "", "")
_UNITS = ("个", "只", "套", "米", "块", "台", "条", "根", "升", "片")


#: the ranges of the numbers a phrase may name
_RANGES = {"n": (5, 90), "e": (1, 99), "d": (2, 15), "c": (2, 32), "v": (180, 420), "r": (1, 500), "p": (1, 40),
           "a": (2, 60)}


class _Numbers(dict):
    """A phrase's numbers, drawn as the phrase asks for them."""

    def __init__(self, draw):
        super().__init__()
        self.draw = draw

    def __missing__(self, key: str) -> int:
        return self.draw(*_RANGES[key])


class Words:
    """Text of one seeded generator: ``Words(random.Random(7)).fault()``."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._places = [(prov, city, district) for prov, cities in PLACES.items()
                        for city, districts in cities.items() for district in districts]

    def _rr(self, start: int, stop: int | None = None) -> int:
        """``randrange`` without its argument checks (a fifth of the generator's time)."""
        if stop is None:
            start, stop = 0, start
        return start + int(self.rng.random() * (stop - start))

    def _pick(self, items):
        return items[int(self.rng.random() * len(items))]

    # -- people and places --------------------------------------------------------------

    def person(self) -> str:
        return self._pick(_SURNAMES) + self._pick(_GIVEN)

    def contact(self) -> str:
        """How a desk writes a site contact: ``刘经理``, or the full name."""
        if self.rng.random() < 0.6:
            return self._pick(_SURNAMES) + self._pick(_TITLES)
        return self.person()

    def phone(self) -> str:
        if self.rng.random() < 0.7:
            return f"1{self._pick('3456789')}{self._rr(10**9):09d}"
        return f"{self._pick(_AREA_CODES)}-{self._rr(2, 9)}{self._rr(10**7):07d}"

    def place(self) -> tuple[str, str, str]:
        """(province, city, district)."""
        return self._pick(self._places)

    def address(self, place: tuple[str, str, str] | None = None) -> str:
        province, city, district = place or self.place()
        head = city + district if province == city else province + city + district
        street = f"{self._pick(_STREET_NAMES)}{self._pick(_STREET_KINDS)}{self._rr(1, 400)}号"
        roll = self.rng.random()
        if roll < 0.35:
            tail = f"{self._pick(_BRANDS)}{self._pick(_BUILDINGS)}{self._pick('ABCDE')}座{self._rr(1, 30)}" \
                   f"{self._rr(1, 20):02d}室"
        elif roll < 0.6:
            tail = f"{self._pick(_BRANDS)}{self._pick(_BUILDINGS)}{self._rr(1, 12)}号厂房"
        elif roll < 0.8:
            tail = f"{self._rr(1, 30)}栋{self._rr(1, 6)}单元{self._rr(1, 30)}" \
                   f"{self._rr(1, 4):02d}"
        else:
            tail = ""
        return head + street + tail

    def customer(self, place: tuple[str, str, str]) -> str:
        """A company (``北京华信冷链物流有限公司``) or an institution (``廊坊市人民医院``)."""
        city = place[1].removesuffix("市")
        if self.rng.random() < 0.8:
            return f"{city}{self._pick(_BRANDS)}{self._pick(_TRADES)}{self._pick(_COMPANY_KINDS)}"
        district = place[2] if self.rng.random() < 0.5 else ""
        return f"{place[1]}{district}{self._pick(_INSTITUTIONS)}"

    # -- equipment and parts --------------------------------------------------------------

    def model(self) -> str:
        """``华动 HD-500 柴油发电机组 500kW``."""
        kind, prefixes, rating = self._pick(_EQUIPMENT)
        number = self.rng.choice((self._rr(10, 99), self._rr(100, 999), self._rr(1000, 9999)))
        suffix = self._pick(("", "A", "B", "GF", "-II", "S", "H"))
        size = rating.format(n=self.rng.choice((15, 22, 37, 55, 75, 110, 200, 315, 500)), t=self.rng.choice((2, 3, 3.5, 5)),
                             m=self.rng.choice((2, 4, 8)), c=self.rng.choice((8, 16, 32, 64)), d=self.rng.choice((1, 2, 4)),
                             k=self.rng.choice((3, 6, 10, 20, 40)), p=self.rng.choice((360, 400, 500)))
        return f"{self._pick(_SUPPLIERS)} {self._pick(prefixes)}-{number}{suffix} {kind} {size}"

    def serial(self) -> str:
        letters = "".join(self._pick("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(2))
        return f"{letters}{self._rr(18, 27)}{self._rr(1, 13):02d}{self._rr(10**7):07d}"

    def part_name(self) -> str:
        return self._pick(_COMPONENTS) + self._pick(_PART_QUALIFIERS)

    def part_spec(self) -> str:
        specs = (f"{self.rng.choice((12, 24, 48, 220, 380))}V/{self.rng.choice((1, 2, 5, 10, 20))}A",
                 f"适用{self._pick(_SUPPLIERS)}{self._pick(('HD', 'DL', 'IPC', 'NVR', 'UPS', 'CK'))}系列",
                 f"尺寸{self._rr(10, 500)}×{self._rr(10, 300)}mm",
                 f"重量{self._rr(1, 50) / 10:.1f}kg", "原厂编码见包装", "含安装附件")
        return "，".join(self.rng.sample(specs, self._rr(1, 4)))

    def unit(self) -> str:
        return self._pick(_UNITS)

    # -- what people type on a ticket -------------------------------------------------------

    def _fill(self, text: str) -> str:
        """``text`` with each ``{n}``-style number it names drawn (only those)."""
        return text.format_map(_Numbers(self._rr)) if "{" in text else text

    def fault(self) -> str:
        """What the customer reported: 1–3 symptoms with details and a remark, 20–150 characters."""
        parts = []
        for k in range(self.rng.choice((1, 1, 2, 2, 3))):
            opener = self._fill(self._pick(_OPENERS)) if k == 0 else self._pick(("同时", "另外", "并且", "有时还"))
            details = "，".join(self._fill(self._pick(_DETAILS)) for _ in range(self._rr(0, 3)))
            sentence = f"{opener}{'，' if opener and k == 0 else ''}设备{self._pick(_SYMPTOMS)}"
            parts.append(sentence + (f"，{details}" if details else ""))
        return "；".join(parts) + "。" + self._pick(_REMARKS)

    def _finding(self) -> str:
        return f"{self._pick(_COMPONENTS)}{self._pick(_PROBLEMS)}"

    def cause(self) -> str:
        return self._finding()

    def diagnosis(self) -> str:
        """The engineer's finding, 2–4 clauses, 30–150 characters."""
        parts = [f"经检查，{self._finding()}，{self._pick(_CONSEQUENCES)}"]
        for _ in range(self._rr(0, 3)):
            parts.append(f"{self._pick(('另发现', '同时', '此外'))}{self._finding()}")
        if self.rng.random() < 0.5:
            parts.append(self._fill(self._pick(_CHECKS)))
        return "；".join(parts) + "。"

    def listen(self) -> str:
        return f"据{self.contact()}描述，{self.fault()}"

    def look(self) -> str:
        return "；".join(self.rng.sample(_LOOKS, self._rr(1, 4))) + "。"

    def check(self) -> str:
        return "；".join(self._fill(t) for t in self.rng.sample(_CHECKS, self._rr(1, 4))) + "。"

    def actions(self) -> str:
        steps = [self._pick(_ACTIONS).format(c=self._pick(_COMPONENTS)) for _ in range(self._rr(1, 5))]
        return "，".join(steps) + f"，试运行{self._rr(10, 120)}分钟。"

    def result(self) -> str:
        return self._fill(self._pick(_RESULTS))

    def note(self) -> str:
        return self._pick(_NOTES).format(p=self.contact(), n=self._rr(10, 90))

    def complaint(self) -> str:
        return f"{self.contact()}来电投诉：" + self._fill(self._pick(_COMPLAINTS)) + self._pick(_REMARKS)

    def survey_comment(self) -> str:
        return self._pick(_SURVEY)

    def location_name(self, kind: str, holder: str) -> str:
        if kind == "van":
            plate = "".join(self._pick("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(5))
            return f"{holder}的服务车 {self._pick(('京', '津', '冀', '鲁', '苏', '浙', '粤'))}{self._pick('ABCDEFG')}·{plate}"
        return f"{holder}{'备件总库' if kind == 'depot' else '服务站'}"
