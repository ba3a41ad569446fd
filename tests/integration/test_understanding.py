"""Acceptance of the understanding work, through the real Rasa, action server and case store:
a long formal letter, places as residents write them, and the category menu."""

from __future__ import annotations

from tests.integration.services import Stack
from tests.integration.test_intake import confirm, fetch_ticket, resident

KTV_LETTER = (
    "尊敬的领导：您好！我是玉林街道某小区的一名住户，今年六十七岁，在这里住了二十多年。去年秋天，"
    "我们楼下临街的一间门面被人租去开了一家KTV，没有挂任何招牌，听说也没有办理相关手续。从那以后，"
    "每天晚上八点开始，里面的音响、麦克风声音就一直响到凌晨两三点，低音震得窗户嗡嗡作响，关上双层窗"
    "也挡不住。散场的客人还在街边大声喧哗、划拳，摩托车轰油门。我老伴有心脏病，长期睡不好，血压一直"
    "下不来；楼上有准备高考的孩子，家长也苦不堪言。我们找过店老板，对方态度很差，说自己有关系。我们"
    "也打过电话，来人看过一次，第二天照样营业。恳请有关部门对这家无证经营的KTV进行查处，检测夜间噪声"
    "是否超标，还居民一个安静的夜晚。另外，这家店门口还经常乱停车，把消防通道也堵了，晚上十二点以后"
    "还有人在门口抽烟吵闹，烟头扔得到处都是。我们都是普通老百姓，只希望晚上能睡个安稳觉，白天才有精神"
    "照顾家里。盼复，谢谢！"
)


def test_a_long_formal_letter_is_classified_without_the_menu(stack: Stack) -> None:
    assert 350 <= len(KTV_LETTER) <= 450
    amy = resident(stack)
    replies = amy.text_of(amy.say(KTV_LETTER))
    assert "我不太确定" not in replies
    summary = amy.text_of(amy.say("匿名")) if "联系电话" in replies else replies
    if "什么位置" in summary:
        amy.say("玉林北路18号")
        summary = amy.text_of(amy.say("匿名"))
    assert "【分类】环境保护" in summary, summary


def test_the_seed_spelling_of_a_place_needs_no_question(stack: Stack) -> None:
    ben = resident(stack)
    replies = ben.text_of(ben.say("黉门街36号门口的井盖丢了"))
    assert "联系电话" in replies and "哪一个" not in replies and "门牌号" not in replies
    summary = ben.text_of(ben.say("匿名"))
    assert "【网格】黉门街社区 黉门街社区第一网格" in summary


def test_a_road_through_several_grids_asks_for_the_door_number(stack: Stack) -> None:
    cat = resident(stack)
    question = cat.say("黉门街上的路灯坏了，晚上黑黢黢的")
    text = cat.text_of(question)
    assert "门牌号" in text and "网格第" not in text and "第一网格" not in text
    assert not any(r.get("buttons") for r in question)
    assert "联系电话" in cat.text_of(cat.say("60号"))
    summary = cat.text_of(cat.say("匿名"))
    assert "【网格】黉门街社区 黉门街社区第二网格" in summary


def test_a_community_named_alone_goes_to_its_queue(stack: Stack) -> None:
    dan = resident(stack)
    first = dan.text_of(dan.say("黉门街社区门口的垃圾好几天没人收了"))
    assert "联系电话" in first, first
    summary = dan.text_of(dan.say("匿名"))
    assert "黉门街社区（统一分派）" in summary, summary
    ticket = fetch_ticket(stack, confirm(dan))
    assert ticket["area_code"] == "510107001001" and ticket["grid_code"] is None
    assert ticket["queue"] == "社区（村）：黉门街社区"


def test_the_category_menu_takes_typed_answers_and_is_shown_once(stack: Stack) -> None:
    eve = resident(stack)
    menu = eve.say("他们老是这样")
    assert "我不太确定" in eve.text_of(menu) and menu[-1].get("buttons")
    after = eve.say("环保")  # typed instead of tapped
    assert "我不太确定" not in eve.text_of(after)
    fay = resident(stack)
    assert "我不太确定" in fay.text_of(fay.say("他们老是这样"))
    going_on = fay.text_of(fay.say("他们老是这样啊，你说咋办嘛，一直都没有人来管一下"))
    assert "分类将由工作人员确定" in going_on and "我不太确定" not in going_on
    if "什么位置" in going_on:
        fay.say("玉林北路18号")
    summary = fay.text_of(fay.say("匿名"))
    assert "【分类】待分类" in summary, summary
    ticket = fetch_ticket(stack, confirm(fay))
    assert ticket["category"] == "unclassified" and ticket["category_name"] == "待分类"
