"""Everything the bot says on its own (not from Rasa), in one place."""

from __future__ import annotations

WELCOME = (
    "您好！这里是 12345 市民诉求受理平台的 Telegram 服务。\n\n"
    "您可以直接用文字描述遇到的问题（例如：玉林北路18号门口的下水道堵了三天），"
    "我会帮您登记并转给负责的网格和部门。\n"
    "· 可以发送现场照片，照片会作为附件随诉求一起提交；\n"
    "· 可以发送位置（📎 → 位置），帮助确定所在网格；\n"
    "· 可以分享联系方式，方便工作人员回复您；\n"
    "· 办理进展和答复会在这里通知您。\n\n"
    "发送 /help 查看全部命令。"
)
HELP = (
    "可用命令：\n"
    "/start 欢迎和功能介绍\n"
    "/help 本帮助\n"
    "/status 查看您提交的工单；/status 工单号 查看某一件的进度\n"
    "/cancel 取消正在登记的诉求\n"
    "/new 重新开始一次新的对话\n"
    "/mydata 查看我们保存了您的哪些信息\n\n"
    "遇到火灾、人身危险等紧急情况，请立即拨打 119 / 110 / 120。"
)
BUSY = "服务暂时繁忙，您的消息已保存，恢复后会自动处理。"
RATE_LIMITED = "您发送消息太频繁了，请稍等一分钟再发。刚才超出的消息没有被处理，请稍后重新发送。"
NEW_CONVERSATION = "已开始新的对话。请直接描述您遇到的问题。"
UNKNOWN_COMMAND = "没有这个命令。发送 /help 查看可用命令，或直接用文字描述您的问题。"
CHOOSE_PROMPT = "请选择："
BUTTON_EXPIRED = "这个按钮已失效，请直接输入您的回答。"

VOICE = "抱歉，暂时无法识别语音消息，请用文字描述您的问题，谢谢！"
STICKER = "收到您的表情 😊 请用文字描述您遇到的问题。"
VIDEO = "抱歉，暂时无法处理视频，请发送照片或用文字描述您的问题。"
OTHER_FILE = "抱歉，暂时只能接收文字、照片、位置和联系方式，请用文字描述您的问题。"

PHOTO_RECEIVED = "照片已收到，会作为附件随您的诉求一起提交。"
PHOTO_TOO_LARGE = "图片超过 10 MB，请压缩后再发送。"
PHOTO_WRONG_TYPE = "只能接收 JPEG、PNG 或 WebP 格式的图片。"
PHOTO_UNREADABLE = "这张图片无法读取，请重新发送。"
PHOTO_LOCATION_OFFER = "照片中带有拍摄位置，可以直接作为问题发生的地点。"
PHOTO_LOCATION_BUTTON = "使用照片中的位置"
PHOTO_LOCATION_DISPLAY = "📍 照片中的位置"
LOCATION_DISPLAY = "📍 我的位置"

STATUS_NONE = "您还没有通过 Telegram 提交过工单。直接描述您的问题即可开始登记。"
STATUS_NOT_FOUND = "没有找到您提交的工单 {number}，请核对工单号。"
STATUS_BAD_NUMBER = "工单号是 13 位数字，例如：/status 2026112600001"
STATUS_LIST_HEAD = "您提交的工单（最近 {count} 件）："
STATUS_LIST_TAIL = "发送 /status 工单号 查看某一件的详情。"

MYDATA_HEAD = (
    "我们为办理您的诉求保存了以下信息：\n"
    "· 会话标识：{conversation_id}（由您的 Telegram 用户编号生成，用来关联您的工单和通知）"
)
MYDATA_NO_TICKETS = "· 工单：无"
MYDATA_TICKETS = "· 工单 {count} 件："
MYDATA_TAIL = (
    "联系电话只在您主动提供时保存；机器人只临时保存尚未处理完的消息。\n"
    "如需查询、更正或删除您的个人信息，请拨打 12345 热线提出申请。"
)

