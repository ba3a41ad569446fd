"""Bad input is a 4xx with a Chinese JSON ``detail``, never a 500.

FastAPI's own 422 handler echoes each wrong value back (``input``); a value JSON cannot
encode (NaN, 1e309 read as infinity, a lone surrogate) then turned the 422 into a 500. Here
every error becomes a sentence naming the field and the rule, and input is never echoed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

MAX_ERRORS = 10  # a list of 10,000 wrong items is not worth 10,000 sentences
MAX_NAME = 64

# pydantic error type → what the field must be; ``{...}`` are filled from the error's ctx.
RULES = {
    "missing": "为必填项",
    "int_type": "必须是整数",
    "int_parsing": "必须是整数",
    "int_from_float": "必须是整数",
    "int_parsing_size": "超出允许的整数范围",
    "float_type": "必须是数字",
    "float_parsing": "必须是数字",
    "finite_number": "必须是有限的数字（不能是 NaN 或无穷大）",
    "bool_type": "必须是 true 或 false",
    "bool_parsing": "必须是 true 或 false",
    "string_type": "必须是字符串",
    "string_unicode": "含有无法识别的字符",
    "string_too_short": "至少需要 {min_length} 个字符",
    "string_too_long": "不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "不能超过 {max_length} 项",
    "greater_than": "必须大于 {gt}",
    "greater_than_equal": "必须大于或等于 {ge}",
    "less_than": "必须小于 {lt}",
    "less_than_equal": "必须小于或等于 {le}",
    "multiple_of": "必须是 {multiple_of} 的倍数",
    "enum": "必须是以下之一：{expected}",
    "literal_error": "必须是以下之一：{expected}",
    "dict_type": "必须是 JSON 对象",
    "model_type": "必须是 JSON 对象",
    "model_attributes_type": "必须是 JSON 对象",
    "list_type": "必须是数组",
    "tuple_type": "必须是数组",
    "extra_forbidden": "是不允许的字段",
    "datetime_type": "必须是日期或日期时间，例如 2026-12-01 或 2026-12-01T08:00:00+08:00",
    "datetime_parsing": "必须是日期或日期时间，例如 2026-12-01 或 2026-12-01T08:00:00+08:00",
    "datetime_from_date_parsing": (
        "必须是日期或日期时间，例如 2026-12-01 或 2026-12-01T08:00:00+08:00"
    ),
    "date_type": "必须是日期，例如 2026-12-01",
    "date_parsing": "必须是日期，例如 2026-12-01",
    "date_from_datetime_parsing": "必须是日期，例如 2026-12-01",
    "json_invalid": "不是合法的 JSON",
    "json_type": "不是合法的 JSON",
    "url_parsing": "不是合法的网址",
    "url_type": "不是合法的网址",
    "uuid_parsing": "不是合法的 UUID",
    "bytes_type": "必须是文件或字节串",
    "value_error": "取值无效",
    "assertion_error": "取值无效",
}
DEFAULT_RULE = "取值无效"
BODY = "请求体"

# FastAPI's and Starlette's own English details, for errors raised before our code runs.
HTTP_DETAILS = {
    400: "请求有误，无法解析",
    401: "未授权",
    403: "禁止访问",
    404: "未找到请求的资源",
    405: "不支持该请求方法",
    406: "无法提供所要求的格式",
    411: "缺少 Content-Length",
    413: "请求体过大",
    415: "不支持的内容类型",
    429: "请求过于频繁，请稍后再试",
}
ENGLISH_DETAILS = {"There was an error parsing the body"}
HAN = re.compile(r"[\u3400-\u9fff]")
CHARACTERS = 2000  # bound a message taken from a validator


def printable(text: str, limit: int = MAX_NAME) -> str:
    """``text`` that JSON can encode: lone surrogates become ``\\udXXX``, long text is cut."""
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return safe if len(safe) <= limit else safe[:limit] + "…"


def field_name(loc: Sequence[Any]) -> str:
    """``("body", "nlu_candidates", 0, "confidence")`` → ``nlu_candidates[0].confidence``."""
    parts = list(
        loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc
    )
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += ("." if name else "") + printable(str(part))
    return name


def _value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):  # pydantic's "'a', 'b' or 'c'"
        parts = (p.strip() for p in re.split(r",\s*|\s+or\s+", value))
        return printable("、".join(p for p in parts if p), CHARACTERS)
    return printable(str(value), CHARACTERS)


def _own_message(error: dict[str, Any]) -> str | None:
    """The Chinese message a validator of ours raised (``ValueError("经纬度必须…")``)."""
    if error.get("type") not in ("value_error", "assertion_error"):
        return None
    msg = str(error.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return printable(msg, CHARACTERS) if HAN.search(msg) else None


def describe(error: dict[str, Any]) -> str:
    """One error as a sentence: 字段 priority 必须是整数."""
    loc = error.get("loc") or ()
    kind = str(error.get("type", ""))
    name = field_name(loc)
    own = _own_message(error)
    if kind == "json_invalid":
        return f"{BODY}不是合法的 JSON"
    if own:
        return f"字段 {name}：{own}" if name else own
    ctx = error.get("ctx") or {}
    rule = RULES.get(kind, DEFAULT_RULE)
    try:
        rule = rule.format(**{key: _value(value) for key, value in ctx.items()})
    except (KeyError, IndexError, ValueError):
        rule = RULES.get(kind, DEFAULT_RULE).split("{")[0].rstrip("：") or DEFAULT_RULE
    return f"字段 {name} {rule}" if name else f"{BODY}{rule}"


def validation_detail(errors: Sequence[Any]) -> dict[str, Any]:
    """The 422 body: one ``detail`` sentence for people, ``errors`` for programs; no input."""
    items = [
        {
            "field": field_name(e.get("loc") or ()),
            "location": str((e.get("loc") or ("",))[0]),
            "type": printable(str(e.get("type", ""))),
            "message": describe(e),
        }
        for e in list(errors)[:MAX_ERRORS]
    ]
    sentences = list(dict.fromkeys(item["message"] for item in items))
    more = len(errors) - MAX_ERRORS
    detail = "；".join(sentences) + (f"；另有 {more} 处错误" if more > 0 else "")
    return {"detail": detail or "请求参数有误", "errors": items}


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content=validation_detail(exc.errors()))


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's and FastAPI's English defaults in Chinese; our own details pass through."""
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    english = detail in ENGLISH_DETAILS or detail == _phrase(exc.status_code)
    if english and exc.status_code in HTTP_DETAILS:
        exc = HTTPException(exc.status_code, HTTP_DETAILS[exc.status_code], exc.headers)
    return await http_exception_handler(request, exc)


def _phrase(status_code: int) -> str | None:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return None


async def overflow(request: Request, exc: Exception) -> JSONResponse:
    """A number too large for the database (SQLite stores 64-bit integers) is bad input."""
    log.warning("number out of range on %s: %s", request.url.path, exc)
    return JSONResponse(status_code=422, content={"detail": "数值超出允许的范围"})


UNSTORABLE = "内容包含无法保存的字符或数值（例如空字符），请修改后再提交"


async def unstorable(request: Request, exc: Exception) -> JSONResponse:
    """A value the database refuses (PostgreSQL: a NUL character in text, a number beyond a
    column's range) is bad input, not a server error; the transaction is rolled back."""
    log.warning("value the database refused on %s: %s", request.url.path, exc)
    return JSONResponse(
        status_code=422,
        content={"detail": "内容包含无法保存的字符或数值（例如空字符 \\0），请修改后再提交"},
    )


async def unencodable(request: Request, exc: Exception) -> JSONResponse:
    """Text with lone surrogates (``"\\ud800"`` in JSON) cannot be stored or sent back."""
    log.warning("unencodable text on %s: %s", request.url.path, exc)
    return JSONResponse(
        status_code=422, content={"detail": "请求中含有无法识别的字符（不成对的 Unicode 代理字符）"}
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(OverflowError, overflow)
    app.add_exception_handler(DataError, unstorable)
    app.add_exception_handler(UnicodeEncodeError, unencodable)