# -- the field desk: grid workers (网格员) and volunteers (民情专递员) linked to an account ------

FIELD_BUSY = "系统繁忙，请稍后再试。刚才的操作没有提交。"
FIELD_REFUSED = "操作未能完成，请核对后重试。"
FIELD_UNEXPECTED = "抱歉，处理时出了点问题，请稍后再试。"
LINK_USAGE = "请发送工作台上显示的 8 位绑定码，例如：/link 12345678（或直接发送：绑定 12345678）。"
NOT_LINKED = "您还没有绑定工作账号。请在工作台「我的账号」页面生成绑定码，然后发送 /link 绑定码。"
UNLINKED_NOW = "您的工作账号已解除绑定，消息将按市民诉求处理。"
FIELD_WELCOME = "{name}（{role}），您好！这里是网格工作助手。"
FIELD_HELP_REPORT = (
    "· 直接发送看到或听到的情况即可上报（民情专递），可附现场照片和位置，"
    "例如：3栋楼道灯坏了；确认后生成工单\n"
    "· 代居民反映时写明居民，例如：代5栋王阿姨反映：楼顶漏水"
)
FIELD_HELP_TASKS = (
    "/tasks 查看待办任务（也可发送：我的任务），任务下方有 接单 / 已到场 / 需要协调 / 办结 按钮"
)
FIELD_HELP_VISIT = (
    "/visit 户数 备注 记录今天的走访日志，例如：/visit 12 走访3栋、5栋（也可发送：走访 12户 …）"
)
FIELD_HELP_TAIL = (
    "/cancel 放弃正在进行的操作\n"
    "/status 查看以本账号提交的工单\n"
    "/unlink 解除绑定（解除后按普通市民处理）"
)
FIELD_TASKS_NONE = "您目前没有待办任务。"
FIELD_TASKS_HEAD = "您有 {count} 件待办任务："
VISIT_USAGE = "走访日志格式：/visit 户数 备注，例如：/visit 12 走访3栋、5栋，了解漏水情况"
CANCELLED = "已取消。"
NOTHING_TO_CANCEL = "当前没有进行中的操作。"

REPORT_ASK_TEXT = "{what}已收到。请用文字描述看到或听到的情况，确认后生成工单。"
REPORT_PHOTO_WORD = "照片"
REPORT_LOCATION_WORD = "位置"
REPORT_PHOTOS_LINE = "现场照片：{count} 张"
REPORT_LOCATION_LINE = "已附位置"
REPORT_HINT = "确认前还可以继续发送照片或位置补充。"
REPORT_CONFIRM = "确认提交"
REPORT_CANCEL = "取消"
REPORT_PHOTO_ADDED = "照片已添加（共 {count} 张），请核对后点「确认提交」。"
REPORT_CANCELLED = "已取消本次上报。"
REPORT_GONE = "这份上报已经提交或取消了。如需上报，请重新发送情况说明。"

COORDINATE_ASK = "工单 {number}：请说明需要协调的原因。"
RESOLVE_ASK = "工单 {number}：请发送办理结果说明和至少一张现场照片。"
RESOLVE_NEED_PHOTO = "办理结果已记下。请再发送至少一张现场照片。"
RESOLVE_NEED_TEXT = "照片已收到（共 {count} 张）。请发送办理结果说明。"
RESOLVE_READY = "已收到办理结果和 {count} 张照片。照片全部发送后请点「提交办结」。"
RESOLVE_SUBMIT = "提交办结"
RESOLVE_GONE = "这件任务的办结已经提交或取消了。"
COORDINATE_NEED_TEXT = "请用文字说明需要协调的原因（或发送 /cancel 放弃）。"
REPORT_FILED = "已登记，工单号：{number}"
STEP_DONE = "工单 {number}：{status}"
FIELD_CONTACT = "无需发送联系方式。请直接用文字描述看到或听到的情况，确认后生成工单。"
